/**
 * Reads a delivery status notification back, independently of how
 * src/delivery/dsn.ts writes it: RFC 6522 multipart/report split on its
 * boundary, the message/delivery-status part (RFC 3464 2.1) as field groups
 * (per-message, then one per recipient), folded lines unfolded.
 */
export interface ParsedDsn {
  headers: Map<string, string>;
  reportType: string;
  parts: Array<{ type: string; body: string }>;
  perMessage: Map<string, string>;
  recipients: Array<Map<string, string>>;
}

function fields(block: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of block.replace(/\r?\n[ \t]+/g, ' ').split(/\r?\n/)) {
    const m = /^([!-9;-~]+):\s*(.*)$/.exec(line);
    if (m) out.set(m[1]!.toLowerCase(), m[2]!.trim());
  }
  return out;
}

function split(text: string): [string, string] {
  const m = /\r?\n\r?\n/.exec(text);
  return m ? [text.slice(0, m.index), text.slice(m.index + m[0].length)] : [text, ''];
}

export function parseDsn(message: string): ParsedDsn {
  const [head, body] = split(message);
  const headers = fields(head);
  const ct = headers.get('content-type') ?? '';
  const boundary = /boundary="?([^";]+)"?/i.exec(ct)?.[1];
  if (!/^multipart\/report/i.test(ct) || !boundary) throw new Error(`not a multipart/report: ${ct}`);
  const reportType = /report-type=([\w-]+)/i.exec(ct)?.[1] ?? '';
  const parts = body
    .split(new RegExp(`\\r?\\n?--${boundary.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}(?:--)?\\r?\\n?`))
    .slice(1, -1)
    .map((p) => {
      const [ph, pb] = split(p);
      return { type: (fields(ph).get('content-type') ?? 'text/plain').split(';')[0]!.trim().toLowerCase(), body: pb };
    });
  const status = parts.find((p) => p.type === 'message/delivery-status');
  if (!status) throw new Error('no message/delivery-status part');
  const groups = status.body.split(/\r?\n\r?\n/).filter((g) => g.trim());
  return { headers, reportType, parts, perMessage: fields(groups[0] ?? ''), recipients: groups.slice(1).map(fields) };
}

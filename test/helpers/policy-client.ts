/**
 * Postfix's side of the policy delegation protocol over a real socket: one
 * request (name=value lines, an empty line) at a time, one action back.
 */
import { SocketPeer } from './socket-peer.js';

export class PolicyClient extends SocketPeer {
  private buffer = '';

  protected received(data: Buffer): void {
    this.buffer += data.toString('utf8');
  }

  static async open(port: number, host = '127.0.0.1'): Promise<PolicyClient> {
    return new PolicyClient(await SocketPeer.connectTo(port, host));
  }

  /** Sends one request; resolves with the action (the text after `action=`). */
  async ask(attributes: Record<string, string>): Promise<string> {
    this.socket.write(`${Object.entries(attributes).map(([k, v]) => `${k}=${v}\n`).join('')}\n`);
    return this.action();
  }

  async action(): Promise<string> {
    for (;;) {
      const end = this.buffer.indexOf('\n\n');
      if (end >= 0) {
        const reply = this.buffer.slice(0, end);
        this.buffer = this.buffer.slice(end + 2);
        if (!reply.startsWith('action=')) throw new Error(`not an action: ${reply}`);
        return reply.slice('action='.length);
      }
      if (this.closed) throw new Error('connection closed');
      await this.more();
    }
  }

}

/** The requests Postfix sends for one SMTP transaction with the service in smtpd_recipient_restrictions. */
export function rcptRequests(t: { client?: string; port?: number; helo?: string; from: string; to: string[]; instance: string; extra?: Record<string, string> }): Array<Record<string, string>> {
  return t.to.map((rcpt, i) => ({
    request: 'smtpd_access_policy',
    protocol_state: 'RCPT',
    protocol_name: 'ESMTP',
    client_address: t.client ?? '127.0.0.1',
    client_name: 'localhost',
    client_port: String(t.port ?? 40000),
    reverse_client_name: 'localhost',
    server_address: '127.0.0.1',
    server_port: '25',
    helo_name: t.helo ?? 'client.test',
    sender: t.from,
    recipient: rcpt,
    recipient_count: String(i),
    queue_id: '',
    instance: t.instance,
    size: '0',
    ...t.extra,
  }));
}

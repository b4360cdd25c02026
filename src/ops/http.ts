/**
 * The operations listener: `/metrics` (Prometheus text), `/healthz`
 * (alive: 200 while the process answers) and `/readyz` (200 when ready,
 * 503 with the reasons when not). Its own port, so that a scrape never
 * competes with SMTP clients and can be firewalled apart.
 */
import { createServer, type Server } from 'node:http';
import type { Logger } from 'pino';

export interface OpsHandlers {
  metrics(): Promise<{ contentType: string; body: string }>;
  /** Why not ready; empty when ready. */
  notReady(): Promise<string[]>;
}

export interface OpsServer {
  host: string;
  port: number;
  close(): Promise<void>;
}

export async function startOpsServer(host: string, port: number, h: OpsHandlers, logger: Logger): Promise<OpsServer> {
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    const send = (code: number, type: string, body: string) => {
      res.writeHead(code, { 'content-type': type, 'cache-control': 'no-store' });
      res.end(req.method === 'HEAD' ? undefined : body);
    };
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(405, 'text/plain', 'method not allowed\n');
    if (path === '/healthz') return send(200, 'text/plain', 'ok\n');
    if (path === '/readyz') {
      h.notReady().then(
        (why) => (why.length ? send(503, 'text/plain', `not ready: ${why.join(', ')}\n`) : send(200, 'text/plain', 'ready\n')),
        (e: Error) => send(503, 'text/plain', `not ready: ${e.message}\n`),
      );
      return;
    }
    if (path === '/metrics') {
      h.metrics().then(
        (m) => send(200, m.contentType, m.body),
        (e: Error) => {
          logger.warn({ event: 'metrics-failed', err: e.message }, 'metrics collection failed');
          send(500, 'text/plain', `metrics unavailable: ${e.message}\n`);
        },
      );
      return;
    }
    send(404, 'text/plain', 'not found: try /metrics, /healthz or /readyz\n');
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const addr = server.address() as { address: string; port: number };
  logger.info({ event: 'ops-listening', host: addr.address, port: addr.port }, 'metrics and health listening');
  return {
    host: addr.address,
    port: addr.port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

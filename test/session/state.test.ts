import { describe, expect, it } from 'vitest';
import { ConnectionState } from '../../src/session/state.js';

const client = { id: 'c1', remoteAddress: '192.0.2.1', remotePort: 40000, localAddress: '192.0.2.25', localPort: 25, tls: false, context: { peer: 'yes' }, hostname: 'mx.test', banner: 'smtp-cbv' };

/** What happens to a connection, in order; `read` reads the context first (the context is built when first read). */
function play(read: boolean): Array<[string, string]> {
  const c = new ConnectionState(client);
  if (read) void c.context;
  c.secured();
  c.authenticated('alice');
  c.greeted('EHLO', 'client.test');
  c.countRecipient();
  c.countMessage();
  return [...c.context];
}

describe('connection context', () => {
  it('is the same, keys in the same order, whether it was read before the connection changed or only after', () => {
    expect(play(false)).toEqual(play(true));
    expect(play(false)).toEqual([
      ['peer', 'yes'],
      ['remote_ip', '192.0.2.1'],
      ['remote_port', '40000'],
      ['local_ip', '192.0.2.25'],
      ['local_port', '25'],
      ['tls', 'true'],
      ['auth_status', 'authenticated'],
      ['connection_message_count', '1'],
      ['connection_rcpt_count', '1'],
      ['auth_user', 'alice'],
      ['ehlo_domain', 'client.test'],
      ['ehlo_string', 'EHLO client.test'],
    ]);
  });

  it('starts from the peer context and what the connection is', () => {
    const c = new ConnectionState({ ...client, context: undefined });
    expect(Object.fromEntries(c.context)).toEqual({ remote_ip: '192.0.2.1', remote_port: '40000', local_ip: '192.0.2.25', local_port: '25', tls: 'false', auth_status: 'none', connection_message_count: '0', connection_rcpt_count: '0' });
    expect(c.choices).toBe(c.choices);
  });
});

/**
 * The embedded default store: accepted messages go into the local Maildir
 * spool (maildir.ts), one copy per folder with the recipients it is for,
 * and one copy for the redirect addresses, each with our Received: header
 * (RFC 5321 4.4) and an envelope record in the journal. All or nothing: a failure takes
 * back the copies already written, and the client hears 451.
 */
import type { Accepted, MessageStore } from '../session/session.js';
import { INBOX, type MaildirSpool, type SpooledMessage } from './maildir.js';
import { receivedHeader } from './received.js';

export class LocalStore implements MessageStore {
  constructor(readonly spool: MaildirSpool) {}

  async store({ connection, transaction, plan, message }: Accepted): Promise<string[]> {
    const copies: Array<{ folder: string; recipients: string[]; redirect?: boolean }> = [...plan.stores];
    if (plan.redirects.length) copies.push({ folder: INBOX, recipients: plan.redirects, redirect: true });
    const written: SpooledMessage[] = [];
    try {
      for (const copy of copies) {
        const header = receivedHeader(connection, copy.recipients, connection.hostname, transaction.id);
        written.push(
          await this.spool.deliver(copy.folder, [Buffer.from(header), message], {
            mailFrom: plan.mailFrom ?? transaction.mailFrom,
            recipients: copy.recipients,
            client: { address: connection.remoteAddress, port: connection.remotePort, helo: connection.helo, tls: connection.tls, user: connection.user },
            // From the verdict the session holds, never from the script-writable context.
            verdicts: { ...transaction.verdictVariables },
            receivedAt: new Date().toISOString(),
            transaction: transaction.id,
            ...(copy.redirect ? { redirect: true } : {}),
          }),
        );
      }
    } catch (e) {
      await this.spool.remove(written);
      throw e;
    }
    return written.map((w) => w.id);
  }
}

/**
 * The delivery plan of an accepted message: where it goes, from every
 * phase's choices, and the message as the policy's header edits left it.
 */
import { type Choices, choosesNothing, dropsMessage, INBOX, mergeChoices, noChoices, type RedirectDetails } from './decide.js';
import type { Logger } from 'pino';
import { addDisclaimers, type Disclaimer } from './disclaimers.js';
import { signMessage } from './dkim-signing.js';
import type { DkimRequest } from '../sievepp/functions/dkim-params.js';
import { applyHeaderEdits } from './header-edits.js';
import type { MessageSource } from './message-source.js';
import type { Transaction } from './state.js';

/** Where an accepted message goes: one store per folder with its recipients, and the redirects. */
export interface DeliveryPlan {
  stores: Array<{ folder: string; recipients: string[] }>;
  redirects: string[];
  /** What redirects carry besides their address (a deadline, RFC 6009 6; their own message, RFC 5703 6), by address. */
  redirectDetails?: Record<string, RedirectDetails>;
  /** Vacation actions, each with the recipient whose policy took it (RFC 5230: the reply is from that recipient). */
  vacations: Array<{ recipient: string; data: Record<string, unknown> }>;
  /**
   * Notify actions (RFC 5435), grouped by the run that took them: a
   * recipient's own (RCPT TO) runs under its address, the runs shared by
   * every recipient (connection, MAIL FROM, DATA) under the first one.
   */
  notifications: Array<{ recipient: string; data: Array<Record<string, unknown>> }>;
  /** The envelope sender the message leaves with, when a script rewrote it (ec_rewrite_mailfrom). */
  mailFrom?: string;
  /**
   * The gateway (`host[:port]`) a script chose for a recipient
   * (ec_set_routing_gateway), by address: the queue sends that recipient's
   * copy there instead of by its domain's route (docs/delivery.md, "Routing").
   */
  gateways?: Record<string, string>;
  /** The message as the policy changed it (header edits); absent: as received. */
  message?: Buffer;
  /** disclaimer_add's texts, for a store that writes the message (finishMessage); absent: none. */
  disclaimers?: Disclaimer[];
  /** ec_dkim_sign's signatures, made last (finishMessage); absent: none. */
  dkim?: DkimRequest[];
  /** The body of `message` is not the body received (disclaimer_add): a milter replaces the MTA's. */
  bodyChanged?: true;
}

/**
 * The plan with its message made final: disclaimer_add carried out on the
 * body (disclaimers.ts), then ec_dkim_sign's signatures made over the
 * result (dkim-signing.ts), so that nothing changes the signed octets. A
 * store that keeps no body of its own (`keptElsewhere`: the policy service,
 * and a milter whose MTA lets it replace no body) cannot carry a
 * disclaimer out: there it is dropped with a warning, and a signature (which
 * the milter hands over as a header field) covers the body as the MTA has
 * it. A milter that may replace the body sends the new one (`bodyChanged`).
 */
export async function finishMessage(plan: DeliveryPlan, received: MessageSource, store: { keptElsewhere?: boolean }, logger: Logger, at: { session: string; transaction: string }): Promise<DeliveryPlan> {
  const { disclaimers, dkim, ...rest } = plan;
  if (!disclaimers && !dkim) return plan;
  let message = plan.message;
  const whole = async () => {
    // A spooled message is loaded on the thread pool first, not read whole on the event loop.
    await received.load?.();
    return received.bytes();
  };
  let bodyChanged = false;
  if (disclaimers && store.keptElsewhere) logger.warn({ event: 'disclaimer.unsupported', ...at }, 'disclaimer_add: not carried out, the MTA beside smtp-cbv keeps the message body');
  else if (disclaimers) {
    const before = message ?? (await whole());
    message = await addDisclaimers(before, disclaimers);
    bodyChanged = message !== before;
  }
  // Unedited, the received octets are signed as they are (not re-encoded through text()).
  if (dkim) message = await signMessage(message ?? (await whole()), dkim);
  if (!message) return rest;
  return bodyChanged ? { ...rest, message, bodyChanged: true } : { ...rest, message };
}

/**
 * Where the message goes, from every phase's choices (RFC 5228 2.10.2
 * applied across the phases as if they were one script): each recipient
 * gets the explicit stores chosen for the connection, the transaction, its
 * own RCPT TO and DATA, plus INBOX while no phase cancelled the implicit
 * keep. A recipient whose RCPT TO phase discarded it gets nothing.
 */
export function planDelivery(connection: Choices, tx: Transaction, data: Choices, received: MessageSource, edited: string | undefined): DeliveryPlan | Promise<DeliveryPlan> {
  // Most messages: no phase chose anything, so every recipient gets INBOX (the implicit keep) and nothing else.
  if (edited === undefined && choosesNothing(connection) && choosesNothing(tx.chosenSoFar) && choosesNothing(data) && tx.recipients.every((r) => choosesNothing(r.choices))) {
    return { stores: tx.recipients.length ? [{ folder: INBOX, recipients: tx.recipients.map((r) => r.address) }] : [], redirects: [], vacations: [], notifications: [] };
  }
  return planInFull(connection, tx, data, received, edited);
}

/** planDelivery, worked out choice by choice: what it answers for any choices. Exported for its tests. */
export function planInFull(connection: Choices, tx: Transaction, data: Choices, received: MessageSource, edited: string | undefined): DeliveryPlan | Promise<DeliveryPlan> {
  const txChoices = tx.chosenSoFar;
  const byFolder = new Map<string, string[]>();
  const redirects = new Set<string>();
  const redirectDetails: Record<string, RedirectDetails> = {};
  const gateways: Record<string, string> = {};
  const vacations: DeliveryPlan['vacations'] = [];
  const notifications: DeliveryPlan['notifications'] = [];
  const notify = (recipient: string | undefined, data: Array<Record<string, unknown>>) => {
    if (recipient !== undefined && data.length) notifications.push({ recipient, data });
  };
  notify(tx.recipients[0]?.address, [...connection.notifications, ...txChoices.notifications, ...data.notifications]);
  for (const r of tx.recipients) notify(r.address, r.choices.notifications);
  const edits = [...connection.headerEdits, ...txChoices.headerEdits];
  // add_recipient: one more recipient, with the choices of the connection, the transaction and DATA.
  const recipients = [...tx.recipients];
  const known = new Set(recipients.map((r) => r.address.toLowerCase()));
  for (const part of [connection, txChoices, ...tx.recipients.map((r) => r.choices), data]) {
    for (const a of part.addRecipients) {
      if (known.has(a.toLowerCase())) continue;
      known.add(a.toLowerCase());
      recipients.push({ address: a, choices: noChoices() });
    }
  }
  let mailFrom: string | undefined;
  for (const part of [connection, txChoices, ...tx.recipients.map((r) => r.choices), data]) if (part.mailFrom !== undefined) mailFrom = part.mailFrom;
  for (const r of recipients) {
    edits.push(...r.choices.headerEdits);
    // A discarded recipient still sends its vacation reply (RFC 5230 4.7: vacation does not depend on the keep).
    for (const part of [connection, txChoices, r.choices, data]) for (const v of part.vacations) vacations.push({ recipient: r.address, data: v });
    if (dropsMessage(r.choices)) continue;
    const c = noChoices();
    for (const part of [connection, txChoices, r.choices, data]) mergeChoices(c, part);
    const folders = new Set(c.folders.map((f) => (f.toUpperCase() === INBOX ? INBOX : f)));
    if (c.implicitKeep) folders.add(INBOX);
    for (const f of folders) {
      const list = byFolder.get(f);
      if (list) list.push(r.address);
      else byFolder.set(f, [r.address]);
    }
    for (const a of c.redirects) redirects.add(a);
    Object.assign(redirectDetails, c.redirectDetails);
    // DATA's choice comes last in the merge, so it wins over the recipient's own (docs/sieve-reference.md).
    if (c.gateway !== undefined) gateways[r.address] = c.gateway;
  }
  edits.push(...data.headerEdits);
  // disclaimer_add is about the message, not a recipient: every phase's, in the order taken (disclaimers.ts).
  const disclaimers: Disclaimer[] = [];
  for (const part of [connection, txChoices, ...tx.recipients.map((r) => r.choices), data]) if (part.disclaimers) disclaimers.push(...part.disclaimers);
  // ec_dkim_sign: signed last, once the body is final too (finishMessage, dkim-signing.ts).
  const signs = [connection, txChoices, ...tx.recipients.map((r) => r.choices), data].flatMap((c) => c.dkim ?? []);
  const plan: DeliveryPlan = { stores: [...byFolder].map(([folder, rs]) => ({ folder, recipients: rs })), redirects: [...redirects], vacations, notifications, ...(Object.keys(redirectDetails).length ? { redirectDetails } : {}), ...(mailFrom !== undefined ? { mailFrom } : {}), ...(Object.keys(gateways).length ? { gateways } : {}) };
  if (disclaimers.length) plan.disclaimers = disclaimers;
  if (signs.length) plan.dkim = signs;
  if (edited === undefined && !edits.length) return plan;
  const rewritten = () => ({ ...plan, message: Buffer.from(applyHeaderEdits(edited ?? received.text(), edits), 'utf8') });
  // A spooled message is loaded on the thread pool first, not read whole on the event loop.
  const loading = edited === undefined ? received.load?.() : undefined;
  return loading ? loading.then(rewritten) : rewritten();
}

/**
 * The delivery plan of an accepted message: where it goes, from every
 * phase's choices, and the message as the policy's header edits left it.
 */
import { type Choices, choosesOnlyHeaderEdits, dropsMessage, INBOX, mergeChoices, noChoices, NOTHING_DECIDED, type RedirectDetails } from './decide.js';
import type { Logger } from 'pino';
import { addDisclaimers, type Disclaimer } from './disclaimers.js';
import { headerTooLargeToSign, signMessage } from './dkim-signing.js';
import type { DkimRequest } from '../sievepp/functions/dkim-params.js';
import { applyHeaderEditsToOctets, editedMessageOctets, editHead, type HeaderEdit } from './header-edits.js';
import { bufferSource, HEAD_LIMIT, type MessageSource, withHead } from './message-source.js';
import { type AutoSigning, automaticSignature, headerFields } from './dkim-auto.js';
import type { ConnectionState, RecipientState, Transaction } from './state.js';

/**
 * What the each_rcpt phase decided, recipient by recipient
 * (message-phases.ts): the recipient's choices, merged last for it, and
 * the recipients it refused, which the message is not delivered to.
 */
export interface EachRecipient {
  choices: ReadonlyMap<RecipientState, Choices>;
  refused: ReadonlySet<RecipientState>;
}

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
  /**
   * The message as the policy changed it (header edits); absent: as
   * received. Where only its header section changed, the body is the
   * received one's, left where it is (a spooled message's stays on disk).
   */
  message?: MessageSource;
  /** disclaimer_add's texts, for a store that writes the message (finishMessage); absent: none. */
  disclaimers?: Disclaimer[];
  /** ec_dkim_sign's signatures, made last (finishMessage); absent: none. */
  dkim?: DkimRequest[];
  /** The body of `message` is not the body received (disclaimer_add): a milter replaces the MTA's. */
  bodyChanged?: true;
  /** ec_maildir's per-user Maildirs (absolute directories), each written once before the reply (src/delivery/user-maildir.ts). */
  maildirs?: string[];
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
  let message: Buffer | undefined;
  const whole = async () => {
    const source = plan.message ?? received;
    // A spooled message is loaded on the thread pool first, not read whole on the event loop.
    await source.load?.();
    return source.bytes();
  };
  let bodyChanged = false;
  if (disclaimers && store.keptElsewhere) logger.warn({ event: 'disclaimer.unsupported', ...at }, 'disclaimer_add: not carried out, the MTA beside smtp-cbv keeps the message body');
  else if (disclaimers) {
    const before = await whole();
    try {
      message = await addDisclaimers(before, disclaimers);
      bodyChanged = message !== before;
    } catch (e) {
      // A message mailsplit cannot split (a header section past its 1 MB, EMAXLEN) is kept as it came: refused
      // for a disclaimer, it was refused as a policy error (451) at every try the client made.
      logger.warn({ event: 'disclaimer.skipped', ...at, err: (e as Error).message }, 'disclaimer_add: not carried out, the message could not be split into its parts');
    }
  }
  // Unedited, the received octets are signed as they are (not re-encoded through text()).
  if (dkim) {
    const unsigned = message ?? (await whole());
    if (!headerTooLargeToSign(unsigned)) message = await signMessage(unsigned, dkim);
    else logger.warn({ event: 'dkim.unsigned', ...at, reason: 'header section too large to sign' }, `DKIM signing: not signed, the header section is longer than ${HEAD_LIMIT} octets`);
  }
  if (!message) return rest;
  return bodyChanged ? { ...rest, message: bufferSource(message), bodyChanged: true } : { ...rest, message: bufferSource(message) };
}

/**
 * The plan of an accepted message, made final (finishMessage): what DATA
 * (with spool's after it) and each_rcpt chose, with the connection's and
 * the transaction's. Our Authentication-Results is an edit of what was
 * received too (`message` is not `received`): the plan's message then, so
 * that a milter's MTA is asked for it; a spooled message keeps its body
 * on disk, and the store copies it from there.
 */
export async function planAccepted(
  connection: ConnectionState,
  tx: Transaction,
  chosen: { data: Choices; edited: string | undefined; each: EachRecipient | undefined },
  m: { received: MessageSource; message: MessageSource },
  keptElsewhere: boolean,
  logger: Logger,
  autoSign?: AutoSigning,
): Promise<DeliveryPlan> {
  const { message } = m;
  const planning = planDelivery(connection.chosenSoFar, tx, chosen.data, message, chosen.edited, chosen.each);
  let planned = planning instanceof Promise ? await planning : planning;
  // The opendkim module's own signature, for a message no script signed (dkim-auto.ts).
  if (autoSign && !planned.dkim) {
    // The header section alone: the edited message's, else the one the source keeps apart, else cut from the whole (loaded on the thread pool).
    const signed = planned.message ?? message;
    const octets = signed.head ?? (await signed.load?.(), signed.bytes());
    const auto = await automaticSignature(autoSign, headerFields(octets), { connection: connection.context, message: tx.context }, Date.now());
    if ('request' in auto) planned = { ...planned, dkim: [auto.request] };
    else logger.debug({ event: 'dkim.auto-skipped', session: connection.id, transaction: tx.id, why: auto.skipped }, 'opendkim: message not signed');
  }
  if (planned.disclaimers || planned.dkim) planned = await finishMessage(planned, message, { keptElsewhere }, logger, { session: connection.id, transaction: tx.id });
  return planned.message || message === m.received ? planned : { ...planned, message };
}

/**
 * The maildir module's own delivery ("The maildir I/O module subverts the
 * regular spooling actions for qualified messages",
 * 3-reference-modules-maildir.md): a recipient it takes (`claims` gives
 * its Maildir) gets that Maildir in place of INBOX, the ordinary delivery;
 * its other choices (folders, redirects) stand, and a recipient whose
 * script already cancelled the implicit keep (ec_maildir, discard) is left
 * as the script planned it.
 */
export function toModuleMaildirs(plan: DeliveryPlan, claims: (address: string) => string | undefined): DeliveryPlan {
  const inbox = plan.stores.find((s) => s.folder === INBOX);
  if (!inbox) return plan;
  const dirs: string[] = [];
  const kept = inbox.recipients.filter((r) => {
    const dir = claims(r);
    if (dir !== undefined) dirs.push(dir);
    return dir === undefined;
  });
  if (!dirs.length) return plan;
  const stores = kept.length ? plan.stores.map((s) => (s === inbox ? { ...s, recipients: kept } : s)) : plan.stores.filter((s) => s !== inbox);
  return { ...plan, stores, maildirs: [...new Set([...(plan.maildirs ?? []), ...dirs])] };
}

/**
 * Where the message goes, from every phase's choices (RFC 5228 2.10.2
 * applied across the phases as if they were one script): each recipient
 * gets the explicit stores chosen for the connection, the transaction, its
 * own RCPT TO, DATA (with spool's after it: the caller merges them) and its
 * own each_rcpt, plus INBOX while no phase cancelled the implicit keep. A
 * recipient whose RCPT TO or each_rcpt phase discarded it gets nothing;
 * one each_rcpt refused is left out altogether (message-phases.ts).
 */
export function planDelivery(connection: Choices, tx: Transaction, data: Choices, received: MessageSource, edited: string | undefined, each?: EachRecipient): DeliveryPlan | Promise<DeliveryPlan> {
  // Most messages: no phase chose anything but header edits, so every recipient gets INBOX (the implicit keep) and nothing else.
  if (edited === undefined && !each && choosesOnlyHeaderEdits(connection) && choosesOnlyHeaderEdits(tx.chosenSoFar) && choosesOnlyHeaderEdits(data) && tx.recipients.every((r) => choosesOnlyHeaderEdits(r.choices))) {
    const plan: DeliveryPlan = { stores: tx.recipients.length ? [{ folder: INBOX, recipients: tx.recipients.map((r) => r.address) }] : [], redirects: [], vacations: [], notifications: [] };
    // In planInFull's order: the connection's, the transaction's, each recipient's, DATA's.
    const edits = [...connection.headerEdits, ...tx.chosenSoFar.headerEdits];
    for (const r of tx.recipients) edits.push(...r.choices.headerEdits);
    edits.push(...data.headerEdits);
    return withEdits(plan, received, undefined, edits);
  }
  return planInFull(connection, tx, data, received, edited, each);
}

/** planDelivery, worked out choice by choice: what it answers for any choices. Exported for its tests. */
export function planInFull(connection: Choices, tx: Transaction, data: Choices, received: MessageSource, edited: string | undefined, each?: EachRecipient): DeliveryPlan | Promise<DeliveryPlan> {
  const txChoices = tx.chosenSoFar;
  // A recipient each_rcpt refused is as if it had never been accepted: none of its choices count (its DSN is the session's).
  const accepted = each?.refused.size ? tx.recipients.filter((r) => !each.refused.has(r)) : tx.recipients;
  // each_rcpt's choices for a recipient: merged after DATA's, so they win for it as DATA's win over RCPT TO's.
  const own = (r: RecipientState): Choices => each?.choices.get(r) ?? NOTHING_DECIDED;
  // Every part that chooses for the whole message, in the order the phases ran.
  const parts = [connection, txChoices, ...accepted.map((r) => r.choices), data, ...accepted.map(own)];
  const byFolder = new Map<string, string[]>();
  const redirects = new Set<string>();
  const redirectDetails: Record<string, RedirectDetails> = {};
  const gateways: Record<string, string> = {};
  const vacations: DeliveryPlan['vacations'] = [];
  const notifications: DeliveryPlan['notifications'] = [];
  const notify = (recipient: string | undefined, data: Array<Record<string, unknown>>) => {
    if (recipient !== undefined && data.length) notifications.push({ recipient, data });
  };
  notify(accepted[0]?.address, [...connection.notifications, ...txChoices.notifications, ...data.notifications]);
  for (const r of accepted) notify(r.address, [...r.choices.notifications, ...own(r).notifications]);
  const edits = [...connection.headerEdits, ...txChoices.headerEdits];
  // add_recipient: one more recipient, with the choices of the connection, the transaction, DATA and spool.
  const recipients: RecipientState[] = [...accepted];
  const known = new Set(recipients.map((r) => r.address.toLowerCase()));
  for (const part of parts) {
    for (const a of part.addRecipients) {
      if (known.has(a.toLowerCase())) continue;
      known.add(a.toLowerCase());
      recipients.push({ address: a, choices: noChoices() });
    }
  }
  let mailFrom: string | undefined;
  for (const part of parts) if (part.mailFrom !== undefined) mailFrom = part.mailFrom;
  for (const r of recipients) edits.push(...r.choices.headerEdits);
  edits.push(...data.headerEdits);
  // Momentum edits each recipient's own copy in each_rcpt; smtp-cbv keeps one message, so every recipient's edits go into it (docs/momentum-compatibility.md).
  for (const r of accepted) edits.push(...own(r).headerEdits);
  for (const r of recipients) {
    const mine = own(r);
    // A discarded recipient still sends its vacation reply (RFC 5230 4.7: vacation does not depend on the keep).
    for (const part of [connection, txChoices, r.choices, data, mine]) for (const v of part.vacations) vacations.push({ recipient: r.address, data: v });
    if (dropsMessage(r.choices) || dropsMessage(mine)) continue;
    const c = noChoices();
    for (const part of [connection, txChoices, r.choices, data, mine]) mergeChoices(c, part);
    const folders = new Set(c.folders.map((f) => (f.toUpperCase() === INBOX ? INBOX : f)));
    if (c.implicitKeep) folders.add(INBOX);
    for (const f of folders) {
      const list = byFolder.get(f);
      if (list) list.push(r.address);
      else byFolder.set(f, [r.address]);
    }
    for (const a of c.redirects) redirects.add(a);
    Object.assign(redirectDetails, c.redirectDetails);
    // DATA's choice comes after the recipient's own RCPT TO one, and each_rcpt's after DATA's: the last wins (docs/sieve-reference.md).
    if (c.gateway !== undefined) gateways[r.address] = c.gateway;
  }
  // disclaimer_add is about the message, not a recipient: every phase's, in the order taken (disclaimers.ts).
  const disclaimers: Disclaimer[] = [];
  for (const part of parts) if (part.disclaimers) disclaimers.push(...part.disclaimers);
  // ec_dkim_sign: signed last, once the body is final too (finishMessage, dkim-signing.ts).
  const signs = parts.flatMap((c) => c.dkim ?? []);
  // ec_maildir: each Maildir once, whichever recipients chose it.
  const maildirs = [...new Set(parts.flatMap((c) => c.maildirs ?? []))];
  const plan: DeliveryPlan = { stores: [...byFolder].map(([folder, rs]) => ({ folder, recipients: rs })), redirects: [...redirects], vacations, notifications, ...(Object.keys(redirectDetails).length ? { redirectDetails } : {}), ...(mailFrom !== undefined ? { mailFrom } : {}), ...(Object.keys(gateways).length ? { gateways } : {}) };
  if (disclaimers.length) plan.disclaimers = disclaimers;
  if (signs.length) plan.dkim = signs;
  if (maildirs.length) plan.maildirs = maildirs;
  return withEdits(plan, received, edited, edits);
}

/** The plan with its message as the edits make it: the header edits, and the message a script changed (`edited`, RFC 5293). */
function withEdits(plan: DeliveryPlan, received: MessageSource, edited: string | undefined, edits: HeaderEdit[]): DeliveryPlan | Promise<DeliveryPlan> {
  if (edited === undefined && !edits.length) return plan;
  // Header edits alone change the header section the source keeps apart: the body stays where it is, a spooled one on disk, unread.
  if (edited === undefined && received.head) return { ...plan, message: withHead(received, editHead(received.head, edits)) };
  // The body goes on as received, octet for octet: only the header section is edited as text (header-edits.ts).
  const rewritten = () => ({ ...plan, message: bufferSource(edited === undefined ? applyHeaderEditsToOctets(received.bytes(), edits, received.head?.length) : editedMessageOctets(edited, received.bytes(), received.text(), edits)) });
  // A spooled message is loaded on the thread pool first, not read whole on the event loop (its body is kept, in either case).
  const loading = received.load?.();
  return loading ? loading.then(rewritten) : rewritten();
}

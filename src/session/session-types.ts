/**
 * The types a session is built from and answers with (session.ts): the
 * services handed in, the store and observers it reports to, and a phase's
 * outcome. Apart from the machine itself, so that session.ts holds only it.
 */
import type { DeliveryPlan } from './delivery-plan.js';
import type { EsmtpChange } from './decide.js';
import type { MailLoopSettings } from './mail-loop.js';
import type { MessageAuthentication } from './message-authentication.js';
import type { MessageSource } from './message-source.js';
import type { OutgoingMailSender } from './outgoing-mail.js';
import type { Phase } from './phases.js';
import type { Policy, PolicyServices } from './policy.js';
import type { RecipientVerification } from './recipient-verification.js';
import type { Reply } from './reply.js';
import type { SenderVerification } from './sender-verification.js';
import type { ConnectionState, Transaction } from './state.js';

/** What the session hands the store for an accepted message. */
export interface Accepted {
  connection: ConnectionState;
  transaction: Transaction;
  plan: DeliveryPlan;
  /** The message to store: the policy's edit, or as received (perhaps still in its spool file). */
  message: MessageSource;
}

/** Keeps accepted messages. All or nothing: a failure stores nothing and rejects. */
export interface MessageStore {
  /** Resolves with one id per stored copy (none when nothing was to be stored). */
  store(accepted: Accepted): Promise<string[]>;
  /** The MTA beside smtp-cbv keeps the message (milter, policy service): its body is not ours to change. */
  keptElsewhere?: boolean;
}

/**
 * Watches sessions for metrics (src/ops/metrics.ts): called as things
 * happen, cheap, never throws. Front doors report connections.
 */
export interface SessionObserver {
  /** A session began (a client connected) or ended. */
  connection?(event: 'open' | 'close', connection: ConnectionState): void;
  /** Every reply a phase gives, with the connection it was given on. */
  phase?(outcome: PhaseOutcome, connection: ConnectionState): void;
  /** A transaction ended: accepted, refused, reset or closed (the `transaction` log line). */
  transaction?(outcome: string): void;
}

export interface SessionServices extends PolicyServices {
  cbv?: SenderVerification;
  /** Recipient call-ahead (docs/recipient-verification.md). */
  recipients?: RecipientVerification;
  /** SPF at MAIL FROM, DKIM/ARC/DMARC at DATA (docs/authentication.md); absent: nothing checked. */
  authentication?: MessageAuthentication;
  observer?: SessionObserver;
  store: MessageStore;
  /** Where generate_mail_raw and ec_forward messages go (outgoing-mail.ts); absent: they are logged as not sent. */
  outgoing?: OutgoingMailSender;
  /** Per-user Maildirs (src/delivery/user-maildir.ts); absent: none is written, and the maildir module takes no recipient (the dry run). */
  userMaildirs?: UserMaildirs;
  /** Upper bound on any tarpit delay a policy asks for. */
  maxTarpitMs: number;
  /** Momentum's mail_loop (mail-loop.ts); absent: Received fields are not counted. */
  mailLoop?: MailLoopSettings;
  /** generate_bounces_for_multi_recipient_policy_rejections (message-phases.ts); absent: true. */
  policyRejectionBounces?: boolean;
}

export interface SessionDeps {
  /** The policy in force now (a reload swaps what this returns). */
  policy(): Policy;
  services: SessionServices;
}

export interface PhaseOutcome {
  phase: Phase;
  /** What to answer, success included. */
  reply: Reply;
  accepted: boolean;
  /** Close the connection after the reply. */
  disconnect: boolean;
  /** Wait this long before replying (already bounded). */
  tarpitMs: number;
  /** rcptto, each_rcpt: the recipient decided. */
  recipient?: string;
  /** data: where the message went. */
  delivery?: DeliveryPlan;
  /** data: the ids of the stored copies. */
  ids?: string[];
  /** ehlo: the changes to the extension lines the connection's policy asked for so far. */
  esmtp?: readonly EsmtpChange[];
}

/** Momentum's maildir module, as the session uses it (src/delivery/user-maildir.ts). */
export interface UserMaildirs {
  /** Writes a message durably into these Maildirs (ec_maildir's, and the module's own). */
  write(dirs: readonly string[], message: Buffer): Promise<void>;
  /** The Maildir the module itself delivers `address` to (its `all_domains` or `domains`), else undefined. */
  claims(address: string): string | undefined;
  /** At RCPT TO, for a recipient the module takes: its refusal when it has no mailbox and `create_users` is off, or a name that cannot be one (looked up on the thread pool; answered at once for any other recipient). */
  refusal(address: string): Reply | Promise<Reply | undefined> | undefined;
}

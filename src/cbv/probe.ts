/**
 * The probe dialogue against the vetted targets, host after host:
 *
 *   greeting -> EHLO (HELO if EHLO gets 5xx) -> [STARTTLS -> EHLO]
 *   -> for each check: MAIL FROM:<sender> -> RCPT TO:<rcpt> -> RSET before the next
 *   -> QUIT
 *
 * and never DATA: the probe ends at RCPT TO (docs/cbv.md). The next host is tried
 * after a connection failure or a 4xx (RFC 5321 4.2.1, 5.1); a 5xx is the
 * domain's answer and ends the check. The overall deadline is checked before
 * each host and bounds every wait.
 */
import { SessionError, SmtpSession } from './client.js';
import { replyClass, sanitise, type RemoteReply } from './reply.js';
import type { CbvReason, CbvStage, TranscriptLine } from './types.js';

export interface Target {
  host: string;
  ip: string;
  /** The port of this target; default the probe's `port` (a gateway names its own). */
  port?: number;
  /** An LMTP server (RFC 2033 4.1): greeted with LHLO, which has no HELO fallback. */
  lmtp?: boolean;
  /** Whether to try STARTTLS with this target; default the probe's `startTls` (a route may say `TLS = no`). */
  startTls?: boolean;
}

/**
 * Where a check goes: the vetted targets, or why there are none. The engine
 * finds the address domain's MX hosts itself; a caller that knows the next
 * hop better (recipient call-ahead: the delivery routes) supplies its own.
 */
export type NextHopTargets = { ok: true; targets: Target[] } | { ok: false; reason: CbvReason; stage: CbvStage; detail: string };

/** One RCPT TO in the session: the catch-all probe, the address itself, or postmaster. */
export interface Check {
  kind: 'random' | 'address' | 'postmaster';
  rcpt: string;
}

export interface ProbeConfig {
  port: number;
  localAddress?: string;
  helo: string;
  mailFrom: string;
  startTls: boolean;
  connectTimeoutMs: number;
  greetingTimeoutMs: number;
  commandTimeoutMs: number;
  quitWaitMs: number;
  maxHosts: number;
  maxLineLength: number;
  maxReplyBytes: number;
}

export interface ProbeOutcome {
  reason: CbvReason;
  stage: CbvStage;
  host?: string;
  ip?: string;
  reply?: RemoteReply;
  /** Our words when no reply decided it. */
  detail: string;
  /** What the optional checks learnt about the domain (cached per domain by the engine). */
  acceptAll?: boolean;
  postmasterOk?: boolean;
}

export interface ProbeContext {
  deadlineAt: number;
  now: () => number;
  record: (dir: TranscriptLine['dir'], text: string) => void;
  /** One structured event per host decision. */
  event: (name: string, fields: Record<string, unknown>) => void;
  /** A slot for a session to this IP, or undefined when its per-host limit is reached. */
  acquireHost: (ip: string) => (() => void) | undefined;
}

/** A host's result; `final` ends the check, otherwise the next host is tried. */
interface HostResult {
  outcome: ProbeOutcome;
  final: boolean;
  tlsFailed?: boolean;
}

export async function probeTargets(targets: Target[], checks: Check[], cfg: ProbeConfig, ctx: ProbeContext): Promise<ProbeOutcome> {
  let last: ProbeOutcome | undefined;
  for (const target of targets.slice(0, cfg.maxHosts)) {
    if (ctx.now() >= ctx.deadlineAt) {
      return { reason: 'deadline', stage: last?.stage ?? 'connect', detail: 'overall deadline reached before the next host' };
    }
    const release = ctx.acquireHost(target.ip);
    if (!release) {
      ctx.record('*', `skip ${target.host} ${target.ip}: per-host session limit reached`);
      ctx.event('cbv.limit', { host: target.host, ip: target.ip, why: 'host-concurrency' });
      last = { host: target.host, ip: target.ip, reason: 'rate-limited', stage: 'connect', detail: 'per-host session limit reached' };
      continue;
    }
    let r: HostResult;
    try {
      r = await probeHost(target, checks, cfg, ctx, true);
      if (r.tlsFailed) {
        // Opportunistic TLS must not make us less able to verify than no TLS:
        // the same host again, in clear (docs/cbv.md).
        ctx.event('cbv.tls', { host: target.host, ip: target.ip, retry: 'clear' });
        r = await probeHost(target, checks, cfg, ctx, false);
      }
    } finally {
      release();
    }
    ctx.event('cbv.host', { host: target.host, ip: target.ip, reason: r.outcome.reason, stage: r.outcome.stage, final: r.final });
    if (r.final) return r.outcome;
    last = r.outcome;
  }
  return last ?? { reason: 'no-allowed-target', stage: 'policy', detail: 'no host to try' };
}

async function probeHost(target: Target, checks: Check[], cfg: ProbeConfig, ctx: ProbeContext, tryTls: boolean): Promise<HostResult> {
  const at = { host: target.host, ip: target.ip };
  const left = (ms: number) => Math.max(1, Math.min(ms, ctx.deadlineAt - ctx.now()));
  let stage: CbvStage = 'connect';
  let session: SmtpSession | undefined;
  const outcome: Partial<ProbeOutcome> = {};
  /** A 4xx goes to the next host, a 5xx ends the check with `permanent`. */
  const verdictOf = (reply: RemoteReply, permanent: CbvReason): HostResult => {
    const cls = replyClass(reply);
    const reason = cls === 5 ? permanent : 'tempfail';
    return { outcome: { ...at, ...outcome, stage, reply, reason, detail: '' }, final: cls === 5 };
  };
  try {
    session = await SmtpSession.open({
      ip: target.ip,
      port: target.port ?? cfg.port,
      localAddress: cfg.localAddress,
      connectTimeoutMs: left(cfg.connectTimeoutMs),
      maxLineLength: cfg.maxLineLength,
      maxReplyBytes: cfg.maxReplyBytes,
      record: ctx.record,
    });
    stage = 'greeting';
    const greeting = await session.read(left(cfg.greetingTimeoutMs));
    if (replyClass(greeting) !== 2) return await closing(session, cfg, verdictOf(greeting, 'greeting-rejected'));

    stage = 'ehlo';
    const hello = target.lmtp ? 'LHLO' : 'EHLO';
    let ehlo = await session.command(`${hello} ${cfg.helo}`, left(cfg.commandTimeoutMs));
    const extended = replyClass(ehlo) === 2;
    if (replyClass(ehlo) === 5 && !target.lmtp) {
      // RFC 5321 4.1.4 / 3.2: a server that does not know EHLO gets HELO.
      ehlo = await session.command(`HELO ${cfg.helo}`, left(cfg.commandTimeoutMs));
    }
    if (replyClass(ehlo) !== 2) return await closing(session, cfg, verdictOf(ehlo, 'helo-rejected'));

    if (tryTls && (target.startTls ?? cfg.startTls) && extended && hasExtension(ehlo, 'STARTTLS')) {
      const reply = await session.startTls(left(cfg.commandTimeoutMs));
      if (replyClass(reply) === 2) {
        try {
          await session.upgrade(target.host, left(cfg.commandTimeoutMs));
        } catch (e) {
          if (e instanceof SessionError && e.reason === 'tls-failed') {
            return { outcome: { ...at, stage, reason: 'connection-lost', detail: e.message }, final: false, tlsFailed: true };
          }
          throw e;
        }
        // RFC 3207 4.2: forget what was learnt in clear and say EHLO again.
        ehlo = await session.command(`${hello} ${cfg.helo}`, left(cfg.commandTimeoutMs));
        if (replyClass(ehlo) !== 2) return await closing(session, cfg, verdictOf(ehlo, 'helo-rejected'));
      }
      // A 4xx/5xx to STARTTLS leaves the session as it was (RFC 3207 4): go on in clear.
    }

    for (const [i, check] of checks.entries()) {
      if (i > 0) {
        // RSET between probes on one session (RFC 5321 4.1.1.5), so that each
        // MAIL FROM opens a fresh transaction.
        stage = 'mail';
        const rset = await session.command('RSET', left(cfg.commandTimeoutMs));
        if (replyClass(rset) !== 2) {
          return await closing(session, cfg, { outcome: { ...at, stage, reply: rset, reason: 'tempfail', detail: '' }, final: false });
        }
      }
      stage = 'mail';
      const mail = await session.command(`MAIL FROM:<${cfg.mailFrom}>`, left(cfg.commandTimeoutMs));
      if (replyClass(mail) !== 2) return await closing(session, cfg, verdictOf(mail, 'sender-rejected'));
      stage = 'rcpt';
      const rcpt = await session.command(`RCPT TO:<${check.rcpt}>`, left(cfg.commandTimeoutMs));
      const cls = replyClass(rcpt);
      if (cls !== 2 && cls !== 5) return await closing(session, cfg, verdictOf(rcpt, 'rejected'));
      if (check.kind === 'random') {
        // Exim's "random" callout: a domain that accepts a made-up local part
        // accepts everything, so the real address is not worth asking about.
        outcome.acceptAll = cls === 2;
        if (cls === 2) return await closing(session, cfg, { outcome: { ...at, ...outcome, stage, reply: rcpt, reason: 'accept-all', detail: '' }, final: true });
      } else if (check.kind === 'address') {
        if (cls === 5) return await closing(session, cfg, verdictOf(rcpt, 'rejected'));
        outcome.reply = rcpt;
      } else {
        // RFC 5321 4.5.1: every domain must accept postmaster.
        outcome.postmasterOk = cls === 2;
        if (cls === 5) return await closing(session, cfg, verdictOf(rcpt, 'postmaster-rejected'));
      }
    }
    return await closing(session, cfg, { outcome: { ...at, detail: '', ...outcome, stage: 'rcpt', reason: 'accepted' }, final: true });
  } catch (e) {
    session?.close();
    if (!(e instanceof SessionError)) throw e;
    const reason: CbvReason = e.reason === 'tls-failed' ? 'connection-lost' : ctx.now() >= ctx.deadlineAt ? 'deadline' : e.reason;
    return { outcome: { ...at, stage, reason, detail: sanitise(e.message) }, final: false };
  }
}

async function closing(session: SmtpSession, cfg: ProbeConfig, r: HostResult): Promise<HostResult> {
  await session.quit(cfg.quitWaitMs);
  return r;
}

/** EHLO keywords are the first word of each line after the first (RFC 5321 4.1.1.1). */
function hasExtension(ehlo: RemoteReply, keyword: string): boolean {
  return ehlo.lines.slice(1).some((l) => l.split(' ')[0]?.toUpperCase() === keyword);
}

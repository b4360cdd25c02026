/**
 * The CBV engine: `createCbvEngine(options).verify(address, { sender })`.
 *
 * One check, in order:
 *   policy (address syntax, null sender, own domains and own probe sender)
 *   -> map + IDN -> cache -> single flight -> limits -> DNS next hops
 *   -> target guard -> probe hosts -> verdict -> cache.
 * Each step that decides logs one structured event (`cbv.*`); the verdict
 * event carries the transcript at debug level.
 */
import { hostname } from 'node:os';
import { pino, type Logger } from 'pino';
import { formatAddress, isNullAddress, makeDomainMap, parseAddress } from './address.js';
import { FailSafeStore, MemoryStore, VerdictCache, type CacheEntry } from './cache.js';
import { checkTarget, parseCidrs, type CidrList } from './guard.js';
import { ProbeLimiter, type Acquired } from './limiter.js';
import { resolveOptions, type CbvOptions, type ResolvedOptions } from './options.js';
import { probeTargets, type Check, type NextHopTargets, type ProbeOutcome, type Target } from './probe.js';
import { formatRemoteReply } from './reply.js';
import { NextHopResolver, type HopsResult } from './resolver.js';
import { sharedVerdictOf, type SharedVerdict } from './shared.js';
import { SKIP_REASONS, STATUS_OF, resultOf, type CbvReason, type CbvStage, type TranscriptLine, type Verdict } from './types.js';

export interface VerifyOptions {
  /** MAIL FROM for this check, overriding `mailFrom` ('' = `<>`). The Sieve function's second argument. */
  sender?: string;
  /** Skip the cache lookup (the result is still stored by the usual rules). */
  bypassCache?: boolean;
}

export interface CbvEngine {
  verify(address: string, opts?: VerifyOptions): Promise<Verdict>;
  /** Counters since creation, for tests, benchmarks and metrics. */
  readonly stats: { checks: number; probes: number; cacheHits: number; joined: number };
  readonly options: ResolvedOptions;
}

/** Everything a check knows once policy has let it through. */
interface CheckState {
  input: string;
  address: string;
  local: string;
  domain: string;
  sender: string;
  started: number;
  transcript: TranscriptLine[];
}

export function createCbvEngine(options: CbvOptions = {}): CbvEngine {
  const o = resolveOptions(options, hostname());
  const log: Logger = (o.logger ?? pino({ level: 'silent' })).child({ module: o.module ?? 'cbv' });
  const allow: CidrList = parseCidrs(o.allowTargets);
  const mapDomain = makeDomainMap(o.map, o.mapSubdomains);
  const own = new Set(o.ownDomains.map((d) => parseAddress(`x@${d}`)?.domain ?? d.toLowerCase()));
  const probeSender = o.mailFrom ? parseAddress(o.mailFrom) : undefined;
  const resolver = new NextHopResolver({ servers: o.dnsServers, timeoutMs: o.dnsTimeoutMs, tries: o.dnsTries, random: o.random });
  const store = o.store
    ? new FailSafeStore(o.store, (op, err) => log.warn({ event: 'cbv.cache-error', op, err: String(err) }, 'cbv cache store failed'))
    : new MemoryStore(o.cacheSize, o.now);
  const cache = new VerdictCache(store, {
    positiveMs: o.positiveTtl * 1000,
    negativeMs: o.negativeTtl * 1000,
    domainMs: o.domainTtl * 1000,
  }, o.now);
  const limiter = new ProbeLimiter({
    maxConcurrent: o.maxConcurrent,
    maxConcurrentPerDomain: o.maxConcurrentPerDomain,
    maxConcurrentPerHost: o.maxConcurrentPerHost,
    ratePerDomain: o.ratePerDomain,
    rateWindowMs: o.rateWindow * 1000,
    now: o.now,
  });
  const inFlight = new Map<string, Promise<Verdict>>();
  const stats = { checks: 0, probes: 0, cacheHits: 0, joined: 0 };

  function verdict(c: Pick<CheckState, 'address' | 'sender' | 'started' | 'transcript'>, reason: CbvReason, stage: CbvStage, extra: Partial<Verdict> & { detail?: string } = {}): Verdict {
    const status = STATUS_OF[reason];
    const { detail, ...rest } = extra;
    const v: Verdict = {
      status,
      result: SKIP_REASONS.has(reason) ? null : resultOf(status),
      stage,
      reason,
      address: c.address,
      sender: c.sender,
      message: rest.reply ?? (detail || reason),
      cached: false,
      durationMs: o.now() - c.started,
      transcript: c.transcript,
      ...rest,
    };
    o.observer?.verdict?.(v);
    // A probe is an event worth a line at info; a cache hit is in the transaction's line already,
    // and its debug line is built only when debug is on (a cache hit is every transaction's lot).
    if (v.cached && !log.isLevelEnabled('debug')) return v;
    log[v.cached ? 'debug' : 'info']({ event: 'cbv.verdict', address: v.address, sender: v.sender, status: v.status, reason, stage, host: v.host, ip: v.ip, reply: v.reply, cached: v.cached, durationMs: v.durationMs }, 'cbv verdict');
    if (v.transcript.length) log.debug({ event: 'cbv.transcript', address: v.address, transcript: v.transcript }, 'cbv transcript');
    return v;
  }

  async function verify(input: string, vo: VerifyOptions = {}): Promise<Verdict> {
    stats.checks++;
    const started = o.now();
    const senderInput = vo.sender ?? o.mailFrom;
    const base = { address: input, sender: senderInput, started, transcript: [] as TranscriptLine[] };
    // docs/cbv.md: the null sender has nothing to probe; smtp_cbv_result stays unset.
    if (isNullAddress(input)) return verdict(base, 'null-sender', 'policy', { detail: 'null sender: nothing to probe' });
    const parsed = parseAddress(input);
    const senderParsed = isNullAddress(senderInput) ? null : parseAddress(senderInput);
    if (!parsed || senderParsed === undefined) {
      return verdict(base, 'invalid-address', 'policy', { detail: parsed ? `invalid probe sender ${senderInput}` : `invalid address ${input}` });
    }
    const sender = senderParsed ? formatAddress(senderParsed) : '';
    // No loops (docs/cbv.md): never probe the address we probe from, nor a
    // domain we receive for (its MX is us, and a probe of us would probe again).
    if (probeSender && formatAddress(parsed).toLowerCase() === formatAddress(probeSender).toLowerCase()) {
      return verdict({ ...base, sender }, 'own-sender', 'policy', { detail: 'the address is our own probe sender' });
    }
    const domain = mapDomain(parsed.domain);
    if (own.has(parsed.domain) || own.has(domain)) {
      return verdict({ ...base, sender }, 'own-domain', 'policy', { detail: `${domain} is one of our own domains` });
    }
    const c: CheckState = { input, address: `${parsed.local}@${domain}`, local: parsed.local, domain, sender, started, transcript: [] };

    if (!vo.bypassCache) {
      const found = cache.lookup(c.address, domain, sender);
      const hit = found instanceof Promise ? await found : found;
      if (hit) {
        stats.cacheHits++;
        return fromCache(c, hit);
      }
    }
    // Single flight (docs/cbv.md): the same question asked again while it
    // is being answered waits for that answer instead of asking again.
    const key = `${c.address}|${sender}|${vo.bypassCache ? 'bypass' : ''}`;
    const running = inFlight.get(key);
    if (running) {
      stats.joined++;
      o.observer?.joined?.('process');
      return running;
    }
    const p = probeOnce(c, key, !!vo.bypassCache).finally(() => inFlight.delete(key));
    inFlight.set(key, p);
    return p;
  }

  function fromCache(c: CheckState, e: CacheEntry): Verdict {
    return verdict(c, e.reason, e.stage, {
      host: e.host,
      ip: e.ip,
      reply: e.reply,
      detail: e.message,
      acceptAll: e.acceptAll,
      cached: true,
    });
  }

  /**
   * Single flight across processes (docs/operations.md): the first process
   * to ask owns the probe, the others wait for its verdict. Whatever goes
   * wrong with the shared state, the check falls back to probing here.
   */
  async function probeOnce(c: CheckState, key: string, bypassCache: boolean): Promise<Verdict> {
    if (!o.flights) return probe(c);
    for (let attempt = 0; attempt < 3; attempt++) {
      const waitMs = c.started + o.timeout * 1000 - o.now() + FLIGHT_MARGIN_MS;
      const ticket = await o.flights.join(key, { lockTtlMs: o.timeout * 1000 + FLIGHT_MARGIN_MS, waitMs });
      if (ticket.role === 'unavailable') break;
      if (ticket.role === 'waiter') {
        const w = await ticket.result;
        if (w.kind === 'verdict') {
          stats.joined++;
          o.observer?.joined?.('cluster');
          return fromShared(c, w.verdict);
        }
        if (w.kind === 'timeout') return verdict(c, 'deadline', 'policy', { detail: 'no verdict in time from the probe another process runs' });
        continue; // the owner went away: ask again, maybe owning it now
      }
      // The owner. Another process may have answered between our cache miss and our lock.
      try {
        const hit = bypassCache ? undefined : await cache.lookup(c.address, c.domain, c.sender);
        if (hit) stats.cacheHits++;
        const v = hit ? fromCache(c, hit) : await probe(c);
        await ticket.done(sharedVerdictOf(v));
        return v;
      } catch (e) {
        await ticket.abandon();
        throw e;
      }
    }
    return probe(c);
  }

  function fromShared(c: CheckState, s: SharedVerdict): Verdict {
    return verdict(c, s.reason, s.stage, { host: s.host, ip: s.ip, reply: s.reply, detail: s.message, acceptAll: s.acceptAll });
  }

  /**
   * The limits: global concurrency always here; the per-domain ones across
   * processes when shared limits are configured and reachable, else here.
   */
  async function acquireSlot(domain: string): Promise<Acquired> {
    if (!o.sharedLimits) return limiter.tryAcquire(domain);
    const global = limiter.tryAcquireGlobal();
    if (!global.ok) return global;
    const shared = await o.sharedLimits.tryAcquire(domain, {
      maxConcurrentPerDomain: o.maxConcurrentPerDomain,
      ratePerDomain: o.ratePerDomain,
      rateWindowMs: o.rateWindow * 1000,
      leaseTtlMs: o.timeout * 1000 + FLIGHT_MARGIN_MS,
    });
    if (shared?.ok) return { ok: true, release: () => (global.release(), shared.release()) };
    global.release();
    return shared ?? limiter.tryAcquire(domain);
  }

  async function probe(c: CheckState): Promise<Verdict> {
    const slot = await acquireSlot(c.domain);
    if (!slot.ok) {
      o.observer?.limited?.(slot.why);
      log.info({ event: 'cbv.limit', domain: c.domain, why: slot.why }, 'cbv probe refused by a limit');
      return verdict(c, 'rate-limited', 'policy', { detail: `limit reached: ${slot.why}` });
    }
    stats.probes++;
    try {
      const v = await run(c);
      o.observer?.probed?.(v.durationMs, v.reason);
      const stored = await cache.remember(c.address, c.domain, c.sender, {
        reason: v.reason,
        stage: v.stage,
        host: v.host,
        ip: v.ip,
        reply: v.reply,
        message: v.message,
        acceptAll: v.acceptAll,
      }, v.status);
      log.debug({ event: 'cbv.cache', address: c.address, stored }, 'cbv cache');
      return v;
    } finally {
      slot.release();
    }
  }

  async function run(c: CheckState): Promise<Verdict> {
    const deadlineAt = c.started + o.timeout * 1000;
    const record = (dir: TranscriptLine['dir'], text: string) => c.transcript.push({ t: o.now() - c.started, dir, text });

    const picked = await withDeadline(o.nextHops ? o.nextHops(c.domain) : mxTargets(c, record), deadlineAt - o.now());
    if (picked === 'deadline') return verdict(c, 'deadline', 'dns', { detail: 'overall deadline reached during DNS' });
    if (!picked.ok) {
      record('*', picked.detail);
      return verdict(c, picked.reason, picked.stage, { detail: picked.detail });
    }

    const checks: Check[] = [];
    if (o.catchAllCheck && !(await cache.hasFact('not-accept-all', c.domain, c.sender))) {
      checks.push({ kind: 'random', rcpt: `${randomLocal()}@${c.domain}` });
    }
    checks.push({ kind: 'address', rcpt: c.address });
    if (o.postmasterCheck && c.local.toLowerCase() !== 'postmaster' && !(await cache.hasFact('postmaster-ok', c.domain, c.sender))) {
      checks.push({ kind: 'postmaster', rcpt: `postmaster@${c.domain}` });
    }
    const outcome = await probeTargets(picked.targets, checks, { ...o, mailFrom: c.sender }, {
      deadlineAt,
      now: o.now,
      record,
      // Each host's outcome is a step towards the verdict (debug); a limit or a retry in clear is a decision (info).
      event: (name, fields) => log[name === 'cbv.host' ? 'debug' : 'info']({ event: name, ...fields }, name),
      acquireHost: (ip) => {
        const slot = limiter.tryAcquireHost(ip);
        return slot.ok ? slot.release : undefined;
      },
    });
    if (outcome.acceptAll === false) await cache.setFact('not-accept-all', c.domain, c.sender);
    if (outcome.postmasterOk) await cache.setFact('postmaster-ok', c.domain, c.sender);
    return fromOutcome(c, outcome);
  }

  function fromOutcome(c: CheckState, out: ProbeOutcome): Verdict {
    return verdict(c, out.reason, out.stage, {
      host: out.host,
      ip: out.ip,
      reply: out.reply ? formatRemoteReply(out.reply) : undefined,
      detail: out.detail,
      acceptAll: out.acceptAll,
    });
  }

  /** The domain's MX hosts (RFC 5321 5.1), through the target guard. */
  async function mxTargets(c: CheckState, record: (dir: TranscriptLine['dir'], text: string) => void): Promise<NextHopTargets> {
    record('*', `MX lookup ${c.domain}`);
    const hops = await resolver.nextHops(c.domain);
    // A step towards the verdict, which names a DNS failure itself (reason, stage): debug, as docs/cbv.md says.
    log.debug({ event: 'cbv.dns', domain: c.domain, ok: hops.ok, ...(hops.ok ? { implicit: hops.implicit, hosts: hops.hops.map((h) => `${h.preference} ${h.name} ${h.addresses.join(',')}${h.problem ? ` (${h.problem})` : ''}`) } : { reason: hops.reason }) }, 'cbv next hops');
    if (!hops.ok) return { ok: false, reason: hops.reason, stage: 'dns', detail: hops.detail };
    const picked = pickTargets(hops, c, record);
    return 'reason' in picked ? { ok: false, ...picked } : { ok: true, targets: picked.targets };
  }

  /** The target guard over every resolved address, in next-hop order (docs/cbv.md). */
  function pickTargets(
    hops: Extract<HopsResult, { ok: true }>,
    c: CheckState,
    record: (dir: TranscriptLine['dir'], text: string) => void,
  ): { targets: Target[] } | { reason: CbvReason; stage: CbvStage; detail: string } {
    const targets: Target[] = [];
    let refused = 0;
    let dnsFailure: CbvReason | undefined;
    for (const hop of hops.hops) {
      if (hop.problem === 'address-literal') {
        refused++;
        record('*', `skip MX ${hop.name}: an address literal is not a host name (RFC 5321 5.1)`);
        log.info({ event: 'cbv.guard', host: hop.name, decision: 'skip', why: 'address-literal' }, 'cbv guard');
        continue;
      }
      if (hop.problem && hop.problem !== 'no-address') dnsFailure ??= hop.problem;
      for (const ip of hop.addresses) {
        const d = checkTarget(ip, allow);
        if (d.allowed) targets.push({ host: hop.name, ip });
        else {
          refused++;
          record('*', `refuse ${hop.name} ${ip}: ${d.class} address, not allow-listed`);
          log.info({ event: 'cbv.guard', host: hop.name, ip, decision: 'refuse', class: d.class }, 'cbv guard');
        }
      }
    }
    if (targets.length > 0) return { targets };
    if (dnsFailure) return { reason: dnsFailure, stage: 'dns', detail: `no usable address for ${c.domain}: ${dnsFailure}` };
    if (refused > 0) return { reason: 'no-allowed-target', stage: 'policy', detail: `no MX host of ${c.domain} that policy allows us to contact` };
    return { reason: 'no-address', stage: 'dns', detail: `no MX host of ${c.domain} has an address` };
  }

  /** A local part no real mailbox has, for the catch-all check. */
  function randomLocal(): string {
    let s = 'cbv-';
    for (let i = 0; i < 12; i++) s += Math.floor(o.random() * 36).toString(36);
    return s;
  }

  return { verify, stats, options: o };
}

/** How much longer than the overall deadline a flight lock or a lease may live, and a waiter may wait. */
const FLIGHT_MARGIN_MS = 2000;

function withDeadline<T>(p: Promise<T>, ms: number): Promise<T | 'deadline'> {
  if (ms <= 0) return Promise.resolve('deadline');
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<'deadline'>((resolve) => {
    timer = setTimeout(() => resolve('deadline'), ms);
  });
  return Promise.race([p, deadline]).finally(() => clearTimeout(timer));
}

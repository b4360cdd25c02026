/**
 * RFC 7352: the duplicate test. The message is identified by :uniqueid, by
 * the value of :header, or by its Message-ID (3.1), prefixed by :handle
 * (3.2). The host keeps the tracking list (SieveHost.duplicate answers
 * whether an id is on it); a run only notes what it tested, and its host
 * records those ids once the run's result has been carried out
 * (duplicateRecords): a run that fails, or a message that is to be sent
 * again, must not find itself a duplicate next time (3). Within one run
 * the first evaluation of an id decides, so every test of it gives the same
 * answer. Without a host, nothing is a duplicate.
 */
import { andThen } from '../interpreter.js';
import type { Extension } from '../registry.js';
import { headerValues } from '../runtime/message.js';
import type { Runtime } from '../runtime/runtime.js';
import { afterDecoding, decodedHeader } from './core-tests.js';

/** RFC 7352 3.3: the default period (Pigeonhole's), and the most a script may ask for. */
const DEFAULT_SECONDS = 12 * 3600;
const MAX_SECONDS = 7 * 24 * 3600;

/** An id a run tested, for its host to record once the run's result is carried out (RFC 7352 3, 3.3). */
export interface DuplicateRecord {
  /** The :handle and the unique id, as SieveHost.duplicate was asked. */
  id: string;
  /** How long the record lasts. */
  seconds: number;
  /** :last: the period starts again at every test of the id; without it, it runs from the id's first record. */
  last: boolean;
  /** Whether the id was already recorded (then only :last changes the record). */
  duplicate: boolean;
}

const STATE = 'duplicate';

/** The id SieveHost.duplicate is asked about: the :handle (empty without one), a NUL, the unique id. */
export const duplicateKey = (handle: string | undefined, id: string): string => `${handle ?? ''}\0${id}`;

function tested(rt: Runtime): Map<string, DuplicateRecord> {
  let seen = rt.state.get(STATE) as Map<string, DuplicateRecord> | undefined;
  if (!seen) rt.state.set(STATE, (seen = new Map()));
  return seen;
}

/** What a run that tested nothing (nearly every run) has recorded: one shared empty list. */
const NO_RECORDS: readonly DuplicateRecord[] = Object.freeze([]);

/**
 * What a finished run asks its host to record: the ids it tested that were
 * new (recorded from now), and those tested with :last (their period starts
 * again). The arguments of the test evaluated last apply (RFC 7352 3.3).
 */
export function duplicateRecords(rt: Runtime): readonly DuplicateRecord[] {
  const seen = rt.stateOf(STATE) as Map<string, DuplicateRecord> | undefined;
  if (!seen) return NO_RECORDS;
  return [...seen.values()].filter((r) => r.last || !r.duplicate);
}

export const duplicate: Extension = {
  capability: 'duplicate',
  commands: [
    {
      name: 'duplicate',
      kind: 'test',
      tags: [
        { name: 'handle', args: [{ name: 'handle', type: 'string' }] },
        { name: 'header', group: 'id', args: [{ name: 'header name', type: 'string' }] },
        { name: 'uniqueid', group: 'id', args: [{ name: 'unique id', type: 'string' }] },
        { name: 'seconds', args: [{ name: 'period', type: 'number' }] },
        { name: 'last' },
      ],
      evaluate(b, rt) {
        const arg = (name: string) => {
          const t = b.tags.get(name);
          return t ? rt.string(t.args[0]!) : undefined;
        };
        // A period of zero: never a duplicate, and nothing to record (RFC 7352 3.3).
        const seconds = Math.min(Number(arg('seconds') ?? DEFAULT_SECONDS), MAX_SECONDS);
        if (!(seconds > 0)) return false;
        let id = arg('uniqueid');
        if (id === undefined) {
          const msg = rt.requireMessage(b.node.pos);
          const value = headerValues(msg, (arg('header') ?? 'message-id').toLowerCase())[0];
          // No identifier, no duplicate, and the list is left alone (RFC 7352 3.1).
          if (value === undefined) return false;
          // A large value with encoded-words is decoded in a worker first (core-tests.ts, afterDecoding).
          const decoded = afterDecoding(rt, [value], () => b.def.evaluate!(b, rt));
          if (decoded) return decoded;
          // Unfolded, decoded and trimmed (RFC 7352 3.1).
          id = decodedHeader(rt, value).trim();
          if (id === '') return false;
        }
        const key = duplicateKey(arg('handle'), id);
        const seen = tested(rt);
        const last = b.tags.has('last');
        const known = seen.get(key);
        if (known !== undefined) {
          known.seconds = seconds;
          known.last = last;
          return known.duplicate;
        }
        return andThen(rt.host.duplicate?.(key) ?? false, (dup) => {
          seen.set(key, { id: key, seconds, last, duplicate: dup });
          return dup;
        });
      },
    },
  ],
};

/**
 * RFC 7352: the duplicate test. The message is identified by :uniqueid, by
 * the value of :header, or by its Message-ID (3.1), prefixed by :handle.
 * The host keeps the record (SieveHost.duplicate) and stores an id when the
 * run's result is carried out; within one run the first evaluation of an id
 * decides (3.2). Without a host, nothing is a duplicate.
 */
import { andThen } from '../interpreter.js';
import type { Extension } from '../registry.js';
import { headerValues } from '../runtime/message.js';
import { afterDecoding, decodedHeader } from './core-tests.js';

/** RFC 7352 3.2: the default period, and Pigeonhole's bounds. */
const DEFAULT_SECONDS = 12 * 3600;
const MAX_SECONDS = 7 * 24 * 3600;

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
        let id = arg('uniqueid');
        if (id === undefined) {
          const msg = rt.requireMessage(b.node.pos);
          const value = headerValues(msg, (arg('header') ?? 'message-id').toLowerCase())[0];
          // No identifier, no duplicate (RFC 7352 3.1).
          if (value === undefined) return false;
          // A large value with encoded-words is decoded in a worker first (core-tests.ts, afterDecoding).
          const decoded = afterDecoding(rt, [value], () => b.def.evaluate!(b, rt));
          if (decoded) return decoded;
          id = decodedHeader(rt, value);
        }
        const key = `${arg('handle') ?? ''}\0${id}`;
        const seen = rt.state.get('duplicate') as Map<string, boolean> | undefined ?? new Map<string, boolean>();
        rt.state.set('duplicate', seen);
        const known = seen.get(key);
        if (known !== undefined) return known;
        const period = Math.min(Number(arg('seconds') ?? DEFAULT_SECONDS), MAX_SECONDS);
        return andThen(rt.host.duplicate?.(key, period) ?? false, (dup) => {
          seen.set(key, dup);
          return dup;
        });
      },
    },
  ],
};

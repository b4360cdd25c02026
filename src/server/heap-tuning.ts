/**
 * V8's garbage collector, set for a server that runs many short sessions
 * at once (docs/server.md, "Garbage collection").
 *
 * V8 "pretenures" an allocation site, allocating its objects straight in
 * the old generation, once most of the objects it made survived a young
 * collection. A session's objects live a few milliseconds, but with twenty
 * sessions under way a young collection always finds some of them alive,
 * and V8 ended up pretenuring sites of the session, the policy and the
 * interpreter. Their dead objects in the old generation then keep the
 * young objects they point to alive through every young collection until
 * the next full one: measured on the example policy, 13 KB promoted per
 * message where a bare smtp-server promotes 3.4 KB, and a full collection
 * every two seconds.
 *
 * Without pretenuring those objects die young, as they should. Objects that
 * do live long (a loaded datasource, the CBV cache) are copied once more
 * before they reach the old generation, which costs little and once.
 */
import { setFlagsFromString } from 'node:v8';

/**
 * Turns allocation-site pretenuring off for this process, unless the
 * operator chose either way on node's command line (node does not take
 * this flag from NODE_OPTIONS). Returns whether it did. Called by every
 * command that serves sessions, before any is served; a worker thread
 * shares the process's flags.
 */
export function tuneHeap(execArgv: readonly string[] = process.execArgv): boolean {
  if (execArgv.some((a) => /^--(no-)?allocation[-_]site[-_]pretenuring(=|$)/.test(a))) return false;
  setFlagsFromString('--no-allocation-site-pretenuring');
  return true;
}

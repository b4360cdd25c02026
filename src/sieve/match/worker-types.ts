/**
 * The match types and comparators the match worker (match-worker.ts) knows,
 * by name: the same definitions the run uses on the event loop, so that a
 * test answered in the worker answers as it would have here. A test whose
 * match type or comparator is another (an extension's, or :list, which asks
 * the host, RFC 6134 2.2) is matched on the event loop.
 */
import { containsMatch, isMatch, matchesMatch } from './basic-match.js';
import { asciiCasemap, asciiNumeric, type Comparator, octet, unicodeCasemap } from './comparators.js';
import type { MatchType } from './match-types.js';
import { perlRegexMatch, regexMatch } from './regex-match.js';
import { countMatch, valueMatch } from '../extensions/relational.js';

export const WORKER_TYPES = new Map<string, MatchType>(
  [isMatch, containsMatch, matchesMatch, regexMatch, perlRegexMatch, valueMatch, countMatch].map((t) => [t.name, t]),
);
export const WORKER_COMPARATORS = new Map<string, Comparator>([octet, asciiCasemap, unicodeCasemap, asciiNumeric].map((c) => [c.name, c]));

/** True when the worker has this very match type and comparator (not only one of the same name). */
export const inWorkerTables = (mt: MatchType, cmp: Comparator): boolean => WORKER_TYPES.get(mt.name) === mt && WORKER_COMPARATORS.get(cmp.name) === cmp;

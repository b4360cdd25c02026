/**
 * draft-murchison-sieve-regex: the :regex match type and, with variables,
 * the :quoteregex modifier on `set` (precedence 20, like :quotewildcard).
 */
import { quoteRegex, regexMatch } from '../match/regex-match.js';
import type { Extension } from '../registry.js';

export const regex: Extension = {
  capability: 'regex',
  matchTypes: [regexMatch],
  attachTags: [{ commands: ['set'], tag: { name: 'quoteregex', group: 'modifier-20', modifier: { precedence: 20, apply: quoteRegex } } }],
};

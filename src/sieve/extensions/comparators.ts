/**
 * Comparator capabilities (RFC 5228 2.7.3, RFC 4790): "comparator-" plus
 * the comparator name. i;octet and i;ascii-casemap are always available and
 * may be required anyway; the others must be required to be used.
 */
import { asciiNumeric } from '../match/comparators.js';
import type { Extension } from '../registry.js';

/** RFC 5228 2.7.3: requiring the built-in comparators is allowed and changes nothing. */
export const comparatorOctet: Extension = { capability: 'comparator-i;octet' };
export const comparatorAsciiCasemap: Extension = { capability: 'comparator-i;ascii-casemap' };

/** RFC 4790 9.1. */
export const comparatorAsciiNumeric: Extension = { capability: 'comparator-i;ascii-numeric', comparators: [asciiNumeric] };

/** RFC 5051: always available in Pigeonhole (its suite uses it without require); defined in core. */
export const comparatorUnicodeCasemap: Extension = { capability: 'comparator-i;unicode-casemap' };

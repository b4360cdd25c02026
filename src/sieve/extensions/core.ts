/**
 * The core language of RFC 5228: always available, no `require` needed.
 * Control commands and logical tests (core-control.ts), actions
 * (core-actions.ts), message tests (core-tests.ts), the :is, :contains and
 * :matches match types (2.7.1), the i;octet and i;ascii-casemap
 * comparators (2.7.3), and the :all, :localpart and :domain address parts
 * (2.7.4).
 */
import { containsMatch, isMatch, matchesMatch } from '../match/basic-match.js';
import { asciiCasemap, octet, unicodeCasemap } from '../match/comparators.js';
import type { Extension } from '../registry.js';
import { allPart, domainPart, localPart } from '../runtime/address-parts.js';
import { discardCommand, keepCommand, redirectCommand } from './core-actions.js';
import { allofTest, anyofTest, elseCommand, elsifCommand, falseTest, ifCommand, notTest, requireCommand, stopCommand, trueTest } from './core-control.js';
import { addressTest, existsTest, headerTest, sizeTest } from './core-tests.js';

export const core: Extension = {
  capability: '',
  commands: [
    requireCommand, ifCommand, elsifCommand, elseCommand, stopCommand,
    keepCommand, discardCommand, redirectCommand,
    allofTest, anyofTest, notTest, trueTest, falseTest,
    addressTest, headerTest, existsTest, sizeTest,
  ],
  matchTypes: [isMatch, containsMatch, matchesMatch],
  // i;unicode-casemap (RFC 5051) too: Pigeonhole offers it without require.
  comparators: [octet, asciiCasemap, unicodeCasemap],
  addressParts: [allPart, localPart, domainPart],
};

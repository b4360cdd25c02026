/**
 * `vnd.stalwart.testsuite`: the name Stalwart's sieve-rs gives the same
 * testsuite commands in its copy of Pigeonhole's suite, so that suite can
 * be run here as a second opinion (`npm run test:conformance:stalwart`).
 * Requiring it loads vnd.dovecot.testsuite. sieve-rs's own harness
 * commands (test_assert_message, its test_config_set settings) are not
 * provided: files that need them are in the Stalwart skip list.
 */
import type { Extension } from '../registry.js';

export const stalwartTestsuite: Extension = {
  capability: 'vnd.stalwart.testsuite',
  onRequire: (v, at) => void v.require('vnd.dovecot.testsuite', at),
};

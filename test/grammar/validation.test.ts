/**
 * The grammars with Chevrotain's validations on. The parsers and lexers the
 * product uses skip them (they only find mistakes in a grammar's own
 * definition, and were most of `smtp-cbv check`'s start-up); here every
 * grammar must pass them, so a change that breaks one fails a test.
 */
import { describe, expect, it } from 'vitest';
import { Lexer } from '../../grammars/chevrotain.js';
import { EcconfParser } from '../../grammars/ecconf.js';
import { allTokens as ecconfTokens } from '../../grammars/ecconf-tokens.js';
import { allTokens as sieveTokens, sieveLexerConfig } from '../../grammars/sieve-lexer.js';
import { SieveParser } from '../../grammars/sieve-parser.js';

describe('grammar validations', () => {
  it('pass for the Sieve parser and lexer', () => {
    expect(() => new SieveParser({ validate: true })).not.toThrow();
    const lexer = new Lexer(sieveTokens, sieveLexerConfig);
    expect(lexer.lexerDefinitionErrors).toEqual([]);
  });

  it('pass for the configuration parser and lexer', () => {
    expect(() => new EcconfParser({ validate: true })).not.toThrow();
    const lexer = new Lexer(ecconfTokens, { positionTracking: 'full' });
    expect(lexer.lexerDefinitionErrors).toEqual([]);
  });
});

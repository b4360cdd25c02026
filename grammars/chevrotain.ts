/**
 * Chevrotain, loaded from the single-file ES module it publishes
 * (lib/chevrotain.mjs, listed in its package "files"). Its package entry
 * point (lib/src/api.js) imports lodash-es one function per module: some
 * 600 files, which made importing chevrotain most of `smtp-cbv check`'s
 * start-up (about 0.5 s against 0.05 s for the bundle). The bundle is the
 * same release, built from the same sources; its package "exports" do not
 * name it, so it is found next to the entry point. Types come from the
 * package as usual.
 */
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type * as Chevrotain from 'chevrotain';

async function load(): Promise<typeof Chevrotain> {
  const entry = createRequire(import.meta.url).resolve('chevrotain');
  try {
    return (await import(pathToFileURL(join(dirname(entry), '..', 'chevrotain.mjs')).href)) as typeof Chevrotain;
  } catch {
    // A chevrotain without the bundle: the package entry point, slower to load but the same API.
    return import('chevrotain');
  }
}

const api = await load();

/**
 * Options for grammars that are known to be valid. Chevrotain's grammar and
 * lexer validations are a development-time tool (its "cold start" guide)
 * and were most of a parser's construction, so of `smtp-cbv check`'s
 * start-up. They run where a grammar is changed: test/grammar builds every
 * parser and lexer with them on (`validate: true`).
 */
export interface GrammarOptions {
  validate?: boolean;
}

export const { CstParser, createToken, EmbeddedActionsParser, EOF, isRecognitionException, Lexer, MismatchedTokenException, tokenLabel } = api;
export type CstParser = Chevrotain.CstParser;
export type EmbeddedActionsParser = Chevrotain.EmbeddedActionsParser;
export type Lexer = Chevrotain.Lexer;
export type MismatchedTokenException = Chevrotain.MismatchedTokenException;
export type {
  CstNode,
  ILexingError,
  IParserErrorMessageProvider,
  IRecognitionException,
  ISerializedGast,
  IToken,
  TokenType,
} from 'chevrotain';

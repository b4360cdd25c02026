/**
 * The plain AST of a configuration file, and the stateless CST visitor that
 * builds it. Only this file and ecconf.ts see Chevrotain's types.
 */
import type { CstNode, IToken } from './chevrotain.js';
import type { Position } from '../src/diagnostics.js';
import { NumberTok, Quoted, ReadonlyInclude, Unterminated } from './ecconf-tokens.js';

export interface ConfScalar {
  kind: 'scalar';
  /** The value with quotes removed and escapes resolved. */
  text: string;
  quoted: boolean;
  /** Lexed as a number (`25`, `0666`, `1.5`); `text` keeps the digits as written. */
  numeric: boolean;
  pos: Position;
}
export interface ConfList {
  kind: 'list';
  items: ConfScalar[];
  pos: Position;
}
export interface ConfPair {
  key: string;
  keyPos: Position;
  value: ConfScalar;
}
export interface ConfArray {
  kind: 'array';
  entries: ConfPair[];
  pos: Position;
}
export type ConfValue = ConfScalar | ConfList | ConfArray;

export interface ConfOption {
  kind: 'option';
  key: string;
  pos: Position;
  value: ConfValue;
}
export interface ConfScope {
  kind: 'scope';
  type: string;
  pos: Position;
  names: ConfScalar[];
  body: ConfStatement[];
}
export interface ConfInclude {
  kind: 'include';
  readonly: boolean;
  path: ConfScalar;
  pos: Position;
}
export type ConfStatement = ConfOption | ConfScope | ConfInclude;

export interface ConfSyntaxError {
  message: string;
  pos: Position;
}

/** What the visitor finds besides the AST: stray tokens (reported in runs by the caller) and errors it can word better than the parser. */
export interface VisitSink {
  strays: IToken[];
  errors: ConfSyntaxError[];
}


export type Children = Record<string, Array<CstNode | IToken> | undefined>;

export function isToken(x: CstNode | IToken | undefined): x is IToken {
  return x !== undefined && 'image' in x;
}
function node(children: Children, label: string): CstNode | undefined {
  const c = children[label]?.[0];
  return c && !isToken(c) ? c : undefined;
}
export function nodes(children: Children, label: string): CstNode[] {
  return (children[label] ?? []).filter((c): c is CstNode => !isToken(c));
}
function token(children: Children, label: string): IToken | undefined {
  const c = children[label]?.[0];
  // Tokens that recovery inserted carry no text from the input.
  return isToken(c) && !c.isInsertedInRecovery ? c : undefined;
}
export function posOf(t: IToken): Position {
  return { line: t.startLine ?? 1, column: t.startColumn ?? 1, offset: t.startOffset };
}

function unquote(image: string): string {
  const quote = image[0];
  let body = image.slice(1);
  if (body.endsWith(quote ?? '') && body.length > 0) body = body.slice(0, -1);
  // `\x` stands for `x`: that covers `\"`, `\'` and `\\`, and keeps paths with other backslashes readable.
  return body.replace(/\\(.)/g, '$1');
}

/**
 * The visitor: a set of pure functions from CST node to AST node. A node that
 * error recovery left incomplete yields `undefined` and is dropped; its error
 * is already in the parser's list.
 */
function scalarOf(n: CstNode | undefined): ConfScalar | undefined {
  if (!n || n.recoveredNode) return undefined;
  const c = n.children as Children;
  const t = token(c, 'Word') ?? token(c, 'Quoted');
  if (!t) return undefined;
  const quoted = t.tokenType === Quoted || t.tokenType === Unterminated;
  return { kind: 'scalar', text: quoted ? unquote(t.image) : t.image, quoted, numeric: t.tokenType === NumberTok, pos: posOf(t) };
}

function valueOf(n: CstNode | undefined): ConfValue | undefined {
  if (!n || n.recoveredNode) return undefined;
  const c = n.children as Children;
  const s = node(c, 'scalar');
  if (s) return scalarOf(s);
  const l = node(c, 'list');
  if (l) {
    const lc = l.children as Children;
    const open = token(lc, 'LParen');
    if (!open || l.recoveredNode) return undefined;
    const items = nodes(lc, 'scalar').map(scalarOf).filter((x): x is ConfScalar => x !== undefined);
    return { kind: 'list', items, pos: posOf(open) };
  }
  const a = node(c, 'array');
  if (a) {
    const ac = a.children as Children;
    const open = token(ac, 'LBracket');
    if (!open || a.recoveredNode) return undefined;
    const entries: ConfPair[] = [];
    for (const p of nodes(ac, 'pair')) {
      const pc = p.children as Children;
      const key = token(pc, 'key');
      const value = scalarOf(node(pc, 'scalar'));
      if (!key || !value || p.recoveredNode) continue;
      const quoted = key.tokenType === Quoted || key.tokenType === Unterminated;
      entries.push({ key: quoted ? unquote(key.image) : key.image, keyPos: posOf(key), value });
    }
    return { kind: 'array', entries, pos: posOf(open) };
  }
  return undefined;
}

function statementOf(n: CstNode, sink: VisitSink): ConfStatement | undefined {
  const c = n.children as Children;
  const stray = node(c, 'stray');
  if (stray) {
    for (const t of Object.values(stray.children as Children).flat()) if (isToken(t)) sink.strays.push(t);
    return undefined;
  }
  const inc = node(c, 'include');
  if (inc) {
    const ic = inc.children as Children;
    const kw = token(ic, 'Include') ?? token(ic, 'ReadonlyInclude');
    const path = scalarOf(node(ic, 'scalar'));
    if (!kw || !path) return undefined;
    return { kind: 'include', readonly: kw.tokenType === ReadonlyInclude, path, pos: posOf(kw) };
  }
  const entry = node(c, 'entry');
  if (!entry) return undefined;
  const ec = entry.children as Children;
  const key = token(ec, 'key');
  if (!key) return undefined;
  const optionValue = node(ec, 'optionValue')?.children as Children | undefined;
  const body = node(ec, 'body') ?? (optionValue && node(optionValue, 'body'));
  if (ec.Equals && !body) {
    const value = valueOf(optionValue && node(optionValue, 'value'));
    return value && token(ec, 'Equals') ? { kind: 'option', key: key.image, pos: posOf(key), value } : undefined;
  }
  const names = nodes(ec, 'names').map(scalarOf).filter((x): x is ConfScalar => x !== undefined);
  const bareArray = node(ec, 'bareArray');
  if (bareArray) {
    // `key [ ... ]`: an option whose value is an array; names before it make no sense.
    if (names.length) sink.errors.push({ message: `'${key.image}' takes '= [ ... ]' or '[ ... ]' without names before it`, pos: posOf(key) });
    const value = valueOf({ name: 'value', children: { array: [bareArray] } } as CstNode);
    return value && !names.length ? { kind: 'option', key: key.image, pos: posOf(key), value } : undefined;
  }
  const bc = body?.children as Children | undefined;
  // Neither `=` nor `{`: the author forgot one of them (`port 25`), or recovery invented the `{`.
  if (!bc || !token(bc, 'LCurly')) {
    if (!bc?.LCurly) sink.errors.push({ message: `'${key.image}' needs '= value' (an option) or '{ ... }' (a scope)`, pos: posOf(key) });
    return undefined;
  }
  return { kind: 'scope', type: key.image, pos: posOf(key), names, body: statementsOf(nodes(bc, 'statement'), sink) };
}

export function statementsOf(list: CstNode[], sink: VisitSink): ConfStatement[] {
  return list.map((n) => statementOf(n, sink)).filter((x): x is ConfStatement => x !== undefined);
}

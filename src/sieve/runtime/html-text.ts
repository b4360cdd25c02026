/**
 * HTML reduced to its text, for `body :text` (RFC 5173 5.2: "the
 * implementation SHOULD convert [HTML] to text") and `extracttext` (RFC
 * 5703 7), whole or as it is read: the same answer for any cut into
 * pieces, so that a large HTML part of a spooled message is read as it
 * comes (docs/server.md, "Messages on disk") and never held whole.
 *
 * What is dropped is what a browser does not show, in the order its
 * tokenizer sees it (the HTML standard, "Tokenization"), simplified:
 *   - a tag: `<` then a letter, `/`, `!` or `?`, to the next `>` (a `<`
 *     before anything else is text: "a < b"); a tag without its `>`
 *     runs to the end;
 *   - a comment, `<!--` to `-->`;
 *   - what a `script` or `style` element holds, to its end tag
 *     (`</script` then a space, `/` or `>`), or to the end without one.
 * The character references that remain are decoded: `&nbsp;` (as a
 * space), `&lt;`, `&gt;`, `&amp;`, `&quot;`, `&apos;`, and numeric ones
 * (`&#39;`, `&#x2019;`) naming a Unicode scalar value; anything else is
 * left as written.
 */

/** The longest character reference decoded, `&#x10FFFF;`. */
const LONGEST_REFERENCE = 10;
const NAMED: Readonly<Record<string, string>> = { nbsp: ' ', lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };

type State = 'text' | 'tag' | 'comment' | 'raw';

const isLetter = (c: number) => (c >= 65 && c <= 90) || (c >= 97 && c <= 122);
const isSpace = (c: number) => c === 32 || c === 9 || c === 10 || c === 12 || c === 13;

/** An HTML text read in pieces: `push` each, then `end`; together they give htmlText of the whole. */
export class HtmlText {
  private state: State = 'text';
  /** The element whose text is dropped to its end tag (`raw`), or the name of the tag being read when it may be one. */
  private element = '';
  /** Characters at the end of the last piece that could not be decided without the next. */
  private pending = '';

  push(piece: string): string {
    return this.read(this.pending + piece, false);
  }

  end(): string {
    return this.read(this.pending, true);
  }

  private read(text: string, last: boolean): string {
    this.pending = '';
    let out = '';
    let i = 0;
    const n = text.length;
    /** Stops at `at`, to go on when the next piece has come; at the end there is none, and `atEnd` decides. */
    const wait = (at: number): boolean => {
      if (last) return false;
      this.pending = text.slice(at);
      i = n;
      return true;
    };
    while (i < n) {
      switch (this.state) {
        case 'text': {
          let next = i;
          while (next < n && text.charCodeAt(next) !== 60 && text.charCodeAt(next) !== 38) next++;
          out += text.slice(i, next);
          i = next;
          if (i === n) break;
          if (text.charCodeAt(i) === 38) {
            // A character reference ends with ';' within LONGEST_REFERENCE characters.
            let semi = -1;
            for (let j = i + 1; j < Math.min(n, i + LONGEST_REFERENCE); j++) {
              if (text.charCodeAt(j) === 59) {
                semi = j;
                break;
              }
            }
            if (semi < 0) {
              if (n - i < LONGEST_REFERENCE && wait(i)) break;
              out += '&';
              i++;
              break;
            }
            const decoded = reference(text.slice(i + 1, semi));
            if (decoded === undefined) {
              out += '&';
              i++;
            } else {
              out += decoded;
              i = semi + 1;
            }
            break;
          }
          // '<': markup only before a letter, '/', '!' or '?'.
          if (i + 1 === n) {
            if (wait(i)) break;
            out += '<';
            i++;
            break;
          }
          const c = text.charCodeAt(i + 1);
          if (c === 33 && (n - i < 4 ? !last : text.startsWith('<!--', i))) {
            if (n - i < 4 && wait(i)) break;
            this.state = 'comment';
            i += 4;
          } else if (isLetter(c) || c === 47 || c === 33 || c === 63) {
            this.state = 'tag';
            this.element = '';
            i++;
            // The name, for script and style: read while it is a prefix of one of them.
            let name = '';
            while (i < n && isLetter(text.charCodeAt(i)) && name.length <= 6) name += text[i++]!.toLowerCase();
            if (i === n && (name === '' || 'script'.startsWith(name) || 'style'.startsWith(name))) {
              this.state = 'text';
              if (wait(i - name.length - 1)) break;
              this.state = 'tag';
            }
            if ((name === 'script' || name === 'style') && (i === n || isSpace(text.charCodeAt(i)) || text.charCodeAt(i) === 47 || text.charCodeAt(i) === 62)) this.element = name;
          } else {
            out += '<';
            i++;
          }
          break;
        }
        case 'tag': {
          const close = text.indexOf('>', i);
          if (close < 0) {
            i = n;
            break;
          }
          i = close + 1;
          this.state = this.element ? 'raw' : 'text';
          break;
        }
        case 'comment': {
          const close = text.indexOf('-->', i);
          if (close < 0) {
            // Keep the last two characters: '-->' may begin there.
            if (!last) this.pending = text.slice(Math.max(i, n - 2));
            i = n;
            break;
          }
          i = close + 3;
          this.state = 'text';
          break;
        }
        case 'raw': {
          // The end tag, `</script` or `</style` in any case, then a space, '/' or '>'.
          const endTag = `</${this.element}`;
          let at = i;
          for (;;) {
            at = text.indexOf('</', at);
            if (at < 0 || n - at < endTag.length + 1) break;
            const after = text.charCodeAt(at + endTag.length);
            if (text.slice(at, at + endTag.length).toLowerCase() === endTag && (isSpace(after) || after === 47 || after === 62)) break;
            at += 2;
          }
          if (at < 0 || n - at < endTag.length + 1) {
            // Keep what could begin the end tag.
            if (!last) this.pending = text.slice(Math.max(i, at < 0 ? n - endTag.length : at));
            i = n;
            break;
          }
          i = at + endTag.length;
          this.element = '';
          this.state = 'tag';
          break;
        }
      }
    }
    return out;
  }
}

/** The text a character reference's name (between '&' and ';') stands for; undefined when it is not one decoded here. */
function reference(name: string): string | undefined {
  if (name.charCodeAt(0) !== 35) return NAMED[name];
  const hex = name.charCodeAt(1) === 120 || name.charCodeAt(1) === 88;
  const digits = name.slice(hex ? 2 : 1);
  if (!(hex ? /^[0-9a-fA-F]{1,6}$/ : /^[0-9]{1,7}$/).test(digits)) return undefined;
  const cp = Number.parseInt(digits, hex ? 16 : 10);
  // A Unicode scalar value: not NUL, not a surrogate, not past U+10FFFF.
  if (cp === 0 || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return undefined;
  return String.fromCodePoint(cp);
}

/** HTML reduced to its text (above), whole. */
export function htmlText(html: string): string {
  const h = new HtmlText();
  return h.push(html) + h.end();
}

/** The text of HTML read in pieces, as they come. */
export async function* htmlTextPieces(pieces: AsyncIterable<string>): AsyncGenerator<string> {
  const h = new HtmlText();
  for await (const piece of pieces) {
    const text = h.push(piece);
    if (text) yield text;
  }
  const rest = h.end();
  if (rest) yield rest;
}

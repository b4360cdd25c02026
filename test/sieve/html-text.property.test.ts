/**
 * HTML reduced to its text (src/sieve/runtime/html-text.ts): what it keeps
 * and drops, and the same text for any cut of the HTML into pieces, so a
 * large HTML part read as it comes answers as one read whole.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { HtmlText, htmlText, htmlTextPieces } from '../../src/sieve/runtime/html-text.js';
import { piecesOf } from './match-in-pieces.js';

describe('HTML reduced to its text', () => {
  it('drops tags, comments, scripts and styles, and decodes character references', () => {
    expect(htmlText('<html><body>This is <b>HTML</b></body></html>')).toBe('This is HTML');
    expect(htmlText('a<!-- <b>hidden</b> -- > -->b')).toBe('ab');
    expect(htmlText('x<SCRIPT type="t">if (a < b && c > d) { w("</p>"); }</Script >y<style>p { color: red }</style>z')).toBe('xyz');
    // Only script and style hold text to their end tag: other names that begin the same are tags.
    expect(htmlText('<scripts>kept</scripts><stylesheet>kept</stylesheet>')).toBe('keptkept');
    expect(htmlText('Tom &amp; Jerry &lt;3 &quot;q&quot; &apos;a&apos;&nbsp;don&#39;t &#x2019; &#X41;')).toBe(`Tom & Jerry <3 "q" 'a' don't \u2019 A`);
    // What is not a reference decoded here stays as written; a decoded '&' is not read again.
    expect(htmlText('&copy; &amp;lt; &#0; &#xD800; &#1114112; & ; &nbsp')).toBe('&copy; &lt; &#0; &#xD800; &#1114112; & ; &nbsp');
    // '<' is markup only before a letter, '/', '!' or '?'.
    expect(htmlText('1 < 2 and 3 <= 4 <3 <')).toBe('1 < 2 and 3 <= 4 <3 <');
    // A tag, comment or script without its end runs to the end.
    expect(htmlText('kept <a href="x')).toBe('kept ');
    expect(htmlText('kept <!-- open')).toBe('kept ');
    expect(htmlText('kept <script>open')).toBe('kept ');
  });

  it('gives the same text for any cut into pieces', async () => {
    const atoms = fc.constantFrom('<', '>', '&', ';', '/', '!', '-', '--', '<!--', '-->', '<b>', '</b>', '<script>', '</script>', '</SCRIPT ', '<style a=">">', '</style>', 'script', 'style', '&amp;', '&lt;', '&#39;', '&#x1F600;', '&nbsp;', 'a', 'B', ' ', '\r\n', 'é', '😀', '?', '#', 'x');
    await fc.assert(
      fc.asyncProperty(fc.array(atoms, { maxLength: 60 }), fc.array(fc.nat(), { maxLength: 10 }), async (parts, cuts) => {
        const html = parts.join('');
        let streamed = '';
        for await (const t of htmlTextPieces(piecesOf(html, cuts))) streamed += t;
        expect(streamed).toBe(htmlText(html));
      }),
      { numRuns: 3000 },
    );
  });

  it('holds back only a few characters between pieces', () => {
    const h = new HtmlText();
    // A long text with no markup comes out as it goes in, however it is cut.
    const line = 'words and more words '.repeat(1000);
    expect(h.push(line)).toBe(line);
    expect(h.push('tail &am')).toBe('tail ');
    expect(h.push('p; end')).toBe('& end');
    expect(h.end()).toBe('');
  });
});

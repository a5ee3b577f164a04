/**
 * XML 1.0 section 2.2 production [2] Char, written out from the spec for tests (independent of
 * src/wbxml/xml-chars.ts, which the tests check).
 */
import type { WbxmlElement } from '../../src/wbxml/index.ts';

/** XML 1.0 section 2.2 [2] Char, over code points. */
export const XML_CHAR = /^[\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]*$/u;

/**
 * What the encoder makes of a tree's strings: characters XML 1.0 forbids (section 2.2 [2] Char)
 * are dropped, a lone surrogate becomes U+FFFD (src/wbxml/xml-chars.ts; written out here from the
 * spec's production). Applied per text node, as the encoder writes each one as its own STR_I.
 */
export function xmlClean(node: WbxmlElement): WbxmlElement {
  const clean = (t: string) =>
    Array.from(t)
      .map((ch) => {
        const cp = ch.codePointAt(0)!;
        if (cp >= 0xd800 && cp <= 0xdfff) return '\ufffd';
        const ok = cp === 0x9 || cp === 0xa || cp === 0xd || (cp >= 0x20 && cp <= 0xd7ff) || (cp >= 0xe000 && cp <= 0xfffd) || cp >= 0x10000;
        return ok ? ch : '';
      })
      .join('');
  return { ns: node.ns, name: node.name, children: node.children.map((c) => (typeof c === 'string' ? clean(c) : c instanceof Uint8Array ? c : xmlClean(c))) };
}

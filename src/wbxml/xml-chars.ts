/**
 * Characters that XML 1.0 forbids (section 2.2, production [2] Char) and that therefore must never
 * reach a device inside a WBXML string: C0 control characters other than TAB, LF and CR (NUL
 * included), lone UTF-16 surrogates, and the noncharacters U+FFFE and U+FFFF.
 *
 * WBXML itself could carry most of them, but ActiveSync is XML (MS-ASWBXML 2.1.1: WBXML is "a
 * binary representation of XML"), and clients turn it back into XML: libwbxml-based clients write
 * an XML document that no parser accepts, and phones' XML pullers stop at the same characters.
 * Garbage mail (a Subject with a NUL, a body in a mis-declared charset) is where they come from.
 *
 * What is done with them:
 * - C0 controls, U+FFFE and U+FFFF are dropped. They stand for nothing a reader could see, and
 *   dropping never makes a string longer, so a body cut to the device's TruncationSize (bytes of
 *   UTF-8, MS-ASAIRS 2.2.2.40.2) stays within it; a U+FFFD (3 bytes of UTF-8) for a 1-byte control
 *   could push it over.
 * - A lone surrogate becomes U+FFFD: it is a broken character where there was a character, U+FFFD
 *   is the Unicode replacement character for exactly that, and Node's UTF-8 encoder writes the
 *   same 3 bytes for a lone surrogate anyway, so sizes computed before do not change.
 *
 * Opaque data (WBXML OPAQUE) is never touched: it is bytes, such as a MIME message sent byte-exact.
 */

// Without the u flag a regular expression works on UTF-16 code units, so lone surrogates match.
const FORBIDDEN = /[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;
const FORBIDDEN_ALL = new RegExp(FORBIDDEN.source, 'g');

/** True when the string holds a character XML 1.0 forbids (XML 1.0 section 2.2). */
export function hasXmlForbiddenChars(s: string): boolean {
  return FORBIDDEN.test(s);
}

/** The string with XML-forbidden characters dropped (controls, U+FFFE/U+FFFF) or replaced (lone surrogates, by U+FFFD). */
export function xmlSafeText(s: string): string {
  if (!FORBIDDEN.test(s)) return s;
  return s.replace(FORBIDDEN_ALL, (c) => (c.length === 1 && c >= '\ud800' && c <= '\udfff' ? '\ufffd' : ''));
}

import { pageByNumber, tagOf, type CodePage } from './codepages.ts';
import { WbxmlError } from './errors.ts';
import * as T from './tokens.ts';
import type { WbxmlElement } from './tree.ts';

/**
 * Deepest element nesting accepted. ActiveSync documents nest about fifteen levels (a Sync
 * response with ApplicationData, Recurrence, Exceptions, Attendees); the bound keeps hostile
 * input from building trees that recursive consumers cannot walk.
 */
export const MAX_DEPTH = 256;

/**
 * Most elements in one document. Each costs an object and an array (about 0.3-1 us, so a 50 MB
 * request of empty tags held the event loop 15-50 s); the largest real requests (a Sync adding a
 * few thousand contacts of some sixty elements each) stay far below.
 */
export const MAX_ELEMENTS = 1_000_000;

/** UTF-8 to string as Buffer#toString does it (keeps a BOM, U+FFFD for invalid bytes), faster. */
const utf8 = new TextDecoder('utf-8', { ignoreBOM: true });

/**
 * Decodes an ActiveSync WBXML document (MS-ASWBXML 2.1.2, WBXML 1.3) into an element tree.
 * Never throws anything but WbxmlError; never loops more than once per input byte.
 */
export function decodeWbxml(input: Uint8Array): WbxmlElement {
  const buf = Buffer.isBuffer(input) ? input : Buffer.from(input.buffer, input.byteOffset, input.byteLength);
  const len = buf.length;
  let pos = 0;

  const fail = (message: string, at = pos): never => {
    throw new WbxmlError(message, Math.min(Math.max(at, 0), len));
  };

  // mb_u_int32 (WBXML 5.1): big-endian groups of 7 bits, high bit set on all but the last byte.
  const readMbUint32 = (): number => {
    const start = pos;
    let value = 0;
    for (let i = 0; i < 5; i++) {
      if (pos >= len) fail('truncated multi-byte integer', start);
      const b = buf[pos++]!;
      value = value * 128 + (b & 0x7f);
      if ((b & 0x80) === 0) {
        if (value > 0xffffffff) fail('multi-byte integer exceeds 32 bits', start);
        return value;
      }
    }
    return fail('multi-byte integer longer than 5 bytes', start);
  };

  if (len === 0) fail('empty document', 0);
  const version = buf[pos++]!;
  if (version < 0x01 || version > 0x03) fail(`unsupported WBXML version 0x${version.toString(16)}`, 0);
  const publicId = readMbUint32();
  if (publicId === 0) readMbUint32(); // public id given as a string-table index; ActiveSync ignores it
  const charsetAt = pos;
  const charset = readMbUint32();
  // 0 means "unknown"; ActiveSync is always UTF-8 (MS-ASWBXML 2.1.2), anything else is refused.
  if (charset !== T.CHARSET_UTF8 && charset !== 0) fail(`unsupported charset ${charset}`, charsetAt);
  const tableLength = readMbUint32();
  if (tableLength > len - pos) fail('string table runs past the end of the document');
  const tableStart = pos;
  const tableEnd = pos + tableLength;
  pos = tableEnd;

  let page: CodePage = pageByNumber(0)!;
  let root: WbxmlElement | undefined;
  let closed = false;
  let elements = 0;
  const stack: WbxmlElement[] = [];

  const appendText = (s: string, at: number) => {
    const parent = stack[stack.length - 1];
    if (!parent) fail('text outside of an element', at);
    const kids = parent!.children;
    // Text is usually an element's only child: an exact-size array, not the 17 slots push makes.
    if (kids.length === 0) {
      parent!.children = [s];
      return;
    }
    const last = kids[kids.length - 1];
    if (typeof last === 'string') kids[kids.length - 1] = last + s;
    else kids.push(s);
  };

  while (pos < len) {
    const at = pos;
    if (closed) fail('data after the end of the root element');
    const tok = buf[pos++]!;
    if ((tok & T.TAG_MASK) < 0x05) {
      switch (tok) {
        case T.SWITCH_PAGE: {
          if (pos >= len) fail('truncated SWITCH_PAGE', at);
          const n = buf[pos++]!;
          const p = pageByNumber(n);
          if (!p) fail(`unknown code page ${n}`, at);
          page = p!;
          break;
        }
        case T.END: {
          if (stack.length === 0) fail('END without an open element', at);
          stack.pop();
          if (stack.length === 0) closed = true;
          break;
        }
        case T.STR_I: {
          const z = buf.indexOf(0, pos);
          if (z < 0) fail('unterminated inline string', at);
          appendText(utf8.decode(buf.subarray(pos, z)), at);
          pos = z + 1;
          break;
        }
        case T.STR_T: {
          const index = readMbUint32();
          if (index >= tableLength) fail(`string table index ${index} out of range`, at);
          const z = buf.indexOf(0, tableStart + index);
          if (z < 0 || z >= tableEnd) fail('unterminated string-table string', at);
          appendText(utf8.decode(buf.subarray(tableStart + index, z)), at);
          break;
        }
        case T.ENTITY: {
          const cp = readMbUint32();
          // NUL cannot be carried by STR_I nor written in XML; surrogates are not characters.
          if (cp === 0 || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) fail(`invalid character entity ${cp}`, at);
          appendText(String.fromCodePoint(cp), at);
          break;
        }
        case T.OPAQUE: {
          const n = readMbUint32();
          if (n > len - pos) fail('opaque data runs past the end of the document', at);
          const parent = stack[stack.length - 1];
          if (!parent) fail('opaque data outside of an element', at);
          // Copy, so the tree does not pin the whole request buffer.
          const bytes = Uint8Array.prototype.slice.call(buf, pos, pos + n);
          if (parent!.children.length === 0) parent!.children = [bytes];
          else parent!.children.push(bytes);
          pos += n;
          break;
        }
        default:
          // LITERAL*, EXT*, PI: not part of ActiveSync's use of WBXML (MS-ASWBXML 2.1.2).
          fail(`token 0x${tok.toString(16).padStart(2, '0')} is not used by ActiveSync`, at);
      }
      continue;
    }
    if (tok & T.HAS_ATTRIBUTES) fail('attributes are not used by ActiveSync', at);
    const def = tagOf(page, tok & T.TAG_MASK);
    if (!def) fail(`unknown tag 0x${(tok & T.TAG_MASK).toString(16)} in code page ${page.page} (${page.name})`, at);
    if (++elements > MAX_ELEMENTS) fail(`more than ${MAX_ELEMENTS} elements`, at);
    const element: WbxmlElement = { ns: page.name, name: def!.name, children: [] };
    const parent = stack[stack.length - 1];
    if (parent) parent.children.push(element);
    else if (root) fail('more than one root element', at);
    else root = element;
    if (tok & T.HAS_CONTENT) {
      if (stack.length >= MAX_DEPTH) fail(`elements nested deeper than ${MAX_DEPTH}`, at);
      stack.push(element);
    } else if (stack.length === 0) {
      closed = true;
    }
  }
  if (!root) fail('no root element', len);
  if (stack.length > 0) fail(`document ends inside ${stack.length} open element(s)`, len);
  return root!;
}

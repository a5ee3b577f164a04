import { pageByName, tokenOf } from './codepages.ts';
import { WbxmlError } from './errors.ts';
import * as T from './tokens.ts';
import { isElement, type WbxmlElement, type WbxmlNode } from './tree.ts';
import { xmlSafeText } from './xml-chars.ts';

/** A growable output buffer; encoding a large Sync response must not copy quadratically. */
class ByteWriter {
  buf = Buffer.allocUnsafe(8192);
  len = 0;

  private ensure(n: number) {
    if (this.len + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.len + n) size *= 2;
    const next = Buffer.allocUnsafe(size);
    this.buf.copy(next, 0, 0, this.len);
    this.buf = next;
  }

  byte(b: number) {
    this.ensure(1);
    this.buf[this.len++] = b;
  }

  bytes(b: Uint8Array) {
    this.ensure(b.length);
    this.buf.set(b, this.len);
    this.len += b.length;
  }

  /** mb_u_int32 (WBXML 5.1). */
  mbUint32(n: number) {
    const groups = [n & 0x7f];
    n = Math.floor(n / 128);
    while (n > 0) {
      groups.unshift((n & 0x7f) | 0x80);
      n = Math.floor(n / 128);
    }
    for (const g of groups) this.byte(g);
  }

  /** UTF-8 string followed by the NUL terminator of STR_I. */
  stringZ(s: string) {
    const n = Buffer.byteLength(s, 'utf8');
    this.ensure(n + 1);
    this.buf.write(s, this.len, n, 'utf8');
    this.len += n;
    this.buf[this.len++] = 0;
  }

  result(): Buffer {
    return this.buf.subarray(0, this.len);
  }
}

/**
 * Encodes an element tree as ActiveSync WBXML: header 03 01 6A 00 (WBXML 1.3, public id unknown,
 * UTF-8, no string table; MS-ASWBXML 2.1.2), inline strings, OPAQUE for byte children. Strings lose
 * the characters XML 1.0 forbids (see xml-chars.ts); opaque bytes are written as they are.
 */
export function encodeWbxml(root: WbxmlElement): Buffer {
  const w = new ByteWriter();
  w.byte(T.WBXML_VERSION_1_3);
  w.byte(T.PUBLIC_ID_UNKNOWN);
  w.byte(T.CHARSET_UTF8);
  w.byte(0); // string table length
  let page = 0;

  const writeNode = (node: WbxmlNode): void => {
    if (typeof node === 'string') {
      w.byte(T.STR_I);
      // STR_I is NUL-terminated, so a NUL cannot be carried, and clients turn WBXML back into XML,
      // which forbids other control characters too (XML 1.0 section 2.2): every string leaves clean.
      w.stringZ(xmlSafeText(node));
      return;
    }
    if (!isElement(node)) {
      w.byte(T.OPAQUE);
      w.mbUint32(node.length);
      w.bytes(node);
      return;
    }
    const p = pageByName(node.ns);
    if (!p) throw new WbxmlError(`unknown code page "${node.ns}"`, w.len);
    const token = tokenOf(p, node.name);
    if (token === undefined) throw new WbxmlError(`unknown tag ${node.ns}:${node.name}`, w.len);
    if (p.page !== page) {
      w.byte(T.SWITCH_PAGE);
      w.byte(p.page);
      page = p.page;
    }
    if (node.children.length === 0) {
      w.byte(token);
      return;
    }
    w.byte(token | T.HAS_CONTENT);
    for (const c of node.children) writeNode(c);
    w.byte(T.END);
  };

  writeNode(root);
  return w.result();
}

/**
 * The element tree that the WBXML codec reads and writes.
 *
 * An element is named by its code page (MS-ASWBXML 2.1.2.1, e.g. "AirSync", "Calendar") and its
 * tag name exactly as the spec spells it. Children are elements, text (inline or string-table
 * strings, MS-ASWBXML 2.1.2.1 STR_I / STR_T) or opaque bytes (OPAQUE, used for MIME bodies,
 * ConversationId and similar binary fields).
 */
export type WbxmlNode = WbxmlElement | string | Uint8Array;

export interface WbxmlElement {
  /** Code page name, e.g. "AirSync", "FolderHierarchy", "AirSyncBase". */
  ns: string;
  /** Tag name as MS-ASWBXML spells it, e.g. "SyncKey". */
  name: string;
  children: WbxmlNode[];
}

export function isElement(node: WbxmlNode): node is WbxmlElement {
  return typeof node === 'object' && !(node instanceof Uint8Array);
}

/** Builds an element; string and number children become text, null/undefined/false are dropped. */
export function el(
  ns: string,
  name: string,
  ...children: Array<WbxmlNode | number | null | undefined | false | Array<WbxmlNode | null | undefined | false>>
): WbxmlElement {
  const out: WbxmlNode[] = [];
  const push = (c: WbxmlNode | number | null | undefined | false) => {
    if (c === null || c === undefined || c === false) return;
    out.push(typeof c === 'number' ? String(c) : c);
  };
  for (const c of children) {
    if (Array.isArray(c)) c.forEach(push);
    else push(c);
  }
  return { ns, name, children: out };
}

/** Child elements, optionally only those with the given name (and code page). */
export function children(e: WbxmlElement, name?: string, ns?: string): WbxmlElement[] {
  const out: WbxmlElement[] = [];
  for (const c of e.children) {
    if (isElement(c) && (name === undefined || c.name === name) && (ns === undefined || c.ns === ns)) out.push(c);
  }
  return out;
}

/** The first child element with the given name (and code page), if any. */
export function child(e: WbxmlElement, name: string, ns?: string): WbxmlElement | undefined {
  for (const c of e.children) {
    if (isElement(c) && c.name === name && (ns === undefined || c.ns === ns)) return c;
  }
  return undefined;
}

/** Concatenated text content of an element (opaque data decoded as UTF-8). */
export function text(e: WbxmlElement | undefined): string | undefined {
  if (!e) return undefined;
  let s = '';
  for (const c of e.children) {
    if (typeof c === 'string') s += c;
    else if (c instanceof Uint8Array) s += Buffer.from(c.buffer, c.byteOffset, c.byteLength).toString('utf8');
  }
  return s;
}

/** Text of the named child element, if present. */
export function childText(e: WbxmlElement, name: string, ns?: string): string | undefined {
  return text(child(e, name, ns));
}

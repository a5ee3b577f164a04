import { SaxesParser } from 'saxes';
import { CODE_PAGES, pageByName, tokenOf } from './codepages.ts';
import { WbxmlError } from './errors.ts';
import { isElement, type WbxmlElement, type WbxmlNode } from './tree.ts';

/**
 * The XML text form of an ActiveSync document, for logs and tools, in the style of the MS-ASCMD
 * examples: each code page is a namespace "<Page>:" (MS-ASWBXML 2.1.2.1), the root's page is the
 * default namespace and other pages get a lower-case prefix declared on the root.
 *
 * OPAQUE content (MS-ASWBXML 2.1.2; WBXML 5.8.4.6) has no XML equivalent, so it is written as
 * base64 inside an element marked opaque="base64"; parseXml reads it back as bytes.
 */
export interface ToXmlOptions {
  /** Indent nested elements (default true). */
  indent?: boolean;
  /** Write the <?xml ...?> declaration (default true). */
  declaration?: boolean;
  /** Replace opaque content longer than this many bytes with a placeholder (logs). */
  maxOpaqueBytes?: number;
}

// CR is written as a reference: XML parsers turn a literal CR (or CR LF) into LF (XML 1.0 2.11).
const XML_ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', '\r': '&#13;' };
const XML_SPECIAL = /[&<>"\r]/;
/** Most text has nothing to escape: test once instead of running a replace with a callback. */
const escapeXml = (s: string) => (XML_SPECIAL.test(s) ? s.replace(/[&<>"\r]/g, (c) => XML_ESCAPES[c]!) : s);
/** XML whitespace is space, tab, CR and LF only (XML 1.0 production S), not every Unicode space. */
const XML_WHITESPACE_ONLY = /^[ \t\r\n]*$/;

function collectPages(root: WbxmlElement): string[] {
  const seen = new Set<string>();
  const stack: WbxmlElement[] = [root];
  while (stack.length) {
    const e = stack.pop()!;
    seen.add(e.ns);
    for (const c of e.children) if (isElement(c)) stack.push(c);
  }
  return [...seen];
}

/** The XML text form as a string. */
export function toXml(root: WbxmlElement, options: ToXmlOptions = {}): string {
  const out: string[] = [];
  renderXml(root, options, (s) => void out.push(s));
  return out.join('');
}

/**
 * The XML text form as UTF-8 bytes, written straight into a buffer: for the CLI and anything
 * else that writes the XML out. Same output as Buffer.from(toXml(root, options)), without
 * building (and flattening, and re-encoding) one large string.
 */
export function toXmlBytes(root: WbxmlElement, options: ToXmlOptions = {}): Buffer {
  let buf = Buffer.allocUnsafe(1 << 16);
  let len = 0;
  renderXml(root, options, (s) => {
    // At most 3 UTF-8 bytes per UTF-16 code unit.
    if (len + s.length * 3 > buf.length) {
      let size = buf.length * 2;
      while (size < len + s.length * 3) size *= 2;
      const next = Buffer.allocUnsafe(size);
      buf.copy(next, 0, 0, len);
      buf = next;
    }
    len += buf.write(s, len, 'utf8');
  });
  return buf.subarray(0, len);
}

function renderXml(root: WbxmlElement, options: ToXmlOptions, emit: (s: string) => void): void {
  const indent = options.indent ?? true;
  if (options.declaration ?? true) emit(indent ? '<?xml version="1.0" encoding="utf-8"?>\n' : '<?xml version="1.0" encoding="utf-8"?>');
  const prefixes = new Map<string, string>();
  for (const ns of collectPages(root)) if (ns !== root.ns) prefixes.set(ns, ns.toLowerCase());
  const qname = (e: WbxmlElement) => (e.ns === root.ns ? e.name : `${prefixes.get(e.ns)}:${e.name}`);

  /** `flat` writes without indentation: inside mixed content, where whitespace would be text. */
  const write = (e: WbxmlElement, depth: number, flat = !indent) => {
    const pad = flat ? '' : '  '.repeat(depth);
    const nl = flat ? '' : '\n';
    let open = `${pad}<${qname(e)}`;
    if (depth === 0) {
      open += ` xmlns="${root.ns}:"`;
      for (const [ns, prefix] of prefixes) open += ` xmlns:${prefix}="${ns}:"`;
    }
    if (e.children.length === 0) {
      emit(`${open}/>${nl}`);
      return;
    }
    const hasElements = e.children.some(isElement);
    if (!hasElements) {
      if (e.children.some((c) => c instanceof Uint8Array)) {
        const bytes = Buffer.concat(e.children.map((c) => (typeof c === 'string' ? Buffer.from(c, 'utf8') : (c as Uint8Array))));
        const body =
          options.maxOpaqueBytes !== undefined && bytes.length > options.maxOpaqueBytes
            ? `[${bytes.length} bytes]`
            : bytes.toString('base64');
        emit(`${open} opaque="base64">${body}</${qname(e)}>${nl}`);
      } else {
        emit(`${open}>${escapeXml((e.children as string[]).join(''))}</${qname(e)}>${nl}`);
      }
      return;
    }
    // Mixed content (never produced by ActiveSync, but possible in a decoded tree) is written
    // flat, so its text reads back exactly.
    const mixed = e.children.some((c) => !isElement(c));
    emit(`${open}>${mixed ? '' : nl}`);
    for (const c of e.children) {
      if (isElement(c)) write(c, depth + 1, flat || mixed);
      else if (typeof c === 'string') emit(escapeXml(c));
      else emit(Buffer.from(c).toString('base64'));
    }
    emit(`${mixed ? '' : pad}</${qname(e)}>${nl}`);
  };
  write(root, 0);
}

/** Code page names by lower-case name, so "Gal:" (libwbxml's spelling) finds GAL. */
const PAGE_BY_LOWER = new Map(CODE_PAGES.map((p) => [p.name.toLowerCase(), p.name]));

function pageForNamespace(uri: string): string | undefined {
  const name = uri.endsWith(':') ? uri.slice(0, -1) : uri;
  return pageByName(name)?.name ?? PAGE_BY_LOWER.get(name.toLowerCase());
}

interface OpenElement {
  element: WbxmlElement;
  opaque: boolean;
}

/**
 * Parses the XML text form back into an element tree. Whitespace-only text is dropped (as
 * libwbxml does with ignorable whitespace); other text is kept exactly. Unknown namespaces or
 * tags are a WbxmlError with the text position.
 */
export function parseXml(xml: string): WbxmlElement {
  const parser = new SaxesParser({ xmlns: true, position: true });
  const stack: OpenElement[] = [];
  let root: WbxmlElement | undefined;
  let error: WbxmlError | undefined;
  const fail = (message: string) => {
    throw new WbxmlError(message, parser.position);
  };
  const addText = (t: string) => {
    const top = stack[stack.length - 1];
    if (!top) return; // text outside the root is whitespace or a parse error saxes reports
    const kids = top.element.children;
    const last = kids[kids.length - 1];
    if (typeof last === 'string') kids[kids.length - 1] = last + t;
    else kids.push(t);
  };

  parser.on('opentag', (tag) => {
    const uri = tag.uri ?? '';
    if (!uri) fail(`element <${tag.name}> has no namespace`);
    const ns = pageForNamespace(uri);
    if (!ns) fail(`unknown namespace "${uri}"`);
    const local = tag.local ?? tag.name;
    if (tokenOf(pageByName(ns!)!, local) === undefined) fail(`unknown tag ${ns}:${local}`);
    let opaque = false;
    for (const attr of Object.values(tag.attributes)) {
      const a = attr as { prefix?: string; local?: string; name: string; value: string };
      if (a.prefix === 'xmlns' || a.name === 'xmlns') continue;
      if ((a.local ?? a.name) === 'opaque' && a.value === 'base64') opaque = true;
      else fail(`unexpected attribute ${a.name}`);
    }
    const element: WbxmlElement = { ns: ns!, name: local, children: [] };
    const parent = stack[stack.length - 1];
    if (parent) parent.element.children.push(element);
    else if (root) fail('more than one root element');
    else root = element;
    stack.push({ element, opaque });
  });
  parser.on('text', addText);
  parser.on('cdata', addText);
  parser.on('closetag', () => {
    const top = stack.pop()!;
    const e = top.element;
    e.children = e.children.filter((c) => typeof c !== 'string' || !XML_WHITESPACE_ONLY.test(c));
    if (top.opaque) {
      const textParts = e.children.filter((c): c is string => typeof c === 'string');
      if (textParts.length !== e.children.length) fail(`opaque element ${e.ns}:${e.name} has child elements`);
      const b64 = textParts.join('').replace(/\s+/g, '');
      if (!/^[A-Za-z0-9+/]*={0,2}$/.test(b64)) fail(`opaque element ${e.ns}:${e.name} is not base64`);
      e.children = [new Uint8Array(Buffer.from(b64, 'base64'))];
    }
  });
  parser.on('error', (err) => {
    error ??= new WbxmlError(err.message.split('\n')[0] ?? 'XML error', parser.position);
  });

  try {
    parser.write(xml).close();
  } catch (e) {
    if (e instanceof WbxmlError) throw e;
    throw error ?? new WbxmlError(e instanceof Error ? e.message : String(e), parser.position);
  }
  if (error) throw error;
  if (!root) throw new WbxmlError('no root element', xml.length);
  return root;
}

/** Deep equality of two trees (opaque compared by bytes), for tests and tools. */
export function treesEqual(a: WbxmlNode, b: WbxmlNode): boolean {
  if (typeof a === 'string' || typeof b === 'string') return a === b;
  if (a instanceof Uint8Array || b instanceof Uint8Array) {
    return a instanceof Uint8Array && b instanceof Uint8Array && Buffer.from(a).equals(Buffer.from(b));
  }
  return (
    a.ns === b.ns &&
    a.name === b.name &&
    a.children.length === b.children.length &&
    a.children.every((c, i) => treesEqual(c, b.children[i]!))
  );
}

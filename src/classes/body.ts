/**
 * Item bodies: the stored shape and the AirSyncBase:Body element (MS-ASAIRS 2.2.2.9).
 *
 * Stored shape, under the key `body` of every class's data:
 *
 *   { text?: string, html?: string, mime?: string }
 *
 * - `text`: the plain-text body (MS-ASAIRS Type 1).
 * - `html`: the HTML body (Type 2), when the item has one.
 * - `mime`: the whole RFC 5322 message as a string (Type 4), mail only, when the item was
 *   delivered or created as MIME. Whoever stores `mime` also stores the `text` and/or `html`
 *   extracted from it: this module does not parse MIME.
 * At least one of them is present when the item has a body; an absent `body` is an empty body.
 *
 * Serving a body (MS-ASAIRS 2.2.2.12 BodyPreference, 2.2.2.3.2 AllOrNone, 2.2.2.40.2
 * TruncationSize, 2.2.2.35 Preview):
 * - The client's BodyPreferences are tried in its order; the first one the item can satisfy wins:
 *   4 (MIME) only when `mime` is stored and the collection's MIMESupport allows it (MS-ASCMD
 *   2.2.3.110: 0 never, 1 S/MIME messages only, 2 always); 2 (HTML) always, from `html` or else
 *   from `text` escaped; 1 (plain) always, from `text` or else from `html` with the tags stripped.
 *   3 (RTF) is never satisfied (easd keeps no RTF).
 * - TruncationSize counts bytes of UTF-8 (MS-ASAIRS 2.2.2.40.2 "the size (in bytes)"); the cut
 *   never splits a character, so the Data sent can be up to 3 bytes shorter than the limit.
 * - AllOrNone with a body larger than TruncationSize: that preference is passed over and the next
 *   one tried (MS-ASAIRS 2.2.2.3.2 "the server selects the next BodyPreference element"). When no
 *   later preference can be served, the first such preference is answered without Data, with
 *   Truncated 1 and EstimatedDataSize (MS-ASAIRS requirement R376: "When the value is set to 1
 *   (TRUE) and the content has been truncated, the content is not synchronized").
 * - No BodyPreference at all: the whole plain-text body.
 * - No preference can be served at all (only RTF, or only MIME for an item without MIME): the
 *   HTML body when the item has HTML, else plain text, under the first preference's limits.
 * - Children in the order of MS-ASAIRS 2.2.2.9: Type, EstimatedDataSize (always: the full size in
 *   bytes of the chosen type), Truncated (only when truncated), Data, Preview. Part is only for
 *   multipart ItemOperations responses, not produced here.
 * - Preview (14.0 and later, when the chosen preference asked for one): plain text, whitespace
 *   collapsed, at most `preview` characters (UTF-16 code units, never splitting a surrogate pair).
 *   Not sent when the response is plain text with Data (MS-ASAIRS 2.2.2.35.1: "If the Body
 *   element in the request contains a Type element of value 1 (Plain text) and there is valid
 *   data returned in the Data element, then the Preview element will not be returned").
 *
 * A client's Body (MS-ASAIRS 2.2.2.9 in a request: Type and Data) replaces the stored body:
 * Type 1 -> { text }, 2 -> { html }, 4 -> { mime }. Type 3 (RTF) is not kept: easd cannot render
 * compressed RTF back, so the stored body stays as it was. Truncated and EstimatedDataSize in a
 * request are ignored (MS-ASAIRS 2.2.2.39.1).
 */
import type { JsonObject } from '../ports/types.ts';
import { child, el, text, type WbxmlElement } from '../wbxml/tree.ts';
import { hasXmlForbiddenChars } from '../wbxml/xml-chars.ts';
import { atLeast } from './fields.ts';
import { ConversionError, type BodyPreference, type ConvertContext } from './types.ts';

export const NS = 'AirSyncBase';

export interface StoredBody {
  text?: string;
  html?: string;
  mime?: string;
  /**
   * `mime` holds raw bytes, one character per byte (latin1), because the message is not valid
   * UTF-8 (8-bit text in another charset): it is sent as opaque bytes, exactly as received.
   * Set only by the loader of delivered mail (src/classes/load-body.ts), never stored.
   */
  mimeBytes?: boolean;
}

export type BodyType = 1 | 2 | 3 | 4;

/** The stored body of an item's data (`data.body`), if any. */
export function readBody(data: JsonObject): StoredBody | undefined {
  const b = data['body'];
  if (b === null || typeof b !== 'object' || Array.isArray(b)) return undefined;
  const out: StoredBody = {};
  if (typeof b['text'] === 'string') out.text = b['text'];
  if (typeof b['html'] === 'string') out.html = b['html'];
  if (typeof b['mime'] === 'string') out.mime = b['mime'];
  if (b['mimeBytes'] === true && out.mime !== undefined) out.mimeBytes = true;
  return out;
}

/** The stored body as a JSON value for an item's data. */
export function bodyJson(body: StoredBody): JsonObject {
  const out: JsonObject = {};
  if (body.text !== undefined) out['text'] = body.text;
  if (body.html !== undefined) out['html'] = body.html;
  if (body.mime !== undefined) out['mime'] = body.mime;
  return out;
}

/** The body as plain text: `text`, else `html` stripped of its markup, else "". */
export function bodyPlainText(body: StoredBody | undefined): string {
  if (!body) return '';
  if (body.text !== undefined) return body.text;
  if (body.html !== undefined) return htmlToText(body.html);
  return '';
}

/** NativeBodyType (MS-ASAIRS 2.2.2.32) of a stored body: 2 when it has HTML, else 1. */
export function nativeBodyType(body: StoredBody | undefined): 1 | 2 {
  return body?.html !== undefined ? 2 : 1;
}

// ---------------------------------------------------------------------------------------------
// Serving

/** The AirSyncBase:Body element for an item's stored body under the client's preferences. */
export function bodyToEas(body: StoredBody | undefined, ctx: ConvertContext): WbxmlElement {
  const b = body ?? {};
  const prefs: BodyPreference[] = ctx.bodyPreferences.length > 0 ? ctx.bodyPreferences : [{ type: 1 }];

  let withheld: Rendered | undefined;
  for (const pref of prefs) {
    const data = renderable(b, pref.type, ctx);
    if (data === undefined) continue;
    const r = render(data, pref, limitFor(pref, ctx), pref.type === 4 && b.mimeBytes === true);
    if (r.truncated && pref.allOrNone && pref.truncationSize !== undefined) {
      // AllOrNone: no truncated content for this type; try the next preference.
      withheld ??= { ...r, data: undefined };
      continue;
    }
    return bodyElement(r, b, ctx);
  }
  if (withheld) return bodyElement(withheld, b, ctx);

  // Nothing the client asked for can be served: the best text we have, under its first limits.
  const first = prefs[0]!;
  const type: 1 | 2 = b.html !== undefined ? 2 : 1;
  const fallbackPref: BodyPreference = { ...first, type };
  return bodyElement(render(renderable(b, type, ctx)!, fallbackPref, first.truncationSize), b, ctx);
}

interface Rendered {
  pref: BodyPreference;
  type: BodyType;
  /** Full size in bytes of the chosen type's content. */
  size: number;
  truncated: boolean;
  /** Data to send; undefined: no Data element (AllOrNone withheld it). */
  data: string | undefined;
  /** `data` is bytes as latin1 characters: sent as opaque (StoredBody.mimeBytes). */
  bytes?: boolean;
}

/** The full content of the item in the given type, or undefined when the item cannot give it. */
function renderable(b: StoredBody, type: BodyType, ctx: ConvertContext): string | undefined {
  switch (type) {
    case 1:
      return bodyPlainText(b);
    case 2:
      return b.html ?? textToHtml(b.text ?? '');
    case 3:
      return undefined;
    case 4: {
      if (b.mime === undefined) return undefined;
      const support = ctx.mimeSupport;
      if (support === 0) return undefined;
      if (support === 1 && !isSmime(b.mime)) return undefined;
      return b.mime;
    }
  }
}

function limitFor(pref: BodyPreference, ctx: ConvertContext): number | undefined {
  if (pref.truncationSize !== undefined) return pref.truncationSize;
  return pref.type === 4 ? ctx.mimeTruncationBytes : undefined;
}

function render(content: string, pref: BodyPreference, limit: number | undefined, bytes = false): Rendered {
  const size = bytes ? content.length : Buffer.byteLength(content, 'utf8');
  const base = { pref, type: pref.type, size, ...(bytes ? { bytes } : {}) };
  if (limit === undefined || size <= limit) return { ...base, truncated: false, data: content };
  return { ...base, truncated: true, data: bytes ? content.slice(0, Math.max(0, Math.floor(limit))) : truncateUtf8(content, limit) };
}

/**
 * Data (MS-ASAIRS 2.2.2.20) as the encoder should write it. Strings lose what XML forbids
 * (src/wbxml/xml-chars.ts), but MIME (MS-ASAIRS Type 4) is the message itself and must reach the
 * device byte-exact (an S/MIME signature covers those bytes): if it holds such characters it goes
 * as opaque UTF-8 bytes, as MIME that is not UTF-8 already does.
 */
function dataContent(r: Rendered, data: string): string | Uint8Array {
  if (r.bytes) return new Uint8Array(Buffer.from(data, 'latin1'));
  if (r.type === 4 && hasXmlForbiddenChars(data)) return new Uint8Array(Buffer.from(data, 'utf8'));
  return data;
}

function bodyElement(r: Rendered, b: StoredBody, ctx: ConvertContext): WbxmlElement {
  const kids: WbxmlElement[] = [el(NS, 'Type', r.type), el(NS, 'EstimatedDataSize', r.size)];
  if (r.truncated) kids.push(el(NS, 'Truncated', '1'));
  if (r.data !== undefined) {
    if (r.data === '') kids.push(el(NS, 'Data'));
    else kids.push(el(NS, 'Data', dataContent(r, r.data)));
  }
  const wanted = r.pref.preview;
  const plainWithData = r.type === 1 && r.data !== undefined && r.data !== '';
  if (wanted !== undefined && wanted > 0 && atLeast(ctx, '14.0') && !plainWithData) {
    const p = previewText(bodyPlainText(b), wanted);
    if (p !== '') kids.push(el(NS, 'Preview', p));
  }
  return el(NS, 'Body', kids);
}

// ---------------------------------------------------------------------------------------------
// Reading a client's body

/**
 * The stored body for a client's AirSyncBase:Body, or undefined when the body is not one easd
 * keeps (RTF): the caller then keeps the existing body.
 */
export function bodyFromEas(e: WbxmlElement): StoredBody | undefined {
  const typeText = (text(child(e, 'Type', NS)) ?? '').trim();
  if (typeText === '') throw new ConversionError('AirSyncBase:Body without a Type');
  const data = text(child(e, 'Data', NS)) ?? '';
  switch (typeText) {
    case '1':
      return { text: data };
    case '2':
      return { html: data };
    case '3':
      return undefined;
    case '4':
      return { mime: data };
    default:
      throw new ConversionError(`AirSyncBase:Body Type "${typeText.slice(0, 20)}" is not 1, 2, 3 or 4`);
  }
}

/**
 * Applies a client's Body (if it sent one) to the data being built: `out.body` is replaced, or,
 * for a body easd does not keep, left as it was.
 */
export function applyBodyFromEas(appData: WbxmlElement, out: JsonObject): void {
  const e = child(appData, 'Body', NS);
  if (!e) return;
  const b = bodyFromEas(e);
  if (b) out['body'] = bodyJson(b);
}

// ---------------------------------------------------------------------------------------------
// Text helpers

/** The longest prefix of `s` whose UTF-8 form fits in `maxBytes`, never splitting a character. */
export function truncateUtf8(s: string, maxBytes: number): string {
  const buf = Buffer.from(s, 'utf8');
  if (buf.length <= maxBytes) return s;
  let cut = Math.max(0, Math.floor(maxBytes));
  // Back up over continuation bytes (10xxxxxx) to the start of the character at the cut.
  while (cut > 0 && (buf[cut]! & 0xc0) === 0x80) cut--;
  return buf.subarray(0, cut).toString('utf8');
}

/** Plain-text preview: whitespace collapsed, at most `max` UTF-16 units, no split pair. */
export function previewText(plain: string, max: number): string {
  const t = plain.replace(/\s+/g, ' ').trim();
  if (t.length <= max) return t;
  let end = max;
  const last = t.charCodeAt(end - 1);
  if (last >= 0xd800 && last <= 0xdbff) end--; // do not keep half of a surrogate pair
  return t.slice(0, end);
}

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' };

/** HTML for a plain-text body: the text escaped, line breaks as <br>. */
export function textToHtml(s: string): string {
  return s.replace(/[&<>"]/g, (c) => ESCAPES[c]!).replace(/\r?\n/g, '<br>\n');
}

const NAMED_ENTITIES: Record<string, string> = {
  amp: '&',
  lt: '<',
  gt: '>',
  quot: '"',
  apos: "'",
  nbsp: '\u00a0',
};

/** Tags after which a line ends in the text form. */
const BLOCK_TAGS = new Set([
  'br', 'p', 'div', 'li', 'tr', 'h1', 'h2', 'h3', 'h4', 'h5', 'h6', 'blockquote', 'pre', 'table', 'ul', 'ol', 'hr',
]);

/**
 * Plain text of an HTML body, crudely: comments, <script> and <style> contents and all tags are
 * dropped, block ends become line breaks, the common entities are decoded. A single linear scan
 * (no backtracking regular expressions over the whole input), so hostile HTML costs linear time.
 */
export function htmlToText(html: string): string {
  const lower = html.toLowerCase();
  let out = '';
  let i = 0;
  let nextGt = 0;
  const n = html.length;
  while (i < n) {
    const lt = html.indexOf('<', i);
    if (lt < 0) {
      out += html.slice(i);
      break;
    }
    out += html.slice(i, lt);
    if (html.startsWith('<!--', lt)) {
      const end = html.indexOf('-->', lt + 4);
      i = end < 0 ? n : end + 3;
      continue;
    }
    // The next ">" is searched once and reused while it lies ahead, so a run of "<" without
    // tags stays linear.
    if (nextGt <= lt) nextGt = html.indexOf('>', lt + 1);
    const gt = nextGt;
    if (gt < 0) {
      // A lone "<" with no tag after it is text.
      out += html.slice(lt);
      break;
    }
    // The tag name, read by character codes: a regular expression on a slice per tag cost
    // about 1.5 us a tag, most of the time on tag-dense HTML.
    const limit = Math.min(gt + 1, lt + 40);
    let p = lt + 1;
    const closing = p < limit && html.charCodeAt(p) === 0x2f;
    if (closing) p++;
    const nameStart = p;
    if (p < limit && isAsciiLetter(html.charCodeAt(p))) {
      p++;
      while (p < limit && (isAsciiLetter(html.charCodeAt(p)) || isAsciiDigit(html.charCodeAt(p)))) p++;
    }
    if (p === nameStart) {
      // "<" not starting a tag (e.g. "a < b"): keep it as text.
      const next = html.charCodeAt(lt + 1);
      if (next !== 0x21 && next !== 0x3f && next !== 0x2f) {
        out += '<';
        i = lt + 1;
        continue;
      }
      i = gt + 1; // <!DOCTYPE ...>, <?xml ...?>, stray </>
      continue;
    }
    const name = html.slice(nameStart, p).toLowerCase();
    if (!closing && (name === 'script' || name === 'style')) {
      const end = lower.indexOf(`</${name}`, gt + 1);
      if (end < 0) break;
      const endGt = html.indexOf('>', end);
      i = endGt < 0 ? n : endGt + 1;
      continue;
    }
    if (BLOCK_TAGS.has(name) && (closing || name === 'br' || name === 'hr')) out += '\n';
    i = gt + 1;
  }
  return decodeEntities(out)
    .split('\n')
    .map((line) => line.trimEnd())
    .join('\n')
    .replace(/\n{3,}/g, '\n\n')
    .trim();
}

const isAsciiLetter = (c: number) => (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a);
const isAsciiDigit = (c: number) => c >= 0x30 && c <= 0x39;

function decodeEntities(s: string): string {
  return s.replace(/&(#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6}|[a-zA-Z]{2,8});/g, (whole, ent: string) => {
    if (ent[0] === '#') {
      const cp = ent[1] === 'x' || ent[1] === 'X' ? parseInt(ent.slice(2), 16) : parseInt(ent.slice(1), 10);
      if (cp === 0 || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return '\ufffd';
      return String.fromCodePoint(cp);
    }
    return NAMED_ENTITIES[ent.toLowerCase()] ?? whole;
  });
}

/**
 * Whether a MIME message is S/MIME (MIMESupport 1): its top-level Content-Type is
 * multipart/signed or application/(x-)pkcs7-mime.
 */
export function isSmime(mime: string): boolean {
  const headerEnd = mime.search(/\r?\n\r?\n/);
  const headers = (headerEnd < 0 ? mime : mime.slice(0, headerEnd)).replace(/\r?\n[ \t]+/g, ' ');
  const m = /^content-type:\s*([^;\r\n]+)/im.exec(headers);
  if (!m) return false;
  const type = m[1]!.trim().toLowerCase();
  return type === 'multipart/signed' || type === 'application/pkcs7-mime' || type === 'application/x-pkcs7-mime';
}

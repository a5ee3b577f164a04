/**
 * Pure parts of mailbox logging: a request or response body as XML text for the log, with
 * secrets removed, and the headers that may be kept.
 */
import { decodeWbxml, isElement, toXml, WbxmlError, type WbxmlElement, type WbxmlNode } from '../wbxml/index.ts';

/** Headers never written to the mailbox log: credentials and session tokens. */
const SECRET_HEADERS = new Set(['authorization', 'proxy-authorization', 'cookie', 'set-cookie']);

/** Longest non-WBXML text body kept (a MIME message of SendMail before 14.0, an Autodiscover XML). */
export const MAX_TEXT_BODY = 64 * 1024;
/** Opaque content (MIME, attachments) longer than this is written as a placeholder. */
export const MAX_OPAQUE_BYTES = 1024;

export function loggableHeaders(headers: Record<string, unknown>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(headers)) {
    if (v === undefined || SECRET_HEADERS.has(k.toLowerCase())) continue;
    out[k.toLowerCase()] = Array.isArray(v) ? v.join(', ') : String(v);
  }
  return out;
}

/**
 * A copy of the tree with the content of every Password element replaced: ItemOperations and
 * Search carry a UserName/Password pair for document libraries (MS-ASCMD 2.2.3.130.1,
 * 2.2.3.130.2), and no password is ever written to a log.
 */
export function redactSecrets(e: WbxmlElement): WbxmlElement {
  if (e.name === 'Password') return { ns: e.ns, name: e.name, children: ['(redacted)'] };
  let changed = false;
  const children: WbxmlNode[] = e.children.map((c) => {
    if (!isElement(c)) return c;
    const r = redactSecrets(c);
    if (r !== c) changed = true;
    return r;
  });
  return changed ? { ns: e.ns, name: e.name, children } : e;
}

/** A body as the log shows it: WBXML as XML text, other text as is (bounded), binary as a note. */
export function bodyAsText(body: Buffer | null | undefined, contentType: string | undefined): string | null {
  if (!body || body.length === 0) return null;
  const type = (contentType ?? '').toLowerCase();
  if (type.includes('wbxml')) {
    try {
      return toXml(redactSecrets(decodeWbxml(body)), { maxOpaqueBytes: MAX_OPAQUE_BYTES });
    } catch (err) {
      if (err instanceof WbxmlError) return `(malformed WBXML, ${body.length} bytes: ${err.message})`;
      throw err;
    }
  }
  if (type.startsWith('text/') || type.includes('xml') || type.includes('rfc822')) {
    const text = body.subarray(0, MAX_TEXT_BODY).toString('utf8');
    return body.length > MAX_TEXT_BODY ? `${text}\n(... ${body.length - MAX_TEXT_BODY} more bytes)` : text;
  }
  return `(${body.length} bytes of ${type || 'unknown type'})`;
}

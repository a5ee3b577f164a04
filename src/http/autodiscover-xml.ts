/**
 * The XML of Autodiscover v1 (MS-ASCMD 2.2.1.1 for mobile clients, MS-OXDISCO for Outlook): reading
 * a request and writing the MobileSync answer or an error. No I/O; the routes are
 * src/http/autodiscover.ts.
 */
import { SaxesParser } from 'saxes';
import type { User } from '../ports/types.ts';

export const MOBILESYNC_REQUEST = 'http://schemas.microsoft.com/exchange/autodiscover/mobilesync/requestschema/2006';
export const MOBILESYNC_RESPONSE = 'http://schemas.microsoft.com/exchange/autodiscover/mobilesync/responseschema/2006';
/** Outlook desktop's request and response schemas (MS-OXDISCO 2.2.3, 2.2.4). */
export const OUTLOOK_REQUEST = 'http://schemas.microsoft.com/exchange/autodiscover/outlook/requestschema/2006';
export const OUTLOOK_RESPONSE = 'http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a';
const RESPONSE_ROOT = 'http://schemas.microsoft.com/exchange/autodiscover/responseschema/2006';

export interface AutodiscoverRequest {
  email?: string;
  acceptableSchema?: string;
  /** The namespace of the root Autodiscover element (which client family asks). */
  requestSchema?: string;
}

/**
 * Largest Autodiscover request body accepted (HTTP 413 beyond, before anything reads it). A real
 * request is a few hundred bytes: the MS-ASCMD 2.2.1.1 example is 330, Outlook's (MS-OXDISCO 2.2.3)
 * about the same; 64 KiB leaves room for any client's whitespace and comments.
 */
export const MAX_AUTODISCOVER_BYTES = 64 * 1024;
/** Deepest element nesting read; a request nests three levels (Autodiscover, Request, EMailAddress). */
export const MAX_AUTODISCOVER_DEPTH = 16;
/** Most elements read; a request has four to six. */
export const MAX_AUTODISCOVER_ELEMENTS = 256;
/** Most attributes on one element (saxes checks each new one against all before it); a request has one or two. */
export const MAX_AUTODISCOVER_ATTRIBUTES = 64;

export type AutodiscoverRead =
  | { ok: true; request: AutodiscoverRequest }
  /** `limit`: refused for its size or shape (depth, element count), not merely malformed XML. */
  | { ok: false; reason: string; limit: boolean };

/** Thrown from inside the parser's callbacks to stop it at the first element over a limit. */
class OverLimit extends Error {}

/**
 * Reads the EMailAddress and AcceptableResponseSchema of an Autodiscover request. Input past
 * the limits above is refused as soon as the parser reaches it: the parser stops there, so a
 * hostile body costs no more than a real one of the same size (deep nesting made saxes spend
 * seconds per megabyte reporting unclosed tags).
 */
export function readAutodiscoverRequest(xml: string): AutodiscoverRead {
  if (xml.length > MAX_AUTODISCOVER_BYTES) return { ok: false, reason: `Autodiscover request over ${MAX_AUTODISCOVER_BYTES} bytes`, limit: true };
  // Without namespace processing, so a client's odd prefixes do not fail the request; the root's
  // namespace is read from its xmlns attribute.
  const parser = new SaxesParser({ xmlns: false });
  const out: AutodiscoverRequest = {};
  const path: string[] = [];
  let elements = 0;
  /** Attributes of the element being read (saxes reports them before its opentag). */
  let attributes = 0;
  let text = '';
  let error: string | undefined;
  parser.on('opentag', (t) => {
    if (path.length >= MAX_AUTODISCOVER_DEPTH) throw new OverLimit(`elements nested deeper than ${MAX_AUTODISCOVER_DEPTH}`);
    if (++elements > MAX_AUTODISCOVER_ELEMENTS) throw new OverLimit(`more than ${MAX_AUTODISCOVER_ELEMENTS} elements`);
    const prefix = /^(.*):/.exec(t.name)?.[1];
    attributes = 0;
    if (path.length === 0) out.requestSchema = (t.attributes as Record<string, string>)[prefix ? `xmlns:${prefix}` : 'xmlns'];
    path.push(t.name.replace(/^.*:/, ''));
    text = '';
  });
  parser.on('attribute', () => {
    if (++attributes > MAX_AUTODISCOVER_ATTRIBUTES) throw new OverLimit(`more than ${MAX_AUTODISCOVER_ATTRIBUTES} attributes on an element`);
  });
  parser.on('text', (t) => (text += t));
  parser.on('closetag', () => {
    const name = path.pop();
    if (name === 'EMailAddress') out.email = text.trim();
    if (name === 'AcceptableResponseSchema') out.acceptableSchema = text.trim();
    text = '';
  });
  // The first error is enough: stop there rather than let saxes report every one after it.
  parser.on('error', (e) => {
    throw new OverLimit((error = e.message));
  });
  try {
    parser.write(xml).close();
  } catch (e) {
    if (error !== undefined) return { ok: false, reason: `malformed XML: ${error.slice(0, 200)}`, limit: false };
    if (e instanceof OverLimit) return { ok: false, reason: `Autodiscover request with ${e.message}`, limit: true };
    return { ok: false, reason: 'malformed XML', limit: false };
  }
  return { ok: true, request: out };
}

/** Reads the EMailAddress and AcceptableResponseSchema of an Autodiscover request; null if malformed or over the limits. */
export function parseAutodiscoverRequest(xml: string): AutodiscoverRequest | null {
  const r = readAutodiscoverRequest(xml);
  return r.ok ? r.request : null;
}

const escapeXml = (s: string) => s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);

/** The MobileSync answer (MS-ASCMD 2.2.1.1 response): the user and the ActiveSync URL. */
export function autodiscoverResponse(user: User, url: string): string {
  return `<?xml version="1.0" encoding="utf-8"?>
<Autodiscover xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns="${RESPONSE_ROOT}">
  <Response xmlns="${MOBILESYNC_RESPONSE}">
    <Culture>en:en</Culture>
    <User>
      <DisplayName>${escapeXml(user.displayName ?? user.email)}</DisplayName>
      <EMailAddress>${escapeXml(user.email)}</EMailAddress>
    </User>
    <Action>
      <Settings>
        <Server>
          <Type>MobileSync</Type>
          <Url>${escapeXml(url)}</Url>
          <Name>${escapeXml(url)}</Name>
        </Server>
      </Settings>
    </Action>
  </Response>
</Autodiscover>
`;
}

/** Autodiscover error response (MS-ASCMD 2.2.3.61 ErrorCode: 600 invalid request, 601 no provider). */
export function autodiscoverError(code: 600 | 601, message: string): string {
  return `<?xml version="1.0" encoding="utf-8"?>
<Autodiscover xmlns="${RESPONSE_ROOT}">
  <Response xmlns="${MOBILESYNC_RESPONSE}">
    <Error Time="${new Date().toISOString().slice(11, 19)}" Id="1">
      <ErrorCode>${code}</ErrorCode>
      <Message>${escapeXml(message)}</Message>
      <DebugData />
    </Error>
  </Response>
</Autodiscover>
`;
}

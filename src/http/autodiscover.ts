import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import { SaxesParser } from 'saxes';
import type { Authenticator } from '../auth/authenticator.ts';
import type { User } from '../ports/types.ts';
import { ENDPOINT } from './activesync.ts';
import { authenticateRequest } from './authenticate.ts';
import type { HomeDirectory } from './redirect.ts';
import { logFields } from '../logging/request-log.ts';

/**
 * Autodiscover for mobile clients (MS-ASCMD 2.2.1.1): a phone given only an e-mail address and a
 * password POSTs to https://<domain>/autodiscover/autodiscover.xml and learns the ActiveSync URL.
 * The path matches in any letter case (the router is case-insensitive); clients differ.
 */
export const AUTODISCOVER_PATH = '/autodiscover/autodiscover.xml';
const MOBILESYNC_REQUEST = 'http://schemas.microsoft.com/exchange/autodiscover/mobilesync/requestschema/2006';
const MOBILESYNC_RESPONSE = 'http://schemas.microsoft.com/exchange/autodiscover/mobilesync/responseschema/2006';
const RESPONSE_ROOT = 'http://schemas.microsoft.com/exchange/autodiscover/responseschema/2006';

interface Deps {
  log: Logger;
  authenticator: Authenticator;
  config: { publicUrl?: string };
  /** Users homed on another deployment get its URL (src/http/redirect.ts). */
  homes?: HomeDirectory;
}

export interface AutodiscoverRequest {
  email?: string;
  acceptableSchema?: string;
}

/** Reads the EMailAddress and AcceptableResponseSchema of an Autodiscover request; null if malformed. */
export function parseAutodiscoverRequest(xml: string): AutodiscoverRequest | null {
  const parser = new SaxesParser({ xmlns: false });
  const out: AutodiscoverRequest = {};
  const path: string[] = [];
  let text = '';
  let failed = false;
  parser.on('opentag', (t) => {
    path.push(t.name.replace(/^.*:/, ''));
    text = '';
  });
  parser.on('text', (t) => (text += t));
  parser.on('closetag', () => {
    const name = path.pop();
    if (name === 'EMailAddress') out.email = text.trim();
    if (name === 'AcceptableResponseSchema') out.acceptableSchema = text.trim();
    text = '';
  });
  parser.on('error', () => (failed = true));
  try {
    parser.write(xml).close();
  } catch {
    return null;
  }
  return failed ? null : out;
}

const escapeXml = (s: string) => s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);

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

function publicEndpoint(req: FastifyRequest, publicUrl: string | undefined): string {
  const base = publicUrl ?? `${req.protocol}://${req.host}`;
  return base.replace(/\/+$/, '') + ENDPOINT;
}

export function registerAutodiscover(app: FastifyInstance, deps: Deps): void {
  app.post(AUTODISCOVER_PATH, async (req, reply) => {
    const f = logFields(req);
    f.cmd = 'Autodiscover';
    const xmlReply = (body: string) => reply.code(200).type('text/xml; charset=utf-8').send(body);
    const user = await authenticateRequest(deps.authenticator, req, reply);
    if (!user) return reply;
    const body = Buffer.isBuffer(req.body) ? req.body.toString('utf8') : '';
    const parsed = parseAutodiscoverRequest(body);
    if (!parsed || !parsed.email) {
      f.reason = 'malformed Autodiscover request';
      return xmlReply(autodiscoverError(600, 'Invalid Request'));
    }
    if (parsed.acceptableSchema && parsed.acceptableSchema !== MOBILESYNC_RESPONSE) {
      f.reason = `unsupported response schema ${parsed.acceptableSchema}`;
      return xmlReply(autodiscoverError(601, 'Provider is not available'));
    }
    if (parsed.email.toLowerCase() !== user.email) {
      f.reason = `asked for ${parsed.email}`;
      return xmlReply(autodiscoverError(600, 'Invalid Request'));
    }
    const home = await deps.homes?.endpointFor(user);
    if (home) f.redirect = home;
    return xmlReply(autodiscoverResponse(user, home ?? publicEndpoint(req, deps.config.publicUrl)));
  });
}

export { MOBILESYNC_REQUEST, MOBILESYNC_RESPONSE };

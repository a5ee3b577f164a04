import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import type { Authenticator } from '../auth/authenticator.ts';
import type { User } from '../ports/types.ts';
import { ENDPOINT } from './activesync.ts';
import { authenticateRequest } from './authenticate.ts';
import { hasCredentials, invalidProtocol, readV2Query, sendJson } from './autodiscover-json.ts';
import { autodiscoverError, autodiscoverResponse, MAX_AUTODISCOVER_BYTES, MOBILESYNC_RESPONSE, OUTLOOK_RESPONSE, readAutodiscoverRequest } from './autodiscover-xml.ts';
import type { HomeDirectory } from './redirect.ts';
import { logFields } from '../logging/request-log.ts';

/**
 * Autodiscover: a client given only an e-mail address and a password learns the ActiveSync URL.
 *
 * - v1, XML (MS-ASCMD 2.2.1.1; MS-OXDSCLI 3.2.5): POST https://<domain>/autodiscover/autodiscover.xml
 *   with the mobilesync request schema (phones) or Outlook's request schema (MS-OXDISCO), both
 *   answered with the MobileSync settings; GET (Outlook for Windows sends one, mailcow issue 2653)
 *   has no request to read and answers the authenticated user's settings. Credentials required.
 * - v2, JSON (src/http/autodiscover-json.ts): /autodiscover/autodiscover.json?Email=..&Protocol=..
 *   and /autodiscover/autodiscover.json/v1.0/<address>?Protocol=..; anonymous, user-independent.
 * Paths match in any letter case (the router is case-insensitive); clients differ.
 */
export const AUTODISCOVER_PATH = '/autodiscover/autodiscover.xml';
export const AUTODISCOVER_JSON_PATH = '/autodiscover/autodiscover.json';

interface Deps {
  log: Logger;
  authenticator: Authenticator;
  config: { publicUrl?: string };
  /** Users homed on another deployment get its URL (src/http/redirect.ts). */
  homes?: HomeDirectory;
}

function baseUrl(req: FastifyRequest, publicUrl: string | undefined): string {
  // Trailing slashes cut by hand: /\/+$/ retries from every slash of a run, quadratic on a Host
  // header of slashes.
  const url = publicUrl ?? `${req.protocol}://${req.host}`;
  let end = url.length;
  while (end > 0 && url.charCodeAt(end - 1) === 0x2f) end--;
  return url.slice(0, end);
}

/**
 * Outlook for Mac has no ActiveSync (mailcow's autodiscover.php answers it with IMAP for that
 * reason); easd has nothing else to offer it, so it gets 601 rather than settings it cannot use.
 */
const OUTLOOK_FOR_MAC = /\bMac(intosh| OS)\b/i;

export function registerAutodiscover(app: FastifyInstance, deps: Deps): void {
  const endpointFor = async (req: FastifyRequest, user: User) => {
    const home = await deps.homes?.endpointFor(user);
    if (home) logFields(req).redirect = home;
    return home ?? baseUrl(req, deps.config.publicUrl) + ENDPOINT;
  };
  const xmlReply = (reply: FastifyReply, body: string) => reply.code(200).type('text/xml; charset=utf-8').send(body);

  // A body over MAX_AUTODISCOVER_BYTES is answered 413 by Fastify before it is read (the request
  // log line is the warn line); the ActiveSync route keeps the server-wide limit.
  app.post(AUTODISCOVER_PATH, { bodyLimit: MAX_AUTODISCOVER_BYTES }, async (req, reply) => {
    const f = logFields(req);
    f.cmd = 'Autodiscover';
    const user = await authenticateRequest(deps.authenticator, req, reply);
    if (!user) return reply;
    const body = Buffer.isBuffer(req.body) ? req.body.toString('utf8') : '';
    const read = readAutodiscoverRequest(body);
    if (!read.ok || !read.request.email) {
      // Bad input, not a fault of easd: the documented error (MS-ASCMD 2.2.3.61, 600) and a warn line.
      f.reason = read.ok ? 'Autodiscover request without EMailAddress' : read.reason;
      deps.log.warn({ reason: f.reason, user: user.email }, 'Autodiscover request refused');
      return xmlReply(reply, autodiscoverError(600, 'Invalid Request'));
    }
    const parsed = { ...read.request, email: read.request.email };
    const schema = parsed.acceptableSchema;
    // Outlook for Windows (2013 and later) asks with its own schema and takes a MobileSync
    // answer for an ActiveSync account, as mailcow's autodiscover.php answers it.
    const outlook = schema === OUTLOOK_RESPONSE;
    if ((schema && schema !== MOBILESYNC_RESPONSE && !outlook) || (outlook && OUTLOOK_FOR_MAC.test(req.headers['user-agent'] ?? ''))) {
      f.reason = `unsupported response schema ${schema}${outlook ? ' (Outlook for Mac has no ActiveSync)' : ''}`;
      return xmlReply(reply, autodiscoverError(601, 'Provider is not available'));
    }
    if (parsed.email.toLowerCase() !== user.email) {
      f.reason = `asked for ${parsed.email}`;
      return xmlReply(reply, autodiscoverError(600, 'Invalid Request'));
    }
    return xmlReply(reply, autodiscoverResponse(user, await endpointFor(req, user)));
  });

  app.get(AUTODISCOVER_PATH, async (req, reply) => {
    logFields(req).cmd = 'Autodiscover';
    const user = await authenticateRequest(deps.authenticator, req, reply);
    if (!user) return reply;
    return xmlReply(reply, autodiscoverResponse(user, await endpointFor(req, user)));
  });

  const v2 = async (req: FastifyRequest<{ Params: { address?: string } }>, reply: FastifyReply) => {
    const f = logFields(req);
    f.cmd = 'Autodiscover';
    const q = readV2Query(req.url, req.params.address);
    if (!q.protocol) {
      f.reason = `Autodiscover v2 for protocol '${q.protocolValue}'`;
      return invalidProtocol(reply, q.protocolValue);
    }
    let url = baseUrl(req, deps.config.publicUrl) + (q.protocol === 'ActiveSync' ? ENDPOINT : AUTODISCOVER_PATH);
    if (hasCredentials(req)) {
      const user = await authenticateRequest(deps.authenticator, req, reply);
      if (!user) return reply;
      if (q.protocol === 'ActiveSync' && (q.email === undefined || q.email === user.email)) url = await endpointFor(req, user);
    }
    return sendJson(reply, 200, { Protocol: q.protocol, Url: url });
  };
  app.get(AUTODISCOVER_JSON_PATH, v2);
  app.get(`${AUTODISCOVER_JSON_PATH}/v1.0/:address`, v2);
}

export { MOBILESYNC_REQUEST, MOBILESYNC_RESPONSE, OUTLOOK_REQUEST, OUTLOOK_RESPONSE, autodiscoverError, autodiscoverResponse, MAX_AUTODISCOVER_BYTES, parseAutodiscoverRequest, readAutodiscoverRequest } from './autodiscover-xml.ts';

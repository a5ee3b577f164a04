/**
 * Autodiscover v2 (the JSON form Outlook asks first): one URL for the protocol a client names.
 *
 * Requests seen from real clients:
 *   GET /autodiscover/autodiscover.json?Email=user%40example.org&Protocol=ActiveSync&RedirectCount=1
 *       (Outlook mobile's service, User-Agent OutlookMobileCloudService-Autodetect/1.0.0;
 *       gronke/email-autodiscover issue 4)
 *   GET /autodiscover/autodiscover.json?Email=user%40example.org&Protocol=Autodiscoverv1&RedirectCount=1
 *       (Outlook for Windows, mailcow/mailcow-dockerized issue 2653)
 *   GET /autodiscover/autodiscover.json/v1.0/me@example.org?Protocol=Autodiscoverv1&RedirectCount=1
 *       (Outlook for Windows 16.0.17726, mjl-/mox issue 200)
 * Those clients send no credentials (Exchange serves the JSON form anonymously; the mailcow trace
 * shows the JSON answered 200 before the 401 of the XML POST). So the answer names no user and
 * looks nothing up: every address, existing or not, gets the same URL, and an unauthenticated
 * caller learns nothing about accounts. Credentials, when sent, are checked like everywhere else
 * (wrong ones: 401), and the user's own home deployment (src/http/redirect.ts) is then returned.
 *
 * An unknown or missing Protocol gets 400 with ErrorCode InvalidProtocol naming the supported
 * values, as Exchange answers (mailcow's autodiscover-json.php mirrors it; Gerenios/AADInternals
 * issue 31 shows Exchange Online listing its supported values for an unsupported one).
 */
import type { FastifyReply, FastifyRequest } from 'fastify';

/** The protocols easd has a URL for, by their lowercase query value. */
export const V2_PROTOCOLS = { activesync: 'ActiveSync', autodiscoverv1: 'AutodiscoverV1' } as const;
export type V2Protocol = (typeof V2_PROTOCOLS)[keyof typeof V2_PROTOCOLS];

export interface V2Query {
  /** The Protocol value as sent ('' when absent). */
  protocolValue: string;
  protocol?: V2Protocol;
  email?: string;
}

/** Reads Protocol and Email from the query string, the parameter names in any letter case. */
export function readV2Query(url: string, pathAddress?: string): V2Query {
  const params = new URLSearchParams(url.includes('?') ? url.slice(url.indexOf('?') + 1) : '');
  const get = (name: string) => {
    for (const [k, v] of params) if (k.toLowerCase() === name) return v;
    return undefined;
  };
  const protocolValue = (get('protocol') ?? '').trim();
  const protocol = V2_PROTOCOLS[protocolValue.toLowerCase() as keyof typeof V2_PROTOCOLS];
  const email = (pathAddress ?? get('email'))?.trim().toLowerCase();
  return { protocolValue, ...(protocol ? { protocol } : {}), ...(email ? { email } : {}) };
}

export function sendJson(reply: FastifyReply, status: number, body: object): FastifyReply {
  return reply.code(status).type('application/json; charset=utf-8').send(JSON.stringify(body));
}

export function invalidProtocol(reply: FastifyReply, value: string): FastifyReply {
  const supported = Object.values(V2_PROTOCOLS).join(',');
  return sendJson(reply, 400, { ErrorCode: 'InvalidProtocol', ErrorMessage: `The protocol '${value}' is not supported. Supported values are '${supported}'.` });
}

/** Whether the request carries credentials (then they are checked; without, the answer is anonymous). */
export function hasCredentials(req: FastifyRequest): boolean {
  return typeof req.headers.authorization === 'string' && req.headers.authorization.trim() !== '';
}

import type { FastifyReply, FastifyRequest } from 'fastify';
import { parseBasicAuth, type Authenticator } from '../auth/authenticator.ts';
import type { User } from '../ports/types.ts';
import { logFields } from '../logging/request-log.ts';
import { authFailures } from './metrics.ts';

/** The Basic challenge of a 401 (MS-ASHTTP 2.2.1.1.2.1; RFC 7617). */
export const BASIC_CHALLENGE = { 'WWW-Authenticate': 'Basic realm="easd"' };

/**
 * Authenticates a request by its Basic credentials. On failure it answers 401 with the
 * challenge, notes the reason for the request log and returns null; the route returns the reply.
 */
export async function authenticateRequest(authenticator: Authenticator, req: FastifyRequest, reply: FastifyReply): Promise<User | null> {
  const f = logFields(req);
  // Basic credentials are the password in clear text (RFC 7617 section 4): over plain HTTP only
  // from loopback (a reverse proxy on this host terminating TLS, or local tools), unless the
  // admin allows it. `req.protocol` and `req.ip` honour X-Forwarded-Proto/-For only from the
  // proxies `--trust-proxy` names, so a client cannot claim TLS it did not use. 403, as IIS
  // answers a request that needs SSL (403.4); the credentials are not checked, so a password
  // sent in clear text is not confirmed to an eavesdropper.
  if (authenticator.plainHttp === 'loopback' && req.protocol !== 'https' && !isLoopback(req.ip)) {
    f.reason = 'credentials over plain HTTP from a non-loopback address (use HTTPS, or --trust-proxy for a TLS-terminating proxy)';
    authFailures.inc({ reason: 'plain_http' });
    await reply.code(403).send();
    return null;
  }
  const creds = parseBasicAuth(req.headers.authorization);
  if (creds) f.user = creds.username;
  // Failures count per device and address (kb-2.10, src/auth/lockout.ts): the route has put the
  // request's device id in its log fields; Autodiscover has none.
  const r = creds ? await authenticator.attempt(creds.username, creds.password, { deviceId: f.deviceId ?? '', address: req.ip }) : null;
  const user = r?.user ?? null;
  if (!user) {
    f.reason = r?.reason ?? 'no credentials';
    authFailures.inc({ reason: creds ? 'refused' : 'no_credentials' });
    await reply.code(401).headers(BASIC_CHALLENGE).send();
    return null;
  }
  f.user = user.email;
  return user;
}

/** 127.0.0.0/8, ::1, and IPv4 loopback written as an IPv4-mapped IPv6 address. */
export function isLoopback(ip: string | undefined): boolean {
  if (!ip) return false;
  const v4 = ip.startsWith('::ffff:') ? ip.slice(7) : ip;
  return v4.startsWith('127.') || ip === '::1';
}

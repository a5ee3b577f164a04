import type { FastifyReply, FastifyRequest } from 'fastify';
import { parseBasicAuth, type Authenticator } from '../auth/authenticator.ts';
import type { User } from '../store/types.ts';
import { logFields } from './request-log.ts';

/** The Basic challenge of a 401 (MS-ASHTTP 2.2.1.1.2.1; RFC 7617). */
export const BASIC_CHALLENGE = { 'WWW-Authenticate': 'Basic realm="easd"' };

/**
 * Authenticates a request by its Basic credentials. On failure it answers 401 with the
 * challenge, notes the reason for the request log and returns null; the route returns the reply.
 */
export async function authenticateRequest(authenticator: Authenticator, req: FastifyRequest, reply: FastifyReply): Promise<User | null> {
  const f = logFields(req);
  const creds = parseBasicAuth(req.headers.authorization);
  if (creds) f.user = creds.username;
  // Failures count per device and address (kb-2.10, src/auth/lockout.ts): the route has put the
  // request's device id in its log fields; Autodiscover has none.
  const r = creds ? await authenticator.attempt(creds.username, creds.password, { deviceId: f.deviceId ?? '', address: req.ip }) : null;
  const user = r?.user ?? null;
  if (!user) {
    f.reason = r?.reason ?? 'no credentials';
    await reply.code(401).headers(BASIC_CHALLENGE).send();
    return null;
  }
  f.user = user.email;
  return user;
}

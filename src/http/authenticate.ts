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
  const user = creds ? await authenticator.authenticate(creds.username, creds.password) : null;
  if (!user) {
    f.reason = creds ? 'wrong user name or password' : 'no credentials';
    await reply.code(401).headers(BASIC_CHALLENGE).send();
    return null;
  }
  f.user = user.email;
  return user;
}

import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Homes } from '../ports/homes.ts';
import type { User } from '../ports/types.ts';
import type { ServerStore } from '../ports/store.ts';
import { logFields } from '../logging/request-log.ts';

/**
 * Users homed on another easd deployment (`easd user set EMAIL --home-url URL`, `easd domain set
 * DOMAIN --home-url URL`): every ActiveSync request of theirs is answered HTTP 451 with
 * X-MS-Location, the full ActiveSync URL of their home (MS-ASHTTP 3.1.5.2.2 and example 4.2:
 * "X-MS-Location: https://mail.contoso.com/Microsoft-Server-ActiveSync"); the client SHOULD
 * send all later requests there. Autodiscover returns the same URL (src/http/autodiscover.ts).
 *
 * After authentication, not before: 451 means "this server cannot reach the user's mailbox"
 * (MS-ASHTTP 3.1.5.2.2), which the server knows only once it knows who the user is; answering
 * before would tell anyone guessing addresses where a mailbox lives. OPTIONS is redirected too
 * (the MS-ASHTTP 3.1.5.2.2 example is an OPTIONS request). It comes before the device is
 * recorded or provisioned: this deployment keeps no partnership for a user it does not serve.
 */
export const ACTIVESYNC_PATH = '/Microsoft-Server-ActiveSync';

/**
 * The URL a home setting means: a base URL (https://mail2.example.com) gets the ActiveSync path;
 * a URL that already ends in it is kept. Throws for anything that is not an absolute http(s) URL.
 */
export function homeEndpoint(url: string): string {
  let u: URL;
  try {
    u = new URL(url.trim());
  } catch {
    throw new Error(`not a URL: "${url}"`);
  }
  if (u.protocol !== 'https:' && u.protocol !== 'http:') throw new Error(`home URL must be http(s): "${url}"`);
  if (u.search || u.hash) throw new Error(`home URL must not have a query or fragment: "${url}"`);
  const path = u.pathname.replace(/\/+$/, '');
  if (path.toLowerCase().endsWith(ACTIVESYNC_PATH.toLowerCase())) return `${u.origin}${path}`;
  return `${u.origin}${path}${ACTIVESYNC_PATH}`;
}

/** The home of one user from the stored list: their own entry, else their address's domain. */
export function homeOf(homes: Homes, user: Pick<User, 'id' | 'email'>): string | null {
  const own = homes.users.find((h) => h.userId === user.id);
  if (own) return own.url;
  const domain = user.email.slice(user.email.lastIndexOf('@') + 1).toLowerCase();
  return homes.domains.find((h) => h.domain === domain)?.url ?? null;
}

/** Re-read this often at most: a change made with the CLI (another process) shows within it. */
export const DEFAULT_HOMES_CACHE_MS = 5000;

/**
 * The homes, read from the store at most once per `cacheMs` for the whole process: a request of
 * a user served here costs a map lookup, not a query. Concurrent refreshes share one read.
 */
export class HomeDirectory {
  readonly #server: Pick<ServerStore, 'homes'>;
  readonly #cacheMs: number;
  #homes: Homes | undefined;
  #readAt = -Infinity;
  #reading: Promise<Homes> | undefined;

  constructor(server: Pick<ServerStore, 'homes'>, opts: { cacheMs?: number } = {}) {
    this.#server = server;
    this.#cacheMs = opts.cacheMs ?? DEFAULT_HOMES_CACHE_MS;
  }

  /** The cached homes while fresh (no promise on the hot path), else a read of the store. */
  #current(): Homes | Promise<Homes> {
    if (this.#homes && performance.now() - this.#readAt < this.#cacheMs) return this.#homes;
    this.#reading ??= this.#server.homes
      .listHomes()
      .then((h) => {
        this.#homes = h;
        this.#readAt = performance.now();
        return h;
      })
      .finally(() => (this.#reading = undefined));
    return this.#reading;
  }

  /** The ActiveSync URL of the user's home, or null when this deployment serves them. */
  async endpointFor(user: Pick<User, 'id' | 'email'>): Promise<string | null> {
    const homes = await this.#current();
    if (homes.users.length === 0 && homes.domains.length === 0) return null;
    const url = homeOf(homes, user);
    if (url === null) return null;
    try {
      return homeEndpoint(url);
    } catch {
      // Stored through the CLI, which checks; a bad row is served here rather than sent nowhere.
      return null;
    }
  }

  /**
   * Answers 451 with X-MS-Location when the user is homed elsewhere and returns true; returns
   * false (nothing sent) when they are served here.
   */
  async redirect(req: FastifyRequest, reply: FastifyReply, user: User): Promise<boolean> {
    const url = await this.endpointFor(user);
    if (url === null) return false;
    const f = logFields(req);
    f.reason = 'homed elsewhere';
    f.redirect = url;
    await reply.code(451).header('X-MS-Location', url).send();
    return true;
  }
}

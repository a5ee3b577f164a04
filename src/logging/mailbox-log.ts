/**
 * Mailbox logging (`easd logging on USER`): every ActiveSync request of a logged user and its
 * response, as XML text, in the store (ServerStore.mailboxLog), kept DEFAULT_MAILBOX_LOG_HOURS and
 * then pruned. Exchange's mailbox log does the same for a troubleshooting session.
 *
 * The route marks a request once the user is authenticated (`mark`, from the route's
 * after-authentication step), so a request with someone else's credentials or none is never
 * logged under a user; the entry is written when the response is sent (an onSend hook), which
 * covers held requests answered later and refusals alike. Authorization and cookies are never
 * kept; Password elements are redacted (capture.ts).
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import { DEFAULT_MAILBOX_LOG_HOURS } from '../ports/mailbox-log.ts';
import type { User } from '../ports/types.ts';
import type { ServerStore } from '../ports/store.ts';
import { clientAddress, logFields } from './request-log.ts';
import { bodyAsText, loggableHeaders } from './capture.ts';

/**
 * Where a marked request keeps its Mark. Exported for the server, which has it carried across a
 * hold: the entry of a detached held request is written for the request that carries its answer
 * (src/http/held-connections.ts).
 */
export const MARK = Symbol('easd.mailboxLog');
/**
 * What an entry needs of the request, taken when it is marked: a held Ping drops its headers and
 * body while it waits (src/http/parked-requests.ts), and its entry is written at the answer.
 */
interface Mark {
  userId: string;
  started: number;
  url: string;
  requestHeaders: Record<string, string>;
  request: string | null;
}
type Marked = FastifyRequest & { [MARK]?: Mark };

export interface MailboxLogOptions {
  /** How often the list of logged users is re-read (ms); a change with the CLI shows within it. */
  cacheMs?: number;
  /** Entries older than this are pruned (hours). */
  retentionHours?: number;
}

export const DEFAULT_LOGGED_USERS_CACHE_MS = 5000;
/** Pruning runs at most this often per process (ms). */
const PRUNE_EVERY_MS = 10 * 60 * 1000;

export class MailboxLogCapture {
  readonly #server: Pick<ServerStore, 'mailboxLog'>;
  readonly #log: Logger;
  readonly #cacheMs: number;
  readonly #retentionMs: number;
  /** User id -> end of logging (epoch ms). */
  #users: Map<string, number> | undefined;
  #readAt = -Infinity;
  #reading: Promise<Map<string, number>> | undefined;
  #prunedAt = -Infinity;

  constructor(server: Pick<ServerStore, 'mailboxLog'>, log: Logger, opts: MailboxLogOptions = {}) {
    this.#server = server;
    this.#log = log;
    this.#cacheMs = opts.cacheMs ?? DEFAULT_LOGGED_USERS_CACHE_MS;
    this.#retentionMs = (opts.retentionHours ?? DEFAULT_MAILBOX_LOG_HOURS) * 3600_000;
  }

  /** The cached list while fresh (no promise on the hot path), else a read of the store. */
  #loggedUsers(): Map<string, number> | Promise<Map<string, number>> {
    if (this.#users && performance.now() - this.#readAt < this.#cacheMs) return this.#users;
    this.#reading ??= this.#server.mailboxLog
      .listEnabled()
      .then((list) => {
        this.#users = new Map(list.map((s) => [s.userId, s.until.getTime()]));
        this.#readAt = performance.now();
        return this.#users;
      })
      .finally(() => (this.#reading = undefined));
    return this.#reading;
  }

  /** Called once the request's user is authenticated: logs the request if the user is logged. */
  async mark(req: FastifyRequest, user: User): Promise<void> {
    let users: Map<string, number>;
    try {
      users = await this.#loggedUsers();
    } catch (err) {
      // Logging must never cost the user the request.
      this.#log.error({ err }, 'mailbox logging: cannot read the logged users');
      return;
    }
    const until = users.get(user.id);
    if (until !== undefined && until > Date.now()) {
      (req as Marked)[MARK] = {
        userId: user.id,
        started: performance.now(),
        url: req.url,
        requestHeaders: loggableHeaders(req.headers),
        request: bodyAsText(Buffer.isBuffer(req.body) ? req.body : null, req.headers['content-type']),
      };
    }
  }

  /** Adds the hook that writes an entry as a marked request's response goes out. */
  register(app: FastifyInstance): void {
    // A callback hook, not an async one: every response passes here, and only marked ones wait.
    app.addHook('onSend', (req, reply, payload, done) => {
      const mark = (req as Marked)[MARK];
      if (!mark) return done(null, payload);
      void this.#write(req, reply, payload, mark).then(() => done(null, payload));
    });
  }

  async #write(req: FastifyRequest, reply: FastifyReply, payload: unknown, mark: Mark): Promise<void> {
    try {
      const f = logFields(req);
      const out = Buffer.isBuffer(payload) ? payload : typeof payload === 'string' ? Buffer.from(payload) : null;
      const responseType = reply.getHeader('content-type');
      await this.#server.mailboxLog.append({
        userId: mark.userId,
        deviceId: typeof f.deviceId === 'string' ? f.deviceId : null,
        cmd: typeof f.cmd === 'string' ? f.cmd : null,
        httpStatus: reply.statusCode,
        meta: {
          method: req.method,
          url: mark.url,
          remote: clientAddress(req),
          requestHeaders: mark.requestHeaders,
          responseHeaders: loggableHeaders(reply.getHeaders()),
          ...(f.easStatus !== undefined ? { easStatus: f.easStatus } : {}),
          ...(f.reason !== undefined ? { reason: f.reason } : {}),
          ms: Math.round((performance.now() - mark.started) * 10) / 10,
        },
        request: mark.request,
        response: bodyAsText(out, typeof responseType === 'string' ? responseType : undefined),
      });
      await this.#pruneNow();
    } catch (err) {
      this.#log.error({ err, user: mark.userId }, 'mailbox logging: cannot write the entry');
    }
  }

  async #pruneNow(): Promise<void> {
    const now = performance.now();
    if (now - this.#prunedAt < PRUNE_EVERY_MS) return;
    this.#prunedAt = now;
    await this.#server.mailboxLog.prune(new Date(Date.now() - this.#retentionMs));
  }
}

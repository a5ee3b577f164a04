import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import type { Authenticator } from '../auth/authenticator.ts';
import type { Protection, ProtectionConfig } from '../devices/protection.ts';
import type { SeenDevices } from '../devices/seen-devices.ts';
import type { Services } from '../commands/services.ts';
import type { CommandHandler } from '../commands/types.ts';
import { isTransientStoreError, type User } from '../ports/types.ts';
import { MARK as MAILBOX_LOG_MARK, type MailboxLogCapture } from '../logging/mailbox-log.ts';
import { countLockout, registerMetrics } from './metrics.ts';
import type { HomeDirectory } from './redirect.ts';
import type { RequestStores } from './request-context.ts';
import { ENDPOINT, registerActiveSync } from './activesync.ts';
import { HeldConnections } from './held-connections.ts';
import { registerAutodiscover } from './autodiscover.ts';
import { registerHealth } from './health.ts';
import { bodyLength, FIELDS as LOG_FIELDS, logFields, markStart, STARTED as LOG_STARTED, writeRequestLog } from '../logging/request-log.ts';

export interface ServerConfig {
  /** Largest request body accepted; larger ones get HTTP 413. */
  maxRequestBytes: number;
  /** The URL devices reach easd at (for Autodiscover); derived from the request when unset. */
  publicUrl?: string;
  /**
   * Whose X-Forwarded-For/-Proto/-Host to believe: false (nobody), or the reverse proxies'
   * addresses as Fastify takes them ('loopback', '10.0.0.5', '10.0.0.0/8', comma-separated).
   * `true` (everyone) is accepted for compatibility but lets any client claim HTTPS.
   */
  trustProxy: boolean | string;
  /** Accept Basic credentials over plain HTTP from non-loopback addresses (default: refused, 403). */
  allowPlainHttp?: boolean;
  tls?: { cert: Buffer; key: Buffer };
  /** Throttling, loop detection, lockout and held-request limits (src/devices/protection.ts); defaults when unset. */
  protection?: ProtectionConfig;
  /** Count requests and time store calls for Prometheus (src/http/metrics.ts; `--metrics-listen`). */
  metrics?: boolean;
  /** How long homes (redirects) and the mailbox-logged users are cached, ms (default 5 s). */
  accountCacheMs?: number;
}

/** What the server is built around; every service is made by the composition root (src/cli/runtime.ts). */
export interface ServerDeps {
  /**
   * What requests use of easd's own store: device state, accounts and server-wide state (timed
   * for metrics when they are on). Mailbox content comes through services.mailboxes.
   */
  store: RequestStores;
  log: Logger;
  config: ServerConfig;
  handlers: Map<string, CommandHandler>;
  authenticator: Authenticator;
  /** Throttling, loop detection, lockout, held-request limit. */
  protection: Protection;
  /** Users homed elsewhere (451 redirects). */
  homes: HomeDirectory;
  /** Which users' requests are captured (src/logging/). */
  mailboxLog: MailboxLogCapture;
  /** Device partnerships as requests see them (src/devices/seen-devices.ts). */
  seenDevices: SeenDevices;
  /** Services handed to every command. */
  services: Services;
}

export const DEFAULT_MAX_REQUEST_BYTES = 50 * 1024 * 1024;
const NO_QUERY = Object.freeze({});

const CONNECTIONS = Symbol('easd.heldConnections');

/** The server's connections (src/http/held-connections.ts), e.g. how many held requests are detached. */
export function heldConnectionsOf(app: FastifyInstance): HeldConnections | undefined {
  return (app as FastifyInstance & { [CONNECTIONS]?: HeldConnections })[CONNECTIONS];
}

export function buildServer(deps: ServerDeps): FastifyInstance {
  const app = Fastify({
    // easd writes its own request log line (src/logging/request-log.ts); Fastify's is off.
    logger: false,
    bodyLimit: deps.config.maxRequestBytes,
    trustProxy: deps.config.trustProxy,
    routerOptions: {
      caseSensitive: false,
      ignoreTrailingSlash: true,
      // No route reads req.query (ActiveSync parses its two query forms itself, src/http/query.ts),
      // and the parsed copy would stay on every held Ping for its whole heartbeat.
      querystringParser: () => NO_QUERY,
    },
    // A held Ping can last the heartbeat interval (up to an hour, MS-ASCMD 2.2.3.79.1).
    requestTimeout: 0,
    // While closing, new requests get 503 from the onRequest hook below, which lets through the
    // answers of detached held requests (src/http/held-connections.ts); Fastify's own 503 would not.
    return503OnClosing: false,
    ...(deps.config.tls ? { https: { cert: deps.config.tls.cert, key: deps.config.tls.key } } : {}),
  }) as unknown as FastifyInstance;

  // node:http sees each connection through a proxy, so a held request can be let go of
  // (src/http/held-connections.ts); with TLS it takes the TLS socket. The answer of a detached
  // request is sent for a new request, which gets the held one's log fields, start time and
  // mailbox log mark back.
  const connections = new HeldConnections(app.server, deps.config.tls ? 'secureConnection' : 'connection', ENDPOINT, {
    carry: [LOG_FIELDS, LOG_STARTED, MAILBOX_LOG_MARK],
  });
  (app as FastifyInstance & { [CONNECTIONS]?: HeldConnections })[CONNECTIONS] = connections;
  if (!connections.active) deps.log.warn('held requests stay attached to node:http (its connection listener was not found)');

  // Bodies are WBXML, MIME or XML: take every content type as raw bytes and let each route decide.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_req, body, done) => done(null, body));

  const { authenticator, protection, homes, mailboxLog, store } = deps;
  authenticator.lockout ??= protection.lockout;
  authenticator.plainHttp = deps.config.allowPlainHttp ? 'allow' : 'loopback';
  // Closing the server aborts requests still being worked out (a command may watch ctx.aborted);
  // held Pings and Syncs with Wait are parked, and answered at once by ParkedRequests.closeAll.
  const held = new Set<AbortController>();
  // The first preClose hook (Fastify runs them in order): from here on, new requests are refused.
  let closing = false;
  app.addHook('preClose', (done) => {
    closing = true;
    connections.closing();
    done();
  });
  app.addHook('preClose', async () => {
    for (const c of held) c.abort();
  });
  if (deps.config.metrics) {
    registerMetrics(app, deps.services.changes, connections);
    protection.lockout.observe(countLockout);
  }
  // Mailbox logging marks the request first, so a 451 redirect is logged too (src/logging/).
  mailboxLog.register(app);
  const afterAuthentication = async (req: FastifyRequest, reply: FastifyReply, user: User) => {
    await mailboxLog.mark(req, user);
    return !(await homes.redirect(req, reply, user));
  };
  registerActiveSync(app, { ...deps, store, authenticator, held, afterAuthentication, protection, connections });
  registerAutodiscover(app, { ...deps, authenticator, homes });
  registerHealth(app, { storeCheck: () => store.writeToken(), closing: () => closing });

  app.addHook('onRequest', (req, reply, done) => {
    markStart(req);
    HeldConnections.noteRequest(req);
    // Shutting down: 503 and the connection closes (Fastify sets Connection: close while closing).
    if (closing && !HeldConnections.carriesAnswer(req)) {
      logFields(req).reason = 'server shutting down';
      void reply.code(503).send();
      return;
    }
    done();
  });
  app.addHook('onResponse', (req, _reply, done) => {
    HeldConnections.noteAnswered(req);
    done();
  });
  // One request log line per request, whatever route answered (src/logging/request-log.ts).
  app.addHook('onSend', async (req, reply, payload) => {
    writeRequestLog(deps.log, req, reply, bodyLength(payload));
    return payload;
  });
  app.setNotFoundHandler((req, reply) => {
    logFields(req).reason = 'no such path';
    void reply.code(404).send();
  });
  const storeDown = storeDownLog(deps.log);
  app.setErrorHandler((err: Error & { statusCode?: number; code?: string }, req, reply) => {
    // The database is down or busy: not the device's fault nor a bug to chase per request. 503
    // with Retry-After (MS-ASHTTP 2.2.2.1.1; RFC 9110 15.6.4) tells the device to come back,
    // where a 500 makes some phones show an error or drop the account.
    // A client that drops its request body mid-way also surfaces as ECONNRESET, with the 400
    // Fastify gives body errors: that one is the client's, not the store's.
    const clientError = err.statusCode !== undefined && err.statusCode >= 400 && err.statusCode < 500;
    if (!clientError && isTransientStoreError(err)) {
      logFields(req).reason = `store unavailable: ${err.code ?? err.message}`;
      storeDown(err);
      void reply.code(503).header('Retry-After', String(STORE_DOWN_RETRY_AFTER_S)).send();
      return;
    }
    const status = err.statusCode && err.statusCode >= 400 && err.statusCode < 500 ? err.statusCode : 500;
    // The request log line (written on send) carries the reason; a server error also gets its stack.
    logFields(req).reason = err.code === 'FST_ERR_CTP_BODY_TOO_LARGE' ? `request body over ${req.routeOptions.bodyLimit ?? deps.config.maxRequestBytes} bytes` : (err.code ?? err.message);
    if (status === 500) deps.log.error({ err, method: req.method, url: req.url }, 'request failed');
    void reply.code(status).send();
  });
  return app;
}

/** Seconds a device is asked to wait when the store is unavailable. */
export const STORE_DOWN_RETRY_AFTER_S = 30;

/**
 * One error line when the store becomes unavailable and then at most one a minute while it stays
 * so (with how many requests were refused meanwhile): every device polling must not write its
 * own error line.
 */
function storeDownLog(log: Logger): (err: Error & { code?: string }) => void {
  let last = 0;
  let refused = 0;
  return (err) => {
    refused++;
    const now = Date.now();
    if (now - last < 60_000) return;
    last = now;
    log.error({ code: err.code, reason: err.message, refused }, 'the store is unavailable: requests are answered 503 with Retry-After');
    refused = 0;
  };
}

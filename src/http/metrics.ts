/**
 * Prometheus metrics (prom-client). Off unless `easd serve --metrics-listen HOST:PORT` is given;
 * then they are served at /metrics on that separate listener only, never on the ActiveSync
 * port: whoever can reach the device-facing port cannot read them, and the admin binds the
 * metrics listener to loopback or an internal network. (A bearer token on the public port would
 * put one more secret on the internet-facing side.)
 *
 * - easd_requests_total{cmd,http_status,eas_status}: every request, by command and status;
 * - easd_request_duration_seconds{cmd}: latency histogram; cmd="Sync" is the sync latency
 *   (held Pings and Syncs with Wait count their whole hold);
 * - easd_held_requests: Pings and Syncs with Wait held now (src/sync/change-hub.ts);
 * - easd_held_requests_detached: of those, the ones node:http has let go of
 *   (src/http/held-connections.ts); the others are held attached (a chunked body, a request
 *   pipelined behind them), at about twice the memory;
 * - easd_throttled_requests_total{reason}: throttled answers (HTTP 503 with X-MS-ASThrottle are
 *   counted here by themselves; other protection code may call `countThrottle`);
 * - easd_lockouts_started_total{scope}: lockout blocks started (scope origin, device, address or
 *   account; src/auth/lockout.ts), and easd_login_refused_total{reason}: logins refused by lockout
 *   without a password check, by reason (an attack shows here, not as log lines per request);
 * - easd_store_call_duration_seconds{method}: time of each Store call made by the server;
 * - easd_auth_failures_total{reason}, easd_relay_messages_total{result}, easd_devices{access},
 *   easd_build_info{version,node}, easd_mail_in_recipients_total{protocol,result} (told by the
 *   LMTP/SMTP listener);
 * - the process metrics of prom-client (CPU, memory, event loop lag, handles).
 */
import { createServer, type Server } from 'node:http';
import type { FastifyInstance } from 'fastify';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { commandByName } from '../eas/commands.ts';
import type { HeldConnections } from './held-connections.ts';
import { checkHealth, type HealthSources } from './health.ts';
import { elapsedMs, logFields } from '../logging/request-log.ts';

export const registry = new Registry();
collectDefaultMetrics({ register: registry, prefix: 'easd_' });

export const requestsTotal = new Counter({
  name: 'easd_requests_total',
  help: 'ActiveSync, Autodiscover and other HTTP requests answered, by command, HTTP status and EAS status',
  labelNames: ['cmd', 'http_status', 'eas_status'] as const,
  registers: [registry],
});

export const requestDuration = new Histogram({
  name: 'easd_request_duration_seconds',
  help: 'Time from the request arriving to its answer, by command (cmd="Sync" is the sync latency)',
  labelNames: ['cmd'] as const,
  buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 1800, 3600],
  registers: [registry],
});

export const throttledTotal = new Counter({
  name: 'easd_throttled_requests_total',
  help: 'Requests answered as throttled, by reason',
  labelNames: ['reason'] as const,
  registers: [registry],
});

export const lockoutsStarted = new Counter({
  name: 'easd_lockouts_started_total',
  help: 'Lockout blocks started, by scope (origin, device, address, account)',
  labelNames: ['scope'] as const,
  registers: [registry],
});

export const loginRefused = new Counter({
  name: 'easd_login_refused_total',
  help: 'Logins refused by lockout without a password check, by reason',
  labelNames: ['reason'] as const,
  registers: [registry],
});

/** Counts lockout events (src/auth/lockout.ts); the reasons and scopes are a fixed set. */
export function countLockout(e: { type: string; scope?: string; reason?: string }): void {
  if (e.type === 'block' && e.scope) lockoutsStarted.inc({ scope: e.scope });
  else if (e.type === 'refused' && e.reason) loginRefused.inc({ reason: e.reason });
}

export const storeCallDuration = new Histogram({
  name: 'easd_store_call_duration_seconds',
  help: 'Time of Store calls made while serving requests, by method',
  labelNames: ['method'] as const,
  buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
  registers: [registry],
});

/** A gauge read at scrape time: the sum of `count` over the members of `from`. */
function sumGauge<T>(name: string, help: string, from: ReadonlySet<T>, count: (member: T) => number): Gauge {
  return new Gauge({
    name,
    help,
    registers: [registry],
    collect() {
      let n = 0;
      for (const m of from) n += count(m);
      this.set(n);
    },
  });
}

/** The change hubs and connections of the servers with metrics in this process (their held requests are counted). */
const heldHubs = new Set<{ readonly size: number }>();
const heldConnections = new Set<HeldConnections>();

export const heldRequests = sumGauge('easd_held_requests', 'Pings and Syncs with Wait held now', heldHubs, (h) => h.size);
export const detachedRequests = sumGauge(
  'easd_held_requests_detached',
  'Held Pings and Syncs with Wait whose connection the HTTP server has let go of (only the socket and a small record stay)',
  heldConnections,
  (c) => c.detached,
);

export const authFailures = new Counter({
  name: 'easd_auth_failures_total',
  help: 'Requests refused for their credentials: none given, refused (wrong, unknown or locked out), or sent over plain HTTP',
  labelNames: ['reason'] as const,
  registers: [registry],
});

export const relayMessages = new Counter({
  name: 'easd_relay_messages_total',
  help: 'Messages handed to the SMTP relay, by result: sent, failed (refused or unreachable), too_large',
  labelNames: ['result'] as const,
  registers: [registry],
});

export const mailIn = new Counter({
  name: 'easd_mail_in_recipients_total',
  help: 'Recipients of mail taken in over LMTP or SMTP, by protocol and result: accepted, refused (5xx), deferred (4xx)',
  labelNames: ['protocol', 'result'] as const,
  registers: [registry],
});

export const buildInfo = new Gauge({
  name: 'easd_build_info',
  help: 'Always 1; the labels say which easd and Node.js run',
  labelNames: ['version', 'node'] as const,
  registers: [registry],
});

/** Sets easd_build_info for this process. */
export function setBuildInfo(version: string): void {
  buildInfo.set({ version, node: process.version }, 1);
}

/** Device partnerships by access state, counted at most once a minute (a scan of the device states). */
let deviceAccessCount: (() => Promise<Record<string, number>>) | undefined;
let deviceAccessCache: { at: number; counts: Record<string, number> } | undefined;
new Gauge({
  name: 'easd_devices',
  help: 'Device partnerships by access state (allow, block, quarantine; unknown before the first decision), counted at most once a minute',
  labelNames: ['access'] as const,
  registers: [registry],
  async collect() {
    if (!deviceAccessCount) return;
    if (!deviceAccessCache || Date.now() - deviceAccessCache.at > 60_000) {
      try {
        deviceAccessCache = { at: Date.now(), counts: await deviceAccessCount() };
      } catch {
        return; // the store is down: the health checks and the request metrics say so
      }
    }
    this.reset();
    for (const [access, n] of Object.entries(deviceAccessCache.counts)) this.set({ access }, n);
  },
});

/** Where easd_devices comes from (the composition root passes a count over the device states). */
export function countDevicesWith(count: () => Promise<Record<string, number>>): void {
  deviceAccessCount = count;
  deviceAccessCache = undefined;
}

/**
 * For protection code that answers without a 503 (for example a repeated request answered
 * without being processed): counts one throttle. `reason` must come from a small fixed set.
 */
export function countThrottle(reason: string): void {
  throttledTotal.inc({ reason });
}

/** A bounded label for a command: the client picks Cmd, so unknown names collapse to "other". */
export function commandLabel(cmd: unknown): string {
  if (typeof cmd !== 'string' || cmd === '') return 'none';
  if (cmd === 'OPTIONS' || cmd === 'Autodiscover') return cmd;
  return commandByName(cmd)?.name ?? 'other';
}

function easStatusLabel(s: unknown): string {
  if (s === undefined || s === null) return '';
  const v = String(s);
  return /^\d{1,4}$/.test(v) ? v : 'other';
}

/** Counts every answered request of the app (an onResponse hook, after the answer is out). */
export function registerMetrics(app: FastifyInstance, held: { readonly size: number }, connections?: HeldConnections): void {
  heldHubs.add(held);
  if (connections) heldConnections.add(connections);
  app.addHook('onClose', async () => {
    heldHubs.delete(held);
    if (connections) heldConnections.delete(connections);
  });
  app.addHook('onResponse', async (req, reply) => {
    const f = logFields(req);
    const cmd = commandLabel(f.cmd);
    requestsTotal.inc({ cmd, http_status: String(reply.statusCode), eas_status: easStatusLabel(f.easStatus) });
    // From the request's start: a held request answered after detaching counts its whole hold.
    requestDuration.observe({ cmd }, elapsedMs(req) / 1000);
    // X-MS-ASThrottle names the reason (MS-ASHTTP): one of a small fixed set of values.
    const throttle = reply.getHeader('x-ms-asthrottle');
    if (reply.statusCode === 503 && throttle !== undefined) throttledTotal.inc({ reason: /^[A-Za-z]{1,40}$/.test(String(throttle)) ? String(throttle) : 'other' });
  });
}

/**
 * The store (or any of its owners' parts) with every top-level method call timed into
 * easd_store_call_duration_seconds. The areas (store.mail, store.devices, ...) and the
 * non-function members pass through untouched. Methods run on the real store (its private fields
 * need the real `this`).
 */
export function timedStore<S extends object>(store: S): S {
  const wrapped = new Map<PropertyKey, unknown>();
  return new Proxy(store, {
    get(target, prop) {
      const value = Reflect.get(target, prop, target) as unknown;
      if (typeof value !== 'function' || typeof prop !== 'string') return value;
      let w = wrapped.get(prop);
      if (!w) {
        const fn = value as (...args: unknown[]) => unknown;
        w = function (this: unknown, ...args: unknown[]) {
          const start = performance.now();
          const done = () => storeCallDuration.observe({ method: prop }, (performance.now() - start) / 1000);
          const r = fn.apply(target, args);
          if (r instanceof Promise) return r.finally(done);
          done();
          return r;
        };
        wrapped.set(prop, w);
      }
      return w;
    },
  });
}

/** The metrics in the Prometheus text format. */
export async function metricsText(): Promise<{ contentType: string; body: string }> {
  return { contentType: registry.contentType, body: await registry.metrics() };
}

/**
 * The separate metrics listener (`--metrics-listen`): GET /metrics, and /healthz and /readyz
 * when `health` is given (src/http/health.ts). Resolves
 * once listening, with the bound port (port 0 picks one).
 */
export async function startMetricsListener(host: string, port: number, health?: HealthSources): Promise<{ server: Server; port: number; close: () => Promise<void> }> {
  const server = createServer((req, res) => {
    const path = (req.url ?? '').split('?')[0];
    if (health && req.method === 'GET' && (path === '/healthz' || path === '/readyz')) {
      void checkHealth(health, path === '/readyz').then((a) => res.writeHead(a.status, { 'Content-Type': 'text/plain; charset=utf-8', 'Cache-Control': 'no-store' }).end(a.body));
      return;
    }
    if (req.method !== 'GET' || path !== '/metrics') {
      res.writeHead(req.method !== 'GET' && path === '/metrics' ? 405 : 404).end();
      return;
    }
    metricsText().then(
      (m) => res.writeHead(200, { 'Content-Type': m.contentType }).end(m.body),
      () => res.writeHead(500).end(),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address();
  const bound = typeof address === 'object' && address ? address.port : port;
  return { server, port: bound, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

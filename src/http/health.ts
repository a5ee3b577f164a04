/**
 * Health checks for load balancers, service managers and container platforms:
 *
 * - GET /healthz: the process answers and its store is reachable (one cheap store call, the
 *   write token: SQLite's data version, PostgreSQL's WAL position). 200 "ok", or 503 with the
 *   reason. A platform that restarts unhealthy processes should use it with patience: a database
 *   outage makes every node unhealthy, and restarting easd does not bring the database back.
 * - GET /readyz: /healthz, and the server takes new requests (not shutting down). A balancer
 *   takes a node out of rotation on 503 here while its held Pings drain.
 *
 * No authentication: the answer says only whether the server works (no version, no counts). They
 * are served on the ActiveSync listener (where a balancer probes) and on the metrics listener.
 */
import type { FastifyInstance } from 'fastify';

export interface HealthSources {
  /** A cheap call that fails when the store is unreachable. */
  storeCheck(): unknown;
  /** Whether the server is shutting down. */
  closing(): boolean;
}

export interface HealthAnswer {
  status: 200 | 503;
  body: string;
}

/** How long the store check may take before the answer is "unavailable", ms. */
const STORE_CHECK_TIMEOUT_MS = 5_000;

export async function checkHealth(sources: HealthSources, ready: boolean): Promise<HealthAnswer> {
  if (ready && sources.closing()) return { status: 503, body: 'shutting down\n' };
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      Promise.resolve().then(() => sources.storeCheck()),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error('no answer in time')), STORE_CHECK_TIMEOUT_MS);
      }),
    ]);
  } catch (err) {
    return { status: 503, body: `store unavailable: ${(err as Error).message}\n` };
  } finally {
    clearTimeout(timer);
  }
  return { status: 200, body: 'ok\n' };
}

/** GET /healthz and /readyz on a Fastify app. */
export function registerHealth(app: FastifyInstance, sources: HealthSources): void {
  for (const [path, ready] of [['/healthz', false], ['/readyz', true]] as const) {
    app.get(path, async (_req, reply) => {
      const a = await checkHealth(sources, ready);
      return reply.code(a.status).header('Content-Type', 'text/plain; charset=utf-8').header('Cache-Control', 'no-store').send(a.body);
    });
  }
}

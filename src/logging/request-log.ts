import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';

/**
 * The one structured line written per ActiveSync request, with the fields an Exchange admin reads
 * in IIS logs (DESIGN.md "Observability"): command, user, device id and type, protocol version,
 * HTTP status, EAS status, bytes in and out, milliseconds.
 */
export interface RequestLogFields {
  cmd?: string;
  user?: string;
  deviceId?: string;
  deviceType?: string;
  protocolVersion?: string;
  easStatus?: number | string;
  /** Why a request was refused, in a few words. */
  reason?: string;
  /** The refusal is of the client's input (CommandResult.clientFault): warn, even for a 5xx. */
  clientFault?: boolean;
  [extra: string]: unknown;
}

// Kept on the request itself (symbol keys), not in WeakMaps: a held Ping carries them for its
// whole heartbeat, and two ephemeron-table entries per request cost more than two properties.
// Exported for the server, which has them carried across a hold: a detached held request's
// answer is sent for a new request (src/http/held-connections.ts), and its log line has the held
// request's fields and time.
export const FIELDS = Symbol('easd.logFields');
export const STARTED = Symbol('easd.started');
type Marked = FastifyRequest & { [FIELDS]?: RequestLogFields; [STARTED]?: number };

/** Called from an onRequest hook, so the time includes body parsing and authentication. */
export function markStart(req: FastifyRequest): void {
  // performance.now() is a double, where hrtime.bigint() would be a heap object per request.
  (req as Marked)[STARTED] = performance.now();
}

export function logFields(req: FastifyRequest): RequestLogFields {
  return ((req as Marked)[FIELDS] ??= {});
}

export function bodyLength(body: unknown): number {
  return Buffer.isBuffer(body) ? body.length : typeof body === 'string' ? Buffer.byteLength(body) : 0;
}

/**
 * The client's address: as a held request took it before it let go of its headers (with a
 * trusted proxy it comes from X-Forwarded-For; src/http/parked-requests.ts), else read now.
 */
export function clientAddress(req: FastifyRequest): string {
  const remote = (req as Marked)[FIELDS]?.remote;
  return typeof remote === 'string' ? remote : req.ip;
}

export function writeRequestLog(log: Logger, req: FastifyRequest, reply: FastifyReply, bytesOut: number): void {
  const f = (req as Marked)[FIELDS] ?? {};
  const httpStatus = reply.statusCode;
  const line = {
    method: req.method,
    path: req.routeOptions.url ?? req.url.split('?')[0],
    ...f,
    httpStatus,
    // A held request took these two before it let go of its body and headers (parked-requests.ts).
    bytesIn: typeof f.bytesIn === 'number' ? f.bytesIn : bodyLength(req.body),
    bytesOut,
    ms: elapsedMs(req),
    remote: clientAddress(req),
  };
  // 501 is the documented answer for a command easd does not have yet, not a server fault; 503
  // asks the device to come back later (throttled, or the store down, which has its own error
  // line); a 5xx the protocol gives for bad input (a 12.x SmartReply to an unknown item) is the client's.
  if (httpStatus >= 500 && httpStatus !== 501 && httpStatus !== 503 && f.clientFault !== true) log.error(line, 'request');
  // A balancer's health probe every few seconds would drown the log: a healthy answer is debug.
  else if (httpStatus === 200 && (line.path === '/healthz' || line.path === '/readyz')) log.debug(line, 'request');
  else if (httpStatus >= 400) log.warn(line, 'request');
  else log.info(line, 'request');
}

/** Milliseconds since the request came in (for a held request, since the held one came in). */
export function elapsedMs(req: FastifyRequest): number {
  const start = (req as Marked)[STARTED];
  if (start === undefined) return 0;
  return Math.round((performance.now() - start) * 10) / 10;
}

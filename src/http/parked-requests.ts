import type { FastifyReply, FastifyRequest } from 'fastify';
import type { ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import type { CommandResult, Park } from '../protocol/command.ts';
import type { DetachedRequest, HeldConnections } from './held-connections.ts';
import { bodyLength, logFields } from '../logging/request-log.ts';

/**
 * Held requests parked as small records instead of pending handlers (DESIGN.md "Push": a held
 * Ping must cost kilobytes). A command that has nothing to say yet returns `park`; the route hands
 * the request here and returns. What stays per held request is Fastify's request and reply, this
 * record and the command's Park (its Watch, deadline and a recheck closure over a few ids): no
 * suspended async frames, no AbortController, no timer of its own. Where the connection allows,
 * not even Fastify's request and reply nor node:http's: the request is detached and only its
 * socket stays (src/http/held-connections.ts); its answer goes out through the route again.
 *
 * - A change the Park's Watch matches runs `recheck`: a result answers, undefined stays parked.
 *   Rechecks of one request never overlap; a change during one runs it again afterwards.
 * - Deadlines are kept in one-second buckets swept by one shared timer, so a heartbeat ends up to
 *   a second late (MS-ASCMD 2.2.3.84.1 gives the interval in seconds; the client allows for
 *   network delay on top).
 * - The client going away (the response's 'close', which Node emits for a lost connection)
 *   drops the record without answering.
 * - `closeAll` answers every parked request with its timeout answer (server shutdown).
 * - A group (the user) limits how many are held at once: past `max`, the oldest of the group is
 *   answered with its timeout answer (a Ping's Status 1, MS-ASCMD 2.2.3.177.10: the device asks
 *   again), so one user's devices cannot pile up held requests (kb-2.2).
 */
export type Answer = (req: FastifyRequest, reply: FastifyReply, result: CommandResult) => void;

const ENTRY = Symbol('easd.parked');

class Parked {
  busy = false;
  again = false;
  done = false;
  /** Set when node:http let go of the request: then `req` and `reply` are let go of too. */
  detached: DetachedRequest | undefined;
  constructor(
    public req: FastifyRequest | undefined,
    public reply: FastifyReply | undefined,
    readonly park: Park,
    readonly bucket: number,
    readonly owner: ParkedRequests,
    readonly group: string | undefined,
  ) {}

  /** The watch saw a change (Watch.holder). */
  changed(): void {
    this.owner.recheck(this);
  }

  /** The client closed a detached request's connection (DetachedHolder). */
  gone(): void {
    this.owner.drop(this);
  }
}

type RawWithEntry = ServerResponse & { [ENTRY]?: Parked };

export interface ParkedRequestsOptions {
  now?: () => number;
  /** Bucket width and sweep period in ms (tests use a short one). */
  tickMs?: number;
  /** The server's connections, to detach held requests from node:http (none: never detached). */
  connections?: HeldConnections;
}

export class ParkedRequests {
  readonly #buckets = new Map<number, Set<Parked>>();
  readonly #answer: Answer;
  readonly #log: Logger;
  readonly #now: () => number;
  readonly #tickMs: number;
  readonly #connections: HeldConnections | undefined;
  #timer: NodeJS.Timeout | undefined;
  #count = 0;
  /** Held requests per group, oldest first (Set keeps insertion order). */
  readonly #groups = new Map<string, Set<Parked>>();

  constructor(answer: Answer, log: Logger, opts: ParkedRequestsOptions = {}) {
    this.#answer = answer;
    this.#log = log;
    this.#now = opts.now ?? Date.now;
    this.#tickMs = opts.tickMs ?? 1000;
    this.#connections = opts.connections;
  }

  /** Requests parked now. */
  get size(): number {
    return this.#count;
  }

  /** Held requests of a group now. */
  groupSize(key: string): number {
    return this.#groups.get(key)?.size ?? 0;
  }

  park(req: FastifyRequest, reply: FastifyReply, park: Park, group?: { key: string; max: number }): void {
    const bucket = Math.ceil(park.deadline / this.#tickMs);
    const entry = new Parked(req, reply, park, bucket, this, group?.key);
    if (group) {
      let members = this.#groups.get(group.key);
      if (!members) this.#groups.set(group.key, (members = new Set()));
      for (const oldest of members) {
        if (members.size < group.max) break;
        this.#finish(oldest, oldest.park.timeout());
      }
      // Answering the last one may have dropped the group's set.
      this.#groups.set(group.key, members);
      members.add(entry);
    }
    let set = this.#buckets.get(bucket);
    if (!set) this.#buckets.set(bucket, (set = new Set()));
    set.add(entry);
    this.#count++;
    // The two log fields read from the request, before it or its connection goes.
    const f = logFields(req);
    f.bytesIn = bodyLength(req.body);
    f.remote = req.ip;
    park.watch.holder = entry;
    this.#timer ??= setInterval(() => this.#sweep(), this.#tickMs);
    const detached = this.#connections?.detach(req, reply, entry);
    if (detached) {
      entry.detached = detached;
      entry.req = undefined;
      entry.reply = undefined;
      if (park.watch.dirty) this.recheck(entry);
      return;
    }
    shedRequest(req);
    const raw = reply.raw as RawWithEntry;
    raw[ENTRY] = entry;
    raw.on('close', onResponseClose);
    // A change that came while the command was looking, or a client already gone.
    if (raw.destroyed) this.drop(entry);
    else if (park.watch.dirty) this.recheck(entry);
  }

  /** Answers every parked request with its timeout answer (server shutdown). */
  closeAll(): void {
    this.#connections?.closing();
    for (const set of [...this.#buckets.values()]) for (const e of [...set]) this.#finish(e, e.park.timeout());
  }

  /** @internal Runs the Park's recheck (never two at once for one request). */
  recheck(e: Parked): void {
    if (e.done) return;
    if (e.busy) {
      e.again = true;
      return;
    }
    e.busy = true;
    e.again = false;
    e.park.watch.dirty = false;
    e.park.recheck().then(
      (result) => {
        e.busy = false;
        if (e.done) return;
        if (result) this.#finish(e, result);
        else if (e.again) this.recheck(e);
      },
      (err: unknown) => {
        e.busy = false;
        if (e.done) return;
        this.#log.error({ err }, 'held request failed to look for changes');
        this.#finish(e, e.park.failed?.() ?? e.park.timeout());
      },
    );
  }

  #sweep(): void {
    const due = Math.floor(this.#now() / this.#tickMs);
    for (const [bucket, set] of this.#buckets) {
      if (bucket > due) continue;
      for (const e of [...set]) if (!e.busy) this.#finish(e, e.park.timeout());
    }
    if (this.#count === 0 && this.#timer) {
      clearInterval(this.#timer);
      this.#timer = undefined;
    }
  }

  #remove(e: Parked): boolean {
    if (e.done) return false;
    e.done = true;
    e.park.watch.close();
    e.park.watch.holder = undefined;
    if (e.group !== undefined) {
      const members = this.#groups.get(e.group);
      if (members?.delete(e) && members.size === 0) this.#groups.delete(e.group);
    }
    const set = this.#buckets.get(e.bucket);
    if (set?.delete(e)) {
      this.#count--;
      if (set.size === 0) this.#buckets.delete(e.bucket);
    }
    if (e.reply) {
      const raw = e.reply.raw as RawWithEntry;
      raw.off('close', onResponseClose);
      delete raw[ENTRY];
    } else e.detached?.release();
    return true;
  }

  #finish(e: Parked, result: CommandResult): void {
    if (!this.#remove(e)) return;
    try {
      if (e.detached) this.#connections!.answer(e.detached, result);
      else this.#answer(e.req!, e.reply!, result);
    } catch (err) {
      this.#log.error({ err }, 'answering a held request failed');
    }
  }

  /** @internal The client went away: nothing to answer. */
  drop(e: Parked): void {
    this.#remove(e);
  }
}

// One listener function for every parked response (no closure per request).
function onResponseClose(this: RawWithEntry): void {
  const e = this[ENTRY];
  if (e && !e.done) e.owner.drop(e);
}

/**
 * A held request that stays attached keeps what its answer and its log line need and lets go of
 * the rest for its heartbeat (up to an hour, times every device): the body (decoded already), the
 * query and the request headers, with the two log fields read from them taken already (bytes in,
 * and the client address, which with a trusted proxy comes from X-Forwarded-For). Mailbox logging
 * took its copy when it marked the request (src/logging/mailbox-log.ts).
 */
function shedRequest(req: FastifyRequest): void {
  (req as { body?: unknown }).body = undefined;
  // The query was parsed already; the log line names the route's path, not the request's.
  if (req.routeOptions.url !== undefined) req.raw.url = req.routeOptions.url;
  // IncomingMessage rebuilds `headers` from `rawHeaders` when read again (empty now); the array
  // is shared and frozen, and Node writes a complete message's later lines to rawTrailers.
  req.raw.rawHeaders = NO_RAW_HEADERS;
  (req.raw as { headers?: unknown }).headers = undefined;
}

const NO_RAW_HEADERS = Object.freeze([]) as unknown as string[];

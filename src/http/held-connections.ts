import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Server as HttpServer } from 'node:http';
import { Socket } from 'node:net';
import { Duplex } from 'node:stream';
import { RequestFramer } from './request-framer.ts';

/**
 * Held requests that node:http no longer tracks (a held Ping must cost a few kilobytes: 10,000 of
 * them under 10 KB each, bench/ping/held.ts).
 *
 * node:http keeps a parser (about 1.7 KB of native memory), a request, a response and a dozen
 * bound listeners per connection while a request is open: about 4 KB of heap and 5.5 KB of RSS
 * per held request, more than half of the budget, where a bare socket costs 1.7 KB of heap
 * (bench/ping/floor.ts). So node:http never sees the device's socket itself: each connection
 * reaches it through a `ConnectionProxy`, a Duplex that forwards both ways and frames the
 * requests it passes on (where each request's head and Content-Length body end).
 *
 * - **Detach.** A parked request whose connection is at a request boundary (its body read, no
 *   byte of a next request passed on, no earlier response still going out) is detached: its
 *   Fastify reply is hijacked and the proxy destroyed, so node:http frees its parser, request
 *   and response the way it does for any closed connection. What stays is the socket, the
 *   parked record and the few values the answer's log lines need (the `carry` option).
 * - **Answer.** A new proxy gives node:http the connection again, with a one-line request in
 *   front of whatever the client sent meanwhile: `POST <endpoint>` with no body, the HTTP
 *   version and Connection header of the held request. Its route finds the answer on the proxy
 *   (`takeHeldAnswer`, never in the bytes, so no client can ask for another's answer) and sends
 *   it through the normal pipeline: the same headers, request log line, mailbox log and
 *   metrics as any answer.
 * - A connection that cannot be framed (a chunked body, an Upgrade, a head over 64 KB) is
 *   passed through as it is and its requests are held the ordinary way, as are requests that
 *   did not come through a proxy.
 */

/** What a detached request's answer needs from its held request, restored on the new one. */
type Carried = [symbol, unknown][];

export interface HeldConnectionsOptions {
  /**
   * Per-request values (symbol properties of the Fastify request) that an answer after a hold
   * needs: the request log's fields and start time, the mailbox log's mark. Handed in by whoever
   * builds the server, so the modules that own them need not know about holds.
   */
  carry?: readonly symbol[];
}

/** The bytes a client may send while its request is held before the connection is closed. */
const MAX_BUFFERED_WHILE_HELD = 64 * 1024;
/** A request head longer than this is not framed (node:http refuses over 16 KB by default). */
const MAX_HEAD = 64 * 1024;

const OWNER = Symbol('easd.connectionOwner');
const SEQ = Symbol('easd.requestSeq');
type OwnedSocket = Socket & { [OWNER]?: ConnectionProxy | DetachedRequest };

/** Whoever holds a detached request (one object, not a closure per request). */
export interface DetachedHolder {
  /** The client closed the connection before the answer. */
  gone(): void;
}

/** A request held with no node:http state: its socket and what its answer needs. */
export class DetachedRequest {
  buffered: Buffer[] | undefined;
  bufferedBytes = 0;
  #holder: DetachedHolder | undefined;
  #live = true;
  constructor(
    readonly socket: OwnedSocket,
    readonly carried: Carried,
    /** The held request's HTTP version and Connection header, for the request that carries the answer (`answerHead`). */
    readonly httpVersion: string,
    readonly connection: string | undefined,
    holder: DetachedHolder,
    /** The server's count of detached requests (one object per server). */
    readonly tally: { detached: number },
  ) {
    this.#holder = holder;
    tally.detached++;
    socket[OWNER] = this;
    socket.on('data', onDetachedData);
    socket.on('end', onDetachedGone);
    socket.on('close', onDetachedGone);
    socket.on('error', onDetachedGone);
    // Reading on while held is how a closed connection is noticed (its end of stream).
    socket.resume();
  }

  /** Stops watching the socket (before it is answered or closed). */
  release(): void {
    if (!this.#live) return;
    this.#live = false;
    this.tally.detached--;
    const s = this.socket;
    s.off('data', onDetachedData);
    s.off('end', onDetachedGone);
    s.off('close', onDetachedGone);
    s.off('error', onDetachedGone);
    if (s[OWNER] === this) s[OWNER] = undefined;
    this.#holder = undefined;
  }

  /** @internal The client closed the connection or it failed: nobody to answer. */
  gone(): void {
    const holder = this.#holder;
    this.release();
    this.socket.destroy();
    holder?.gone();
  }
}

function onDetachedData(this: OwnedSocket, chunk: Buffer): void {
  const d = this[OWNER];
  if (!(d instanceof DetachedRequest)) return;
  // A client may send its next request before the answer (pipelining): kept, and read after it.
  d.bufferedBytes += chunk.length;
  if (d.bufferedBytes > MAX_BUFFERED_WHILE_HELD) return d.gone();
  (d.buffered ??= []).push(chunk);
}

function onDetachedGone(this: OwnedSocket): void {
  const d = this[OWNER];
  if (d instanceof DetachedRequest) d.gone();
}

/** An answer waiting on a proxy for the request that carries it. */
interface HeldAnswer<R> {
  result: R;
  carried: Carried;
}
const ANSWER = Symbol('easd.heldAnswer');

/**
 * The connection as node:http sees it: forwards reads and writes to the device's socket, and
 * frames the requests it passes on so a held one can be detached at a request boundary.
 */
export class ConnectionProxy extends Duplex {
  #socket: OwnedSocket | undefined;
  [ANSWER]?: HeldAnswer<unknown>;
  readonly #framer = new RequestFramer(MAX_HEAD);
  /** Requests node:http handed to the app, and of them those answered. */
  seen = 0;
  answered = 0;

  constructor(socket: Socket) {
    // Strings (node:http's response heads) go to the socket as strings: no Buffer made for them.
    super({ allowHalfOpen: true, decodeStrings: false });
    const s = socket as OwnedSocket;
    this.#socket = s;
    s[OWNER] = this;
    s.on('data', onProxiedData);
    s.on('end', onProxiedEnd);
    s.on('close', onProxiedClose);
    s.on('error', onProxiedError);
    s.on('timeout', onProxiedTimeout);
  }

  /** @internal From the socket: pass it on, framed. */
  passOn(chunk: Buffer): void {
    this.#framer.feed(chunk);
    if (!this.push(chunk)) this.#socket?.pause();
  }

  /** Every byte passed on belongs to requests already complete, and node:http has read it all. */
  get atBoundary(): boolean {
    return this.#framer.atBoundary && this.readableLength === 0;
  }

  /** Requests whose head was passed on. */
  get framed(): number {
    return this.#framer.framed;
  }

  /** Takes the socket for a new owner: no longer this proxy's, and node:http is told the connection closed. */
  takeSocket(): OwnedSocket | undefined {
    const s = this.#socket;
    if (!s) return undefined;
    this.#unhook(s);
    this.#socket = undefined;
    // node:http may have set a keep-alive timeout on it before this request.
    s.setTimeout(0);
    this.destroy();
    return s;
  }

  #unhook(s: OwnedSocket): void {
    s.off('data', onProxiedData);
    s.off('end', onProxiedEnd);
    s.off('close', onProxiedClose);
    s.off('error', onProxiedError);
    s.off('timeout', onProxiedTimeout);
    if (s[OWNER] === this) s[OWNER] = undefined;
  }

  /** The request's proxy if the request may be detached now (see the module comment). */
  static detachable(req: FastifyRequest): ConnectionProxy | undefined {
    const proxy = req.raw.socket;
    if (!(proxy instanceof ConnectionProxy) || proxy.destroyed || !proxy.#socket || proxy.#socket.destroyed) return undefined;
    const seq = (req as SeqRequest)[SEQ];
    // The last request passed on, every earlier one answered, nothing more passed on.
    if (seq === undefined || seq !== proxy.framed || proxy.answered !== seq - 1 || !proxy.atBoundary) return undefined;
    return proxy;
  }

  // ---- Duplex: node:http's reads and writes go to the socket
  override _read(): void {
    const s = this.#socket;
    if (s?.isPaused()) s.resume();
  }

  override _write(chunk: Buffer | string, encoding: BufferEncoding, cb: (err?: Error | null) => void): void {
    const s = this.#socket;
    if (!s || s.destroyed) return cb(new Error('connection closed'));
    s.write(chunk, encoding, cb);
  }

  override _writev(chunks: { chunk: Buffer | string; encoding: BufferEncoding }[], cb: (err?: Error | null) => void): void {
    const s = this.#socket;
    if (!s || s.destroyed) return cb(new Error('connection closed'));
    s.cork();
    for (let i = 0; i < chunks.length - 1; i++) s.write(chunks[i]!.chunk, chunks[i]!.encoding);
    s.write(chunks[chunks.length - 1]!.chunk, chunks[chunks.length - 1]!.encoding, cb);
    s.uncork();
  }

  override _final(cb: (err?: Error | null) => void): void {
    this.#socket?.end();
    cb();
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    const s = this.#socket;
    if (s) {
      this.#unhook(s);
      this.#socket = undefined;
      // Without the error: node:http has handled it, and the socket has no 'error' listener now.
      s.destroy();
    }
    cb(err);
  }

  // ---- what node:http, Fastify and easd read of a socket
  get remoteAddress(): string | undefined {
    return this.#socket?.remoteAddress;
  }
  get remotePort(): number | undefined {
    return this.#socket?.remotePort;
  }
  get remoteFamily(): string | undefined {
    return this.#socket?.remoteFamily;
  }
  get localAddress(): string | undefined {
    return this.#socket?.localAddress;
  }
  get localPort(): number | undefined {
    return this.#socket?.localPort;
  }
  /** A TLS socket's; Fastify's `request.protocol` reads it. */
  get encrypted(): boolean {
    return Boolean((this.#socket as { encrypted?: boolean } | undefined)?.encrypted);
  }
  setTimeout(ms: number, cb?: () => void): this {
    this.#socket?.setTimeout(ms);
    if (cb) this.once('timeout', cb);
    return this;
  }
  setNoDelay(noDelay?: boolean): this {
    this.#socket?.setNoDelay(noDelay);
    return this;
  }
  setKeepAlive(enable?: boolean, delay?: number): this {
    this.#socket?.setKeepAlive(enable, delay);
    return this;
  }
}

type SeqRequest = FastifyRequest & { [SEQ]?: number };

// Shared listeners (the socket names its proxy): no closures per connection.
function proxyOf(s: OwnedSocket): ConnectionProxy | undefined {
  const p = s[OWNER];
  return p instanceof ConnectionProxy ? p : undefined;
}
function onProxiedData(this: OwnedSocket, chunk: Buffer): void {
  proxyOf(this)?.passOn(chunk);
}
function onProxiedEnd(this: OwnedSocket): void {
  proxyOf(this)?.push(null);
}
function onProxiedClose(this: OwnedSocket): void {
  proxyOf(this)?.destroy();
}
function onProxiedError(this: OwnedSocket, err: Error): void {
  proxyOf(this)?.destroy(err);
}
function onProxiedTimeout(this: OwnedSocket): void {
  proxyOf(this)?.emit('timeout');
}

/**
 * The request head that carries a detached request's answer: the held request's HTTP version
 * and Connection header, so keep-alive is what the client asked for (while the server shuts
 * down: close, so the connection closes after the answer). Made when answering: kept per held
 * request, a head built from parts is a tree of string pieces several times its length.
 */
function answerHead(path: string, httpVersion: string, connection: string | undefined): string {
  const conn = connection && /^[\w ,-]{1,100}$/.test(connection) ? `Connection: ${connection}\r\n` : '';
  return `POST ${path} HTTP/${httpVersion}\r\nHost: easd\r\nContent-Length: 0\r\n${conn}\r\n`;
}

/**
 * The server's connections, each through a ConnectionProxy. `event` is where node:http takes
 * its connections: 'connection' for HTTP, 'secureConnection' for HTTPS (the TLS socket).
 */
export class HeldConnections {
  readonly #server: HttpServer;
  readonly #listener: ((socket: Duplex) => void) | undefined;
  readonly #path: string;
  readonly #carry: readonly symbol[];
  readonly #tally = { detached: 0 };
  #closing = false;

  constructor(server: HttpServer, event: 'connection' | 'secureConnection', path: string, options: HeldConnectionsOptions = {}) {
    this.#server = server;
    this.#path = path;
    this.#carry = options.carry ?? [];
    const listeners = server.listeners(event);
    // node:http's own listener, and no other: anything else and connections are left as they are.
    const node = listeners.length === 1 && listeners[0]!.name === 'connectionListener' ? (listeners[0] as (s: Duplex) => void) : undefined;
    this.#listener = node;
    if (!node) return;
    server.removeListener(event, node);
    server.on(event, (socket: Duplex) => {
      if (socket instanceof Socket) node.call(server, new ConnectionProxy(socket));
      else node.call(server, socket);
    });
  }

  /** Whether connections go through proxies (node:http's listener was found). */
  get active(): boolean {
    return this.#listener !== undefined;
  }

  /** Held requests detached now. */
  get detached(): number {
    return this.#tally.detached;
  }

  /** From now on answers close their connection (server shutdown). */
  closing(): void {
    this.#closing = true;
  }

  /** Called for every request (an onRequest hook): its place on its connection. */
  static noteRequest(req: FastifyRequest): void {
    const p = req.raw.socket;
    if (p instanceof ConnectionProxy) (req as SeqRequest)[SEQ] = ++p.seen;
  }

  /** Whether the request carries a detached request's answer (see takeHeldAnswer). */
  static carriesAnswer(req: FastifyRequest): boolean {
    return answerCarrier(req) !== undefined;
  }

  /** Called for every answered request (an onResponse hook). */
  static noteAnswered(req: FastifyRequest): void {
    const p = req.raw.socket;
    if (p instanceof ConnectionProxy) p.answered++;
  }

  /**
   * Lets node:http go of a held request, if its connection allows (see the module comment);
   * `holder.gone()` runs if the client closes the connection before the answer.
   */
  detach(req: FastifyRequest, reply: FastifyReply, holder: DetachedHolder): DetachedRequest | undefined {
    if (!this.#listener || this.#closing) return undefined;
    const proxy = ConnectionProxy.detachable(req);
    if (!proxy) return undefined;
    // Read before the proxy goes: what the request that will carry the answer repeats.
    const connection = req.raw.headers.connection;
    const carried: Carried = [];
    for (const key of this.#carry) {
      const v = (req as unknown as Record<symbol, unknown>)[key];
      if (v !== undefined) carried.push([key, v]);
    }
    // Fastify must not answer or log the request when node:http reports its connection closed.
    reply.hijack();
    const socket = proxy.takeSocket();
    return socket ? new DetachedRequest(socket, carried, req.raw.httpVersion === '1.0' ? '1.0' : '1.1', connection, holder, this.#tally) : undefined;
  }

  /** Sends a detached request's answer: node:http reads a request carrying it on the connection. */
  answer<R>(d: DetachedRequest, result: R): void {
    d.release();
    const socket = d.socket;
    if (socket.destroyed || !this.#listener) {
      socket.destroy();
      return;
    }
    const proxy = new ConnectionProxy(socket);
    proxy[ANSWER] = { result, carried: d.carried };
    this.#listener.call(this.#server, proxy);
    proxy.passOn(Buffer.from(answerHead(this.#path, d.httpVersion, this.#closing ? 'close' : d.connection), 'latin1'));
    for (const chunk of d.buffered ?? []) proxy.passOn(chunk);
    d.buffered = undefined;
  }
}

/** The proxy of a request carrying a detached request's answer: the first request on that proxy. */
function answerCarrier(req: FastifyRequest): ConnectionProxy | undefined {
  const p = req.raw.socket;
  return p instanceof ConnectionProxy && p[ANSWER] !== undefined && (req as SeqRequest)[SEQ] === 1 ? p : undefined;
}

/**
 * The answer a request carries, once (its route sends it instead of running a command), with
 * the held request's carried values put back on it.
 */
export function takeHeldAnswer<R>(req: FastifyRequest): R | undefined {
  const p = answerCarrier(req);
  if (!p) return undefined;
  const a = p[ANSWER] as HeldAnswer<R>;
  p[ANSWER] = undefined;
  for (const [key, v] of a.carried) (req as unknown as Record<symbol, unknown>)[key] = v;
  return a.result;
}

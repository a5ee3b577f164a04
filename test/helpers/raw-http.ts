/**
 * One HTTP/1.1 connection driven by hand, for tests that need to control the bytes: pipelining,
 * a chunked body, a connection closed mid-request, or reading what the server does to the
 * connection after an answer. Responses are read by their Content-Length (the server never
 * answers chunked here).
 */
import net from 'node:net';

export interface RawResponse {
  status: number;
  /** Lowercased names; a repeated field keeps its last value. */
  headers: Record<string, string>;
  body: Buffer;
}

export class RawConnection {
  readonly socket: net.Socket;
  #buf = Buffer.alloc(0);
  #waiters: (() => void)[] = [];
  #ended = false;
  /** Resolves when the server closed (or reset) the connection. */
  readonly closed: Promise<void>;

  private constructor(socket: net.Socket) {
    this.socket = socket;
    socket.on('data', (d: Buffer) => {
      this.#buf = Buffer.concat([this.#buf, d]);
      this.#wake();
    });
    this.closed = new Promise((resolve) => {
      const done = () => {
        this.#ended = true;
        this.#wake();
        resolve();
      };
      socket.on('end', done);
      socket.on('close', done);
      socket.on('error', done);
    });
  }

  static open(port: number, host = '127.0.0.1'): Promise<RawConnection> {
    return new Promise((resolve, reject) => {
      const s = net.connect(port, host, () => resolve(new RawConnection(s)));
      s.once('error', reject);
    });
  }

  #wake(): void {
    for (const w of this.#waiters.splice(0)) w();
  }

  async #more(timeoutMs: number): Promise<void> {
    if (this.#ended) throw new Error('connection closed before a whole response');
    await new Promise<void>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`no response within ${timeoutMs} ms`)), timeoutMs);
      this.#waiters.push(() => {
        clearTimeout(t);
        resolve();
      });
    });
  }

  send(data: string | Buffer): void {
    this.socket.write(data);
  }

  /** The next whole response on the connection. */
  async response(timeoutMs = 10_000): Promise<RawResponse> {
    for (;;) {
      const end = this.#buf.indexOf('\r\n\r\n');
      if (end >= 0) {
        const lines = this.#buf.subarray(0, end).toString('latin1').split('\r\n');
        const status = Number(lines[0]!.split(' ')[1]);
        const headers: Record<string, string> = {};
        for (const l of lines.slice(1)) {
          const i = l.indexOf(':');
          headers[l.slice(0, i).trim().toLowerCase()] = l.slice(i + 1).trim();
        }
        const length = Number(headers['content-length'] ?? 0);
        if (this.#buf.length >= end + 4 + length) {
          const body = Buffer.from(this.#buf.subarray(end + 4, end + 4 + length));
          this.#buf = this.#buf.subarray(end + 4 + length);
          return { status, headers, body };
        }
      }
      await this.#more(timeoutMs);
    }
  }

  close(): void {
    this.socket.destroy();
  }
}

/** An HTTP/1.1 request's bytes with a Content-Length body (or none). */
export function rawRequest(method: string, path: string, headers: Record<string, string>, body?: Buffer): Buffer {
  const lines = [`${method} ${path} HTTP/1.1`, 'Host: easd.test'];
  for (const [k, v] of Object.entries(headers)) lines.push(`${k}: ${v}`);
  if (body) lines.push(`Content-Length: ${body.length}`);
  return Buffer.concat([Buffer.from(lines.join('\r\n') + '\r\n\r\n', 'latin1'), body ?? Buffer.alloc(0)]);
}

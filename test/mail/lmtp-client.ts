/**
 * A minimal LMTP/SMTP client for tests: speaks the dialogue line by line over a real socket and
 * returns every reply, so per-recipient replies after DATA (RFC 2033 4.2) can be checked exactly.
 */
import { connect, type Socket } from 'node:net';

export interface Reply {
  code: number;
  text: string;
}

export class LineClient {
  #socket: Socket;
  #buf = '';
  #lines: string[] = [];
  #waiters: Array<() => void> = [];

  private constructor(socket: Socket) {
    this.#socket = socket;
    socket.setEncoding('utf8');
    socket.on('data', (d: string) => {
      this.#buf += d;
      let i: number;
      while ((i = this.#buf.indexOf('\r\n')) >= 0) {
        this.#lines.push(this.#buf.slice(0, i));
        this.#buf = this.#buf.slice(i + 2);
      }
      const w = this.#waiters.splice(0);
      w.forEach((f) => f());
    });
  }

  static async open(port: number, host = '127.0.0.1'): Promise<LineClient> {
    const socket = connect(port, host);
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    const c = new LineClient(socket);
    await c.reply(); // greeting
    return c;
  }

  /** The next complete reply (multi-line replies joined). */
  async reply(timeoutMs = 15000): Promise<Reply> {
    const deadline = Date.now() + timeoutMs;
    const text: string[] = [];
    for (;;) {
      while (this.#lines.length === 0) {
        if (Date.now() > deadline) throw new Error('no reply from server');
        await new Promise<void>((resolve) => {
          const t = setTimeout(resolve, 200);
          this.#waiters.push(() => {
            clearTimeout(t);
            resolve();
          });
        });
      }
      const line = this.#lines.shift()!;
      text.push(line.slice(4));
      if (line[3] !== '-') return { code: Number(line.slice(0, 3)), text: text.join('\n') };
    }
  }

  async command(line: string): Promise<Reply> {
    this.#socket.write(line + '\r\n');
    return this.reply();
  }

  /** Sends the message body after a 354 and returns `replies` replies (one per accepted recipient in LMTP). */
  async data(message: Buffer | string, replies: number): Promise<Reply[]> {
    const r = await this.command('DATA');
    if (r.code !== 354) return [r];
    const body = Buffer.isBuffer(message) ? message.toString('latin1') : message;
    const stuffed = body.replace(/\r?\n/g, '\r\n').replace(/^\./gm, '..');
    this.#socket.write(Buffer.from(stuffed + (stuffed.endsWith('\r\n') ? '' : '\r\n') + '.\r\n', 'latin1'));
    const out: Reply[] = [];
    for (let i = 0; i < replies; i++) out.push(await this.reply(60000));
    return out;
  }

  async close(): Promise<void> {
    try {
      await this.command('QUIT');
    } catch {
      // already closed
    }
    this.#socket.destroy();
  }
}

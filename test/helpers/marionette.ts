/**
 * A small Marionette client (Firefox/Thunderbird remote protocol), so a test can drive a real
 * Thunderbird without an npm dependency. The protocol: a TCP stream of `<length>:<json>` packets;
 * the server greets with `{"applicationType":"gecko","marionetteProtocol":3}`, then each command
 * is `[0, id, name, params]` and its answer `[1, id, error, result]` (error null on success).
 * Commands are WebDriver's (`WebDriver:NewSession`, `WebDriver:ExecuteScript`, ...) plus
 * Marionette's own (`Marionette:SetContext` with "chrome" to run privileged scripts).
 *
 *   const m = await Marionette.connect(port, deadline);
 *   await m.newSession();
 *   await m.setContext('chrome');
 *   const n = await m.execute<number>('return 1 + arguments[0];', [1]);
 */
import net from 'node:net';

export class MarionetteError extends Error {
  constructor(
    readonly command: string,
    readonly error: string,
    message: string,
    readonly stacktrace?: string,
  ) {
    super(`${command}: ${error}: ${message}${stacktrace ? `\n${stacktrace}` : ''}`);
  }
}

interface Pending {
  name: string;
  resolve: (value: unknown) => void;
  reject: (err: Error) => void;
}

export class Marionette {
  private buffer = Buffer.alloc(0);
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private greeting: ((value: unknown) => void) | undefined;
  private closedError: Error | undefined;

  private constructor(private readonly socket: net.Socket) {
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    const fail = (err: Error) => {
      this.closedError = err;
      for (const p of this.pending.values()) p.reject(err);
      this.pending.clear();
    };
    socket.on('error', fail);
    socket.on('close', () => fail(new Error('marionette connection closed')));
  }

  /**
   * Connects to Marionette on 127.0.0.1:port, retrying until `deadline` (epoch ms): Thunderbird
   * opens the port a while after it starts, later on a loaded machine.
   */
  static async connect(port: number, deadline: number): Promise<Marionette> {
    let lastError: unknown;
    while (Date.now() < deadline) {
      try {
        const socket = await new Promise<net.Socket>((resolve, reject) => {
          const s = net.connect({ host: '127.0.0.1', port }, () => resolve(s));
          s.once('error', reject);
        });
        const m = new Marionette(socket);
        await m.waitGreeting(Math.max(1000, deadline - Date.now()));
        return m;
      } catch (err) {
        lastError = err;
        await new Promise((r) => setTimeout(r, 500));
      }
    }
    throw new Error(`marionette did not answer on port ${port}: ${String(lastError)}`);
  }

  private waitGreeting(timeoutMs: number): Promise<unknown> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.socket.destroy();
        reject(new Error('no marionette greeting'));
      }, timeoutMs);
      this.greeting = (v) => {
        clearTimeout(timer);
        resolve(v);
      };
      this.socket.once('close', () => {
        clearTimeout(timer);
        reject(new Error('connection closed before the marionette greeting'));
      });
    });
  }

  private onData(chunk: Buffer): void {
    this.buffer = Buffer.concat([this.buffer, chunk]);
    for (;;) {
      const colon = this.buffer.indexOf(0x3a);
      if (colon < 0) return;
      const length = Number(this.buffer.subarray(0, colon).toString('ascii'));
      if (!Number.isInteger(length)) throw new Error('bad marionette packet length');
      if (this.buffer.length < colon + 1 + length) return;
      const body = this.buffer.subarray(colon + 1, colon + 1 + length).toString('utf8');
      this.buffer = this.buffer.subarray(colon + 1 + length);
      this.onPacket(JSON.parse(body) as unknown);
    }
  }

  private onPacket(packet: unknown): void {
    if (!Array.isArray(packet)) {
      const g = this.greeting;
      this.greeting = undefined;
      g?.(packet);
      return;
    }
    const [type, id, error, result] = packet as [number, number, { error: string; message: string; stacktrace?: string } | null, unknown];
    if (type !== 1) return;
    const p = this.pending.get(id);
    if (!p) return;
    this.pending.delete(id);
    if (error) p.reject(new MarionetteError(p.name, error.error, error.message, error.stacktrace));
    else p.resolve(result);
  }

  /** Sends one command and waits for its answer. */
  command<T = unknown>(name: string, params: Record<string, unknown> = {}): Promise<T> {
    if (this.closedError) return Promise.reject(this.closedError);
    const id = this.nextId++;
    const body = Buffer.from(JSON.stringify([0, id, name, params]), 'utf8');
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { name, resolve: resolve as (v: unknown) => void, reject });
      this.socket.write(Buffer.concat([Buffer.from(`${body.length}:`, 'ascii'), body]));
    });
  }

  async newSession(): Promise<void> {
    await this.command('WebDriver:NewSession', { capabilities: { alwaysMatch: { acceptInsecureCerts: true } } });
  }

  async setContext(context: 'chrome' | 'content'): Promise<void> {
    await this.command('Marionette:SetContext', { value: context });
  }

  async setScriptTimeout(ms: number): Promise<void> {
    await this.command('WebDriver:SetTimeouts', { script: ms });
  }

  /**
   * Runs `script` as a function body (WebDriver "execute script"): `arguments` holds `args`; a
   * returned promise is awaited; the value comes back as JSON.
   */
  async execute<T = unknown>(script: string, args: unknown[] = []): Promise<T> {
    const r = await this.command<{ value: T }>('WebDriver:ExecuteScript', { script, args });
    return r.value;
  }

  /** Asks the application to quit; errors are ignored (the connection drops as it exits). */
  async quit(): Promise<void> {
    try {
      await this.command('Marionette:Quit', { flags: ['eForceQuit'] });
    } catch {
      // The socket closes while the application exits.
    }
  }

  close(): void {
    this.socket.destroy();
  }
}

/**
 * A TCP relay on a loopback port to a real service (PostgreSQL in the tests), which a test can
 * cut (every connection dropped, new ones refused) and restore on the same port: the service
 * going away and coming back, as a network or a restart does, without touching the service.
 */
import { connect, createServer, type Server, type Socket } from 'node:net';

export class CuttableRelay {
  constructor(readonly targetPort: number) {}
  #server: Server | undefined;
  #sockets = new Set<Socket>();
  port = 0;
  async up(): Promise<void> {
    if (this.#server) return;
    const server = createServer((client) => {
      const upstream = connect({ host: '127.0.0.1', port: this.targetPort });
      for (const s of [client, upstream]) {
        this.#sockets.add(s);
        s.on('close', () => this.#sockets.delete(s));
        s.on('error', () => {});
      }
      client.pipe(upstream).pipe(client);
    });
    await new Promise<void>((resolve) => server.listen(this.port, '127.0.0.1', resolve));
    this.port = (server.address() as { port: number }).port;
    this.#server = server;
  }
  async cut(): Promise<void> {
    const server = this.#server;
    this.#server = undefined;
    for (const s of this.#sockets) s.destroy();
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  }
}


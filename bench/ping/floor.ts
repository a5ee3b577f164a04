/**
 * The platform floor under bench/ping/held.ts: server memory per held request when the server
 * does nothing but hold it, for a bare TCP socket (net.Server reading one request head: what a
 * detached held request keeps, src/http/held-connections.ts), a bare node:http server and a bare Fastify server (configured
 * like easd's buildServer: raw-body content-type parser, onRequest/onSend hooks, an
 * AbortSignal.any per request like src/http/activesync.ts), each in its own process with
 * --expose-gc. Same client and procedure as held.ts: N POSTs with a Ping-sized body, each on its
 * own keep-alive connection, RSS and heap after a forced GC before and with all held.
 *
 *   node --import tsx bench/ping/floor.ts [--count 10000] [--batch 500] [--write-results]
 *
 * It answers "how much of easd's per-Ping memory is Node and Fastify, and how much is easd's".
 */
import { spawn } from 'node:child_process';
import { setMaxListeners } from 'node:events';
import http from 'node:http';
import { fileURLToPath } from 'node:url';
import { appendResults, f0, f2, fmtLoad, load, log, machine, machineLines, parseArgs, rawRequest } from '../sync/common.ts';

const args = parseArgs(
  process.argv.slice(2),
  { count: 'number', batch: 'number', serve: 'string', 'write-results': 'boolean' },
  { count: 10000, batch: 500 },
  'usage: node --import tsx bench/ping/floor.ts [--count 10000] [--batch 500] [--write-results]',
);

interface Mem {
  rss: number;
  heapUsed: number;
}

if (args.serve) {
  // ------------------------------------------------------------------------- server mode
  let held = 0;
  const release = new AbortController();
  setMaxListeners(0, release.signal);
  const gcMem = async (): Promise<Mem> => {
    const g = (globalThis as { gc?: () => void }).gc;
    g?.();
    await new Promise((r) => setImmediate(r));
    g?.();
    const m = process.memoryUsage();
    return { rss: m.rss, heapUsed: m.heapUsed };
  };
  const hold = () => new Promise<void>((res) => release.signal.addEventListener('abort', () => res(), { once: true }));
  let port = 0;
  if (args.serve === 'net') {
    const net = await import('node:net');
    const server = net.createServer((sock) => {
      let head = '';
      const onData = (c: Buffer) => {
        head += c.toString('latin1');
        if (head.includes('\r\n\r\n')) {
          sock.removeListener('data', onData);
          sock.resume();
          held++;
          void hold().then(() => sock.end('HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n'));
        }
      };
      sock.on('data', onData);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    port = (server.address() as { port: number }).port;
  } else if (args.serve === 'node') {
    const server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        held++;
        void hold().then(() => res.end());
      });
    });
    server.requestTimeout = 0;
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    port = (server.address() as { port: number }).port;
  } else {
    const { default: Fastify } = await import('fastify');
    const app = Fastify({ logger: false, requestTimeout: 0, routerOptions: { caseSensitive: false, ignoreTrailingSlash: true } });
    app.removeAllContentTypeParsers();
    app.addContentTypeParser('*', { parseAs: 'buffer' }, (_req, body, done) => done(null, body));
    const shutdown = new AbortController();
    app.addHook('onRequest', async (req) => {
      (req as unknown as { t: bigint }).t = process.hrtime.bigint();
    });
    app.addHook('onSend', async (_req, _reply, payload) => payload);
    app.post('/Microsoft-Server-ActiveSync', async (req, reply) => {
      const abort = new AbortController();
      req.raw.once('close', () => abort.abort());
      const aborted = AbortSignal.any([abort.signal, shutdown.signal]);
      held++;
      await new Promise<void>((res) => {
        const t = setTimeout(res, 3_540_000);
        const done = () => {
          clearTimeout(t);
          res();
        };
        aborted.addEventListener('abort', done, { once: true });
        release.signal.addEventListener('abort', done, { once: true });
      });
      return reply.send();
    });
    await app.listen({ host: '127.0.0.1', port: 0 });
    port = (app.server.address() as { port: number }).port;
  }
  process.on('message', (m: { id: number; op: string }) => {
    if (m.op === 'mem') void gcMem().then((r) => process.send?.({ id: m.id, result: r }));
    if (m.op === 'held') process.send?.({ id: m.id, result: held });
    if (m.op === 'close') {
      release.abort();
      setTimeout(() => process.exit(0), 200);
    }
  });
  process.on('disconnect', () => process.exit(0));
  process.stdout.write(`READY ${port}\n`);
} else {
  // ------------------------------------------------------------------------- client mode
  const m = machine();
  const load0 = load();
  const count = Math.max(1, Math.min(15_000, Number(args.count)));
  const batch = Math.max(1, Number(args.batch));
  const body = Buffer.alloc(40, 1); // about the size of the WBXML Ping of held.ts
  const self = fileURLToPath(import.meta.url);
  const rows: string[] = [];
  for (const kind of ['net', 'node', 'fastify']) {
    const child = spawn(process.execPath, ['--expose-gc', '--import', 'tsx', self, '--serve', kind], { stdio: ['ignore', 'pipe', 'inherit', 'ipc'] });
    let next = 1;
    const waiting = new Map<number, (v: unknown) => void>();
    child.on('message', (m: { id: number; result: unknown }) => waiting.get(m.id)?.(m.result));
    const op = <T>(o: string) => new Promise<T>((res) => {
      const id = next++;
      waiting.set(id, res as (v: unknown) => void);
      child.send({ id, op: o });
    });
    const port = await new Promise<number>((res, rej) => {
      let buf = '';
      child.stdout!.on('data', (d: Buffer) => {
        buf += d.toString();
        const m = /READY (\d+)/.exec(buf);
        if (m) res(Number(m[1]));
      });
      child.once('exit', () => rej(new Error('server exited')));
    });
    const agent = new http.Agent({ keepAlive: true, maxSockets: Infinity });
    const headers = { 'Content-Type': 'application/vnd.ms-sync.wbxml', Authorization: 'Basic eDp5', 'MS-ASProtocolVersion': '16.1' };
    // warm-up: 200 held and released is not possible without answering; hold 200 first, then measure from there
    const send = () => rawRequest(agent, port, 'POST', '/Microsoft-Server-ActiveSync?Cmd=Ping&User=x&DeviceId=D&DeviceType=T', headers, body).catch(() => undefined);
    for (let i = 0; i < 200; i++) void send();
    for (let t = 0; (await op<number>('held')) < 200 && t < 600; t++) await new Promise((r) => setTimeout(r, 50));
    const before = await op<Mem>('mem');
    for (let sent = 0; sent < count; ) {
      for (let i = 0; i < batch && sent < count; i++, sent++) void send();
      for (let t = 0; (await op<number>('held')) < 200 + sent && t < 1200; t++) await new Promise((r) => setTimeout(r, 50));
    }
    await new Promise((r) => setTimeout(r, 1000));
    const heldNow = (await op<number>('held')) - 200;
    const after = await op<Mem>('mem');
    const rss = (after.rss - before.rss) / heldNow;
    const heap = (after.heapUsed - before.heapUsed) / heldNow;
    log(`${kind}: ${heldNow} held, ${f0(rss)} bytes RSS and ${f0(heap)} bytes heap per held request`);
    const label = kind === 'net' ? 'bare TCP socket (net.Server, no HTTP state)' : kind === 'node' ? 'bare node:http' : 'bare Fastify (as buildServer configures it)';
    rows.push(`| ${label} | ${heldNow} | ${f0(rss)} (${f2(rss / 1024)} KB) | ${f0(heap)} |`);
    child.send({ id: 0, op: 'close' });
    agent.destroy();
    await new Promise((r) => child.once('exit', r));
  }
  const report =
    `\n## ping: the platform floor, memory per held request without easd (${m.date})\n\n` +
    `- Command: \`node --import tsx bench/ping/floor.ts ${process.argv.slice(2).join(' ')}\` (from the repository root)\n` +
    machineLines(m) +
    `- Backend: none (no store): each server only holds the request until the end\n` +
    `- Load average (1/5/15 min) before: ${fmtLoad(load0)}, after: ${fmtLoad(load())}\n` +
    `- Procedure as in bench/ping/held.ts: server in its own process with --expose-gc; 200 requests held first (warm-up), then RSS and heap after a forced GC; ` +
    `then ${count} more POSTs (a 40-byte body, Ping-like headers), each on its own keep-alive connection, sent in batches of ${batch}; readings again; difference / held requests. ` +
    `The Fastify server is configured like buildServer (raw-body content-type parser for every type, onRequest/onSend hooks, requestTimeout 0) and makes an AbortSignal.any per request like src/http/activesync.ts.\n\n` +
    `| server | held requests | RSS bytes per held request | V8 heap bytes per held request |\n|---|---:|---:|---:|\n${rows.join('\n')}\n\n` +
    `This is what a held request costs before any easd code runs; compare with the ping sections (target: under 10 KB per held Ping).\n`;
  process.stdout.write(report);
  if (args['write-results']) {
    appendResults(report);
    log('appended to bench/RESULTS.md');
  }
}

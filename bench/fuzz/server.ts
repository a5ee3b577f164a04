/**
 * The server the fuzzer attacks: easd's production composition (buildRuntime with the production
 * command handlers, as `easd serve` builds it) on a fresh SQLite directory or PostgreSQL schema,
 * HTTP and LMTP on 127.0.0.1 at ephemeral ports. In its own process, so that a crash is an exit
 * the fuzzer sees and the client's work does not count in the server's event loop.
 *
 *   node --expose-gc --import tsx bench/fuzz/server.ts --backend sqlite --data DIR --users a@x:pw,b@x:pw [--protection on|off]
 *
 * Prints "READY <httpPort> <lmtpPort> <userIds,...>" once listening. Logs at info level: every line at
 * error level or above is kept (and handed to the fuzzer), warn lines are counted.
 * IPC requests ({ id, op }): stats { reset } -> RSS and heap (after a GC), the longest event-loop
 * stall since the last reset (monitorEventLoopDelay), error lines since the last call, warn count;
 * vcard { data } -> imports a vCard file into the first user's contacts (`easd contacts import`'s
 * path); close -> closes and exits.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { pino } from 'pino';
import { hashPassword } from '../../src/auth/password.ts';
import { commandHandlers } from '../../src/commands/index.ts';
import { buildRuntime } from '../../src/cli/runtime.ts';
import { importVCardFile } from '../../src/contacts/address-book.ts';
import { VCardError } from '../../src/contacts/vcard-syntax.ts';
import { PROTECTION_OFF } from '../../src/devices/protection.ts';
import { DEFAULT_MAX_REQUEST_BYTES } from '../../src/http/server.ts';
import { openPostgresStore } from '../../src/store/postgres.ts';
import { openSqliteStore } from '../../src/store/sqlite.ts';
import { parseArgs } from '../sync/common.ts';

const args = parseArgs(
  process.argv.slice(2),
  { backend: 'string', data: 'string', database: 'string', schema: 'string', users: 'list', protection: 'string' },
  { backend: 'sqlite', protection: 'off', users: [] },
  'usage: bench/fuzz/server.ts --backend sqlite --data DIR | --backend postgres --database URL --schema NAME --users email:pw,... [--protection on|off]',
);

const errorLines: string[] = [];
let errorCount = 0;
let warnCount = 0;
const sink = {
  write(chunk: string) {
    for (const line of chunk.split('\n')) {
      if (line === '') continue;
      const level = Number(/"level":(\d+)/.exec(line)?.[1] ?? 0);
      if (level >= 50) {
        errorCount++;
        if (errorLines.length < 200) errorLines.push(line.length > 4000 ? line.slice(0, 4000) + '...' : line);
      } else if (level === 40) warnCount++;
    }
  },
};
const log = pino({ level: 'info' }, sink);

const store =
  args.backend === 'postgres'
    ? await openPostgresStore(String(args.database), { schema: String(args.schema) })
    : await openSqliteStore(String(args.data));
const userIds: string[] = [];
for (const spec of args.users as string[]) {
  const [email, password] = spec.split(':') as [string, string];
  const u = await store.createUser({ email, passwordHash: await hashPassword(password), displayName: email.split('@')[0]!.toUpperCase() });
  userIds.push(u.id);
}

const runtime = await buildRuntime(
  {
    // Protection off by default: throttling, loop detection and lockout would answer most of the
    // fuzz with 503/401 after a few seconds and hide the code behind them. --protection on fuzzes
    // the production defaults.
    server: { maxRequestBytes: DEFAULT_MAX_REQUEST_BYTES, trustProxy: false, ...(args.protection === 'on' ? {} : { protection: { ...PROTECTION_OFF, lockout: { enabled: false } } }) },
    requireProvisioning: false,
  },
  { store, log, handlers: commandHandlers() },
);
await runtime.app.listen({ host: '127.0.0.1', port: 0 });
const lmtpPort = await runtime.listenMail('lmtp', '127.0.0.1', 0);
const address = runtime.app.server.address();
const port = typeof address === 'object' && address ? address.port : 0;

const loop = monitorEventLoopDelay({ resolution: 10 });
loop.enable();

type Msg = { id: number; op: string; [k: string]: unknown };
const ops: Record<string, (m: Msg) => Promise<unknown>> = {
  async stats(m) {
    const gc = (globalThis as { gc?: () => void }).gc;
    if (m.gc && gc) {
      gc();
      await new Promise((r) => setImmediate(r));
      gc();
    }
    const out = {
      rss: process.memoryUsage.rss(),
      heapUsed: process.memoryUsage().heapUsed,
      maxStallMs: loop.max / 1e6,
      errorLines: errorLines.splice(0),
      errorCount,
      warnCount,
    };
    if (m.reset) loop.reset();
    return out;
  },
  async vcard(m) {
    const mailbox = runtime.services.mailboxes.open(userIds[0]!);
    try {
      const r = await importVCardFile(mailbox, Buffer.from(String(m.data), 'base64'));
      return { ok: true, result: JSON.stringify(r).slice(0, 200) };
    } catch (err) {
      // A bad file is VCardError (the CLI says so and stores nothing); anything else is a fault.
      if (err instanceof VCardError) return { ok: false, refused: err.message };
      return { ok: false, fault: err instanceof Error ? (err.stack ?? err.message) : String(err) };
    }
  },
  async close() {
    setImmediate(async () => {
      try {
        await runtime.close();
        await store.close();
      } finally {
        process.exit(0);
      }
    });
    return true;
  },
};

process.on('message', (m: Msg) => {
  const fn = ops[m.op];
  if (!fn) return process.send?.({ id: m.id, ok: false, error: `unknown op ${m.op}` });
  fn(m).then(
    (result) => process.send?.({ id: m.id, ok: true, result }),
    (err: unknown) => process.send?.({ id: m.id, ok: false, error: err instanceof Error ? err.message : String(err) }),
  );
});
process.on('disconnect', () => process.exit(0));
process.stdout.write(`READY ${port} ${lmtpPort} ${userIds.join(',')}\n`);

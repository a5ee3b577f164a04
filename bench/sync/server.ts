/**
 * The benchmark server: easd's buildServer with the production command handlers, on a given
 * SQLite data directory or PostgreSQL schema, on 127.0.0.1 at an ephemeral port, logging at the
 * production level to /dev/null. Prints "READY <port>" on stdout when listening.
 *
 *   node [--expose-gc] --import tsx bench/sync/server.ts --backend sqlite --data DIR [--log-level info] [--port 0]
 *   node --import tsx bench/sync/server.ts --backend postgres --database URL --schema NAME
 *
 * Spawned by the load generators (ServerProcess in common.ts) so that the client's CPU is not
 * counted in the server's, and driven over the IPC channel:
 *   mem      -> process.memoryUsage() after a forced GC (when started with --expose-gc)
 *   cpu      -> process.cpuUsage()
 *   counts   -> store calls by method since the last reset, and the wall time (ms) spent in
 *               each method; { on: true|false } turns counting on or off (off at start, so the
 *               timed phases do not pay for the timers), { reset: true } resets
 * *   subs     -> change subscriptions currently open (= held Pings / Sync Waits)
 *   conns    -> open TCP connections of the HTTP server
 *   put      -> stores one e-mail in { userId, folderId }; returns hrtime (ns) before and after
 *   profile-start / profile-stop { file } -> V8 CPU profile of the server between the two
 *   heap-snapshot { file } -> a V8 heap snapshot (after a GC when --expose-gc)
 *   close    -> closes the app and the store and exits
 * The store is wrapped in a counting proxy (one Map increment per call); nothing else differs
 * from `easd serve`.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';
import { getHeapSpaceStatistics, writeHeapSnapshot } from 'node:v8';
import { pino } from 'pino';
import { commandHandlers } from '../../src/commands/index.ts';
import { DEFAULT_MAX_REQUEST_BYTES } from '../../src/http/server.ts';
import { buildRuntime } from '../../src/cli/runtime.ts';
import { PROTECTION_OFF } from '../../src/devices/protection.ts';
import { openPostgresStore } from '../../src/store/postgres.ts';
import { openSqliteStore } from '../../src/store/sqlite.ts';
import type { ChangeListener, Store } from '../../src/store/types.ts';
import SqliteDatabase from 'better-sqlite3';
import { emailData, parseArgs } from './common.ts';

const args = parseArgs(
  process.argv.slice(2),
  { backend: 'string', data: 'string', database: 'string', schema: 'string', 'log-level': 'string', port: 'number', experiment: 'list', protection: 'string' },
  { backend: 'sqlite', 'log-level': 'info', port: 0, experiment: [], protection: 'off' },
  'usage: bench/sync/server.ts --backend sqlite --data DIR | --backend postgres --database URL --schema NAME [--log-level L] [--port N] [--experiment stmt-cache] [--protection on|off]',
);
const experiments = new Set(args.experiment as string[]);
for (const e of experiments) if (!['stmt-cache'].includes(e)) throw new Error(`unknown experiment ${e}`);

/*
 * Experiments: stand-ins for proposed src/ changes, to measure what they would bring without
 * editing src/. Off unless asked for; results recorded with them say so.
 * - stmt-cache: better-sqlite3 prepares each SQL text once per connection and reuses the
 *   statement (Kysely's SqliteDriver calls db.prepare(sql) for every query).
 * (The lean-ping and user-index experiments of earlier results landed in src/ as parked Pings,
 * src/http/parked-requests.ts, and the per-process ChangeHub, src/sync/change-hub.ts.)
 */
if (experiments.has('stmt-cache')) {
  const proto = SqliteDatabase.prototype as unknown as { prepare: (sql: string) => unknown };
  const prepare = proto.prepare;
  const caches = new WeakMap<object, Map<string, unknown>>();
  proto.prepare = function (this: object, sql: string) {
    let c = caches.get(this);
    if (!c) caches.set(this, (c = new Map()));
    let st = c.get(sql);
    if (st === undefined) {
      st = prepare.call(this, sql);
      if (c.size < 1000) c.set(sql, st);
    }
    return st;
  };
}


const counts = new Map<string, number>();
let countingOn = false;
/** Wall time inside each store method (ms), meaningful when requests run one at a time. */
const times = new Map<string, number>();
let subscriptions = 0;

/** The store, counting calls per method; subscribeChanges also tracks open subscriptions. */
function counting(store: Store): Store {
  const wrappers = new Map<PropertyKey, unknown>();
  return new Proxy(store, {
    get(target, prop) {
      const v = Reflect.get(target, prop, target) as unknown;
      if (typeof v !== 'function') return v;
      let w = wrappers.get(prop);
      if (!w) {
        const name = String(prop);
        const fn = v as (...a: unknown[]) => unknown;
        w =
          name === 'subscribeChanges'
            ? (listener: ChangeListener) => {
                counts.set(name, (counts.get(name) ?? 0) + 1);
                const unsubscribe = store.subscribeChanges(listener);
                subscriptions++;
                let done = false;
                return () => {
                  if (!done) {
                    done = true;
                    subscriptions--;
                  }
                  unsubscribe();
                };
              }
            : (...a: unknown[]) => {
                if (!countingOn) return fn.apply(target, a);
                counts.set(name, (counts.get(name) ?? 0) + 1);
                const t0 = process.hrtime.bigint();
                const r = fn.apply(target, a);
                const done = () => times.set(name, (times.get(name) ?? 0) + Number(process.hrtime.bigint() - t0) / 1e6);
                if (r instanceof Promise) return r.finally(done);
                done();
                return r;
              };
        wrappers.set(prop, w);
      }
      return w;
    },
  });
}

const raw =
  args.backend === 'postgres'
    ? await openPostgresStore(String(args.database), { schema: String(args.schema) })
    : await openSqliteStore(String(args.data));
const store = counting(raw);
const log = pino({ level: String(args['log-level']) }, pino.destination({ dest: '/dev/null', sync: true }));
const handlers = commandHandlers();
// Raw-speed benches run without throttling, loop detection and the held-Ping limit (many
// devices of one user hammering on purpose); --protection on keeps the production defaults
// (bench/protection/loopers.ts).
const runtime = 
  await buildRuntime(
    // The bench's devices do not provision: it measures sync, not the Provision round.
    { server: { maxRequestBytes: DEFAULT_MAX_REQUEST_BYTES, trustProxy: false, ...(args.protection === 'on' ? {} : { protection: PROTECTION_OFF }) }, requireProvisioning: false },
    { store, log, handlers },
  );
const { app } = runtime;
await app.listen({ host: '127.0.0.1', port: Number(args.port) });
const address = app.server.address();
const port = typeof address === 'object' && address ? address.port : 0;

let profiler: Session | undefined;
let putSeq = 0;

type Msg = { id: number; op: string; [k: string]: unknown };
const ops: Record<string, (m: Msg) => Promise<unknown>> = {
  async mem() {
    const g = (globalThis as { gc?: () => void }).gc;
    if (g) {
      g();
      await new Promise((r) => setImmediate(r));
      g();
    }
    // Committed bytes per V8 heap space: the young generation's size follows the allocation rate,
    // not what is held, and moves the RSS by tens of MiB between readings.
    const spaces = Object.fromEntries(getHeapSpaceStatistics().map((sp) => [sp.space_name, sp.space_size]));
    // The RSS split as Linux counts it: anonymous memory, mapped files, shared memory (kB lines).
    const status = readFileSync('/proc/self/status', 'utf8');
    const kb = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN) * 1024;
    const rssParts = { anon: kb('RssAnon'), file: kb('RssFile'), shmem: kb('RssShmem') };
    return { ...process.memoryUsage(), gc: Boolean(g), spaces, rssParts };
  },
  async cpu() {
    return process.cpuUsage();
  },
  async counts(m) {
    const out = { calls: Object.fromEntries(counts), ms: Object.fromEntries(times) };
    if (m.reset) {
      counts.clear();
      times.clear();
    }
    if (typeof m.on === 'boolean') countingOn = m.on;
    return out;
  },
  async subs() {
    // Held requests share the ChangeHub's one subscription: count its watches.
    return runtime.services.changes.size;
  },
  async conns() {
    return await new Promise<number>((res, rej) => app.server.getConnections((err, n) => (err ? rej(err) : res(n))));
  },
  async put(m) {
    const t0 = process.hrtime.bigint();
    await raw.putItem({ userId: String(m.userId), folderId: String(m.folderId), class: 'Email', data: emailData(1_000_000 + putSeq++, 'bench@example.com') });
    const t1 = process.hrtime.bigint();
    return { t0: t0.toString(), t1: t1.toString() };
  },
  async 'profile-start'() {
    profiler = new Session();
    profiler.connect();
    const post = (method: string, params?: object) =>
      new Promise<unknown>((res, rej) => profiler!.post(method, params ?? {}, (err, r) => (err ? rej(err) : res(r))));
    await post('Profiler.enable');
    await post('Profiler.setSamplingInterval', { interval: 200 });
    await post('Profiler.start');
    return true;
  },
  async 'profile-stop'(m) {
    if (!profiler) throw new Error('no profile running');
    const s = profiler;
    const r = await new Promise<{ profile: unknown }>((res, rej) => s.post('Profiler.stop', (err, v) => (err ? rej(err) : res(v as { profile: unknown }))));
    s.disconnect();
    profiler = undefined;
    writeFileSync(String(m.file), JSON.stringify(r.profile));
    return String(m.file);
  },
  async 'heap-snapshot'(m) {
    const g = (globalThis as { gc?: () => void }).gc;
    g?.();
    return writeHeapSnapshot(String(m.file));
  },
  async close() {
    setImmediate(async () => {
      try {
        await app.close();
        await raw.close();
      } finally {
        process.exit(0);
      }
    });
    return true;
  },
};

process.on('message', (m: Msg) => {
  const fn = ops[m.op];
  if (!fn) {
    process.send?.({ id: m.id, ok: false, error: `unknown op ${m.op}` });
    return;
  }
  fn(m).then(
    (result) => process.send?.({ id: m.id, ok: true, result }),
    (err: unknown) => process.send?.({ id: m.id, ok: false, error: err instanceof Error ? err.message : String(err) }),
  );
});
// The parent went away: do not linger.
process.on('disconnect', () => process.exit(0));

process.stdout.write(`READY ${port}\n`);

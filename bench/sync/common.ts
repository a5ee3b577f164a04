/**
 * Shared pieces of the sync and ping benchmarks (bench/sync/*.ts, bench/ping/*.ts):
 *
 * - (from bench-kit.ts) arguments, the machine description, the RESULTS.md appender, statistics;
 * - deterministic mailbox data (~2 KB plain-text mail bodies) and seeding through the Store
 *   (SQLite data directories are kept and reused per size; PostgreSQL gets a fresh schema that
 *   the caller drops);
 * - the benchmark server as a separate process (bench/sync/server.ts) with a small IPC protocol
 *   (memory after GC, CPU time, store call counts, held waits, storing a change, CPU profiles);
 * - a lean keep-alive HTTP client for timed loops, and latency statistics.
 *
 * Measurements, not tests: nothing here fails on a slow result.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { hashPassword } from '../../src/auth/password.ts';
import { ENDPOINT, WBXML_CONTENT_TYPE } from '../../src/http/activesync.ts';
import { openPostgresStore } from '../../src/store/postgres.ts';
import { openSqliteStore } from '../../src/store/sqlite.ts';
import type { JsonObject, Store } from '../../src/store/types.ts';
import { ensureDefaultFolders } from '../../test/helpers/default-folders.ts';
import { child, childText, children, el, type WbxmlElement } from '../../src/wbxml/index.ts';
import { Device } from '../../test/e2e/device.ts';
import { basicAuth, encodePlainQuery } from '../../test/helpers/eas-client.ts';

/** Where seeded SQLite mailboxes are kept between runs (one directory per size). */
export const DATA_ROOT = process.env.EASD_BENCH_DATA || join(tmpdir(), 'easd-bench-data');
/** Bump when the generated data changes, so old seeded directories are not reused. */
const DATASET_VERSION = 1;

export * from './bench-kit.ts';
import { f0, f1, log, msSince, nowNs, PG_URL, rng, ROOT } from './bench-kit.ts';


// ---------------------------------------------------------------------------------------------
// Mailbox data


const WORDS = (
  'the of and to in is for on that with as this by be are from at or it an was your we our will can have please ' +
  'meeting project report update schedule review budget team customer order invoice shipment delivery quarter ' +
  'results attached thanks regards tomorrow monday friday agenda minutes draft final version approval deadline ' +
  'question answer follow-up discussed proposal contract office travel hotel flight conference call notes'
).split(' ');
const NAMES = ['Alice Martin', 'Bob Chen', 'Carol Dupont', 'Dan Okafor', 'Eve Nakamura', 'Frank Müller', 'Grace Silva', 'Heidi Larsen'];

/** One realistic small e-mail: addresses, subject, date, flags, a ~2 KB plain-text body. */
export function emailData(i: number, to: string): JsonObject {
  const r = rng(i * 7919 + 17);
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(r() * xs.length)]!;
  const sentence = (n: number) => {
    const w = Array.from({ length: n }, () => pick(WORDS));
    w[0] = w[0]!.charAt(0).toUpperCase() + w[0]!.slice(1);
    return w.join(' ') + '.';
  };
  const from = pick(NAMES);
  let text = `Hello,\r\n\r\n`;
  while (text.length < 1900 + Math.floor(r() * 200)) text += sentence(8 + Math.floor(r() * 10)) + (r() < 0.2 ? '\r\n\r\n' : ' ');
  text += `\r\n\r\nBest regards,\r\n${from}\r\n`;
  return {
    subject: `${sentence(4 + Math.floor(r() * 5)).slice(0, -1)} #${i}`,
    from: `"${from}" <${from.split(' ')[0]!.toLowerCase()}@example.org>`,
    to,
    ...(r() < 0.3 ? { cc: `"${pick(NAMES)}" <team@example.org>` } : {}),
    dateReceived: new Date(Date.UTC(2026, 0, 1) + i * 60_000).toISOString(),
    importance: 1,
    read: r() < 0.6,
    messageClass: 'IPM.Note',
    body: { text },
  };
}

export interface Mailbox {
  email: string;
  password: string;
  userId: string;
  inboxId: string;
  items: number;
  seedSeconds: number;
}

/** Creates the user, its default folders and `items` e-mails in the Inbox, one putItem each. */
export async function seedMailbox(store: Store, email: string, password: string, items: number, passwordHash?: string): Promise<Mailbox> {
  const t0 = nowNs();
  const user = await store.createUser({ email, passwordHash: passwordHash ?? (await hashPassword(password)), displayName: 'Bench User' });
  const folders = await ensureDefaultFolders(store, user.id);
  const inbox = folders.find((f) => f.type === 2)!;
  let last = Date.now();
  for (let i = 0; i < items; i++) {
    await store.putItem({ userId: user.id, folderId: inbox.id, class: 'Email', data: emailData(i, email) });
    if (Date.now() - last > 10_000) {
      last = Date.now();
      log(`  seeded ${i + 1}/${items} items (${f0((i + 1) / (msSince(t0) / 1000))} items/s)`);
    }
  }
  return { email, password, userId: user.id, inboxId: inbox.id, items, seedSeconds: msSince(t0) / 1000 };
}

export const BENCH_EMAIL = 'bench@example.com';
export const BENCH_PASSWORD = 'bench-password-1';

export interface Dataset extends Mailbox {
  backend: 'sqlite' | 'postgres';
  /** SQLite: the data directory. */
  dataDir?: string;
  /** PostgreSQL: the schema (dropped by drop()). */
  schema?: string;
  reused: boolean;
  drop(): Promise<void>;
}

/**
 * A one-user mailbox of `items` e-mails. SQLite: kept under DATA_ROOT/sqlite-<items> and reused
 * by later runs (its seeding time is the one recorded when it was made). PostgreSQL: a fresh
 * schema easd_bench_<random>, seeded now; call drop() when done.
 */
export async function dataset(backend: 'sqlite' | 'postgres', items: number): Promise<Dataset> {
  if (backend === 'sqlite') {
    const dir = join(DATA_ROOT, `sqlite-v${DATASET_VERSION}-${items}`);
    const marker = join(dir, 'bench-dataset.json');
    if (existsSync(marker)) {
      const m = JSON.parse(readFileSync(marker, 'utf8')) as Mailbox;
      return { ...m, backend, dataDir: dir, reused: true, drop: async () => {} };
    }
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    log(`seeding SQLite mailbox of ${items} items in ${dir}`);
    const store = await openSqliteStore(dir);
    let m: Mailbox;
    try {
      m = await seedMailbox(store, BENCH_EMAIL, BENCH_PASSWORD, items);
    } finally {
      await store.close();
    }
    writeFileSync(marker, JSON.stringify(m, null, 2));
    log(`seeded ${items} items in ${f1(m.seedSeconds)} s`);
    return { ...m, backend, dataDir: dir, reused: false, drop: async () => {} };
  }
  const schema = `easd_bench_${randomBytes(5).toString('hex')}`;
  const drop = () => dropSchema(schema);
  log(`seeding PostgreSQL mailbox of ${items} items in schema ${schema}`);
  try {
    const store = await openPostgresStore(PG_URL, { schema });
    let m: Mailbox;
    try {
      m = await seedMailbox(store, BENCH_EMAIL, BENCH_PASSWORD, items);
    } finally {
      await store.close();
    }
    log(`seeded ${items} items in ${f1(m.seedSeconds)} s`);
    return { ...m, backend, schema, reused: false, drop };
  } catch (err) {
    await drop().catch(() => {});
    throw err;
  }
}

export async function dropSchema(schema: string): Promise<void> {
  const client = new pg.Client({ connectionString: PG_URL, connectionTimeoutMillis: 5000 });
  await client.connect();
  try {
    await client.query(`drop schema if exists "${schema}" cascade`);
  } finally {
    await client.end();
  }
}

// ---------------------------------------------------------------------------------------------
// The server process

export interface ServerStartOptions {
  backend: 'sqlite' | 'postgres';
  dataDir?: string;
  schema?: string;
  /** Default 'info' (easd serve's default), written to /dev/null. */
  logLevel?: string;
  /** Extra node flags, e.g. --expose-gc, --max-old-space-size=... */
  nodeFlags?: string[];
  /** Bench-only stand-ins for proposed src/ changes (see server.ts). */
  experiments?: string[];
  /** Throttling, loop detection and held-Ping limit: off (default, raw speed) or on (production defaults). */
  protection?: 'on' | 'off';
}

interface Pending {
  resolve: (v: unknown) => void;
  reject: (e: Error) => void;
}

/** bench/sync/server.ts in its own node process, driven over IPC. */
export class ServerProcess {
  port = 0;
  readonly child: ChildProcess;
  #next = 1;
  readonly #pending = new Map<number, Pending>();
  #exited: Promise<number | null>;

  private constructor(child: ChildProcess) {
    this.child = child;
    this.#exited = new Promise((res) => child.once('exit', (code) => res(code)));
    child.on('message', (m: { id?: number; ok?: boolean; result?: unknown; error?: string }) => {
      if (m.id === undefined) return;
      const p = this.#pending.get(m.id);
      if (!p) return;
      this.#pending.delete(m.id);
      if (m.ok) p.resolve(m.result);
      else p.reject(new Error(m.error ?? 'server op failed'));
    });
    child.once('exit', (code, signal) => {
      for (const p of this.#pending.values()) p.reject(new Error(`server exited (${code ?? signal})`));
      this.#pending.clear();
    });
  }

  static async start(o: ServerStartOptions): Promise<ServerProcess> {
    const args = [
      ...(o.nodeFlags ?? []),
      '--import',
      'tsx',
      join(ROOT, 'bench/sync/server.ts'),
      '--backend',
      o.backend,
      '--log-level',
      o.logLevel ?? 'info',
    ];
    if (o.dataDir) args.push('--data', o.dataDir);
    if (o.schema) args.push('--schema', o.schema, '--database', PG_URL);
    if (o.experiments?.length) args.push('--experiment', o.experiments.join(','));
    if (o.protection) args.push('--protection', o.protection);
    const child = spawn(process.execPath, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit', 'ipc'] });
    const srv = new ServerProcess(child);
    srv.port = await new Promise<number>((res, rej) => {
      const timer = setTimeout(() => rej(new Error('server did not start within 60 s')), 60_000);
      let buf = '';
      child.stdout!.on('data', (d: Buffer) => {
        buf += d.toString();
        const m = /READY (\d+)/.exec(buf);
        if (m) {
          clearTimeout(timer);
          res(Number(m[1]));
        }
      });
      child.once('exit', (code) => {
        clearTimeout(timer);
        rej(new Error(`server exited with ${code} before READY`));
      });
    });
    return srv;
  }

  op<T>(op: string, args: Record<string, unknown> = {}, timeoutMs = 60_000): Promise<T> {
    const id = this.#next++;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(id);
        reject(new Error(`server op ${op} timed out`));
      }, timeoutMs);
      this.#pending.set(id, {
        resolve: (v) => {
          clearTimeout(timer);
          resolve(v as T);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      });
      this.child.send({ id, op, ...args });
    });
  }

  /** Asks the server to close (app, then store) and waits; kills it after 20 s. */
  async stop(): Promise<void> {
    if (this.child.exitCode !== null) return;
    try {
      await this.op('close', {}, 20_000);
    } catch {
      // fall through to the kill below
    }
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 20_000);
    await this.#exited;
    clearTimeout(timer);
  }
}

export interface MemUsage {
  rss: number;
  heapUsed: number;
  heapTotal: number;
  external: number;
  arrayBuffers: number;
  gc: boolean;
  /** Committed bytes per V8 heap space (bench/sync/server.ts). */
  spaces?: Record<string, number>;
  /** RssAnon, RssFile and RssShmem of /proc/self/status, bytes. */
  rssParts?: { anon: number; file: number; shmem: number };
}
export interface CpuUsage {
  user: number;
  system: number;
}

// ---------------------------------------------------------------------------------------------
// A lean HTTP client for timed loops

export interface RawResponse {
  status: number;
  body: Buffer;
}

export function rawRequest(agent: http.Agent, port: number, method: string, path: string, headers: Record<string, string>, body?: Buffer): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method, path, headers: body ? { ...headers, 'Content-Length': String(body.length) } : headers, agent }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** Headers and path of an EAS request as EasClient sends it (plain query form, Basic auth). */
export function easRequestParts(o: { user: string; password: string; deviceId: string; deviceType: string; cmd: string; version?: string }) {
  const path = `${ENDPOINT}?${encodePlainQuery({ cmd: o.cmd, user: o.user, deviceId: o.deviceId, deviceType: o.deviceType })}`;
  const headers: Record<string, string> = {
    Authorization: basicAuth(o.user, o.password),
    'User-Agent': 'easd-bench/1.0',
    'MS-ASProtocolVersion': o.version ?? '16.1',
    'Content-Type': WBXML_CONTENT_TYPE,
  };
  return { path, headers };
}

export { Device, ENDPOINT };

// ---------------------------------------------------------------------------------------------
// Device-driven initial sync

export interface SyncRun {
  rounds: number;
  adds: number;
  bytes: number;
  seconds: number;
}

/**
 * Syncs one collection of a Device (test/e2e/device.ts) until MoreAvailable is gone, with the
 * given WindowSize, checking that every Add is new. The device's item map is emptied after each
 * round (a bench device need not keep 100,000 items in memory); `seen` does the duplicate check.
 */
export async function syncToEnd(d: Device, collectionId: string, windowSize: number, maxRounds = 10_000): Promise<SyncRun> {
  const t0 = nowNs();
  const seen = new Set<string>();
  let rounds = 0;
  let bytes = 0;
  for (; rounds < maxRounds; ) {
    const res = await d.syncRaw(el('AirSync', 'Sync', el('AirSync', 'Collections', d.collectionRequest(collectionId, { windowSize }))));
    rounds++;
    bytes += res.body.length;
    if (res.status !== 200) throw new Error(`Sync HTTP ${res.status}`);
    if (!res.wbxml) break; // 14.0+: empty = nothing more
    const top = childText(res.wbxml, 'Status', 'AirSync');
    if (top !== undefined) throw new Error(`Sync status ${top}`);
    const coll = children(child(res.wbxml, 'Collections', 'AirSync')!, 'Collection', 'AirSync').find((c) => childText(c, 'CollectionId', 'AirSync') === collectionId);
    if (!coll) break;
    const r = d.apply(collectionId, coll);
    if (r.status !== 1) throw new Error(`collection status ${r.status}`);
    for (const a of r.adds) {
      if (seen.has(a.serverId)) throw new Error(`${a.serverId} sent twice`);
      seen.add(a.serverId);
    }
    d.view(collectionId).items.clear();
    if (!r.moreAvailable) break;
  }
  return { rounds, adds: seen.size, bytes, seconds: msSince(t0) / 1000 };
}

/** SyncKey 0 for the collection (with these Options), as Device.initialSync sends it. */
export async function resetCollection(d: Device, collectionId: string, options?: WbxmlElement[]): Promise<void> {
  const v = d.view(collectionId);
  v.syncKey = '0';
  v.items.clear();
  const first = await d.sync(collectionId, options ? { options } : {});
  if (first.status !== 1) throw new Error(`SyncKey 0 status ${first.status}`);
}

// ---------------------------------------------------------------------------------------------
// Whole-machine CPU (to tell our load from other processes on a shared machine)

export interface CpuSnapshot {
  /** CPU seconds all cores spent busy since boot (/proc/stat, not idle or iowait). */
  busy: number;
  /** CPU seconds of all processes named "postgres" and their exited children (/proc/<pid>/stat utime+stime+cutime+cstime). */
  postgres: number;
}

const HZ = 100; // USER_HZ on Linux

export function cpuSnapshot(): CpuSnapshot {
  let busy = 0;
  try {
    const f = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
    const [user = 0, nice = 0, system = 0, , , irq = 0, softirq = 0, steal = 0] = f;
    busy = (user + nice + system + irq + softirq + steal) / HZ;
  } catch {
    // not Linux
  }
  let postgres = 0;
  try {
    for (const pid of readdirSync('/proc')) {
      if (!/^\d+$/.test(pid)) continue;
      let stat: string;
      try {
        stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      } catch {
        continue;
      }
      const close = stat.lastIndexOf(')');
      if (stat.slice(stat.indexOf('(') + 1, close) !== 'postgres') continue;
      // utime, stime, and cutime, cstime: the postmaster is charged with the CPU of backends
      // that exited (the pool closes idle connections), so the sum does not drop when they go.
      const rest = stat.slice(close + 2).split(' ');
      postgres += (Number(rest[11]) + Number(rest[12]) + Number(rest[13]) + Number(rest[14])) / HZ;
    }
  } catch {
    // not Linux
  }
  return { busy, postgres };
}

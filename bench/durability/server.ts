/**
 * The server under test of the kill -9 durability check: `bin/easd serve` as a child process on
 * a store of its own (a temporary SQLite data directory, or a fresh PostgreSQL schema), with the
 * LMTP listener on. It is started, killed with SIGKILL and started again on the same store and
 * the same ports (devices and the MTA keep their configured address, as in a real restart); the
 * workers ask `ready()` to wait while it is down.
 */
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import { hashPassword } from '../../src/auth/password.ts';
import { openStore } from '../../src/store/open.ts';
import { SQLITE_FILE_NAME } from '../../src/store/sqlite.ts';
import type { Store } from '../../src/store/types.ts';
import { cleanEnv, spawnEasd, type EasdProcess } from '../../test/helpers/easd-process.ts';
import { ensureDefaultFolders } from '../../test/helpers/default-folders.ts';

export type Backend = 'sqlite' | 'postgres';
export const PG_URL = process.env.EASD_TEST_PG_URL || 'postgres://postgres@127.0.0.1:5432/test';

export interface Endpoint {
  generation: number;
  url: string;
  lmtpPort: number;
}

/** Where the store lives: the `easd serve` flags that open it, and how to open it here. */
export interface StoreLocation {
  backend: Backend;
  args: string[];
  open(): Promise<Store>;
  /** SQLite integrity_check / PostgreSQL: the schema's tables are there and readable. */
  integrity(): Promise<string>;
  destroy(): Promise<void>;
}

export async function createStoreLocation(backend: Backend): Promise<StoreLocation> {
  if (backend === 'sqlite') {
    const dir = await mkdtemp(join(tmpdir(), 'easd-durability-'));
    return {
      backend,
      args: ['--data', dir],
      open: () => openStore({ dataDir: dir }),
      integrity: async () => {
        const db = new Database(join(dir, SQLITE_FILE_NAME), { readonly: true });
        try {
          const rows = db.prepare('PRAGMA integrity_check').all() as Array<{ integrity_check: string }>;
          const fk = db.prepare('PRAGMA foreign_key_check').all();
          const text = rows.map((r) => r.integrity_check).join('; ');
          return fk.length ? `${text}; ${fk.length} foreign key violation(s)` : text;
        } finally {
          db.close();
        }
      },
      destroy: () => rm(dir, { recursive: true, force: true }),
    };
  }
  const schema = `easd_durability_${randomBytes(5).toString('hex')}`;
  const admin = async <T>(fn: (c: pg.Client) => Promise<T>): Promise<T> => {
    const c = new pg.Client({ connectionString: PG_URL, connectionTimeoutMillis: 10_000 });
    await c.connect();
    try {
      return await fn(c);
    } finally {
      await c.end();
    }
  };
  await admin((c) => c.query(`create schema "${schema}"`));
  // The server finds its tables through the connection's search_path (src/store/postgres.ts).
  const url = new URL(PG_URL);
  url.searchParams.set('options', `-c search_path=${schema}`);
  return {
    backend,
    args: ['--database', url.toString()],
    open: () => openStore({ databaseUrl: url.toString() }),
    integrity: () =>
      admin(async (c) => {
        const tables = await c.query<{ t: string }>(`select table_name as t from information_schema.tables where table_schema = $1`, [schema]);
        // Every table is read whole (a torn page or a broken index scan would fail here).
        for (const { t } of tables.rows) await c.query(`select count(*) from "${schema}"."${t}"`);
        const idx = await c.query(`select indexrelid::regclass as i from pg_index join pg_class on pg_class.oid = indrelid join pg_namespace n on n.oid = relnamespace where n.nspname = $1 and not indisvalid`, [schema]);
        return idx.rowCount ? `${idx.rowCount} invalid index(es)` : `ok (${tables.rowCount} tables)`;
      }),
    destroy: () => admin((c) => c.query(`drop schema if exists "${schema}" cascade`)).then(() => undefined),
  };
}

export interface Account {
  email: string;
  password: string;
  userId: string;
}

/** The user the run delivers to and syncs, with default folders and an "Archive" mail folder for moves. */
export async function seedAccount(loc: StoreLocation, email: string, password: string): Promise<Account> {
  const store = await loc.open();
  try {
    const user = await store.createUser({ email, passwordHash: await hashPassword(password) });
    const folders = await ensureDefaultFolders(store, user.id);
    const root = folders.find((f) => f.type === 2)!.parentId;
    await store.createFolder({ userId: user.id, parentId: root, displayName: 'Archive', type: 12 });
    return { email, password, userId: user.id };
  } finally {
    await store.close();
  }
}

/**
 * Starts, kills and restarts `easd serve`. Protection (throttle, loop detection) is off: the
 * check is about what the store keeps, and a retried request must reach the sync engine.
 */
export class ServerControl {
  #proc: EasdProcess | undefined;
  #endpoint: Endpoint | undefined;
  #waiters: Array<(e: Endpoint) => void> = [];
  generation = 0;
  /** error-level log lines (pino level 50+) of every generation: easd's own faults. */
  readonly errorLines: string[] = [];
  readonly startMs: number[] = [];
  /** Answers the devices got, over all generations (the kill schedule counts them). */
  answers = 0;
  #answerWaiters: Array<{ target: number; res: () => void }> = [];

  /** A device got an answer from the server. */
  answered(): void {
    this.answers++;
    this.#answerWaiters = this.#answerWaiters.filter((w) => (this.answers >= w.target ? (w.res(), false) : true));
  }

  /** Resolves once the devices have got `target` answers in all. */
  untilAnswers(target: number): Promise<void> {
    if (this.answers >= target) return Promise.resolve();
    return new Promise((res) => this.#answerWaiters.push({ target, res }));
  }

  constructor(private readonly loc: StoreLocation) {}

  /** The generation that is up; waits while the server is down. */
  ready(): Promise<Endpoint> {
    if (this.#endpoint) return Promise.resolve(this.#endpoint);
    return new Promise((res) => this.#waiters.push(res));
  }

  /** Whether `e` is still the generation that is up. */
  isCurrent(e: Endpoint): boolean {
    return this.#endpoint?.generation === e.generation;
  }

  #ports: { http: number; lmtp: number } | undefined;

  async start(): Promise<Endpoint> {
    const t0 = Date.now();
    this.#ports ??= { http: await freePort(), lmtp: await freePort() };
    const args = ['serve', '--listen', `127.0.0.1:${this.#ports.http}`, '--lmtp', `127.0.0.1:${this.#ports.lmtp}`, ...this.loc.args, '--no-demo-user', '--no-provisioning', '--no-throttle', '--no-loop-detection', '--no-lockout', '--log-level', 'warn'];
    const proc = spawnEasd(args, cleanEnv());
    this.#proc = proc;
    const found = await proc.waitFor({ url: /easd is listening on (http\S+)\/Microsoft-Server-ActiveSync/, lmtp: /over LMTP on [^\s:]+:(\d+)/ }, 180_000);
    this.startMs.push(Date.now() - t0);
    const endpoint = { generation: ++this.generation, url: found.url, lmtpPort: Number(found.lmtp) };
    this.#endpoint = endpoint;
    for (const w of this.#waiters.splice(0)) w(endpoint);
    return endpoint;
  }

  /** SIGKILL: no shutdown code runs, whatever was in flight is cut. */
  async kill(): Promise<void> {
    await this.#end('SIGKILL');
  }

  /** SIGTERM, the clean stop (at the end of the run). */
  async stop(): Promise<number | null> {
    return this.#end('SIGTERM');
  }

  async #end(signal: NodeJS.Signals): Promise<number | null> {
    const proc = this.#proc;
    this.#endpoint = undefined;
    this.#proc = undefined;
    if (!proc) return null;
    if (proc.child.exitCode === null && proc.child.signalCode === null) proc.child.kill(signal);
    const code = await proc.exited;
    for (const line of proc.output().split('\n')) {
      if (!line.startsWith('{')) continue;
      try {
        if (((JSON.parse(line) as { level?: number }).level ?? 0) >= 50) this.errorLines.push(line.slice(0, 600));
      } catch {
        // A line cut by the kill.
      }
    }
    return code;
  }
}

/** A loopback port nothing listens on now (the server binds it at each start). */
function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const srv = createServer();
    srv.once('error', rej);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => res(port));
    });
  });
}

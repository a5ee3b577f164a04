/**
 * Throwaway stores for tests.
 *
 * - SQLite: a fresh temp directory, removed after.
 * - PostgreSQL: a fresh schema `easd_test_<random>` in the database at EASD_TEST_PG_URL
 *   (default postgres://postgres@127.0.0.1:5432/test), dropped with CASCADE after.
 *   If PostgreSQL is unreachable, opening fails with a clear message; set EASD_TEST_SKIP_PG=1
 *   to skip the PostgreSQL tests instead (see `pgSkipped`).
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { openPostgresStore } from '../../src/store/postgres.ts';
import { openSqliteStore } from '../../src/store/sqlite.ts';
import type { ChangeOptions } from '../../src/store/changes.ts';
import type { Store, StoreOptions } from '../../src/store/types.ts';

export const PG_TEST_URL = process.env.EASD_TEST_PG_URL || 'postgres://postgres@127.0.0.1:5432/test';

/** True when EASD_TEST_SKIP_PG=1: PostgreSQL tests are skipped rather than failed. */
export function pgSkipped(): boolean {
  return process.env.EASD_TEST_SKIP_PG === '1';
}

export interface TestStore {
  store: Store;
  /** Opens another Store on the same database (migrations run again). */
  reopen: () => Promise<Store>;
  /** Closes every store opened here and destroys the database. Safe to call twice. */
  cleanup: () => Promise<void>;
}

export async function openTempSqliteStore(opts: StoreOptions & ChangeOptions = {}): Promise<TestStore & { dir: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'easd-test-'));
  const opened: Store[] = [];
  const open = async () => {
    const s = await openSqliteStore(dir, opts);
    opened.push(s);
    return s;
  };
  try {
    const store = await open();
    return {
      store,
      dir,
      reopen: open,
      cleanup: async () => {
        for (const s of opened) await s.close();
        await rm(dir, { recursive: true, force: true });
      },
    };
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
}

let pgReachable: Promise<void> | undefined;

/** Fails with a message that says what to do, once per process. */
function checkPgReachable(): Promise<void> {
  pgReachable ??= (async () => {
    const client = new pg.Client({ connectionString: PG_TEST_URL, connectionTimeoutMillis: 5000 });
    try {
      await client.connect();
      await client.query('select 1');
    } catch (err) {
      throw new Error(
        `PostgreSQL for tests is unreachable at ${redact(PG_TEST_URL)} (${(err as Error).message}). ` +
          'Start it, point EASD_TEST_PG_URL at one, or set EASD_TEST_SKIP_PG=1 to skip the PostgreSQL tests.',
        { cause: err },
      );
    } finally {
      await client.end().catch(() => {});
    }
  })();
  return pgReachable;
}

export async function openTempPostgresStore(opts: StoreOptions & ChangeOptions = {}): Promise<TestStore & { schema: string }> {
  await checkPgReachable();
  const schema = `easd_test_${randomBytes(6).toString('hex')}`;
  const opened: Store[] = [];
  const open = async () => {
    const s = await openPostgresStore(PG_TEST_URL, { ...opts, schema, maxConnections: 4 });
    opened.push(s);
    return s;
  };
  const drop = async () => {
    const client = new pg.Client({ connectionString: PG_TEST_URL, connectionTimeoutMillis: 5000 });
    await client.connect();
    try {
      await client.query(`drop schema if exists "${schema}" cascade`);
    } finally {
      await client.end();
    }
  };
  try {
    const store = await open();
    let done = false;
    return {
      store,
      schema,
      reopen: open,
      cleanup: async () => {
        if (done) return;
        done = true;
        for (const s of opened) await s.close();
        await drop();
      },
    };
  } catch (err) {
    for (const s of opened) await s.close().catch(() => {});
    await drop().catch(() => {});
    throw err;
  }
}

/** Runs `fn` with a store from `open`; the store is cleaned up after, whatever `fn` does. */
export async function withTempStore<T>(open: () => Promise<TestStore>, fn: (store: Store) => Promise<T>): Promise<T> {
  const t = await open();
  try {
    return await fn(t.store);
  } finally {
    await t.cleanup();
  }
}

function redact(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '(unparseable URL)';
  }
}

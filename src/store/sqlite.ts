/**
 * The embedded default backend: one SQLite file, `easd.sqlite`, under the data directory,
 * in WAL mode (readers do not block the writer) with foreign keys enforced. Change notifications
 * are in-process: another process writing the same file is not heard.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import SqliteDatabase from 'better-sqlite3';
import { Kysely, SqliteDialect, type SqliteDatabase as KyselySqliteDatabase } from 'kysely';
import { LocalChangeBus, type ChangeOptions } from './changes.ts';
import { KyselyStore } from './kysely-store.ts';
import { migrateToLatest } from './migrations/index.ts';
import type { Database } from './schema.ts';
import type { Store, StoreOptions } from './types.ts';

export const SQLITE_FILE_NAME = 'easd.sqlite';

/** How many prepared statements are kept, by SQL text (the store issues a few dozen distinct ones). */
const STATEMENT_CACHE_SIZE = 256;

/**
 * Kysely's SQLite driver prepares every query anew; preparing costs about as much as running a
 * small query. The store's SQL texts repeat, so statements are kept by text. Reuse is safe: the
 * driver runs one query at a time on the connection and never leaves a statement mid-iteration.
 */
export function withStatementCache(sqlite: SqliteDatabase.Database, size = STATEMENT_CACHE_SIZE): KyselySqliteDatabase {
  const cache = new Map<string, SqliteDatabase.Statement>();
  return {
    close: () => sqlite.close(),
    prepare(sql: string) {
      let stmt = cache.get(sql);
      if (stmt === undefined) {
        stmt = sqlite.prepare(sql);
        if (cache.size >= size) cache.delete(cache.keys().next().value!);
        cache.set(sql, stmt);
      }
      return stmt;
    },
  };
}

export async function openSqliteStore(dataDir: string, opts: StoreOptions & ChangeOptions = {}): Promise<Store> {
  mkdirSync(dataDir, { recursive: true });
  const file = join(dataDir, SQLITE_FILE_NAME);
  const sqlite = new SqliteDatabase(file);
  try {
    sqlite.pragma('journal_mode = WAL');
    sqlite.pragma('foreign_keys = ON');
    sqlite.pragma('busy_timeout = 5000');
    // Durable across process crashes in WAL mode; only an OS crash can lose the last commits.
    sqlite.pragma('synchronous = NORMAL');
  } catch (err) {
    sqlite.close();
    throw err;
  }
  const db = new Kysely<Database>({ dialect: new SqliteDialect({ database: withStatementCache(sqlite) }) });
  try {
    await migrateToLatest(db);
  } catch (err) {
    await db.destroy();
    throw err;
  }
  return new KyselyStore(db, { ...opts, changes: new LocalChangeBus(opts) });
}

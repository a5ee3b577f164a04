/**
 * The embedded default backend: one SQLite file, `easd.sqlite`, under the data directory,
 * in WAL mode (readers do not block the writer) with foreign keys enforced. Change notifications
 * are in-process: another process writing the same file is not heard.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import SqliteDatabase from 'better-sqlite3';
import { Kysely, SqliteDialect } from 'kysely';
import { LocalChangeBus, type ChangeOptions } from './changes.ts';
import { KyselyStore } from './kysely-store.ts';
import { migrateToLatest } from './migrations/index.ts';
import type { Database } from './schema.ts';
import type { Store, StoreOptions } from './types.ts';
import { cachingDatabase } from './sqlite-connection.ts';

export const SQLITE_FILE_NAME = 'easd.sqlite';

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
  const connection = cachingDatabase(sqlite);
  const db = new Kysely<Database>({ dialect: new SqliteDialect({ database: connection }) });
  try {
    await migrateToLatest(db);
  } catch (err) {
    await db.destroy();
    throw err;
  }
  return new KyselyStore(db, { ...opts, changes: new LocalChangeBus(opts), writeToken: connection.writeToken });
}

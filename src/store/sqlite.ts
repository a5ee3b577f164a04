/**
 * The embedded default backend: one SQLite file, `easd.sqlite`, under the data directory,
 * in WAL mode (readers do not block the writer) with foreign keys enforced. Change notifications
 * are in-process: another process writing the same file is not heard.
 *
 * The store is readable by its owner only: a data directory easd creates is 0700, the database
 * file it creates 0600 (SQLite gives the -wal and -shm files the database file's mode). Modes an
 * admin chose are left alone; `sqliteAccessWarnings` names what is group- or world-accessible.
 */
import { closeSync, constants, existsSync, mkdirSync, openSync, statSync } from 'node:fs';
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
  const file = join(dataDir, SQLITE_FILE_NAME);
  try {
    return await openSqliteFile(dataDir, file, opts);
  } catch (err) {
    // "file is not a database" or "permission denied" alone does not say which file: the
    // administrator is told the path and the reason (the code stays for callers that read it).
    const code = (err as { code?: unknown }).code;
    throw Object.assign(new Error(`SQLite store ${file}: ${(err as Error).message}`, { cause: err }), code !== undefined ? { code } : {});
  }
}

async function openSqliteFile(dataDir: string, file: string, opts: StoreOptions & ChangeOptions): Promise<Store> {
  // mkdir's mode only narrows with the umask, so 0700 stays 0700; an existing directory is kept as it is.
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  // Made 0600 before SQLite opens it (SQLite would make it 0644); an existing file keeps its mode.
  if (!existsSync(file)) closeSync(openSync(file, constants.O_CREAT | constants.O_WRONLY, 0o600));
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

/** A path of the SQLite store that group or others can read, write or enter, with its mode (e.g. "0755"). */
export interface WideAccess {
  path: string;
  mode: string;
}

/** The data directory, database file, -wal and -shm (those that exist) that are group- or world-accessible. */
export function sqliteAccessWarnings(dataDir: string): WideAccess[] {
  const file = join(dataDir, SQLITE_FILE_NAME);
  const wide: WideAccess[] = [];
  for (const path of [dataDir, file, `${file}-wal`, `${file}-shm`]) {
    let mode: number;
    try {
      mode = statSync(path).mode & 0o777;
    } catch {
      continue;
    }
    if ((mode & 0o077) !== 0) wide.push({ path, mode: `0${mode.toString(8).padStart(3, '0')}` });
  }
  return wide;
}

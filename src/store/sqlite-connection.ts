/**
 * The SQLite connection as Kysely's SqliteDialect sees it, with two caches in front of
 * better-sqlite3. Both are exact: they change what work is done, never what a query returns.
 *
 * Statements by SQL text. Kysely's driver prepares every query anew, and preparing costs about
 * as much as running a small query; the store's SQL texts repeat.
 *
 * Results of small SELECTs. A device polling Sync without changes asks the same few questions
 * (its user, folders, cached request, sync state) many times a second, and the answers change
 * only when something is written. A SELECT's rows are kept by SQL text and parameters, and are
 * valid while
 * - nothing was written on this connection, or another of this process to the same file, since
 *   (every statement that is not a plain SELECT,
 *   including transaction control, bumps a generation: a ROLLBACK undoes writes that reads inside
 *   the transaction may have seen, and SQLite reports BEGIN/COMMIT/ROLLBACK as read-only), and
 * - no other connection committed (SQLite's `PRAGMA data_version` changes when another
 *   connection, in this process or another one such as `easd user passwd`, commits to the file;
 *   it is read once per turn of the event loop, so reads in one turn see one snapshot).
 * Only results without blobs and of bounded size are kept, in a bounded map; callers get copies
 * of the rows, so nothing they do to them reaches the cache.
 */
import type SqliteDatabase from 'better-sqlite3';
import type { SqliteDatabase as KyselySqliteDatabase, SqliteStatement } from 'kysely';

/** How many prepared statements are kept, by SQL text (the store issues a few dozen distinct ones). */
export const STATEMENT_CACHE_SIZE = 256;
/** How many SELECT results are kept; past it the cache starts over. */
export const RESULT_CACHE_SIZE = 4096;
/** Largest result kept: rows, and characters of text over all rows. */
const MAX_ROWS = 64;
const MAX_CHARS = 64 * 1024;

const PLAIN_SELECT = /^\s*(select|with)\b/i;

interface CachedResult {
  generation: number;
  dataVersion: number;
  rows: readonly Record<string, unknown>[];
}

export interface CachingOptions {
  statements?: number;
  /** 0 turns the result cache off. */
  results?: number;
}

export interface CacheStats {
  hits: number;
  misses: number;
}

export interface CachingSqliteDatabase extends KyselySqliteDatabase {
  readonly stats: CacheStats;
  /**
   * Changes whenever this process writes to the file (through any of its connections) or
   * another connection commits (seen from the next turn of the event loop): Store.writeToken.
   */
  writeToken(): string;
}

export function cachingDatabase(sqlite: SqliteDatabase.Database, opts: CachingOptions = {}): CachingSqliteDatabase {
  const statementLimit = opts.statements ?? STATEMENT_CACHE_SIZE;
  const resultLimit = opts.results ?? RESULT_CACHE_SIZE;
  const statements = new Map<string, SqliteStatement>();
  const results = new Map<string, CachedResult>();
  const stats: CacheStats = { hits: 0, misses: 0 };
  // Shared by every connection of this process to the same file, so a write through one store
  // invalidates what another store of the same file cached (in-process reads stay exact).
  const writes = writesOf(sqlite);
  const dataVersionStmt = sqlite.prepare('PRAGMA data_version').pluck();
  // Asked once per turn of the event loop: the lookups of one request run in one turn, and
  // asking costs as much as a cached lookup. Our own writes are tracked by `generation`.
  let version = 0;
  let versionFresh = false;
  const staleAgain = () => {
    versionFresh = false;
  };
  const dataVersion = () => {
    if (!versionFresh) {
      version = dataVersionStmt.get() as number;
      versionFresh = true;
      setImmediate(staleAgain);
    }
    return version;
  };

  const writer = (raw: SqliteDatabase.Statement): SqliteStatement => ({
    reader: raw.reader,
    all(parameters) {
      try {
        return raw.all(parameters as unknown[]);
      } finally {
        writes.generation++;
      }
    },
    run(parameters) {
      try {
        return raw.run(parameters as unknown[]);
      } finally {
        writes.generation++;
      }
    },
    iterate(parameters) {
      writes.generation++;
      return raw.iterate(parameters as unknown[]) as IterableIterator<unknown>;
    },
  });

  const reader = (sql: string, raw: SqliteDatabase.Statement): SqliteStatement => ({
    reader: true,
    all(parameters) {
      if (resultLimit === 0) return raw.all(parameters as unknown[]);
      const key = parameters.length === 0 ? sql : `${sql}\u0000${JSON.stringify(parameters, bigintSafe)}`;
      const version = dataVersion();
      const hit = results.get(key);
      if (hit && hit.generation === writes.generation && hit.dataVersion === version) {
        stats.hits++;
        return hit.rows.map((r) => ({ ...r }));
      }
      stats.misses++;
      const rows = raw.all(parameters as unknown[]) as Record<string, unknown>[];
      if (keepable(rows)) {
        if (results.size >= resultLimit) results.clear();
        results.set(key, { generation: writes.generation, dataVersion: version, rows: rows.map((r) => ({ ...r })) });
      }
      return rows;
    },
    run(parameters) {
      return raw.run(parameters as unknown[]);
    },
    iterate(parameters) {
      return raw.iterate(parameters as unknown[]) as IterableIterator<unknown>;
    },
  });

  return {
    stats,
    writeToken: () => `${writes.generation}.${dataVersion()}`,
    close: () => sqlite.close(),
    prepare(sql: string) {
      let stmt = statements.get(sql);
      if (stmt === undefined) {
        const raw = sqlite.prepare(sql);
        stmt = raw.readonly && raw.reader && PLAIN_SELECT.test(sql) ? reader(sql, raw) : writer(raw);
        if (statements.size >= statementLimit) statements.delete(statements.keys().next().value!);
        statements.set(sql, stmt);
      }
      return stmt;
    },
  };
}

const writesByFile = new Map<string, { generation: number }>();

function writesOf(sqlite: SqliteDatabase.Database): { generation: number } {
  const file = sqlite.name;
  if (sqlite.memory || file === '' || file === ':memory:') return { generation: 0 };
  let w = writesByFile.get(file);
  if (!w) writesByFile.set(file, (w = { generation: 0 }));
  return w;
}

function bigintSafe(_key: string, v: unknown): unknown {
  return typeof v === 'bigint' ? `${v}n` : v;
}

/** Small, blob-free results only: the cache is for the hot small lookups, not for bodies. */
function keepable(rows: Record<string, unknown>[]): boolean {
  if (rows.length > MAX_ROWS) return false;
  let chars = 0;
  for (const row of rows) {
    for (const k in row) {
      const v = row[k];
      if (typeof v === 'string') chars += v.length;
      else if (v !== null && typeof v === 'object') return false; // Buffer (blob)
    }
  }
  return chars <= MAX_CHARS;
}

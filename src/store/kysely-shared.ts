/**
 * What the parts of KyselyStore (kysely-store.ts) share: the database handle type, the clock's
 * timestamps, the dialect differences and the "live row of this user" filter.
 *
 * Dialect differences handled here, explicitly:
 * - pg returns bigint (int8) columns and count(*) as strings -> `num()`;
 * - constraint violations carry different error codes -> `mapDbError()`;
 * - JSON is text on both, parsed and serialized here (`parseJson()`, `serializeData()`).
 * Both dialects support UPDATE ... RETURNING and INSERT ... ON CONFLICT, which are used as-is.
 */
import type { Kysely, SelectQueryBuilder, Transaction, UpdateQueryBuilder } from 'kysely';
import type { Database } from './schema.ts';
import { StoreError, type JsonObject } from './types.ts';

/** The database, or a transaction on it. */
export type Db = Kysely<Database> | Transaction<Database>;

/** Now by the store's clock, as times are stored: ISO 8601 UTC text (it sorts). */
export function timestamp(now: () => Date): string {
  return now().toISOString();
}

/** The tables whose rows belong to a user and become tombstones (`deleted = 1`) when deleted. */
type LiveTable = 'folders' | 'items';
/** Q when it is a select or update on folders or items; never otherwise. */
type OnLiveTable<Q> =
  Q extends SelectQueryBuilder<Database, infer TB, any> | UpdateQueryBuilder<Database, infer TB, any, any> ? ([TB] extends [LiveTable] ? Q : never) : never;
interface LiveFilterable {
  where(lhs: 'user_id' | 'deleted', op: '=', rhs: string | 0): this;
}

/**
 * Narrows a select or update on folders or items to the user's live rows (not tombstones), for
 * `$call`: `db.selectFrom('items').selectAll().where('id', '=', id).$call(live(userId))` adds
 * `and "user_id" = ? and "deleted" = ?` where it stands.
 */
export function live(userId: string) {
  return <Q extends LiveFilterable>(q: Q & OnLiveTable<Q>): Q => {
    const query: Q = q;
    return query.where('user_id', '=', userId).where('deleted', '=', 0);
  };
}

/** int8 from either driver (number from SQLite, string from pg) to a JS number. */
export function num(v: number | string | bigint): number {
  const n = typeof v === 'number' ? v : Number(v);
  if (!Number.isSafeInteger(n)) throw new Error(`store: integer out of range: ${String(v)}`);
  return n;
}

/**
 * Constraint violations to StoreError; anything else passes through unchanged.
 * SQLite (better-sqlite3): SqliteError.code SQLITE_CONSTRAINT_*; pg: SQLSTATE 23505/23503.
 */
export function mapDbError(err: unknown, what: string): unknown {
  if (err instanceof StoreError) return err;
  const code = (err as { code?: unknown } | null)?.code;
  if (code === '23505' || code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY') {
    return new StoreError('conflict', `${what} already exists`, { cause: err });
  }
  if (code === '23503' || code === 'SQLITE_CONSTRAINT_FOREIGNKEY') {
    return new StoreError('not_found', `${what}: a referenced row does not exist`, { cause: err });
  }
  return err;
}

export function notFound(what: string, id: string): StoreError {
  return new StoreError('not_found', `${what} ${id} not found`);
}

/** A JSON object to the text stored; 'invalid' for anything but an object. */
export function serializeData(data: JsonObject, what = 'item data'): string {
  if (data === null || typeof data !== 'object' || Array.isArray(data)) throw new StoreError('invalid', `${what} must be a JSON object`);
  return JSON.stringify(data);
}

/** Stored JSON text (written by serializeData) back to the object. */
export function parseJson(text: string): JsonObject {
  return JSON.parse(text) as JsonObject;
}

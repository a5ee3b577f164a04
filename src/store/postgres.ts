/**
 * The PostgreSQL backend (pg Pool under Kysely), for real deployments and for several easd
 * nodes sharing one store. Change notifications cross nodes by LISTEN/NOTIFY on the channel
 * `easd_changes_<schema>` (postgres-changes.ts), over one more connection outside the pool.
 */
import pg from 'pg';
import { Kysely, sql } from 'kysely';
import type { ChangeOptions } from './changes.ts';
import { KyselyStore } from './kysely-store.ts';
import { changeChannel, PgChangeBus } from './postgres-changes.ts';
import { migrateToLatest } from './migrations/index.ts';
import { SchemaPostgresDialect } from './postgres-introspector.ts';
import type { Database } from './schema.ts';
import type { Store, StoreOptions } from './types.ts';

export interface PostgresStoreOptions extends StoreOptions, ChangeOptions {
  /**
   * Schema to keep easd's tables in (created if missing); every pooled connection gets it as
   * its search_path. Default: the connection's current schema (normally `public`).
   */
  schema?: string;
  /** Pool size; default pg's (10). */
  maxConnections?: number;
  /** How long to wait for a new connection before failing; default 10 s. */
  connectTimeoutMs?: number;
}

const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

export async function openPostgresStore(url: string, opts: PostgresStoreOptions = {}): Promise<Store> {
  const { schema } = opts;
  if (schema !== undefined && !SCHEMA_NAME.test(schema)) {
    throw new Error(`invalid PostgreSQL schema name ${JSON.stringify(schema)} (want lowercase letters, digits, _)`);
  }
  const clientConfig: pg.ClientConfig = {
    connectionString: url,
    connectionTimeoutMillis: opts.connectTimeoutMs ?? 10_000,
    ...(schema !== undefined ? { options: `-c search_path=${schema}` } : {}),
  };
  const pool = new pg.Pool({
    ...clientConfig,
    ...(opts.maxConnections !== undefined ? { max: opts.maxConnections } : {}),
  });
  // An idle client's error (server restart, network drop) is emitted on the pool; without a
  // listener it would crash the process. The pool drops that client and makes a new one.
  pool.on('error', () => {});
  // Migrations introspect only the schema easd's tables are in (see postgres-introspector.ts).
  let migrationSchema = schema ?? 'public';
  const db = new Kysely<Database>({ dialect: new SchemaPostgresDialect({ pool }, () => migrationSchema) });
  let changes: PgChangeBus | undefined;
  try {
    if (schema !== undefined) {
      await sql`create schema if not exists ${sql.id(schema)}`.execute(db);
      migrationSchema = schema;
    } else {
      const { rows } = await sql<{ s: string | null }>`select current_schema() as s`.execute(db);
      const current = rows[0]?.s ?? undefined;
      if (current === undefined) throw new Error('PostgreSQL: no current schema (check search_path)');
      migrationSchema = current;
    }
    await migrateToLatest(db, { schema: migrationSchema });
    // The channel follows the schema the tables are in, however it was chosen, so every node
    // sharing these tables shares the channel.
    changes = new PgChangeBus({
      client: clientConfig,
      channel: changeChannel(migrationSchema),
      ...(opts.onError !== undefined ? { onError: opts.onError } : {}),
    });
    await changes.start();
  } catch (err) {
    await changes?.close();
    await db.destroy();
    throw err;
  }
  // Every commit (of any session) inserts WAL, so an unchanged insert position means nothing was
  // written in between (Store.writeToken). One prepared statement per pooled connection.
  const writeToken = () => pool.query<{ t: string }>({ name: 'easd_write_token', text: 'select pg_current_wal_insert_lsn()::text as t' }).then((r) => r.rows[0]!.t);
  return new KyselyStore(db, { ...opts, changes, writeToken });
}

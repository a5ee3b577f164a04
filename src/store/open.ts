/**
 * Chooses the backend: PostgreSQL for a postgres:// or postgresql:// URL, else the embedded
 * SQLite file under the data directory. The CLI passes `--database` or EASD_DATABASE_URL as
 * databaseUrl and `--data` as dataDir.
 */
import type { ChangeOptions } from './changes.ts';
import { openSqliteStore } from './sqlite.ts';
import type { Store, StoreOptions } from './types.ts';

export const DEFAULT_DATA_DIR = './data';

export interface OpenStoreOptions extends StoreOptions, ChangeOptions {
  dataDir?: string;
  databaseUrl?: string;
}

export async function openStore(opts: OpenStoreOptions = {}): Promise<Store> {
  const { dataDir, databaseUrl, ...storeOpts } = opts;
  if (databaseUrl !== undefined && databaseUrl !== '') {
    const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(databaseUrl)?.[1]?.toLowerCase();
    if (scheme === 'postgres' || scheme === 'postgresql') {
      // Loaded only for PostgreSQL: the pg driver costs the SQLite commands a fifth of their start-up.
      const { openPostgresStore } = await import('./postgres.ts');
      return openPostgresStore(databaseUrl, storeOpts);
    }
    throw new Error(
      `unsupported database URL scheme ${scheme ? `"${scheme}:"` : '(none)'}: use postgres://... or postgresql://..., ` +
        'or leave the database URL unset for SQLite under the data directory',
    );
  }
  return openSqliteStore(dataDir ?? DEFAULT_DATA_DIR, storeOpts);
}

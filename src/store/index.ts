export * from './types.ts';
export { openStore, DEFAULT_DATA_DIR, type OpenStoreOptions } from './open.ts';
export { openSqliteStore, SQLITE_FILE_NAME } from './sqlite.ts';
export { openPostgresStore, type PostgresStoreOptions } from './postgres.ts';
export type { ChangeOptions } from './changes.ts';

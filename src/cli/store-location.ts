/**
 * Where the CLI finds the store when it is not told: one place per installation, whatever the
 * working directory. The embedded SQLite store defaults to `data/` beside `bin/` and `src/` (or
 * `dist/`) of this easd, so `npm start` in a checkout and `easd user list` run from anywhere use
 * the same file; `--data` / EASD_DATA or `--database` / EASD_DATABASE_URL choose another.
 *
 * Only commands that may start a new store (`serve`, `user add`, adding a policy, rule or domain)
 * create it; every other command, reads above all, refuses a store that is not there and says
 * where it looked, instead of making an empty one and answering from it.
 */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SQLITE_FILE_NAME } from '../store/sqlite.ts';

/** `data/` of this installation: this file is src/cli/ (or dist/cli/ once built), two levels below it. */
export const DEFAULT_DATA_DIR = resolve(fileURLToPath(new URL('../../data', import.meta.url)));

/** Throws, naming the file looked for, when the SQLite store the options point to does not exist. */
export function assertStoreExists(opts: { data: string; database?: string }): void {
  if (opts.database !== undefined && opts.database !== '') return;
  const file = resolve(join(opts.data, SQLITE_FILE_NAME));
  if (existsSync(file)) return;
  const chosen = resolve(opts.data) === DEFAULT_DATA_DIR ? 'the default data directory' : 'the data directory given';
  throw new Error(
    `no store at ${file} (${chosen}); give the store with --data DIR (EASD_DATA) or --database URL (EASD_DATABASE_URL), ` +
      'or create it with "easd serve" or "easd user add"',
  );
}

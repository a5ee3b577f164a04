import { Option, type Command } from 'commander';
import { openStore } from '../store/open.ts';
import type { Store } from '../store/types.ts';
import { assertStoreExists, DEFAULT_DATA_DIR } from './store-location.ts';

/** Store options shared by every command that touches the store; each has an environment variable. */
export interface StoreCliOptions {
  data: string;
  database?: string;
}

export function addStoreOptions(cmd: Command): Command {
  return cmd
    .addOption(new Option('--data <dir>', 'data directory for the embedded SQLite store').env('EASD_DATA').default(DEFAULT_DATA_DIR))
    .addOption(new Option('--database <url>', 'PostgreSQL URL (postgres://...) instead of SQLite').env('EASD_DATABASE_URL'));
}

/**
 * Opens the store the options name. Unless `create` (commands that may start a new store), a
 * SQLite store must already exist: a read never makes an empty one (src/cli/store-location.ts).
 */
export async function openStoreFrom(opts: StoreCliOptions, how: { create?: boolean } = {}): Promise<Store> {
  if (!how.create) assertStoreExists(opts);
  return openStore({ dataDir: opts.data, databaseUrl: opts.database });
}

/** Opens the store, runs `fn` with it and closes it, whatever `fn` does. */
export async function withStore(opts: StoreCliOptions, fn: (store: Store) => Promise<void>, how: { create?: boolean } = {}): Promise<void> {
  const store = await openStoreFrom(opts, how);
  try {
    await fn(store);
  } finally {
    await store.close();
  }
}

/** "HOST:PORT", "[::1]:PORT" or ":PORT" (all interfaces). */
export function parseListen(value: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d{1,5})$/.exec(value);
  const port = m ? Number(m[3]) : NaN;
  if (!m || port > 65535) throw new Error(`--listen wants HOST:PORT, got "${value}"`);
  return { host: m[1] ?? (m[2] || '0.0.0.0'), port };
}

export function parseSize(value: string): number {
  const m = /^(\d+)\s*([kmg]?)i?b?$/i.exec(value.trim());
  if (!m) throw new Error(`not a size: "${value}" (use bytes or a K/M/G suffix)`);
  const unit = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 }[m[2]!.toLowerCase() as '' | 'k' | 'm' | 'g'];
  return Number(m[1]) * unit;
}

/** A whole number of at least 1 (a count limit such as `--max-events-per-message`). */
export function parseCount(value: string, option: string): number {
  const v = value.trim();
  const n = /^\d{1,9}$/.test(v) ? Number(v) : NaN;
  if (!Number.isInteger(n) || n < 1) throw new Error(`${option} wants a whole number of at least 1, got "${value}"`);
  return n;
}

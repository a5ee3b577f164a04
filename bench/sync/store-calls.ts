/**
 * The store calls of one no-change Sync, timed one by one in process (no HTTP), on a seeded
 * SQLite mailbox: where the store's share of a no-change Sync goes, and what reusing prepared
 * statements would save (the same Store code, with better-sqlite3's prepare() cached per SQL
 * text for the second pass).
 *
 *   node --import tsx bench/sync/store-calls.ts [--size 1000] [--iterations 5000] [--write-results]
 *
 * Uses the dataset of bench/sync/no-change.ts (seeding it if missing); adds one device of its own.
 */
import SqliteDatabase from 'better-sqlite3';
import { openSqliteStore } from '../../src/store/sqlite.ts';
import type { Store } from '../../src/store/types.ts';
import { appendResults, dataset, f0, fmtLoad, load, log, machine, machineLines, parseArgs } from './common.ts';

const args = parseArgs(
  process.argv.slice(2),
  { size: 'number', iterations: 'number', 'write-results': 'boolean' },
  { size: 1000, iterations: 5000 },
  'usage: bench/sync/store-calls.ts [--size N] [--iterations K] [--write-results]',
);
const m = machine();
const load0 = load();
const size = Number(args.size);
const K = Math.max(100, Math.min(1_000_000, Number(args.iterations)));

const ds = await dataset('sqlite', size);

/** Installs a per-connection statement cache on better-sqlite3 (what a fix in sqlite.ts would do). */
function cacheStatements(): void {
  const proto = SqliteDatabase.prototype as unknown as { prepare: (sql: string) => unknown };
  const prepare = proto.prepare;
  const caches = new WeakMap<object, Map<string, unknown>>();
  proto.prepare = function (this: object, sql: string) {
    let c = caches.get(this);
    if (!c) caches.set(this, (c = new Map()));
    let st = c.get(sql);
    if (st === undefined) c.set(sql, (st = prepare.call(this, sql)));
    return st;
  };
}

async function pass(label: string): Promise<Record<string, number>> {
  const store: Store = await openSqliteStore(ds.dataDir!);
  const deviceId = 'STORECALLS1';
  const user = (await store.getUserByEmail(ds.email))!;
  await store.upsertDevice({ userId: user.id, deviceId, deviceType: 'Bench', userAgent: 'x', protocolVersion: '16.1' });
  const inbox = (await store.listFolders(user.id)).find((f) => f.type === 2)!;
  await store.saveSyncState({ userId: user.id, deviceId, collectionId: inbox.id, syncKey: 'k1', data: { modseq: inbox.modseq, options: {} } }, []);
  await store.putDeviceData(user.id, deviceId, 'sync-request', { collections: [{ syncKey: 'k1', collectionId: inbox.serverId }] });
  await store.putDeviceData(user.id, deviceId, 'positions', { [inbox.id]: inbox.modseq });
  const calls: Array<[string, () => Promise<unknown>]> = [
    ['getUserByEmail', () => store.getUserByEmail(ds.email)],
    ['upsertDevice', () => store.upsertDevice({ userId: user.id, deviceId, deviceType: 'Bench', userAgent: 'x', protocolVersion: '16.1' })],
    ['getDeviceData', () => store.getDeviceData(user.id, deviceId, 'sync-request')],
    ['listFolders', () => store.listFolders(user.id)],
    ['getSyncState', () => store.getSyncState(user.id, deviceId, inbox.id, 'k1')],
    ['listChangesSince', () => store.listChangesSince(user.id, inbox.id, inbox.modseq, 513)],
    ['getDeviceData(positions)', () => store.getDeviceData(user.id, deviceId, 'positions')],
  ];
  const out: Record<string, number> = {};
  for (const [name, fn] of calls) {
    for (let i = 0; i < Math.min(1000, K); i++) await fn(); // warm-up
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < K; i++) await fn();
    out[name] = Number(process.hrtime.bigint() - t0) / 1e3 / K;
  }
  await store.deleteDevice(user.id, deviceId);
  await store.close();
  log(`${label}: ${Object.entries(out).map(([k, v]) => `${k} ${f0(v)} us`).join(', ')}`);
  return out;
}

const plain = await pass('as is');
cacheStatements();
const cached = await pass('statements cached');
let table = '| call | as is (us) | prepared statements cached (us) |\n|---|---:|---:|\n';
let a = 0;
let b = 0;
for (const k of Object.keys(plain)) {
  a += plain[k]!;
  b += cached[k]!;
  table += `| ${k} | ${f0(plain[k]!)} | ${f0(cached[k]!)} |\n`;
}
table += `| **all ${Object.keys(plain).length} calls** | **${f0(a)}** | **${f0(b)}** |\n`;
const report =
  `\n## sync: store calls of a no-change Sync, timed in process, sqlite (${m.date})\n\n` +
  `- Command: \`node --import tsx bench/sync/store-calls.ts ${process.argv.slice(2).join(' ')}\` (from the repository root)\n` +
  machineLines(m) +
  `- Backend: SQLite, the ${size.toLocaleString('en-US')}-item mailbox of bench/sync/no-change.ts${ds.reused ? ' (reused)' : ''}; one device of its own\n` +
  `- Load average (1/5/15 min) before: ${fmtLoad(load0)}, after: ${fmtLoad(load())}\n` +
  `- Each call ${K} times in a row after 1,000 warm-up calls, in this process (no HTTP), microseconds per call; second column: the same Store code with better-sqlite3's prepare() cached per SQL text (what the stmt-cache experiment and the proposed sqlite.ts change do). ` +
  `The list is every store call a no-change Sync could make; since 75a9cd2 a no-change Sync makes only getUserByEmail, getDeviceData, listFolders and getSyncState.\n\n` +
  table;
process.stdout.write(report);
if (args['write-results']) {
  appendResults(report);
  log('appended to bench/RESULTS.md');
}

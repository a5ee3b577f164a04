/**
 * Initial sync of a large Inbox to one device: total seconds and items/s.
 *
 *   node --import tsx bench/sync/initial-sync.ts [--backend sqlite|postgres] [--items 10000] [--window 512]
 *        [--runs 3] [--body-type 2] [--truncation 32768] [--profile DIR] [--write-results]
 *
 * A one-user mailbox of `--items` e-mails (~2 KB plain-text bodies, the same data as
 * no-change.ts, seeded once and reused on SQLite), the server in its own process
 * (bench/sync/server.ts). Each run is a new device (test/e2e/device.ts over fetch): FolderSync,
 * then the timed part: Sync SyncKey 0 for the Inbox with Options (BodyPreference `--body-type`,
 * TruncationSize `--truncation`; no FilterType: everything), then Syncs with WindowSize
 * `--window` until MoreAvailable is gone. Every item must arrive exactly once. Reported per run
 * and as the median: seconds, items/s, Sync round trips, response MB, server and load-generator
 * CPU. The first run is also the server's JIT warm-up; it is shown separately.
 */
import { join } from 'node:path';
import { el } from '../../src/wbxml/index.ts';
import {
  appendResults,
  cpuSnapshot,
  dataset,
  Device,
  f0,
  f1,
  f2,
  fmtLoad,
  load,
  log,
  machine,
  machineLines,
  msSince,
  nowNs,
  parseArgs,
  resetCollection,
  ServerProcess,
  syncToEnd,
  type CpuUsage,
} from './common.ts';

const USAGE =
  'usage: node --import tsx bench/sync/initial-sync.ts [--backend sqlite|postgres] [--items 10000] [--window 512] [--runs 3] [--body-type 2] [--truncation 32768] [--profile DIR] [--write-results]';
const args = parseArgs(
  process.argv.slice(2),
  { backend: 'string', items: 'number', window: 'number', runs: 'number', 'body-type': 'number', truncation: 'number', profile: 'string', 'write-results': 'boolean' },
  { backend: 'sqlite', items: 10000, window: 512, runs: 3, 'body-type': 2, truncation: 32768 },
  USAGE,
);
const backend = args.backend === 'postgres' ? 'postgres' : 'sqlite';
const items = Number(args.items);
const windowSize = Number(args.window);
const runs = Math.max(1, Math.min(20, Number(args.runs)));
const bodyType = Number(args['body-type']);
const truncation = Number(args.truncation);
const commandLine = `node --import tsx bench/sync/initial-sync.ts ${process.argv.slice(2).join(' ')}`.trim();

interface Run {
  seconds: number;
  rounds: number;
  bytes: number;
  serverCpuS: number;
  clientCpuS: number;
  otherCpuS: number;
}

const m = machine();
const load0 = load();
const ds = await dataset(backend, items);
const srv = await ServerProcess.start({ backend, dataDir: ds.dataDir, schema: ds.schema });
const results: Run[] = [];
let profile: string | undefined;
try {
  const tag = Date.now().toString(36).toUpperCase();
  const options = [el('AirSyncBase', 'BodyPreference', el('AirSyncBase', 'Type', bodyType), truncation > 0 ? el('AirSyncBase', 'TruncationSize', truncation) : null)];
  for (let r = 0; r < runs; r++) {
    const d = new Device({ url: `http://127.0.0.1:${srv.port}`, user: ds.email, password: ds.password, deviceId: `IS${tag}R${r}`, deviceType: 'BenchPhone', version: '16.1' });
    if (r === 0) await d.client.options(); // the user's one scrypt check, outside the timing
    if ((await d.folderSync()).status !== 1) throw new Error('FolderSync failed');
    const inbox = d.folderByType(2).serverId;
    const profiling = args.profile !== undefined && r === runs - 1;
    if (profiling) await srv.op('profile-start');
    const s0 = await srv.op<CpuUsage>('cpu');
    const m0 = cpuSnapshot();
    const c0 = process.cpuUsage();
    const t0 = nowNs();
    await resetCollection(d, inbox, options);
    const run = await syncToEnd(d, inbox, windowSize);
    const seconds = msSince(t0) / 1000;
    const c1 = process.cpuUsage(c0);
    const m1 = cpuSnapshot();
    const s1 = await srv.op<CpuUsage>('cpu');
    if (profiling) profile = await srv.op<string>('profile-stop', { file: join(String(args.profile), `initial-sync-${backend}-${items}.cpuprofile`) });
    if (run.adds !== items) throw new Error(`received ${run.adds} of ${items} items`);
    const serverCpuS = (s1.user + s1.system - s0.user - s0.system) / 1e6;
    const clientCpuS = (c1.user + c1.system) / 1e6;
    results.push({ seconds, rounds: run.rounds + 1, bytes: run.bytes, serverCpuS, clientCpuS, otherCpuS: Math.max(0, m1.busy - m0.busy - serverCpuS - clientCpuS) });
    log(`run ${r + 1}: ${items} items in ${f2(seconds)} s = ${f0(items / seconds)} items/s, ${run.rounds + 1} round trips, ${f1(run.bytes / 1e6)} MB`);
  }
} finally {
  await srv.stop();
  await ds.drop();
}
const load1 = load();

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
const row = (label: string, r: Run) =>
  `| ${label} | ${f2(r.seconds)} | ${f0(items / r.seconds)} | ${r.rounds} | ${f1(r.bytes / 1e6)} | ${f2(r.serverCpuS)} (${f0((100 * r.serverCpuS) / r.seconds)}%) | ${f2(r.clientCpuS)} (${f0((100 * r.clientCpuS) / r.seconds)}%) | ${f0((100 * r.otherCpuS) / r.seconds)}% |`;
const warm = results.length > 1 ? results.slice(1) : results;
const med: Run = {
  seconds: median(warm.map((r) => r.seconds)),
  rounds: results[0]!.rounds,
  bytes: median(warm.map((r) => r.bytes)),
  serverCpuS: median(warm.map((r) => r.serverCpuS)),
  clientCpuS: median(warm.map((r) => r.clientCpuS)),
  otherCpuS: median(warm.map((r) => r.otherCpuS)),
};
const report =
  `\n## sync: initial sync of a ${items.toLocaleString('en-US')}-message Inbox, WindowSize ${windowSize}, ${backend} (${m.date})\n\n` +
  `- Command: \`${commandLine}\` (from the repository root)\n` +
  machineLines(m) +
  `- Backend: ${backend === 'sqlite' ? 'SQLite (better-sqlite3, WAL, synchronous=NORMAL)' : 'PostgreSQL 127.0.0.1:5432, fresh schema dropped after'}\n` +
  `- Load average (1/5/15 min) before: ${fmtLoad(load0)}, after: ${fmtLoad(load1)}\n` +
  `- Setup: server in its own node process (bench/sync/server.ts, log level info to /dev/null); the device (test/e2e/device.ts over fetch, decoding every response with the codec) is this process; both share the 2 cores.\n` +
  `- Mailbox: one user, ${items.toLocaleString('en-US')} e-mails in the Inbox (~2 KB plain-text bodies, addresses, subject, date, flags), seeded through Store.putItem one at a time in ${f1(ds.seedSeconds)} s${ds.reused ? ' (by an earlier run, reused)' : ''}\n` +
  `- Timed: Sync SyncKey 0 with Options (BodyPreference Type ${bodyType}${truncation > 0 ? `, TruncationSize ${truncation}` : ''}, no FilterType) and then Syncs with WindowSize ${windowSize} until MoreAvailable is gone; every item checked to arrive exactly once. Each run is a new device.\n\n` +
  `| run | seconds | items/s | Sync round trips | response MB | server CPU s (of wall) | load generator CPU s (of wall) | other processes (of one core) |\n|---|---:|---:|---:|---:|---:|---:|---:|\n` +
  results.map((r, i) => row(i === 0 ? '1 (cold server)' : String(i + 1), r)).join('\n') +
  '\n' +
  row(`**median of ${results.length > 2 ? `runs 2-${results.length}` : results.length === 2 ? 'run 2' : 'run 1'}**`, med) +
  '\n\n' +
  `**Result: ${items.toLocaleString('en-US')} messages in ${f2(med.seconds)} s = ${f0(items / med.seconds)} items/s** (median; the issue sets no target for this figure)\n` +
  (profile ? `\nCPU profile of the server during the last run: ${profile}\n` : '');

process.stdout.write(report);
if (args['write-results']) {
  appendResults(report);
  log('appended to bench/RESULTS.md');
}

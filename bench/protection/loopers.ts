/**
 * Protection benchmark (kb-2.2/2.5/2.8, kb-2.9; issue 6 "Speed"): 1,000 devices looping on
 * identical Syncs beside 100 well-behaved devices. The well-behaved devices' p99 latency with the
 * loopers running must stay within 2x of their p99 without them, measured in the same run.
 *
 *   node --import tsx bench/protection/loopers.ts [--loopers 1000] [--looper-users 250] [--good 100]
 *        [--items 20] [--duration 20] [--poll-ms 1000] [--ramp-ms 5000] [--modes on,off] [--write-results]
 *
 * - One SQLite data directory (fresh, temporary): `--good` users with one device each and
 *   `--looper-users` users sharing `--loopers` devices, each user with `--items` e-mails.
 * - Per mode, the server in its own process (bench/sync/server.ts --protection on|off: the
 *   production defaults of src/devices/protection.ts, or everything off); every device does
 *   FolderSync and the initial sync of its Inbox first.
 * - Well-behaved (but busy) device: one quiet request every `--poll-ms` (jittered), in turn a
 *   Sync of its Inbox, a FolderSync and a Sync of its Contacts (each the same bytes every time,
 *   so each Sync repeats every three polls), on its own keep-alive connection.
 * - Looping device: the same quiet Inbox Sync again as soon as the previous answer arrives,
 *   ignoring Retry-After (the worst case of kb-2.9), on its own keep-alive connection.
 * - Phases: baseline (well-behaved only, `--duration` s), then loaded (loopers started at the
 *   beginning of the phase, spread over its first `--ramp-ms`, so their first burst is inside
 *   it, `--duration` s).
 * - The loopers run in a second load-generator process (this script with --role loopers), so the
 *   well-behaved devices' latencies are not those of a client event loop busy with 1,000 others.
 * Measurements, not a test: nothing fails on a slow result.
 */
import { fork } from 'node:child_process';
import http from 'node:http';
import { fileURLToPath } from 'node:url';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hashPassword } from '../../src/auth/password.ts';
import { openSqliteStore } from '../../src/store/sqlite.ts';
import { el, encodeWbxml } from '../../src/wbxml/index.ts';
import {
  appendResults,
  cpuSnapshot,
  Device,
  easRequestParts,
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
  percentile,
  rawRequest,
  seedMailbox,
  ServerProcess,
  sortedCopy,
  syncToEnd,
  type CpuUsage,
} from '../sync/common.ts';

const usage =
  'usage: node --import tsx bench/protection/loopers.ts [--loopers 1000] [--looper-users 250] [--good 100] [--items 20] [--duration 20] [--poll-ms 1000] [--ramp-ms 5000] [--modes on,off] [--write-results]';
const args = parseArgs(
  process.argv.slice(2),
  { loopers: 'number', 'looper-users': 'number', good: 'number', items: 'number', duration: 'number', 'poll-ms': 'number', 'ramp-ms': 'number', modes: 'list', 'write-results': 'boolean', role: 'string' },
  { loopers: 1000, 'looper-users': 250, good: 100, items: 20, duration: 20, 'poll-ms': 1000, 'ramp-ms': 5000, modes: ['on', 'off'] },
  usage,
);
const nLoopers = Number(args.loopers);
const nLooperUsers = Math.max(1, Math.min(nLoopers, Number(args['looper-users'])));
const nGood = Number(args.good);
const items = Number(args.items);
const durationMs = Number(args.duration) * 1000;
const pollMs = Number(args['poll-ms']);
const rampMs = Number(args['ramp-ms']);
const modes = (args.modes as string[]).map((m) => (m === 'off' ? 'off' : 'on')) as Array<'on' | 'off'>;
const commandLine = `node --import tsx bench/protection/loopers.ts ${process.argv.slice(2).join(' ')}`.trim();
const PASSWORD = 'bench-password-1';

interface Request {
  path: string;
  headers: Record<string, string>;
  body: Buffer;
}

interface Sim {
  device: Device;
  agent: http.Agent;
  /** The requests the device sends in turn (a looper: one). */
  requests: Request[];
}

interface Phase {
  latencies: number[];
  goodErrors: number;
  looperRequests: number;
  looper200: number;
  looper503: number;
  looperOther: number;
  serverCpuMs: number;
  clientCpuMs: number;
  machineBusyS: number;
  wallMs: number;
  load: number[];
}

async function seed(dir: string) {
  const store = await openSqliteStore(dir);
  try {
    const hash = await hashPassword(PASSWORD);
    const good: string[] = [];
    const looper: string[] = [];
    for (let i = 0; i < nGood; i++) good.push((await seedMailbox(store, `good${i}@example.com`, PASSWORD, items, hash)).email);
    for (let i = 0; i < nLooperUsers; i++) looper.push((await seedMailbox(store, `loop${i}@example.com`, PASSWORD, items, hash)).email);
    return { good, looper };
  } finally {
    await store.close();
  }
}

/** FolderSync and the initial sync of the folders a device uses; its quiet requests, encoded once. */
async function prepare(port: number, email: string, deviceId: string, good: boolean): Promise<Sim> {
  const device = new Device({ url: `http://127.0.0.1:${port}`, user: email, password: PASSWORD, deviceId, deviceType: 'BenchPhone', version: '16.1' });
  const fs = await device.folderSync();
  if (fs.status !== 1) throw new Error(`FolderSync of ${deviceId}: status ${fs.status}`);
  const parts = (cmd: string) => easRequestParts({ user: email, password: PASSWORD, deviceId, deviceType: 'BenchPhone', cmd });
  const quietSync = async (type: number): Promise<Request> => {
    const id = device.folderByType(type).serverId;
    await device.sync(id); // SyncKey 0
    await syncToEnd(device, id, 100);
    return { ...parts('Sync'), body: Buffer.from(encodeWbxml(el('AirSync', 'Sync', el('AirSync', 'Collections', device.collectionRequest(id))))) };
  };
  const requests = [await quietSync(2)];
  if (good) {
    requests.push({ ...parts('FolderSync'), body: Buffer.from(encodeWbxml(el('FolderHierarchy', 'FolderSync', el('FolderHierarchy', 'SyncKey', device.folderSyncKey)))) });
    requests.push(await quietSync(9));
  }
  return { device, agent: new http.Agent({ keepAlive: true, maxSockets: 1 }), requests };
}

async function inBatches<T, R>(xs: T[], size: number, fn: (x: T) => Promise<R>): Promise<R[]> {
  const out: R[] = [];
  for (let i = 0; i < xs.length; i += size) out.push(...(await Promise.all(xs.slice(i, i + size).map(fn))));
  return out;
}

interface LooperCounts {
  requests: number;
  ok: number;
  throttled: number;
  other: number;
  cpu: CpuUsage;
}

/** --role loopers: runs the looping devices it is sent until told to stop (a separate process). */
async function looperProcess(): Promise<void> {
  const start = await new Promise<{ port: number; rampMs: number; requests: Array<{ path: string; headers: Record<string, string>; body: string }> }>((res) => process.once('message', res as never));
  const c: LooperCounts = { requests: 0, ok: 0, throttled: 0, other: 0, cpu: { user: 0, system: 0 } };
  let running = true;
  const agents: http.Agent[] = [];
  const loops = start.requests.map(async (q) => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    agents.push(agent);
    const body = Buffer.from(q.body, 'base64');
    // Looping devices do not start in lockstep: spread over the ramp.
    await new Promise((r) => setTimeout(r, Math.random() * start.rampMs));
    while (running) {
      try {
        const r = await rawRequest(agent, start.port, 'POST', q.path, q.headers, body);
        c.requests++;
        if (r.status === 200) c.ok++;
        else if (r.status === 503) c.throttled++;
        else c.other++;
      } catch {
        if (running) c.other++;
      }
    }
  });
  await new Promise((res) => process.once('message', res));
  running = false;
  c.cpu = process.cpuUsage();
  // Loopers may wait on a held refusal (tarpit): drop their connections.
  for (const a of agents) a.destroy();
  await Promise.all(loops);
  process.send!(c, () => process.exit(0));
}

async function runPhase(srv: ServerProcess, good: Sim[], loopers: Sim[]): Promise<Phase> {
  const p: Phase = { latencies: [], goodErrors: 0, looperRequests: 0, looper200: 0, looper503: 0, looperOther: 0, serverCpuMs: 0, clientCpuMs: 0, machineBusyS: 0, wallMs: 0, load: [] };
  let running = true;
  const s0 = await srv.op<CpuUsage>('cpu');
  const c0 = process.cpuUsage();
  const m0 = cpuSnapshot();
  const t0 = nowNs();
  const goodLoops = good.map(async (g, i) => {
    // Spread the first polls over one interval, then poll every pollMs +-10 %.
    await new Promise((r) => setTimeout(r, (i / good.length) * pollMs));
    for (let n = 0; running; n++) {
      const q = g.requests[n % g.requests.length]!;
      const t = nowNs();
      try {
        const r = await rawRequest(g.agent, srv.port, 'POST', q.path, q.headers, q.body);
        if (r.status === 200) p.latencies.push(msSince(t));
        else p.goodErrors++;
      } catch {
        p.goodErrors++;
      }
      await new Promise((r) => setTimeout(r, pollMs * (0.9 + Math.random() * 0.2)));
    }
  });
  const child = loopers.length ? fork(fileURLToPath(import.meta.url), ['--role', 'loopers'], { execArgv: ['--import', 'tsx'] }) : undefined;
  const childDone = child ? new Promise<LooperCounts>((res) => child.once('message', res as never)) : undefined;
  child?.send({ port: srv.port, rampMs, requests: loopers.map((l) => ({ ...l.requests[0]!, body: l.requests[0]!.body.toString('base64') })) });
  await new Promise((r) => setTimeout(r, durationMs));
  running = false;
  child?.send('stop');
  const lc = await childDone;
  if (lc) {
    p.looperRequests = lc.requests;
    p.looper200 = lc.ok;
    p.looper503 = lc.throttled;
    p.looperOther = lc.other;
  }
  p.wallMs = msSince(t0);
  const s1 = await srv.op<CpuUsage>('cpu');
  const c1 = process.cpuUsage(c0);
  const m1 = cpuSnapshot();
  p.serverCpuMs = (s1.user + s1.system - s0.user - s0.system) / 1000;
  // Both load generators (the loopers' process reports its whole life, start-up included).
  p.clientCpuMs = (c1.user + c1.system + (lc ? lc.cpu.user + lc.cpu.system : 0)) / 1000;
  p.machineBusyS = m1.busy - m0.busy;
  p.load = load();
  await Promise.all(goodLoops);
  return p;
}

const stats = (xs: number[]) => {
  const s = sortedCopy(xs);
  return { n: s.length, p50: percentile(s, 50), p90: percentile(s, 90), p99: percentile(s, 99), max: s.length ? s[s.length - 1]! : NaN };
};

if (args.role === 'loopers') {
  await looperProcess();
  await new Promise(() => {}); // exits once its counts are sent
}

const m = machine();
const dir = mkdtempSync(join(tmpdir(), 'easd-bench-loopers-'));
const results: Array<{ mode: 'on' | 'off'; setupS: number; baseline: Phase; loaded: Phase }> = [];
try {
  log(`seeding ${nGood} well-behaved users and ${nLooperUsers} looping users (${items} e-mails each) in ${dir}`);
  const users = await seed(dir);
  for (const mode of modes) {
    const srv = await ServerProcess.start({ backend: 'sqlite', dataDir: dir, protection: mode });
    try {
      const t0 = nowNs();
      const goodSims = await inBatches(users.good.map((email, i) => ({ email, id: `GOOD${mode}${i}` })), 20, (x) => prepare(srv.port, x.email, x.id, true));
      const looperSims = await inBatches(
        Array.from({ length: nLoopers }, (_, i) => ({ email: users.looper[i % nLooperUsers]!, id: `LOOP${mode}${i}` })),
        20,
        (x) => prepare(srv.port, x.email, x.id, false),
      );
      const setupS = msSince(t0) / 1000;
      log(`protection ${mode}: ${goodSims.length + looperSims.length} devices ready in ${f1(setupS)} s; baseline ${durationMs / 1000} s`);
      const baseline = await runPhase(srv, goodSims, []);
      log(`  baseline p99 ${f2(stats(baseline.latencies).p99)} ms; loaded ${durationMs / 1000} s`);
      const loaded = await runPhase(srv, goodSims, looperSims);
      log(`  loaded p99 ${f2(stats(loaded.latencies).p99)} ms; loopers: ${loaded.looperRequests} requests (${loaded.looper200} x 200, ${loaded.looper503} x 503)`);
      for (const s of [...goodSims, ...looperSims]) s.agent.destroy();
      results.push({ mode, setupS, baseline, loaded });
    } finally {
      await srv.stop();
    }
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}

const row = (mode: string, phase: string, p: Phase) => {
  const s = stats(p.latencies);
  const wall = p.wallMs / 1000;
  const other = Math.max(0, p.machineBusyS - (p.serverCpuMs + p.clientCpuMs) / 1000);
  return `| ${mode} | ${phase} | ${s.n} | ${p.goodErrors} | ${f2(s.p50)} | ${f2(s.p90)} | ${f2(s.p99)} | ${f2(s.max)} | ${p.looperRequests ? `${f0(p.looperRequests / wall)} (${p.looper200} x 200, ${p.looper503} x 503${p.looperOther ? `, ${p.looperOther} other` : ''})` : '-'} | ${f0((p.serverCpuMs / p.wallMs) * 100)} % | ${f0((p.clientCpuMs / p.wallMs) * 100)} % | ${f0((other / wall) * 100)} % | ${fmtLoad(p.load)} |`;
};
let table = '| protection | phase | good requests | good errors | p50 ms | p90 ms | p99 ms | max ms | looper requests/s | server CPU | load generators CPU | other processes | load avg |\n|---|---|---|---|---|---|---|---|---|---|---|---|---|\n';
const verdicts: string[] = [];
for (const r of results) {
  table += row(r.mode, 'baseline (well-behaved only)', r.baseline) + '\n' + row(r.mode, `with ${nLoopers} loopers`, r.loaded) + '\n';
  const ratio = stats(r.loaded.latencies).p99 / stats(r.baseline.latencies).p99;
  verdicts.push(`protection ${r.mode}: loaded p99 / baseline p99 = ${f2(ratio)}${r.mode === 'on' ? (ratio <= 2 ? ' (within the 2x target)' : ' (OVER the 2x target)') : ''}`);
}
const section =
  `\n## Protection: ${nLoopers.toLocaleString('en-US')} looping devices beside ${nGood} well-behaved ones (bench/protection/loopers.ts)\n\n` +
  `- Command: \`${commandLine}\`\n` +
  machineLines(m) +
  `- Setup: SQLite; server in its own node process (bench/sync/server.ts --protection on|off: on = the production defaults of src/devices/protection.ts: an identical Sync that comes early waits 2, 4, 8, 16, 30 s, after six waits in a row or past 30 a minute the device is blocked for 60 s, refusals held 5 s; off = throttling, loop detection and the held-Ping limit off); the load generators are this process (well-behaved devices) and a second one (the loopers); all share the machine's cores. ${nGood} users with one well-behaved device each; ${nLooperUsers} users sharing ${nLoopers} looping devices; ${items} e-mails per Inbox; every device did FolderSync and its initial Inbox sync first.\n` +
  `- Load: well-behaved devices send a quiet request every ${pollMs} ms (+-10 %), in turn an Inbox Sync, a FolderSync and a Contacts Sync (the same bytes each time); looping devices send their quiet Inbox Sync again as soon as an answer arrives, ignoring Retry-After. Each phase ${durationMs / 1000} s; the loaded phase starts the loopers at its beginning, spread over ${rampMs} ms (their first burst is measured). Latencies are the well-behaved devices' (ms, as seen by the load generator); "other processes" is the machine's busy time (/proc/stat) minus server and load generator: work of other users of this shared machine.\n\n` +
  table +
  '\n' +
  verdicts.map((v) => `- ${v}\n`).join('');
process.stdout.write(section);
if (args['write-results']) appendResults(section);

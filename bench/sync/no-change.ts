/**
 * No-change Sync throughput at several mailbox sizes, against a bare OPTIONS on the same server.
 *
 *   node --import tsx bench/sync/no-change.ts [--backend sqlite|postgres] [--sizes 1000,10000,100000]
 *        [--devices 8] [--duration 10] [--rounds 2] [--warmup 2] [--profile DIR] [--write-results]
 *
 * For each size: a one-user mailbox with that many e-mails in the Inbox (~2 KB bodies; SQLite
 * mailboxes are seeded once under $EASD_BENCH_DATA or the temp dir and reused, PostgreSQL gets a
 * fresh schema that is dropped after), a server in its own process (bench/sync/server.ts), and
 * `--devices` devices of that user that each do FolderSync and a full initial sync of the Inbox
 * (WindowSize 512). All sizes are set up first (idle servers cost no CPU). Then, per size,
 * `--warmup` seconds of load and a count of store calls, and `--rounds` rounds that each go
 * through the sizes in turn (so that a slow spell of a shared machine hits all sizes alike):
 *   OPTIONS phase: every device loops OPTIONS on the endpoint for `--duration` s,
 *   Sync phase:    every device loops its no-change Sync (its current key, WindowSize 512) for
 *                  `--duration` s; each answer must be HTTP 200 with an empty body (14.0+).
 * Each device is one sequential loop on its own keep-alive connection (fixed concurrency).
 * Requests are pre-encoded with the codec and sent with node:http, so the load generator spends
 * as little of the 2 cores as possible. Reported: requests/s, p50/p99 latency, the CPU time of
 * the server and of the load generator per request, and the store calls one request makes.
 * `--profile DIR` also writes V8 CPU profiles of the server during the last OPTIONS and Sync
 * phases per size (`-options.cpuprofile` for the OPTIONS one).
 *
 * Targets (issue "Speed"): rps flat in mailbox size (largest within 1.2x of the smallest) and a
 * no-change Sync at least half the OPTIONS rate of the same run.
 */
import http from 'node:http';
import { join } from 'node:path';
import { el, encodeWbxml } from '../../src/wbxml/index.ts';
import {
  appendResults,
  dataset,
  Device,
  easRequestParts,
  ENDPOINT,
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
  resetCollection,
  ServerProcess,
  sortedCopy,
  syncToEnd,
  cpuSnapshot,
  type CpuUsage,
  type Dataset,
} from './common.ts';

const USAGE =
  'usage: node --import tsx bench/sync/no-change.ts [--backend sqlite|postgres] [--sizes 1000,10000,100000] [--devices 8] [--duration 10] [--rounds 2] [--warmup 2] [--profile DIR] [--experiment stmt-cache] [--write-results]';
const args = parseArgs(
  process.argv.slice(2),
  { backend: 'string', sizes: 'list', devices: 'number', duration: 'number', rounds: 'number', warmup: 'number', profile: 'string', experiment: 'list', 'write-results': 'boolean' },
  { backend: 'sqlite', sizes: ['1000', '10000', '100000'], devices: 8, duration: 10, rounds: 2, warmup: 2, experiment: [] },
  USAGE,
);
const backend = args.backend === 'postgres' ? 'postgres' : 'sqlite';
const sizes = (args.sizes as string[]).map(Number);
const nDevices = Math.max(1, Math.min(256, Number(args.devices)));
const durationMs = Math.max(1, Math.min(600, Number(args.duration))) * 1000;
const rounds = Math.max(1, Math.min(20, Number(args.rounds)));
const warmupMs = Math.max(0, Math.min(60, Number(args.warmup))) * 1000;
/** Hard bound on requests per phase (memory for latencies and a stop if something is very fast). */
const MAX_PER_PHASE = 2_000_000;
const WINDOW = 512;
/** Requests sent one at a time to count store calls (after the warm-up). */
const CALL_SAMPLE = 200;
const experiments = args.experiment as string[];
const commandLine = `node --import tsx bench/sync/no-change.ts ${process.argv.slice(2).join(' ')}`.trim();

interface Phase {
  kind: 'OPTIONS' | 'Sync';
  requests: number;
  errors: number;
  seconds: number;
  lat: Float64Array;
  serverCpuMs: number;
  clientCpuMs: number;
  /** Busy CPU seconds of the whole machine and of PostgreSQL during the phase. */
  machineCpuS: number;
  postgresCpuS: number;
}

interface Loop {
  method: 'OPTIONS' | 'POST';
  path: string;
  headers: Record<string, string>;
  body?: Buffer;
}

const agent = new http.Agent({ keepAlive: true, maxSockets: Infinity });

async function runPhase(srv: ServerProcess, kind: Phase['kind'], loops: Loop[], ms: number): Promise<Phase> {
  const lat = new Float64Array(MAX_PER_PHASE);
  let n = 0;
  let errors = 0;
  let firstError = '';
  const s0 = await srv.op<CpuUsage>('cpu');
  const m0 = cpuSnapshot();
  const c0 = process.cpuUsage();
  const t0 = nowNs();
  const deadline = t0 + BigInt(ms) * 1_000_000n;
  await Promise.all(
    loops.map(async (l) => {
      while (process.hrtime.bigint() < deadline && n < MAX_PER_PHASE) {
        const s = process.hrtime.bigint();
        const r = await rawRequest(agent, srv.port, l.method, l.path, l.headers, l.body);
        const d = Number(process.hrtime.bigint() - s) / 1e6;
        // 200 for both; a no-change Sync (16.1) has an empty body.
        if (r.status !== 200 || (kind === 'Sync' && r.body.length !== 0)) {
          errors++;
          firstError ||= `HTTP ${r.status}, ${r.body.length} body bytes`;
        }
        if (n < MAX_PER_PHASE) lat[n++] = d;
      }
    }),
  );
  const seconds = msSince(t0) / 1000;
  const c1 = process.cpuUsage(c0);
  const m1 = cpuSnapshot();
  const s1 = await srv.op<CpuUsage>('cpu');
  if (errors) log(`  ${kind}: ${errors} unexpected answers, first: ${firstError}`);
  return {
    kind,
    requests: n,
    errors,
    seconds,
    lat: lat.slice(0, n), // a copy: the 16 MB scratch buffer is not kept
    serverCpuMs: (s1.user + s1.system - s0.user - s0.system) / 1000,
    clientCpuMs: (c1.user + c1.system) / 1000,
    machineCpuS: m1.busy - m0.busy,
    postgresCpuS: m1.postgres - m0.postgres,
  };
}

interface Summary {
  kind: string;
  rps: number;
  perRound: number[];
  p50: number;
  p99: number;
  requests: number;
  errors: number;
  serverCpuPerReq: number;
  clientCpuPerReq: number;
  serverCpuShare: number;
  clientCpuShare: number;
  /** Cores busy with PostgreSQL, and with anything else than server, load generator and PostgreSQL. */
  postgresShare: number;
  otherShare: number;
}

function summarize(kind: string, phases: Phase[]): Summary {
  const all = phases.flatMap((p) => Array.from(p.lat));
  const sorted = sortedCopy(all);
  const requests = phases.reduce((s, p) => s + p.requests, 0);
  const seconds = phases.reduce((s, p) => s + p.seconds, 0);
  const sCpu = phases.reduce((s, p) => s + p.serverCpuMs, 0);
  const cCpu = phases.reduce((s, p) => s + p.clientCpuMs, 0);
  return {
    kind,
    rps: requests / seconds,
    perRound: phases.map((p) => p.requests / p.seconds),
    p50: percentile(sorted, 50),
    p99: percentile(sorted, 99),
    requests,
    errors: phases.reduce((s, p) => s + p.errors, 0),
    serverCpuPerReq: sCpu / requests,
    clientCpuPerReq: cCpu / requests,
    serverCpuShare: sCpu / 1000 / seconds,
    clientCpuShare: cCpu / 1000 / seconds,
    postgresShare: phases.reduce((s, p) => s + p.postgresCpuS, 0) / seconds,
    otherShare: Math.max(0, phases.reduce((s, p) => s + p.machineCpuS - p.postgresCpuS, 0) - sCpu / 1000 - cCpu / 1000) / seconds,
  };
}

interface SizeResult {
  size: number;
  seedSeconds: number;
  seedReused: boolean;
  initialSyncSeconds: number;
  initialItems: number;
  options: Summary;
  sync: Summary;
  callsSync: Calls;
  callsOptions: Calls;
  profile?: string;
}

/** Store calls of `n` sequential requests of one loop, per request. */
async function callsPerRequest(srv: ServerProcess, l: Loop, n: number): Promise<Calls> {
  await srv.op('counts', { reset: true, on: true });
  const t0 = nowNs();
  for (let i = 0; i < n; i++) await rawRequest(agent, srv.port, l.method, l.path, l.headers, l.body);
  const latencyMs = msSince(t0) / n;
  const c = await srv.op<{ calls: Record<string, number>; ms: Record<string, number> }>('counts', { reset: true, on: false });
  const per = (r: Record<string, number>) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, v / n]));
  return { calls: per(c.calls), ms: per(c.ms), latencyMs };
}

/** Store calls per request, and ms spent in each (requests one at a time). */
interface Calls {
  calls: Record<string, number>;
  ms: Record<string, number>;
  latencyMs: number;
}

interface Prepared {
  size: number;
  ds: Dataset;
  srv: ServerProcess;
  syncLoops: Loop[];
  optionsLoops: Loop[];
  initialSyncSeconds: number;
  opt: Phase[];
  syn: Phase[];
  callsSync?: Calls;
  callsOptions?: Calls;
  profile?: string;
}

/** Dataset, server, devices after FolderSync and a full initial sync of the Inbox. */
async function prepare(size: number, runTag: string, servers: ServerProcess[], datasets: Dataset[]): Promise<Prepared> {
  const ds = await dataset(backend, size);
  datasets.push(ds);
  const srv = await ServerProcess.start({ backend, dataDir: ds.dataDir, schema: ds.schema, experiments });
  servers.push(srv);
  log(`size ${size}: server on port ${srv.port}; ${nDevices} devices: FolderSync + initial sync (WindowSize ${WINDOW})`);
  const devices = Array.from(
    { length: nDevices },
    (_, i) => new Device({ url: `http://127.0.0.1:${srv.port}`, user: ds.email, password: ds.password, deviceId: `NC${runTag}D${i}`, deviceType: 'BenchPhone', version: '16.1' }),
  );
  // The first request of the user pays one scrypt check; do it once before the devices race.
  await devices[0]!.client.options();
  for (const d of devices) if ((await d.folderSync()).status !== 1) throw new Error('FolderSync failed');
  const inbox = devices[0]!.folderByType(2).serverId;
  const t0 = nowNs();
  const runs = await Promise.all(
    devices.map(async (d) => {
      await resetCollection(d, inbox);
      return syncToEnd(d, inbox, WINDOW);
    }),
  );
  const initialSyncSeconds = msSince(t0) / 1000;
  for (const r of runs) if (r.adds !== size) throw new Error(`initial sync sent ${r.adds} of ${size} items`);
  log(`  initial sync of ${size} items to ${nDevices} devices: ${f1(initialSyncSeconds)} s`);

  const syncLoops: Loop[] = devices.map((d) => {
    const { path, headers } = easRequestParts({ user: ds.email, password: ds.password, deviceId: d.client.deviceId, deviceType: d.client.deviceType, cmd: 'Sync' });
    const body = Buffer.from(encodeWbxml(el('AirSync', 'Sync', el('AirSync', 'Collections', d.collectionRequest(inbox, { windowSize: WINDOW })))));
    return { method: 'POST', path, headers, body };
  });
  const optionsLoops: Loop[] = devices.map((d) => {
    const { headers } = easRequestParts({ user: ds.email, password: ds.password, deviceId: d.client.deviceId, deviceType: d.client.deviceType, cmd: 'Sync' });
    return { method: 'OPTIONS', path: ENDPOINT, headers: { Authorization: headers.Authorization!, 'User-Agent': headers['User-Agent']! } };
  });
  return { size, ds, srv, syncLoops, optionsLoops, initialSyncSeconds, opt: [], syn: [] };
}

const m = machine();
const load0 = load();
const runTag = Date.now().toString(36).toUpperCase();
log(`no-change Sync bench: backend ${backend}, sizes ${sizes.join(', ')}, ${nDevices} devices, ${durationMs / 1000} s x ${rounds} rounds`);
const servers: ServerProcess[] = [];
const datasets: Dataset[] = [];
const results: SizeResult[] = [];
try {
  // Every size gets its server and devices first; then the rounds go through the sizes in turn,
  // so that a slow spell of this shared machine hits every size alike. Idle servers use no CPU.
  const prepared: Prepared[] = [];
  for (const size of sizes) prepared.push(await prepare(size, runTag, servers, datasets));
  for (const p of prepared) {
    if (warmupMs > 0) {
      await runPhase(p.srv, 'OPTIONS', p.optionsLoops, warmupMs / 2);
      await runPhase(p.srv, 'Sync', p.syncLoops, warmupMs);
    }
    p.callsSync = await callsPerRequest(p.srv, p.syncLoops[0]!, CALL_SAMPLE);
    p.callsOptions = await callsPerRequest(p.srv, p.optionsLoops[0]!, CALL_SAMPLE);
  }
  for (let r = 0; r < rounds; r++) {
    for (const p of prepared) {
      const profiling = args.profile !== undefined && r === rounds - 1;
      if (profiling) await p.srv.op('profile-start');
      p.opt.push(await runPhase(p.srv, 'OPTIONS', p.optionsLoops, durationMs));
      if (profiling) {
        await p.srv.op<string>('profile-stop', { file: join(String(args.profile), `no-change-${backend}-${p.size}-options.cpuprofile`) });
        await p.srv.op('profile-start');
      }
      p.syn.push(await runPhase(p.srv, 'Sync', p.syncLoops, durationMs));
      if (profiling) p.profile = await p.srv.op<string>('profile-stop', { file: join(String(args.profile), `no-change-${backend}-${p.size}.cpuprofile`) });
      log(`  round ${r + 1}, ${p.size} items: OPTIONS ${f0(p.opt[r]!.requests / p.opt[r]!.seconds)} rps, Sync ${f0(p.syn[r]!.requests / p.syn[r]!.seconds)} rps`);
    }
  }
  for (const p of prepared) {
    results.push({
      size: p.size,
      seedSeconds: p.ds.seedSeconds,
      seedReused: p.ds.reused,
      initialSyncSeconds: p.initialSyncSeconds,
      initialItems: p.size * nDevices,
      options: summarize('OPTIONS', p.opt),
      sync: summarize('Sync', p.syn),
      callsSync: p.callsSync!,
      callsOptions: p.callsOptions!,
      profile: p.profile,
    });
  }
} finally {
  for (const srv of servers) await srv.stop();
  for (const ds of datasets) await ds.drop();
}
const load1 = load();
agent.destroy();

// ---------------------------------------------------------------------------------------------
// Report

const rows = results.map((r) => {
  const ratio = r.sync.rps / r.options.rps;
  return (
    `| ${r.size.toLocaleString('en-US')} | ${f0(r.sync.rps)} (${r.sync.perRound.map(f0).join(', ')}) | ${f2(r.sync.p50)} | ${f2(r.sync.p99)} | ` +
    `${f0(r.options.rps)} (${r.options.perRound.map(f0).join(', ')}) | ${f2(r.options.p50)} | ${f2(r.options.p99)} | ${f2(ratio)} | ` +
    `${f2(r.sync.serverCpuPerReq)} / ${f2(r.options.serverCpuPerReq)} | ${f0(r.sync.serverCpuShare * 100)}% / ${f0(r.sync.clientCpuShare * 100)}% / ${f0(r.sync.postgresShare * 100)}% / ${f0(r.sync.otherShare * 100)}% | ${f0(r.options.otherShare * 100)}% | ${r.sync.errors + r.options.errors} |`
  );
});
const header =
  '| Inbox items | Sync rps (per round) | Sync p50 ms | Sync p99 ms | OPTIONS rps (per round) | OPTIONS p50 ms | OPTIONS p99 ms | Sync/OPTIONS | server CPU ms per req (Sync / OPTIONS) | CPU during Sync (server / load gen / PostgreSQL / other processes; 100% = one core) | other processes during OPTIONS | errors |\n' +
  '|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|';
const first = results[0]!;
const lastR = results[results.length - 1]!;
const flatRatio = first.sync.rps / lastR.sync.rps;
const flatMet = flatRatio <= 1.2;
const halfMet = results.every((r) => r.sync.rps >= 0.5 * r.options.rps);
const callLine = (c: Calls) =>
  Object.entries(c.calls)
    .sort()
    .map(([k, v]) => `${k} ${Number.isInteger(v) ? v : v.toFixed(2)} (${(c.ms[k] ?? 0).toFixed(3)} ms)`)
    .join(', ') +
  ` = ${Object.values(c.ms)
    .reduce((a, b) => a + b, 0)
    .toFixed(3)} ms in the store of ${c.latencyMs.toFixed(3)} ms per request`;
const verdicts = [
  `${flatMet ? 'MET' : 'NOT MET'}: flat in mailbox size: ${first.size.toLocaleString('en-US')} items ${f0(first.sync.rps)} rps vs ${lastR.size.toLocaleString('en-US')} items ${f0(lastR.sync.rps)} rps = ${f2(flatRatio)}x (target <= 1.2x)`,
  `${halfMet ? 'MET' : 'NOT MET'}: no-change Sync >= 0.5x OPTIONS at every size (ratios ${results.map((r) => f2(r.sync.rps / r.options.rps)).join(', ')})`,
];
const report =
  `\n## sync: no-change Sync vs OPTIONS, ${backend}${experiments.length ? `, EXPERIMENT ${experiments.join('+')}` : ''} (${m.date})\n\n` +
  `- Command: \`${commandLine}\` (from the repository root)\n` +
  machineLines(m) +
  `- Backend: ${backend === 'sqlite' ? 'SQLite (better-sqlite3, WAL, synchronous=NORMAL), data dir on the local disk' : 'PostgreSQL 127.0.0.1:5432 (pg pool of 10, the production default), fresh schema dropped after'}\n` +
  (experiments.length ? `- **Experiment (not the code in src/):** ${experiments.join(', ')} (bench-only stand-ins for proposed src/ changes, see bench/sync/server.ts)\n` : '') +
  `- Load average (1/5/15 min) before: ${fmtLoad(load0)}, after: ${fmtLoad(load1)}\n` +
  `- Setup: server in its own node process (bench/sync/server.ts: buildServer + commandHandlers, log level info to /dev/null); the load generator is this process. ` +
  `Both share the 2 cores (the server is one thread; PostgreSQL, when used, runs on the same 2 cores too).\n` +
  `- Load: ${nDevices} devices of one user (EAS 16.1), each one sequential loop on its own keep-alive connection; one server per size, all started first; after a ${warmupMs / 1000} s warm-up per size, ${rounds} round(s) that each go through the sizes in turn: OPTIONS ${durationMs / 1000} s then no-change Sync ${durationMs / 1000} s; ` +
  `Sync = the device's current SyncKey for the Inbox with WindowSize ${WINDOW}, answered 200 with an empty body; OPTIONS = Basic-authenticated OPTIONS on the endpoint\n` +
  `- Mailboxes: one user, N e-mails (~2 KB plain-text bodies) in the Inbox, seeded through Store.putItem one at a time: ` +
  results.map((r) => `${r.size.toLocaleString('en-US')} in ${f1(r.seedSeconds)} s${r.seedReused ? ' (seeded by an earlier run, reused)' : ''}`).join(', ') +
  `\n- Initial sync before measuring (all devices in parallel, WindowSize ${WINDOW}, Device simulator over fetch): ` +
  results.map((r) => `${r.size.toLocaleString('en-US')} x ${nDevices} devices in ${f1(r.initialSyncSeconds)} s (${f0(r.initialItems / r.initialSyncSeconds)} items/s)`).join(', ') +
  `\n- Store calls per request (counted in the server over ${CALL_SAMPLE} requests sent one at a time after the warm-up, with the wall time spent in each method): ` +
  results.map((r) => `${r.size.toLocaleString('en-US')} items: no-change Sync: ${callLine(r.callsSync)}; OPTIONS: ${callLine(r.callsOptions)}`).join('; ') +
  '\n\n' +
  `${header}\n${rows.join('\n')}\n\n` +
  `Latencies are per request as seen by the load generator (ms); rps = all requests of all rounds / their wall time; CPU columns are process CPU time (user+system) over the phases' wall time; "other processes" is the machine's busy time (/proc/stat) minus server, load generator and PostgreSQL: work of other users of this shared machine, which the figures cannot exclude.\n\n` +
  `**Targets**\n\n${verdicts.map((v) => `- ${v}`).join('\n')}\n` +
  (results.some((r) => r.profile) ? `\nCPU profiles of the server during the last Sync phase: ${results.map((r) => r.profile).filter(Boolean).join(', ')}\n` : '');

process.stdout.write(report);
if (args['write-results']) {
  appendResults(report);
  log('appended to bench/RESULTS.md');
}

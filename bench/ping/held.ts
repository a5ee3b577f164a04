/**
 * Many held Pings at once: server memory per held Ping, and the time from a stored change to the
 * Ping's answer.
 *
 *   node --import tsx bench/ping/held.ts [--users 100] [--devices 100] [--heartbeat 3540]
 *        [--sample-users 20] [--gap-ms 300] [--burst-users 10] [--batch 500] [--profile DIR]
 *        [--heap-snapshots DIR] [--known-devices] [--write-results]
 *
 * A fresh SQLite store (removed after) with `--users` users, each with the default folders and an
 * empty Inbox; the server in its own process (bench/sync/server.ts) started with --expose-gc.
 * Then:
 * 1. Warm-up: one OPTIONS per user (the user's one scrypt check, cached by the Authenticator for
 *    5 minutes), and two rounds of 200 Pings of a warm-up user (one per round) held and then answered
 *    by a change, so the Ping path is compiled before the first memory reading.
 * 1b. With --known-devices, every device first Pings once and goes away (the server must drop each
 *    held Ping), so both readings have the devices known and only the held requests differ.
 * 2. Memory before: the server's RSS and heap after a forced GC (global.gc, twice).
 * 3. Hold: users x devices Pings, each from its own device (DeviceId) on its own keep-alive
 *    connection, Inbox only, HeartbeatInterval `--heartbeat`; sent in batches of `--batch`,
 *    waiting after each batch until the server holds them all (its count of open change
 *    subscriptions). A Ping answered before its user's change is an error.
 * 4. Memory after (forced GC again): (RSS after - RSS before) / held Pings.
 * 5. Change to answer: for `--sample-users` users one at a time, `--gap-ms` apart, the server
 *    stores one e-mail in the user's Inbox (Store.putItem, in the server process, where SQLite's
 *    change notifications are heard); for each of the user's devices the time from the end of
 *    putItem (the commit) to the Ping answer (Status 2, Inbox) arriving at the client, both read
 *    from CLOCK_MONOTONIC (process.hrtime, the same clock in both processes). Then
 *    `--burst-users` more users changed back to back (a burst of devices x burst-users answers).
 * The remaining Pings stay held until the end; then the connections are closed.
 * `--profile DIR` writes a CPU profile of the server during step 5, `--heap-snapshots DIR` heap
 * snapshots of the server at steps 2 and 4 (compare them with bench/ping/heap-diff.ts).
 *
 * Targets (issue "Speed"): under 10 KB of server memory per held Ping; p99 change-to-answer
 * under 200 ms. Needs users x devices file descriptors in each process (ulimit -n).
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hashPassword } from '../../src/auth/password.ts';
import { openSqliteStore } from '../../src/store/sqlite.ts';
import { childText, decodeWbxml, el, encodeWbxml } from '../../src/wbxml/index.ts';
import { ensureDefaultFolders } from '../../test/helpers/default-folders.ts';
import {
  appendResults,
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
  ServerProcess,
  sh,
  sortedCopy,
  type MemUsage,
} from '../sync/common.ts';

const USAGE =
  'usage: node --import tsx bench/ping/held.ts [--users 100] [--devices 100] [--heartbeat 3540] [--sample-users 20] [--gap-ms 300] [--burst-users 10] [--batch 500] [--profile DIR] [--heap-snapshots DIR] [--known-devices] [--write-results]';
const args = parseArgs(
  process.argv.slice(2),
  { users: 'number', devices: 'number', heartbeat: 'number', 'sample-users': 'number', 'gap-ms': 'number', 'burst-users': 'number', batch: 'number', profile: 'string', 'heap-snapshots': 'string', experiment: 'list', 'known-devices': 'boolean', 'write-results': 'boolean' },
  { experiment: [], users: 100, devices: 100, heartbeat: 3540, 'sample-users': 20, 'gap-ms': 300, 'burst-users': 10, batch: 500 },
  USAGE,
);
const nUsers = Math.max(1, Math.min(10_000, Number(args.users)));
const perUser = Math.max(1, Math.min(10_000, Number(args.devices)));
const heartbeat = Number(args.heartbeat);
const sampleUsers = Math.min(nUsers, Number(args['sample-users']));
const burstUsers = Math.min(nUsers - sampleUsers, Number(args['burst-users']));
const gapMs = Math.max(0, Math.min(10_000, Number(args['gap-ms'])));
const batch = Math.max(1, Math.min(10_000, Number(args.batch)));
const knownDevices = Boolean(args['known-devices']);
const total = nUsers * perUser;
const commandLine = `node --import tsx bench/ping/held.ts ${process.argv.slice(2).join(' ')}`.trim();
/** Bounds: how long to wait for one batch to be held, and for one user's answers. */
const HOLD_TIMEOUT_MS = 60_000;
const ANSWER_TIMEOUT_MS = 20_000;
const WARM_DEVICES = 200;

interface BenchUser {
  email: string;
  password: string;
  userId: string;
  inboxId: string;
}

interface HeldPing {
  user: number;
  device: number;
  sentAt: bigint;
  answeredAt?: bigint;
  status?: number;
  folders?: string;
  error?: string;
  done: Promise<void>;
}

const m = machine();
const load0 = load();
const ulimit = Number(sh('ulimit -n'));
if (Number.isFinite(ulimit) && ulimit < total + 1000) {
  log(`ulimit -n is ${ulimit}: ${total} held Pings need about ${total + 1000} descriptors per process; expect EMFILE`);
}

// ---------------------------------------------------------------------------------------------
// Store: users with default folders, empty Inboxes (fresh each run: a change leaves the Inbox's
// sequence above the positions of devices that never synced, which would answer their Pings at once)

const dir = mkdtempSync(join(tmpdir(), 'easd-bench-ping-'));
const users: BenchUser[] = [];
const warmUsers: BenchUser[] = [];
{
  const t0 = nowNs();
  const store = await openSqliteStore(dir);
  try {
    const make = async (email: string): Promise<BenchUser> => {
      const password = `pw-${randomBytes(6).toString('hex')}`;
      const user = await store.createUser({ email, passwordHash: await hashPassword(password) });
      const inbox = (await ensureDefaultFolders(store, user.id)).find((f) => f.type === 2)!;
      return { email, password, userId: user.id, inboxId: inbox.id };
    };
    // scrypt runs on the libuv pool: a few at a time.
    for (let i = 0; i < nUsers; i += 8) {
      users.push(...(await Promise.all(Array.from({ length: Math.min(8, nUsers - i) }, (_, j) => make(`ping${i + j}@example.com`)))));
    }
    // One per warm-up round: after its change, a device that never synced gets Status 2 at once.
    for (let w = 0; w < 2; w++) warmUsers.push(await make(`pingwarm${w}@example.com`));
  } finally {
    await store.close();
  }
  log(`store: ${nUsers + 2} users with default folders in ${f1(msSince(t0) / 1000)} s (${dir})`);
}

const experiments = args.experiment as string[];
const srv = await ServerProcess.start({ backend: 'sqlite', dataDir: dir, nodeFlags: ['--expose-gc'], experiments });
const agent = new http.Agent({ keepAlive: true, maxSockets: Infinity });
const pingBody = Buffer.from(
  encodeWbxml(
    el('Ping', 'Ping', el('Ping', 'HeartbeatInterval', heartbeat), el('Ping', 'Folders', el('Ping', 'Folder', el('Ping', 'Id', 'inbox'), el('Ping', 'Class', 'Email')))),
  ),
);

function sendPing(u: BenchUser, user: number, device: number, tag: string): HeldPing {
  const { path, headers } = easRequestParts({ user: u.email, password: u.password, deviceId: `${tag}U${user < 0 ? 'W' : user}D${device}`, deviceType: 'BenchPhone', cmd: 'Ping' });
  const p: HeldPing = { user, device, sentAt: nowNs(), done: Promise.resolve() };
  p.done = rawRequest(agent, srv.port, 'POST', path, headers, pingBody).then(
    (r) => {
      p.answeredAt = process.hrtime.bigint();
      if (r.status !== 200 || r.body.length === 0) {
        p.error = `HTTP ${r.status}`;
        return;
      }
      const root = decodeWbxml(r.body);
      p.status = Number(childText(root, 'Status', 'Ping'));
      p.folders = JSON.stringify(root);
    },
    (err: Error) => {
      p.answeredAt = process.hrtime.bigint();
      p.error = err.message;
    },
  );
  return p;
}

async function waitHeld(expected: number, sent: HeldPing[]): Promise<number> {
  const t0 = Date.now();
  for (;;) {
    const n = await srv.op<number>('subs');
    if (n >= expected) return n;
    const failed = sent.find((p) => p.answeredAt !== undefined);
    if (failed) throw new Error(`a Ping was answered before any change: ${failed.error ?? `Status ${failed.status}`}`);
    if (Date.now() - t0 > HOLD_TIMEOUT_MS) throw new Error(`only ${n} of ${expected} Pings held after ${HOLD_TIMEOUT_MS / 1000} s`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([p, new Promise<never>((_, rej) => (timer = setTimeout(() => rej(new Error(`${what}: timed out after ${ms} ms`)), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}

interface Answer {
  fromCommitMs: number;
  fromPutStartMs: number;
}

let before: MemUsage;
let half: MemUsage | undefined;
let halfCount = 0;
let after: MemUsage;
let holdSeconds = 0;
let heldCount = 0;
let early = 0;
let conns = 0;
const sequential: Answer[] = [];
const burst: Answer[] = [];
const perUserLast: number[] = [];
let putMs: number[] = [];
let answerErrors = 0;
let burstSpanMs = 0;
try {
  // 1. Warm-up
  const tw = nowNs();
  for (const u of [...users, ...warmUsers]) {
    const { headers } = easRequestParts({ user: u.email, password: u.password, deviceId: 'WARM', deviceType: 'BenchPhone', cmd: 'Ping' });
    const r = await rawRequest(agent, srv.port, 'OPTIONS', ENDPOINT, { Authorization: headers.Authorization!, 'User-Agent': headers['User-Agent']! });
    if (r.status !== 200) throw new Error(`OPTIONS for ${u.email}: HTTP ${r.status}`);
  }
  for (let round = 0; round < 2; round++) {
    const wu = warmUsers[round]!;
    const warm = Array.from({ length: WARM_DEVICES }, (_, d) => sendPing(wu, -1, d, `W${round}`));
    await waitHeld(WARM_DEVICES, warm);
    await srv.op('put', { userId: wu.userId, folderId: wu.inboxId });
    await withTimeout(Promise.all(warm.map((p) => p.done)), ANSWER_TIMEOUT_MS, 'warm-up answers');
    if (warm.some((p) => p.status !== 2)) throw new Error('warm-up Pings not answered with Status 2');
  }
  log(`warm-up done in ${f1(msSince(tw) / 1000)} s (auth cache for ${nUsers + 2} users, ${2 * WARM_DEVICES} Pings)`);
  // Let the warm-up's connections go, so they are not counted as held.
  agent.destroy();
  await new Promise((r) => setTimeout(r, 500));

  // 1b. --known-devices: every device Pings once and goes away before the first reading, so the
  // readings compare the same known devices idle and holding a Ping (their partnership rows and
  // the server's per-device cache are in both), the steady state of phones that re-Ping all day.
  const tag = `P${Date.now().toString(36).toUpperCase()}`;
  if (knownDevices) {
    const tk = nowNs();
    const first: HeldPing[] = [];
    for (let start = 0; start < total; start += batch) {
      for (let i = start; i < Math.min(total, start + batch); i++) {
        const user = Math.floor(i / perUser);
        first.push(sendPing(users[user]!, user, i % perUser, tag));
      }
      await waitHeld(first.length, first);
    }
    agent.destroy();
    for (let i = 0; i < 600 && (await srv.op<number>('subs')) > 0; i++) await new Promise((r) => setTimeout(r, 100));
    const left = await srv.op<number>('subs');
    if (left > 0) throw new Error(`${left} Pings still held after their clients went away`);
    log(`known devices: ${total} devices Pinged once and went away in ${f1(msSince(tk) / 1000)} s; the server dropped every one`);
  }

  // 2. Memory before
  before = await srv.op<MemUsage>('mem');
  if (args['heap-snapshots']) log(`heap snapshot: ${await srv.op<string>('heap-snapshot', { file: join(String(args['heap-snapshots']), 'held-before.heapsnapshot') }, 300_000)}`);
  if (!before.gc) log('server has no global.gc: memory readings are without a forced GC');
  log(`server before: RSS ${f1(before.rss / 2 ** 20)} MiB, heap used ${f1(before.heapUsed / 2 ** 20)} MiB of ${f1(before.heapTotal / 2 ** 20)} MiB, external ${f1(before.external / 2 ** 20)} MiB`);

  // 3. Hold users x devices Pings
  const pings: HeldPing[] = [];
  const th = nowNs();
  for (let start = 0; start < total; start += batch) {
    for (let i = start; i < Math.min(total, start + batch); i++) {
      const user = Math.floor(i / perUser);
      pings.push(sendPing(users[user]!, user, i % perUser, tag));
    }
    await waitHeld(pings.length, pings);
    if ((start / batch) % 4 === 3) log(`  ${pings.length} Pings held`);
    // A reading half-way too: the second half's growth is the cost of one more held Ping, without
    // what the first Pings cost once (the heap and the allocator growing their reserves).
    if (half === undefined && pings.length >= total / 2) {
      halfCount = await srv.op<number>('subs');
      half = await srv.op<MemUsage>('mem');
      log(`server with ${halfCount} held: RSS ${f1(half.rss / 2 ** 20)} MiB, heap used ${f1(half.heapUsed / 2 ** 20)} MiB`);
    }
  }
  holdSeconds = msSince(th) / 1000;
  await new Promise((r) => setTimeout(r, 1000));
  heldCount = await srv.op<number>('subs');
  conns = await srv.op<number>('conns');
  early = pings.filter((p) => p.answeredAt !== undefined).length;
  log(`${heldCount} Pings held (${conns} connections) after ${f1(holdSeconds)} s; answered early: ${early}`);

  // 4. Memory after
  after = await srv.op<MemUsage>('mem');
  if (args['heap-snapshots']) log(`heap snapshot: ${await srv.op<string>('heap-snapshot', { file: join(String(args['heap-snapshots']), 'held-after.heapsnapshot') }, 300_000)}`);
  log(`server after: RSS ${f1(after.rss / 2 ** 20)} MiB, heap used ${f1(after.heapUsed / 2 ** 20)} MiB of ${f1(after.heapTotal / 2 ** 20)} MiB, external ${f1(after.external / 2 ** 20)} MiB => ${f0((after.rss - before.rss) / heldCount)} bytes RSS per held Ping`);

  // 5. Change -> answer
  const byUser = (u: number) => pings.filter((p) => p.user === u);
  const collect = (u: number, put: { t0: string; t1: string }, into: Answer[]) => {
    for (const p of byUser(u)) {
      if (p.error || p.status !== 2 || !p.folders?.includes('inbox')) {
        answerErrors++;
        continue;
      }
      into.push({ fromCommitMs: Number(p.answeredAt! - BigInt(put.t1)) / 1e6, fromPutStartMs: Number(p.answeredAt! - BigInt(put.t0)) / 1e6 });
    }
  };
  if (args.profile) await srv.op('profile-start');
  for (let u = 0; u < sampleUsers; u++) {
    const put = await srv.op<{ t0: string; t1: string }>('put', { userId: users[u]!.userId, folderId: users[u]!.inboxId });
    putMs.push(Number(BigInt(put.t1) - BigInt(put.t0)) / 1e6);
    await withTimeout(Promise.all(byUser(u).map((p) => p.done)), ANSWER_TIMEOUT_MS, `answers of user ${u}`);
    const mark = sequential.length;
    collect(u, put, sequential);
    perUserLast.push(Math.max(...sequential.slice(mark).map((a) => a.fromCommitMs)));
    await new Promise((r) => setTimeout(r, gapMs));
  }
  log(`sequential: ${sequential.length} answers from ${sampleUsers} users`);
  if (args.profile) log(`CPU profile: ${await srv.op<string>('profile-stop', { file: join(String(args.profile), `held-${total}-changes.cpuprofile`) })}`);
  if (burstUsers > 0) {
    const ids = Array.from({ length: burstUsers }, (_, i) => sampleUsers + i);
    const puts = await Promise.all(ids.map((u) => srv.op<{ t0: string; t1: string }>('put', { userId: users[u]!.userId, folderId: users[u]!.inboxId })));
    await withTimeout(Promise.all(ids.flatMap((u) => byUser(u).map((p) => p.done))), ANSWER_TIMEOUT_MS, 'burst answers');
    ids.forEach((u, i) => collect(u, puts[i]!, burst));
    burstSpanMs = Math.max(...burst.map((a) => a.fromCommitMs));
    log(`burst: ${burst.length} answers from ${burstUsers} users`);
  }
  const stillHeld = await srv.op<number>('subs');
  log(`still held at the end: ${stillHeld}`);
} finally {
  agent.destroy();
  await srv.stop();
  rmSync(dir, { recursive: true, force: true });
}
const load1 = load();

// ---------------------------------------------------------------------------------------------
// Report

const perPing = (after!.rss - before!.rss) / heldCount;
const committed = (u: MemUsage) => Object.values(u.spaces ?? {}).reduce((a, b) => a + b, 0);
const committedPerPing = (committed(after!) - committed(before!)) / heldCount;
const marginal = half && heldCount > halfCount ? { rss: (after!.rss - half.rss) / (heldCount - halfCount), heap: (after!.heapUsed - half.heapUsed) / (heldCount - halfCount) } : undefined;
const heapPerPing = (after!.heapUsed - before!.heapUsed) / heldCount;
const extPerPing = (after!.external + after!.arrayBuffers - before!.external - before!.arrayBuffers) / heldCount;
const lat = (xs: Answer[], k: keyof Answer) => sortedCopy(xs.map((a) => a[k]));
const seqC = lat(sequential, 'fromCommitMs');
const seqP = lat(sequential, 'fromPutStartMs');
const burC = lat(burst, 'fromCommitMs');
const memMet = perPing < 10 * 1024;
const latMet = percentile(seqC, 99) < 200;
const burstMet = burst.length === 0 || percentile(burC, 99) < 200;
const latRow = (label: string, s: Float64Array) => `| ${label} | ${s.length} | ${f1(percentile(s, 50))} | ${f1(percentile(s, 90))} | ${f1(percentile(s, 99))} | ${f1(s[s.length - 1] ?? NaN)} |`;
const mib = (b: number) => f1(b / 2 ** 20);
const report =
  `\n## ping: ${heldCount.toLocaleString('en-US')} held Pings, memory and change-to-answer time, sqlite${experiments.length ? `, EXPERIMENT ${experiments.join('+')}` : ''} (${m.date})\n\n` +
  `- Command: \`${commandLine}\` (from the repository root)\n` +
  machineLines(m) +
  (experiments.length ? `- **Experiment (not the code in src/):** ${experiments.join(', ')} (bench-only stand-ins for proposed src/ changes, see bench/sync/server.ts)\n` : '') +
  (args['heap-snapshots'] ? `- Heap snapshots were taken (${String(args['heap-snapshots'])}): writing them grows the RSS, so the RSS figures of this run are not comparable\n` : '') +
  (args.profile ? `- A CPU profile of the server was recorded during the change phase (sampling adds overhead to the latencies)\n` : '') +
  `- Backend: SQLite (better-sqlite3, WAL), fresh store removed after; change notifications in-process\n` +
  `- Load average (1/5/15 min) before: ${fmtLoad(load0)}, after: ${fmtLoad(load1)}\n` +
  `- Setup: server in its own node process (bench/sync/server.ts with --expose-gc, log level info to /dev/null); the load generator (this process, node:http with one keep-alive connection per device) holds the other ends; both share the 2 cores. ` +
  `Each process needs one descriptor per connection: ulimit -n is ${m.ulimitN} here (soft = hard; raising it is not permitted in this container), enough for ${total.toLocaleString('en-US')} per process.\n` +
  `- Load: ${nUsers} users x ${perUser} devices = ${total.toLocaleString('en-US')} Pings (Inbox, HeartbeatInterval ${heartbeat}), sent in batches of ${batch}, each batch waited on until held; ` +
  `all ${heldCount.toLocaleString('en-US')} held after ${f1(holdSeconds)} s (${f0(heldCount / holdSeconds)} Pings/s accepted), ${conns.toLocaleString('en-US')} open connections on the server, ${early} answered early\n` +
  `- Warm-up before the first reading: one OPTIONS per user (the Authenticator's scrypt check, then cached) and 2 x ${WARM_DEVICES} Pings held and answered${knownDevices ? `; then (--known-devices) each of the ${total.toLocaleString('en-US')} devices Pinged once and went away, so the devices are known in both readings` : '; the measured devices are new to the server (their partnership rows and per-device cache entries are part of the growth)'}\n\n` +
  `| server memory (forced GC before each reading) | before | with ${heldCount.toLocaleString('en-US')} held | per held Ping |\n|---|---:|---:|---:|\n` +
  `| RSS | ${mib(before!.rss)} MiB | ${mib(after!.rss)} MiB | **${f0(perPing)} bytes (${f2(perPing / 1024)} KB)** |\n` +
  `| V8 heap used | ${mib(before!.heapUsed)} MiB | ${mib(after!.heapUsed)} MiB | ${f0(heapPerPing)} bytes |\n` +
  `| V8 heap committed (all spaces) | ${mib(committed(before!))} MiB | ${mib(committed(after!))} MiB | ${f0(committedPerPing)} bytes |\n` +
  `| RSS outside the V8 heap (sockets, HTTP parsers, allocator) | ${mib(before!.rss - committed(before!))} MiB | ${mib(after!.rss - committed(after!))} MiB | ${f0(perPing - committedPerPing)} bytes |\n` +
  `| external + array buffers | ${mib(before!.external + before!.arrayBuffers)} MiB | ${mib(after!.external + after!.arrayBuffers)} MiB | ${f0(extPerPing)} bytes |\n` +
  (marginal
    ? `\nSecond half alone (from ${halfCount.toLocaleString('en-US')} to ${heldCount.toLocaleString('en-US')} held, RSS ${mib(half!.rss)} -> ${mib(after!.rss)} MiB): ${f0(marginal.rss)} bytes RSS and ${f0(marginal.heap)} bytes of heap per held Ping.\n`
    : '') +
  '\n' +
  `Change to answer: the server stores one e-mail in a user's Inbox (Store.putItem in the server process; it took ${f1(percentile(sortedCopy(putMs), 50))} ms median); ` +
  `each of that user's ${perUser} held Pings must answer Status 2 naming the Inbox; time from the end of putItem (commit) to the answer's arrival at the client, CLOCK_MONOTONIC in both processes (ms).\n\n` +
  `| changes | answers | p50 ms | p90 ms | p99 ms | max ms |\n|---|---:|---:|---:|---:|---:|\n` +
  latRow(`${sampleUsers} users one at a time, ${gapMs} ms apart (from commit)`, seqC) +
  '\n' +
  latRow(`same, from the start of putItem`, seqP) +
  '\n' +
  (burst.length ? latRow(`${burstUsers} users changed at once (burst of ${burst.length} answers, from commit)`, burC) + '\n' : '') +
  `\nSlowest answer per changed user (one at a time): median ${f1(percentile(sortedCopy(perUserLast), 50))} ms, max ${f1(Math.max(...perUserLast))} ms. ` +
  (burst.length ? `Burst: the last of ${burst.length} answers after ${f1(burstSpanMs)} ms. ` : '') +
  `Wrong or failed answers: ${answerErrors}.\n\n` +
  `**Targets**\n\n` +
  `- ${memMet ? 'MET' : 'NOT MET'}: memory per held Ping ${f0(perPing)} bytes = ${f2(perPing / 1024)} KB RSS (target < 10 KB)` +
  (marginal ? `; second half alone ${f2(marginal.rss / 1024)} KB (${marginal.rss < 10 * 1024 ? 'under' : 'over'} 10 KB)` : '') +
  '\n' +
  `- ${latMet ? 'MET' : 'NOT MET'}: change-to-answer p99 ${f1(percentile(seqC, 99))} ms with changes one user at a time (target < 200 ms)` +
  (burst.length ? `; burst of ${burstUsers} users: p99 ${f1(percentile(burC, 99))} ms (${burstMet ? 'also under' : 'over'} 200 ms)` : '') +
  '\n';

process.stdout.write(report);
if (args['write-results']) {
  appendResults(report);
  log('appended to bench/RESULTS.md');
}

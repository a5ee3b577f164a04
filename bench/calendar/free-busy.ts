/**
 * Free/busy benchmark: 50 users with 200 recurring series each, over 3 months.
 *
 *   node --import tsx bench/calendar/free-busy.ts [--users 50] [--series 200] [--rounds 20] [--backend sqlite|postgres] [--write-results]
 *
 * Seeds a fresh store (SQLite in a temporary directory, or a fresh PostgreSQL schema dropped at
 * the end): one requesting user and N users whose default Calendar holds S recurring series each
 * (deterministic: daily, weekly on one to three weekdays, monthly on a day, monthly on the nth
 * weekday; zones Europe/Berlin, America/New_York, Asia/Tokyo and UTC; 30 to 120 minutes; busy,
 * tentative or out of office; every fourth series with a moved and a deleted occurrence; series
 * starting up to a year before the range, some ending inside it).
 *
 * Two measurements:
 * 1. HTTP: the benchmark server in its own process (bench/sync/server.ts, production handlers),
 *    the requester's ResolveRecipients with the N users as To and Availability. A request may
 *    span at most 42 days (MS-ASCMD 2.2.3.61.1), so 3 months (1 January to 1 April 2026, 90 days)
 *    are 3 requests of 30 days; each is timed (client-side, keep-alive) and the 3 summed.
 * 2. In process: the pure computation alone (busyIntervals + mergedFreeBusy over the 90 days for
 *    the N users, items already in memory) and with the store reads (the same code path the
 *    command uses, userMergedFreeBusy), to show where the time goes.
 *
 * Measurements, not tests: nothing here fails on a slow result.
 */
import http from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';

import { hashPassword } from '../../src/auth/password.ts';
import { occurrencesOf } from '../../src/calendar/event.ts';
import { busyIntervals, mergedFreeBusy } from '../../src/calendar/free-busy.ts';
import { FreeBusyCache } from '../../src/commands/answer-caches.ts';
import { userMergedFreeBusy } from '../../src/commands/resolve-recipients.ts';
import { openPostgresStore } from '../../src/store/postgres.ts';
import { openSqliteStore } from '../../src/store/sqlite.ts';
import { StoreMailbox } from '../../src/store/store-mailbox.ts';
import type { JsonObject, Store } from '../../src/store/types.ts';
import { ensureDefaultFolders } from '../../test/helpers/default-folders.ts';
import { child, childText, children, decodeWbxml, el, encodeWbxml } from '../../src/wbxml/index.ts';
import {
  appendResults,
  dropSchema,
  easRequestParts,
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
  PG_URL,
  rawRequest,
  rng,
  ServerProcess,
  sortedCopy,
} from '../sync/common.ts';

const args = parseArgs(
  process.argv.slice(2),
  { users: 'number', series: 'number', rounds: 'number', backend: 'string', 'write-results': 'boolean' },
  { users: 50, series: 200, rounds: 20, backend: 'sqlite', 'write-results': false },
  'usage: bench/calendar/free-busy.ts [--users N] [--series S] [--rounds R] [--backend sqlite|postgres] [--write-results]',
);
const USERS = args.users as number;
const SERIES = args.series as number;
const ROUNDS = args.rounds as number;
const BACKEND = args.backend as 'sqlite' | 'postgres';

const RANGE_START = Date.parse('2026-01-01T00:00:00Z');
const DAY = 86_400_000;
const RANGE_DAYS = 90;
const REQUEST_DAYS = 30;
const PASSWORD = 'bench-password-1';
const ZONES = ['Europe/Berlin', 'America/New_York', 'Asia/Tokyo', 'UTC'];

/** One recurring series in the stored shape of the Calendar class (src/classes/calendar.ts). */
function seriesData(random: () => number, i: number): JsonObject {
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(random() * xs.length)]!;
  const zone = pick(ZONES);
  // Start up to a year before the range, on a whole quarter hour between 06:00 and 18:00 UTC.
  const startDay = RANGE_START - Math.floor(random() * 365) * DAY;
  const start = startDay + (6 * 60 + Math.floor(random() * 48) * 15) * 60_000;
  const minutes = pick([30, 45, 60, 90, 120]);
  const kind = pick(['daily', 'weekly', 'weekly', 'weekly', 'monthly', 'monthlyNth']);
  const weekday = new Date(start).getUTCDay();
  let recurrence: JsonObject;
  switch (kind) {
    case 'daily':
      recurrence = { type: 0, interval: pick([1, 2, 7]) };
      break;
    case 'weekly':
      recurrence = { type: 1, interval: pick([1, 1, 2]), dayOfWeek: (1 << weekday) | (random() < 0.5 ? 1 << ((weekday + 2) % 7) : 0) };
      break;
    case 'monthly':
      recurrence = { type: 2, interval: 1, dayOfMonth: new Date(start).getUTCDate() };
      break;
    default:
      recurrence = { type: 3, interval: 1, dayOfWeek: 1 << weekday, weekOfMonth: pick([1, 2, 3, 4, 5]) };
  }
  // A fifth of the series end: by count or by a date inside the range.
  if (random() < 0.1) recurrence['occurrences'] = 20 + Math.floor(random() * 100);
  else if (random() < 0.1) recurrence['until'] = new Date(RANGE_START + Math.floor(random() * RANGE_DAYS) * DAY).toISOString();
  const data: JsonObject = {
    subject: `Series ${i}`,
    uid: `bench-${randomBytes(8).toString('hex')}`,
    timeZone: zone,
    busyStatus: pick([2, 2, 2, 1, 3]),
    startTime: new Date(start).toISOString(),
    endTime: new Date(start + minutes * 60_000).toISOString(),
    recurrence,
  };
  return data;
}

/** Every fourth series gets a moved and a deleted occurrence inside the range (found by expanding). */
function withExceptions(data: JsonObject, random: () => number): JsonObject {
  const occ = occurrencesOf(data, new Date(RANGE_START), new Date(RANGE_START + RANGE_DAYS * DAY));
  if (occ.length < 2) return data;
  const a = occ[Math.floor(random() * occ.length)]!;
  const b = occ.find((o) => o !== a)!;
  return {
    ...data,
    exceptions: [
      { exceptionStartTime: a.originalStart.toISOString(), startTime: new Date(a.start.getTime() + 2 * 3_600_000).toISOString(), endTime: new Date(a.end.getTime() + 2 * 3_600_000).toISOString(), busyStatus: 1 },
      { exceptionStartTime: b.originalStart.toISOString(), deleted: true },
    ],
  };
}

interface Seeded {
  requester: string;
  users: { id: string; email: string }[];
  items: Map<string, JsonObject[]>;
  seconds: number;
}

async function seed(store: Store): Promise<Seeded> {
  const t0 = nowNs();
  const hash = await hashPassword(PASSWORD);
  const random = rng(20261125);
  const requester = await store.createUser({ email: 'requester@example.com', passwordHash: hash, displayName: 'Requester' });
  await ensureDefaultFolders(store, requester.id);
  const users: Seeded['users'] = [];
  const items = new Map<string, JsonObject[]>();
  for (let u = 0; u < USERS; u++) {
    const email = `user${String(u).padStart(3, '0')}@example.com`;
    const user = await store.createUser({ email, passwordHash: hash, displayName: `User ${u}` });
    const cal = (await ensureDefaultFolders(store, user.id)).find((f) => f.type === 8)!;
    const list: JsonObject[] = [];
    for (let s = 0; s < SERIES; s++) {
      let data = seriesData(random, s);
      if (s % 4 === 0) data = withExceptions(data, random);
      await store.putItem({ userId: user.id, folderId: cal.id, class: 'Calendar', data, uid: data['uid'] as string });
      list.push(data);
    }
    users.push({ id: user.id, email });
    items.set(user.id, list);
  }
  return { requester: requester.email, users, items, seconds: msSince(t0) / 1000 };
}

const stats = (xs: number[]) => {
  const s = sortedCopy(xs);
  return { p50: percentile(s, 50), p90: percentile(s, 90), max: s[s.length - 1]!, mean: xs.reduce((a, b) => a + b, 0) / xs.length };
};

async function main(): Promise<void> {
  const m = machine();
  let dataDir: string | undefined;
  let schema: string | undefined;
  let store: Store;
  if (BACKEND === 'sqlite') {
    dataDir = mkdtempSync(join(tmpdir(), 'easd-bench-fb-'));
    store = await openSqliteStore(dataDir);
  } else {
    schema = `easd_bench_${randomBytes(5).toString('hex')}`;
    store = await openPostgresStore(PG_URL, { schema });
  }
  let server: ServerProcess | undefined;
  try {
    log(`seeding ${USERS} users x ${SERIES} series (${BACKEND})`);
    const seeded = await seed(store);
    log(`seeded in ${f1(seeded.seconds)} s`);

    // In process: the computation alone, then with the store reads.
    const from = new Date(RANGE_START);
    const to = new Date(RANGE_START + RANGE_DAYS * DAY);
    const pure: number[] = [];
    const withStore: number[] = [];
    let busySlots = 0;
    for (let r = 0; r < ROUNDS + 2; r++) {
      let t = nowNs();
      busySlots = 0;
      for (const u of seeded.users) {
        const digits = mergedFreeBusy(busyIntervals(seeded.items.get(u.id)!, from, to), from, to);
        for (let i = 0; i < digits.length; i++) if (digits.charCodeAt(i) !== 48) busySlots++;
      }
      if (r >= 2) pure.push(msSince(t));
      t = nowNs();
      // Each round's range starts half an hour later, so the command's per-user cache (valid
      // for one range while the calendar is unchanged) does not answer.
      const shifted = new Date(from.getTime() + r * 1_800_000);
      const shiftedTo = new Date(to.getTime() + r * 1_800_000);
      const cache = new FreeBusyCache();
      for (const u of seeded.users) await userMergedFreeBusy(new StoreMailbox(store, u.id), cache, shifted, shiftedTo);
      if (r >= 2) withStore.push(msSince(t));
    }
    await store.close();

    // Over HTTP against the server in its own process.
    server = await ServerProcess.start({ backend: BACKEND, dataDir, schema, logLevel: 'info' });
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const { path, headers } = easRequestParts({ user: seeded.requester, password: PASSWORD, deviceId: 'FBBENCH1', deviceType: 'Bench', cmd: 'ResolveRecipients', version: '16.1' });
    /** The 3 request bodies covering the 90 days, starting `shiftMs` later (a different range each round: no cache hits). */
    const bodiesFor = (shiftMs: number) => {
    const bodies: Buffer[] = [];
    for (let k = 0; k < RANGE_DAYS / REQUEST_DAYS; k++) {
      const s = new Date(RANGE_START + shiftMs + k * REQUEST_DAYS * DAY).toISOString();
      const e = new Date(RANGE_START + shiftMs + (k + 1) * REQUEST_DAYS * DAY).toISOString();
      const NS = 'ResolveRecipients';
      const tree = el(NS, 'ResolveRecipients', ...seeded.users.map((u) => el(NS, 'To', u.email)), el(NS, 'Options', el(NS, 'Availability', el(NS, 'StartTime', s), el(NS, 'EndTime', e))));
      bodies.push(Buffer.from(encodeWbxml(tree)));
    }
    return bodies;
    };
    const bodies = bodiesFor(-1_800_000);
    // Check one answer: every user Status 1 with 1440 digits.
    const check = await rawRequest(agent, server.port, 'POST', path, headers, bodies[0]);
    if (check.status !== 200) throw new Error(`ResolveRecipients HTTP ${check.status}`);
    const top = decodeWbxml(check.body);
    const responses = children(top, 'Response', 'ResolveRecipients');
    if (responses.length !== USERS) throw new Error(`expected ${USERS} responses, got ${responses.length}`);
    for (const resp of responses) {
      const avail = child(children(resp, 'Recipient', 'ResolveRecipients')[0]!, 'Availability', 'ResolveRecipients')!;
      if (childText(avail, 'Status', 'ResolveRecipients') !== '1' || childText(avail, 'MergedFreeBusy', 'ResolveRecipients')!.length !== REQUEST_DAYS * 48) {
        throw new Error('unexpected Availability in the answer');
      }
    }
    const perRequest: number[] = [];
    const perQuarter: number[] = [];
    const responseBytes = check.body.length;
    const cpu0 = await server.op<{ user: number; system: number }>('cpu');
    const wall0 = nowNs();
    for (let r = 0; r < ROUNDS + 2; r++) {
      let quarter = 0;
      for (const body of bodiesFor(r * 1_800_000)) {
        const t = nowNs();
        const res = await rawRequest(agent, server.port, 'POST', path, headers, body);
        const ms = msSince(t);
        if (res.status !== 200) throw new Error(`HTTP ${res.status}`);
        quarter += ms;
        if (r >= 2) perRequest.push(ms);
      }
      if (r >= 2) perQuarter.push(quarter);
    }
    const wall = msSince(wall0);
    const cpu1 = await server.op<{ user: number; system: number }>('cpu');
    const serverCpuMs = (cpu1.user + cpu1.system - cpu0.user - cpu0.system) / 1000;
    // The same range asked again with no calendar changed (a phone's scheduling view refreshing):
    // answered from the per-user cache after reading each user's folder list.
    const repeated: number[] = [];
    await rawRequest(agent, server.port, 'POST', path, headers, bodies[0]);
    for (let r = 0; r < ROUNDS; r++) {
      const t = nowNs();
      const res = await rawRequest(agent, server.port, 'POST', path, headers, bodies[0]);
      repeated.push(msSince(t));
      if (res.status !== 200 || !res.body.equals(check.body)) throw new Error('repeated answer differs');
    }
    agent.destroy();

    const req = stats(perRequest);
    const rep = stats(repeated);
    const q = stats(perQuarter);
    const p = stats(pure);
    const ws = stats(withStore);
    const lines = [
      `| ResolveRecipients over HTTP, ${USERS} To, 30 days | ${perRequest.length} | ${f2(req.p50)} | ${f2(req.p90)} | ${f2(req.max)} | ${f2(req.p50 / USERS)} |`,
      `| the same 30 days asked again, calendars unchanged (cached) | ${repeated.length} | ${f2(rep.p50)} | ${f2(rep.p90)} | ${f2(rep.max)} | ${f2(rep.p50 / USERS)} |`,
      `| the 3 requests covering 90 days | ${perQuarter.length} | ${f2(q.p50)} | ${f2(q.p90)} | ${f2(q.max)} | ${f2(q.p50 / USERS)} |`,
      `| in process: store reads + computation, 90 days | ${withStore.length} | ${f2(ws.p50)} | ${f2(ws.p90)} | ${f2(ws.max)} | ${f2(ws.p50 / USERS)} |`,
      `| in process: computation only (busyIntervals + mergedFreeBusy), 90 days | ${pure.length} | ${f2(p.p50)} | ${f2(p.p90)} | ${f2(p.max)} | ${f2(p.p50 / USERS)} |`,
    ];
    const section =
      `\n## Calendar: free/busy for ${USERS} users with ${SERIES} recurring series each over 3 months (bench/calendar/free-busy.ts)\n\n` +
      `- Command: \`node --import tsx bench/calendar/free-busy.ts${process.argv.slice(2).length ? ' ' + process.argv.slice(2).join(' ') : ''}\`\n` +
      machineLines(m) +
      `- Setup: ${BACKEND}; ${USERS} users x ${SERIES} series = ${USERS * SERIES} calendar items (daily, weekly, monthly, monthly-nth; 4 zones; every fourth series with a moved and a deleted occurrence), seeded in ${f1(seeded.seconds)} s; ${busySlots} of ${USERS * RANGE_DAYS * 48} half hours busy, tentative or out of office over the 90 days. ` +
      `HTTP: the server in its own process (bench/sync/server.ts), one keep-alive connection, requests one after another; one request names all ${USERS} users (Availability at most 42 days per request, MS-ASCMD 2.2.3.61.1, so 90 days = 3 requests of 30 days); answer ${responseBytes} bytes of WBXML; server CPU ${f0ms(serverCpuMs)} ms over ${f0ms(wall)} ms of requests. Each round's ranges start 30 minutes after the previous round's, so the per-user cache of the command (one range, valid while the calendar folder is unchanged) never answers except in the "asked again" row. In process: this process, items in memory (computation only) or read from the store as the command does. ${ROUNDS} rounds after 2 warm-up rounds. Load average ${fmtLoad(load())}.\n\n` +
      `| what | samples | p50 ms | p90 ms | max ms | p50 ms per user |\n|---|---|---|---|---|---|\n` +
      lines.join('\n') +
      '\n';
    process.stdout.write(section);
    if (args['write-results']) appendResults(section);
  } finally {
    if (server) await server.stop();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
    if (schema) await dropSchema(schema).catch(() => {});
  }
}

const f0ms = (x: number) => Math.round(x).toString();

await main();

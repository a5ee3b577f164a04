/**
 * The fuzzer (issue 15 "Keep it true"): a real easd (bench/fuzz/server.ts, its own process) on a
 * fresh store, two users, and a bounded run of damaged requests from a seed. It reports crashes
 * (the server process exits), hangs (no answer within the bound, or an OPTIONS probe unanswered),
 * unexpected 5xx answers (each request saved for replay), error-level log lines, RSS and heap
 * growth, the longest event-loop stall, and cross-user reach (the second user's secret in any
 * answer to the first user). bench/fuzz/run.ts is the command line; test/fuzz runs a short run.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { encodeWbxml, el } from '../../src/wbxml/index.ts';
import { ENDPOINT, WBXML_CONTENT_TYPE } from '../../src/http/activesync.ts';
import { basicAuth, encodePlainQuery } from '../../test/helpers/eas-client.ts';
import type { DeviceState } from './corpus.ts';
import { generate, type Operation } from './generate.ts';
import { Rng } from './rng.ts';
import { deliverLmtp, sendHttp, type FuzzHttpRequest, type Outcome } from './send.ts';
import { learn, newDevice } from './state.ts';
import { knownErrorLine, knownIssue } from './known.ts';

const here = dirname(fileURLToPath(import.meta.url));
const PG_URL = process.env.EASD_BENCH_PG_URL || process.env.EASD_TEST_PG_URL || 'postgres://postgres@127.0.0.1:5432/test';

export interface FuzzOptions {
  /** HTTP requests to send (LMTP deliveries and vCard imports come on top, about 10%). */
  requests: number;
  seed: number;
  backend: 'sqlite' | 'postgres';
  /** Stop sending after this many seconds whatever the count. */
  timeLimitSec: number;
  concurrency?: number;
  /** A request with no answer after this is a hang (held Ping/Sync excepted). */
  hangMs?: number;
  /** A Ping or held Sync is let go (aborted, not a hang) after this. */
  holdMs?: number;
  /** Largest huge string a mutation makes. */
  hugeMax?: number;
  failuresDir?: string;
  protection?: 'on' | 'off';
  /** Progress lines to stderr every this many ms (0: none). */
  progressMs?: number;
}

export interface Failure {
  kind: '5xx' | 'hang' | 'cross-user' | 'crash' | 'vcard-fault' | 'lmtp-4xx';
  label: string;
  detail: string;
  file?: string;
}

export interface FuzzReport {
  seed: number;
  backend: string;
  http: number;
  lmtp: number;
  vcard: number;
  durationMs: number;
  stoppedBy: 'count' | 'time' | 'crash';
  statuses: Record<string, number>;
  labels: Record<string, number>;
  unexpected5xx: number;
  known: Record<string, number>;
  hangs: number;
  held: number;
  closedWithoutAnswer: number;
  crashed: boolean;
  crossUser: number;
  failures: Failure[];
  errorLines: string[];
  errorCount: number;
  warnCount: number;
  rssStart: number;
  rssEnd: number;
  heapStart: number;
  heapEnd: number;
  maxStallMs: number;
  worstStallLabels: string[];
  lmtpCodes: Record<string, number>;
  /** Operations the fuzzer failed to generate (its own bugs). */
  fuzzerErrors: number;
  loadBefore: number[];
  loadAfter: number[];
}

/** The second user's secret: in subjects and bodies of its items, never in an answer to the first. */
export const MARKER = 'ZQX7-SECRET-OF-B';
const A = { email: 'fuzz-a@example.com', password: 'fuzz-a-password-1' };
const B = { email: 'fuzz-b@example.com', password: 'fuzz-b-password-1' };

class Server {
  child!: ChildProcess;
  port = 0;
  lmtpPort = 0;
  exited: Promise<number | null> = Promise.resolve(null);
  exitCode: number | null | undefined;
  output = '';
  #seq = 0;
  #pending = new Map<number, (v: unknown) => void>();

  async start(o: FuzzOptions, dataDir: string, schema: string): Promise<void> {
    const args = ['--backend', o.backend, '--users', `${A.email}:${A.password},${B.email}:${B.password}`, '--protection', o.protection ?? 'off'];
    args.push(...(o.backend === 'postgres' ? ['--database', PG_URL, '--schema', schema] : ['--data', dataDir]));
    this.child = fork(join(here, 'server.ts'), args, { execArgv: ['--expose-gc', '--import', 'tsx'], stdio: ['ignore', 'pipe', 'pipe', 'ipc'] });
    this.exited = new Promise((res) => this.child.once('exit', (code, signal) => {
      this.exitCode = code ?? (signal ? -1 : null);
      res(this.exitCode);
    }));
    const keep = (d: Buffer) => {
      this.output = (this.output + d.toString()).slice(-20_000);
    };
    this.child.stderr!.on('data', keep);
    this.child.on('error', (err) => keep(Buffer.from(`\nchild process error: ${err.message}\n`)));
    this.child.on('message', (m: { id: number; ok: boolean; result?: unknown; error?: string }) => this.#pending.get(m.id)?.(m.ok ? m.result : { error: m.error }));
    const ready = await new Promise<string>((res, rej) => {
      let out = '';
      this.child.stdout!.on('data', (d: Buffer) => {
        out += d.toString();
        keep(d);
        const m = /READY (\d+) (\d+)/.exec(out);
        if (m) res(m[0]);
      });
      void this.exited.then(() => rej(new Error(`fuzz server exited before it was ready: ${this.output}`)));
    });
    const [, p, l] = ready.split(' ');
    this.port = Number(p);
    this.lmtpPort = Number(l);
  }

  ask<T>(op: string, extra: Record<string, unknown> = {}, timeoutMs = 120_000): Promise<T | undefined> {
    if (this.exitCode !== undefined) return Promise.resolve(undefined);
    const id = ++this.#seq;
    return new Promise((res) => {
      const t = setTimeout(() => {
        this.#pending.delete(id);
        res(undefined);
      }, timeoutMs);
      this.#pending.set(id, (v) => {
        clearTimeout(t);
        this.#pending.delete(id);
        res(v as T);
      });
      // The channel may be gone already (the server died): the exit is reported, not this.
      this.child.send({ id, op, ...extra }, (err) => {
        if (err) {
          clearTimeout(t);
          this.#pending.delete(id);
          res(undefined);
        }
      });
    });
  }
}

interface Stats { rss: number; heapUsed: number; maxStallMs: number; errorLines: string[]; errorCount: number; warnCount: number }

export async function runFuzz(o: FuzzOptions): Promise<FuzzReport> {
  const concurrency = o.concurrency ?? 4;
  const hangMs = o.hangMs ?? 30_000;
  const holdMs = o.holdMs ?? 3_000;
  const hugeMax = o.hugeMax ?? 1_000_000;
  const failuresDir = o.failuresDir ?? join(tmpdir(), `easd-fuzz-failures-${o.seed}`);
  const dataDir = mkdtempSync(join(tmpdir(), 'easd-fuzz-'));
  const schema = `easd_fuzz_${process.pid}_${Date.now().toString(36)}`;
  const marker = Buffer.from(MARKER);
  const server = new Server();
  const report: FuzzReport = {
    seed: o.seed, backend: o.backend, http: 0, lmtp: 0, vcard: 0, durationMs: 0, stoppedBy: 'count', statuses: {}, labels: {}, unexpected5xx: 0, known: {},
    hangs: 0, held: 0, closedWithoutAnswer: 0, crashed: false, crossUser: 0, failures: [], errorLines: [], errorCount: 0, warnCount: 0,
    rssStart: 0, rssEnd: 0, heapStart: 0, heapEnd: 0, maxStallMs: 0, worstStallLabels: [], lmtpCodes: {}, fuzzerErrors: 0, loadBefore: loadavg(), loadAfter: [],
  };
  const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency * 2 });
  const probeAgent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  let saved = 0;
  const save = (f: Failure, payload: unknown) => {
    if (saved < 200) {
      mkdirSync(failuresDir, { recursive: true });
      f.file = join(failuresDir, `${String(++saved).padStart(4, '0')}-${f.kind}.json`);
      writeFileSync(f.file, JSON.stringify(payload, null, 1));
    }
    if (report.failures.length < 500) report.failures.push(f);
  };
  const inFlight = new Map<number, Operation>();
  const takeLines = (lines: string[] | undefined) => {
    for (const l of lines ?? []) {
      const known = knownErrorLine(l);
      if (known) report.known[`${known}: error line`] = (report.known[`${known}: error line`] ?? 0) + 1;
      else if (report.errorLines.length < 500) report.errorLines.push(l);
    }
  };
  try {
    await server.start(o, dataDir, schema);
    const devices = await setup(server, marker, concurrency);
    const s0 = await server.ask<Stats>('stats', { gc: true, reset: true });
    report.rssStart = s0?.rss ?? 0;
    report.heapStart = s0?.heapUsed ?? 0;
    takeLines(s0?.errorLines);
    const t0 = performance.now();
    const deadline = t0 + o.timeLimitSec * 1000;
    let next = 0;
    let windowLabels = new Map<string, number>();
    let stop = false;
    // Every 2 s: the longest stall of the window, and an OPTIONS that must be answered (a server-wide hang).
    const watch = setInterval(() => {
      void server.ask<Stats>('stats', { reset: true }, hangMs).then((st) => {
        if (!st) return;
        takeLines(st.errorLines);
        if (st.maxStallMs > report.maxStallMs) {
          report.maxStallMs = st.maxStallMs;
          report.worstStallLabels = [...windowLabels.entries()].sort((a, b) => b[1] - a[1]).slice(0, 8).map(([l, n]) => `${l} x${n}`);
        }
        windowLabels = new Map([...inFlight.values()].map((op) => [op.label, 1]));
      });
      const probe: FuzzHttpRequest = { method: 'OPTIONS', path: ENDPOINT, headers: { Authorization: basicAuth(A.email, A.password) } };
      void sendHttp(probeAgent, server.port, probe, hangMs, marker).then((out) => {
        if (out.kind === 'timeout' && server.exitCode === undefined) {
          report.hangs++;
          save({ kind: 'hang', label: 'probe OPTIONS', detail: `no answer to an OPTIONS probe in ${hangMs} ms; in flight: ${[...inFlight.values()].map((x) => x.label).join(', ')}` }, { inFlight: [...inFlight.values()].map(dump) });
        }
      });
    }, 2000);
    let lastProgress = t0;
    const worker = async (w: number) => {
      const s = devices[w]!;
      while (!stop) {
        if (report.http >= o.requests) break;
        if (performance.now() > deadline) {
          report.stoppedBy = 'time';
          break;
        }
        if (server.exitCode !== undefined) break;
        const index = next++;
        let op: Operation;
        try {
          op = generate(Rng.for(o.seed, index), s, { hugeMax, recipient: A.email });
        } catch (err) {
          // The fuzzer's own fault: counted and shown, the run goes on.
          if (report.fuzzerErrors++ === 0) process.stderr.write(`[fuzz] generating operation ${index} failed: ${(err as Error).stack}\n`);
          continue;
        }
        if (op.type === 'http') report.http++;
        inFlight.set(index, op);
        windowLabels.set(op.label, (windowLabels.get(op.label) ?? 0) + 1);
        try {
          await perform(op, s, index);
        } finally {
          inFlight.delete(index);
        }
        if (o.progressMs && performance.now() - lastProgress > o.progressMs) {
          lastProgress = performance.now();
          const secs = (lastProgress - t0) / 1000;
          process.stderr.write(`[fuzz] ${report.http} http, ${report.lmtp} lmtp, ${report.vcard} vcard in ${secs.toFixed(0)} s (${(report.http / secs).toFixed(0)} req/s); 5xx ${report.unexpected5xx}, hangs ${report.hangs}, cross-user ${report.crossUser}, errors ${report.errorLines.length}, max stall ${report.maxStallMs.toFixed(0)} ms, load ${loadavg()[0]!.toFixed(1)}\n`);
        }
      }
    };
    const count = (key: string, into: Record<string, number>) => (into[key] = (into[key] ?? 0) + 1);
    const perform = async (op: Operation, s: DeviceState, index: number) => {
      count(op.label.split('/')[0]!, report.labels);
      if (op.type === 'vcard') {
        report.vcard++;
        const r = await server.ask<{ ok: boolean; fault?: string }>('vcard', { data: op.data.toString('base64') }, hangMs);
        if (r?.fault) save({ kind: 'vcard-fault', label: op.label, detail: r.fault.slice(0, 500) }, { index, seed: o.seed, vcard: op.data.toString('base64'), fault: r.fault });
        return;
      }
      if (op.type === 'lmtp') {
        report.lmtp++;
        const r = await deliverLmtp(server.lmtpPort, op.from, op.to, op.message, hangMs);
        const key = r.kind === 'timeout' ? 'timeout' : String(r.codes[r.codes.length - 1] ?? 'none');
        count(key, report.lmtpCodes);
        if (r.kind === 'timeout' && server.exitCode === undefined) {
          report.hangs++;
          save({ kind: 'hang', label: op.label, detail: `LMTP session unanswered after ${hangMs} ms` }, { index, seed: o.seed, ...dump(op) });
        } else if (r.kind === 'replies' && r.codes.some((c) => c >= 400 && c < 500)) {
          // 4xx: easd could not store the message (its own fault); 5xx refusals of bad input are fine.
          save({ kind: 'lmtp-4xx', label: op.label, detail: r.text }, { index, seed: o.seed, ...dump(op) });
        }
        return;
      }
      const timeout = op.holdable ? holdMs : hangMs;
      const out: Outcome = await sendHttp(agent, server.port, op.req, timeout, marker);
      if (out.kind === 'timeout') {
        if (server.exitCode !== undefined) return;
        if (op.holdable) {
          report.held++;
          return;
        }
        report.hangs++;
        save({ kind: 'hang', label: op.label, detail: `no answer in ${hangMs} ms` }, { index, seed: o.seed, ...dump(op) });
        return;
      }
      if (out.kind === 'closed') {
        report.closedWithoutAnswer++;
        count(`closed:${out.error}`, report.statuses);
        return;
      }
      count(String(out.status), report.statuses);
      if (out.marker) {
        report.crossUser++;
        save({ kind: 'cross-user', label: op.label, detail: `answer ${out.status} holds the other user's secret` }, { index, seed: o.seed, ...dump(op), response: out.body.toString('base64') });
      }
      if (out.status >= 500) {
        // 503 with Retry-After is the documented answer of a busy or throttled server (MS-ASHTTP
        // 2.2.2.1.1); 501 a method or command easd does not have; GetAttachment answers an unknown
        // attachment with 500 as Exchange does (MS-ASCMD 2.2.1.7). A fault behind any of them still
        // shows as an error line.
        if ((out.status === 503 && out.headers['retry-after']) || out.status === 501 || (out.status === 500 && op.cmd === 'GetAttachment' && out.body.length === 0)) return;
        const known = knownIssue(op, out);
        if (known) {
          count(known, report.known);
          return;
        }
        report.unexpected5xx++;
        save({ kind: '5xx', label: op.label, detail: `${out.status} ${out.body.subarray(0, 200).toString('latin1')}` }, { index, seed: o.seed, status: out.status, ...dump(op), responseHeaders: out.headers, response: out.body.subarray(0, 4096).toString('base64') });
      } else if (op.valid && out.status === 200 && (out.headers['content-type'] ?? '').includes('wbxml')) learn(s, out.body);
    };
    await Promise.race([Promise.all(devices.map((_, w) => worker(w))), server.exited]);
    stop = true;
    clearInterval(watch);
    report.durationMs = performance.now() - t0;
    if (server.exitCode !== undefined) {
      report.crashed = true;
      report.stoppedBy = 'crash';
      save({ kind: 'crash', label: 'server exit', detail: `exit ${server.exitCode}: ${server.output.slice(-2000)}` }, { inFlight: [...inFlight.entries()].map(([i, op]) => ({ index: i, ...dump(op) })), output: server.output });
    } else {
      // Held requests are let go before the end reading, so the RSS compares like with like.
      await new Promise((r) => setTimeout(r, 200));
      const end = await server.ask<Stats>('stats', { gc: true });
      report.rssEnd = end?.rss ?? 0;
      report.heapEnd = end?.heapUsed ?? 0;
      takeLines(end?.errorLines);
      report.errorCount = end?.errorCount ?? 0;
      report.warnCount = end?.warnCount ?? 0;
      report.maxStallMs = Math.max(report.maxStallMs, end?.maxStallMs ?? 0);
    }
  } finally {
    agent.destroy();
    probeAgent.destroy();
    if (server.exitCode === undefined) {
      await server.ask('close', {}, 10_000);
      await Promise.race([server.exited, new Promise((r) => setTimeout(r, 10_000))]);
      if (server.exitCode === undefined) server.child.kill('SIGKILL');
    }
    rmSync(dataDir, { recursive: true, force: true });
    if (o.backend === 'postgres') await dropSchema(schema).catch(() => {});
    report.loadAfter = loadavg();
  }
  return report;
}

function dump(op: Operation): Record<string, unknown> {
  if (op.type === 'http') return { type: 'http', label: op.label, method: op.req.method, path: op.req.path, headers: op.req.headers, raw: op.req.raw, body: op.req.body?.toString('base64') };
  if (op.type === 'lmtp') return { type: 'lmtp', label: op.label, from: op.from, to: op.to, message: op.message.toString('base64') };
  return { type: 'vcard', label: op.label, data: op.data.toString('base64') };
}

async function dropSchema(schema: string): Promise<void> {
  const pg = (await import('pg')).default;
  const c = new pg.Client({ connectionString: PG_URL });
  await c.connect();
  try {
    await c.query(`drop schema if exists "${schema}" cascade`);
  } finally {
    await c.end();
  }
}

/** Valid requests of one device, to set up the run (errors here are the fuzzer's, not findings). */
async function post(server: Server, s: DeviceState, cmd: string, body: ReturnType<typeof el>): Promise<void> {
  const req: FuzzHttpRequest = {
    method: 'POST',
    path: `${ENDPOINT}?${encodePlainQuery({ cmd, user: s.email, deviceId: s.deviceId, deviceType: s.deviceType })}`,
    headers: { Authorization: basicAuth(s.email, s.password), 'MS-ASProtocolVersion': '16.1', 'Content-Type': WBXML_CONTENT_TYPE },
    body: Buffer.from(encodeWbxml(body)),
  };
  const agent = new http.Agent();
  const out = await sendHttp(agent, server.port, req, 120_000, Buffer.from('\0never'));
  agent.destroy();
  if (out.kind !== 'answer' || out.status !== 200) throw new Error(`fuzz setup: ${cmd} failed: ${JSON.stringify(out).slice(0, 300)}`);
  learn(s, out.body);
}

async function syncAll(server: Server, s: DeviceState): Promise<void> {
  await post(server, s, 'FolderSync', el('FolderHierarchy', 'FolderSync', el('FolderHierarchy', 'SyncKey', '0')));
  for (const role of ['inbox', 'calendar', 'contacts', 'tasks', 'notes', 'drafts']) {
    const id = s.folders[role];
    if (!id) continue;
    for (let round = 0; round < 2; round++) {
      await post(server, s, 'Sync', el('AirSync', 'Sync', el('AirSync', 'Collections', el('AirSync', 'Collection', el('AirSync', 'SyncKey', s.syncKeys.get(id) ?? '0'), el('AirSync', 'CollectionId', id), round > 0 && el('AirSync', 'WindowSize', '100'), round > 0 && el('AirSync', 'Options', el('AirSyncBase', 'BodyPreference', el('AirSyncBase', 'Type', '1')))))));
    }
  }
}

/**
 * The second user gets mail, an invitation and a contact holding MARKER; the first user gets
 * ordinary mail with attachments; each fuzzing device (one per worker, all of the first user)
 * learns its collections and items. The second user's ids are every device's `foreign` pool.
 */
async function setup(server: Server, marker: Buffer, devices: number): Promise<DeviceState[]> {
  const rcpt = async (to: string, text: string) => {
    const r = await deliverLmtp(server.lmtpPort, 'setup@example.net', [to], Buffer.from(text), 120_000);
    if (r.kind !== 'replies' || r.codes[r.codes.length - 1] !== 250) throw new Error(`fuzz setup: delivery failed: ${JSON.stringify(r)}`);
  };
  const secret = marker.toString();
  for (let i = 0; i < 3; i++) await rcpt(B.email, `From: x@example.net\r\nTo: ${B.email}\r\nSubject: ${secret} ${i}\r\nMIME-Version: 1.0\r\nContent-Type: text/plain\r\n\r\n${secret} body ${i}\r\n`);
  await rcpt(B.email, `From: org@example.net\r\nTo: ${B.email}\r\nSubject: ${secret} invite\r\nMIME-Version: 1.0\r\nContent-Type: text/calendar; method=REQUEST\r\n\r\nBEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//x//EN\r\nMETHOD:REQUEST\r\nBEGIN:VEVENT\r\nUID:secret-1@example.net\r\nDTSTAMP:20261208T100000Z\r\nDTSTART:20261210T100000Z\r\nDTEND:20261210T110000Z\r\nSUMMARY:${secret} meeting\r\nORGANIZER:mailto:org@example.net\r\nATTENDEE;RSVP=TRUE:mailto:${B.email}\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n`);
  for (let i = 0; i < 5; i++) await rcpt(A.email, `From: x@example.net\r\nTo: ${A.email}\r\nSubject: hello ${i}\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nbody ${i}\r\n--b\r\nContent-Type: application/octet-stream; name="a${i}.bin"\r\nContent-Disposition: attachment; filename="a${i}.bin"\r\nContent-Transfer-Encoding: base64\r\n\r\nAAECAwQFBgcICQ==\r\n--b--\r\n`);
  const b = newDevice('FUZZB0', B.email, B.password, A.email);
  await syncAll(server, b);
  await post(server, b, 'Sync', el('AirSync', 'Sync', el('AirSync', 'Collections', el('AirSync', 'Collection', el('AirSync', 'SyncKey', b.syncKeys.get(b.folders['contacts']!)!), el('AirSync', 'CollectionId', b.folders['contacts']!), el('AirSync', 'Commands', el('AirSync', 'Add', el('AirSync', 'ClientId', '1'), el('AirSync', 'ApplicationData', el('Contacts', 'FirstName', secret), el('Contacts', 'Body', `${secret} notes`))))))));
  const foreign = [...Object.values(b.folders), ...b.items, ...b.fileRefs];
  const out: DeviceState[] = [];
  for (let w = 0; w < devices; w++) {
    const d = newDevice(`FUZZA${w}`, A.email, A.password, B.email);
    await syncAll(server, d);
    d.foreign = foreign;
    out.push(d);
  }
  return out;
}

/** What makes a run fail: anything but a clean report. */
export function findings(r: FuzzReport): number {
  return (r.crashed ? 1 : 0) + r.hangs + r.unexpected5xx + r.errorLines.length + r.crossUser + r.failures.filter((f) => f.kind === 'vcard-fault' || f.kind === 'lmtp-4xx').length;
}

/** Replays saved operations (run.ts --replay) against a fresh server; returns what happened, as text. */
export async function runOne(saved: Array<Record<string, unknown>>, backend: 'sqlite' | 'postgres'): Promise<string> {
  const dataDir = mkdtempSync(join(tmpdir(), 'easd-fuzz-'));
  const schema = `easd_fuzz_${process.pid}_${Date.now().toString(36)}`;
  const server = new Server();
  const lines: string[] = [];
  const agent = new http.Agent({ keepAlive: true });
  try {
    await server.start({ requests: 0, seed: 0, backend, timeLimitSec: 0 }, dataDir, schema);
    await setup(server, Buffer.from(MARKER), 1);
    for (const op of saved) {
      const b64 = (v: unknown) => Buffer.from(String(v ?? ''), 'base64');
      if (op.type === 'lmtp') lines.push(`lmtp ${op.label}: ${JSON.stringify(await deliverLmtp(server.lmtpPort, String(op.from), op.to as string[], b64(op.message), 60_000))}`);
      else if (op.type === 'vcard') lines.push(`vcard: ${JSON.stringify(await server.ask('vcard', { data: op.data }))}`);
      else {
        const req: FuzzHttpRequest = { method: String(op.method), path: String(op.path), headers: op.headers as Record<string, string>, ...(op.body ? { body: b64(op.body) } : {}), ...(op.raw ? { raw: op.raw as { contentLength?: number } } : {}) };
        const out = await sendHttp(agent, server.port, req, 60_000, Buffer.from(MARKER));
        lines.push(`${op.label}: ${out.kind === 'answer' ? `${out.status} ${out.body.subarray(0, 300).toString('latin1')}` : JSON.stringify(out)}`);
      }
    }
    const st = await server.ask<Stats>('stats', {});
    lines.push(`server exit: ${server.exitCode ?? 'still running'}; max stall ${st?.maxStallMs.toFixed(0) ?? '?'} ms; error lines:`, ...(st?.errorLines ?? []));
  } finally {
    agent.destroy();
    if (server.exitCode === undefined) {
      await server.ask('close', {}, 10_000);
      await Promise.race([server.exited, new Promise((r) => setTimeout(r, 10_000))]);
      if (server.exitCode === undefined) server.child.kill('SIGKILL');
    } else lines.push(server.output.slice(-3000));
    rmSync(dataDir, { recursive: true, force: true });
    if (backend === 'postgres') await dropSchema(schema).catch(() => {});
  }
  return lines.join('\n');
}

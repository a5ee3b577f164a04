/**
 * The kill -9 durability check (issue 15, "Keep it true"): the real server (`bin/easd serve`) on
 * SQLite or PostgreSQL takes LMTP deliveries and device syncs while it is killed with SIGKILL at
 * seeded random moments and started again on the same store; at the end the store and the
 * devices are held to what was acknowledged (verify.ts). bench/durability/run.ts is the command;
 * test/store/durability-kill.test.ts runs a short one as part of `npm test`.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { rng } from '../sync/bench-kit.ts';
import { DurableDevice } from './device.ts';
import { Ledger, subjectOf, type MailRecord } from './ledger.ts';
import { lmtpDeliver } from './lmtp.ts';
import { createStoreLocation, seedAccount, ServerControl, type Backend } from './server.ts';
import { verify, type Verification } from './verify.ts';

export interface DurabilityOptions {
  backend: Backend;
  kills: number;
  seed: number;
  /** Devices of the one user (default 3). */
  devices?: number;
  /** Concurrent LMTP connections (default 2). */
  deliverers?: number;
  /**
   * When each generation is killed: after the devices got a random number in [minAnswers,
   * maxAnswers] of answers from it (default 2..20; deliveries go on meanwhile), then a random further 0..jitterMs (default 400), so the
   * kill lands in the middle of requests and deliveries. Counted in work rather than time, so a
   * loaded machine (slow starts, slow requests) still gets work done between kills.
   */
  minAnswers?: number;
  maxAnswers?: number;
  jitterMs?: number;
  /** Stop killing after this many minutes, with fewer kills if need be (the report says how many). */
  maxMinutes?: number;
  /** Steps each device takes after the last kill, with the server up (default 0). */
  stepsAfter?: number;
  log?: (line: string) => void;
}

export interface DurabilityReport {
  backend: Backend;
  seed: number;
  kills: number;
  generations: number;
  seconds: number;
  /** Median and longest start of `easd serve` until it listens, ms. */
  startMedianMs: number;
  startMaxMs: number;
  counts: Ledger['counts'];
  verification: Verification;
  integrity: string;
  /** Unexpected answers seen on the way (not losses by themselves). */
  findings: string[];
  /** error-level log lines of the server (its own faults). */
  serverErrors: string[];
}


const EMAIL = 'durable@example.com';
const PASSWORD = 'durability-password-1';

export async function runDurability(opts: DurabilityOptions): Promise<DurabilityReport> {
  const log = opts.log ?? (() => {});
  const deviceCount = opts.devices ?? 3;
  const minAnswers = opts.minAnswers ?? 2;
  const maxAnswers = opts.maxAnswers ?? 20;
  const jitterMs = opts.jitterMs ?? 400;
  const rand = rng(opts.seed);
  const started = Date.now();
  const loc = await createStoreLocation(opts.backend);
  const ctl = new ServerControl(loc);
  const ledger = new Ledger();
  try {
    const account = await seedAccount(loc, EMAIL, PASSWORD);
    const first = await ctl.start();
    log(`${opts.backend}: easd serve up at ${first.url} (LMTP ${first.lmtpPort}), ${opts.kills} kills to go`);

    let stopping = false;
    let next = 0;
    const deliverer = async () => {
      while (!stopping) {
        const up = await ctl.ready();
        const n = next++;
        const rec: MailRecord = {
          n,
          messageId: `durability-${opts.seed}-${n}@durability.test`,
          delivery: 'pending',
          sentData: false,
          readSent: false,
          readAcked: false,
          deleteSent: false,
          deleteAcked: false,
          moveSent: false,
          moveAcked: false,
          unknown: false,
        };
        ledger.mail.set(n, rec);
        ledger.counts.deliveriesTried++;
        const message = `From: Sender <sender@durability.test>\r\nTo: <${EMAIL}>\r\nSubject: ${subjectOf(n)}\r\nMessage-ID: <${rec.messageId}>\r\nDate: ${new Date().toUTCString()}\r\n\r\nBody of message ${n}.\r\n`;
        const attempt = await lmtpDeliver(up.lmtpPort, EMAIL, message);
        rec.delivery = attempt.outcome;
        rec.sentData = attempt.sentData;
        if (attempt.outcome === 'acked') ledger.counts.deliveriesAcked++;
        else if (attempt.outcome === 'refused') {
          ledger.counts.deliveriesRefused++;
          ledger.finding(`delivery ${n} refused: ${attempt.detail}`);
        } else {
          ledger.counts.deliveriesCut++;
          // Cut while the server was up (not by a kill): worth a look, and a pause.
          if (ctl.isCurrent(up)) await sleep(200);
        }
      }
    };
    const devices = Array.from({ length: deviceCount }, (_, i) => new DurableDevice(i, deviceCount, account, first.url, ctl, ledger, rng(opts.seed * 1000 + i + 1)));
    const driver = async (d: DurableDevice) => {
      await d.setup();
      while (!stopping) await d.step();
      for (let i = 0; i < (opts.stepsAfter ?? 0); i++) await d.step();
    };
    const workers = [...Array.from({ length: opts.deliverers ?? 2 }, deliverer), ...devices.map(driver)];
    // A worker that throws ends the run (and is reported); the others are told to stop.
    let workerError: unknown;
    let stopped: () => void = () => {};
    const stoppedEarly = new Promise<void>((res) => (stopped = res));
    const running = workers.map((w) =>
      w.catch((err: unknown) => {
        workerError ??= err;
        stopping = true;
        stopped();
      }),
    );

    const deadline = opts.maxMinutes === undefined ? Infinity : started + opts.maxMinutes * 60_000;
    for (let k = 1; k <= opts.kills && !stopping && Date.now() < deadline; k++) {
      const target = ctl.answers + minAnswers + Math.floor(rand() * (maxAnswers - minAnswers + 1));
      await Promise.race([ctl.untilAnswers(target), stoppedEarly]);
      await sleep(Math.floor(rand() * jitterMs));
      await ctl.kill();
      await ctl.start();
      if (k % 10 === 0 || k === opts.kills) {
        log(`${opts.backend}: ${k} kills; deliveries ${ledger.counts.deliveriesAcked}/${ledger.counts.deliveriesTried} acknowledged, adds ${ledger.counts.addsAcked}, retries ${ledger.counts.retries}`);
      }
    }
    // The last generation lives on: every device gets answers to what it had in flight.
    await Promise.race([ctl.untilAnswers(ctl.answers + maxAnswers), stoppedEarly]);
    stopping = true;
    await Promise.all(running);
    if (workerError) throw workerError;
    for (const d of devices) await d.converge();
    const code = await ctl.stop();
    if (code !== 0) ledger.finding(`easd serve exited ${code} on SIGTERM`);

    const integrity = await loc.integrity();
    const store = await loc.open();
    let verification: Verification;
    try {
      verification = await verify(store, account.userId, ledger, devices);
    } finally {
      await store.close();
    }
    const starts = [...ctl.startMs].sort((a, b) => a - b);
    return {
      backend: opts.backend,
      seed: opts.seed,
      kills: ctl.generation - 1,
      generations: ctl.generation,
      seconds: Math.round((Date.now() - started) / 1000),
      startMedianMs: starts[Math.floor(starts.length / 2)] ?? 0,
      startMaxMs: starts[starts.length - 1] ?? 0,
      counts: ledger.counts,
      verification,
      integrity,
      findings: ledger.findings,
      serverErrors: ctl.errorLines,
    };
  } finally {
    await ctl.kill().catch(() => {});
    await loc.destroy().catch(() => {});
  }
}

/** The report as text, for the console and bench/RESULTS.md. */
export function formatReport(r: DurabilityReport): string {
  const c = r.counts;
  const v = r.verification;
  return [
    `- Kills: ${r.kills} (${r.generations} server starts; start to listening median ${r.startMedianMs} ms, longest ${r.startMaxMs} ms); ${r.seconds} s in all`,
    `- Deliveries: ${c.deliveriesTried} tried, ${c.deliveriesAcked} acknowledged (250), ${c.deliveriesCut} cut by a kill, ${c.deliveriesRefused} refused; ${v.unackedStored} of the cut ones were stored anyway (the MTA would resend them)`,
    `- Device requests: ${c.syncRequests} Sync, ${c.moveRequests} MoveItems, ${c.folderSyncs} FolderSync; ${c.retries} sent again after a kill`,
    `- Client writes acknowledged: ${c.addsAcked} Adds, ${c.changesAcked} contact Changes, ${c.readsAcked} Read changes, ${c.deletesAcked} Deletes, ${c.movesAcked} moves; ${c.writesRefused} refused; ${c.moveRetriesNotFound} retried moves answered 1 (moved by the cut attempt); ${v.unackedAddsStored} unacknowledged Adds stored`,
    `- Resyncs the server asked for (Sync Status 3 / FolderSync 9): ${c.resyncs}; HTTP 5xx: ${c.http5xx}`,
    `- At the end: ${v.storedMail} messages and ${v.storedContacts} contacts stored; store check: ${r.integrity}`,
    `- Losses or duplicates: ${v.losses.length === 0 ? 'none' : v.losses.length}`,
    ...v.losses.slice(0, 20).map((l) => `  - ${l}`),
    `- Other findings: ${r.findings.length === 0 ? 'none' : r.findings.length}`,
    ...r.findings.slice(0, 20).map((l) => `  - ${l}`),
    `- Server error-level log lines: ${r.serverErrors.length}`,
    ...r.serverErrors.slice(0, 5).map((l) => `  - \`${l.slice(0, 300)}\``),
  ].join('\n');
}

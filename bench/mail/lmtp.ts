/**
 * Mail in: LMTP delivery throughput, then the initial sync of the delivered Inbox.
 *
 *   node --import tsx bench/mail/lmtp.ts [--backend sqlite|postgres|both] [--messages 10000]
 *        [--size-kb 50] [--connections 4] [--truncation 5120] [--window 100] [--write-results]
 *
 * In one process: an easd HTTP server and LMTP listener on loopback over a fresh store (a temp
 * SQLite directory, or a fresh PostgreSQL schema at EASD_BENCH_PG_URL, dropped after), one user.
 * Timed part 1: `--messages` distinct messages of about `--size-kb` KB (multipart/alternative,
 * text and HTML) delivered over `--connections` parallel LMTP connections, one message per
 * transaction, each answered 250 by easd (messages/s). Timed part 2: a new device syncs that
 * Inbox from SyncKey 0 with BodyPreference Type 1 truncated to `--truncation` bytes and WindowSize
 * `--window` until MoreAvailable is gone; every message must arrive exactly once (items/s).
 * Measurements, not tests.
 */
import { appendFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { execSync } from 'node:child_process';
import { pino } from 'pino';
import { createMailListener } from '../../src/mail/lmtp-server.ts';
import { Device } from '../../test/e2e/device.ts';
import { mailOptions } from '../../test/e2e/mail-helpers.ts';
import { startTestServer } from '../../test/helpers/server.ts';
import { LineClient } from '../../test/mail/lmtp-client.ts';

const ROOT = join(import.meta.dirname, '..', '..');
const argv = process.argv.slice(2);
const arg = (name: string, dflt: string) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 && argv[i + 1] !== undefined ? argv[i + 1]! : dflt;
};
const backendArg = arg('backend', 'both');
const MESSAGES = Number(arg('messages', '10000'));
const SIZE_KB = Number(arg('size-kb', '50'));
const CONNECTIONS = Number(arg('connections', '4'));
const TRUNCATION = Number(arg('truncation', '5120'));
const WINDOW = Number(arg('window', '100'));
const WRITE = argv.includes('--write-results');
if (process.env.EASD_BENCH_PG_URL) process.env.EASD_TEST_PG_URL = process.env.EASD_BENCH_PG_URL;

const WORDS = 'lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor incididunt ut labore et dolore magna aliqua quarterly report meeting budget'.split(' ');

/** A deterministic ~size-KB message, distinct per index. */
function message(i: number): string {
  const target = SIZE_KB * 1024;
  let text = `Message number ${i}.\r\n`;
  let n = i * 7919;
  while (text.length < target * 0.45) {
    let line = '';
    while (line.length < 70) {
      n = (n * 1103515245 + 12345) & 0x7fffffff;
      line += WORDS[n % WORDS.length] + ' ';
    }
    text += line.trimEnd() + '\r\n';
  }
  const html = `<html><body><p>${text.replace(/\r\n/g, '<br>\r\n')}</p></body></html>`;
  return [
    `From: "Sender ${i % 50}" <sender${i % 50}@outside.test>`,
    'To: "Bench User" <bench@example.com>',
    `Subject: Benchmark message ${i}`,
    `Message-ID: <bench-${i}@outside.test>`,
    'Date: Mon, 3 Feb 2025 09:01:02 +0100',
    'MIME-Version: 1.0',
    'Content-Type: multipart/alternative; boundary="b"',
    '',
    '--b',
    'Content-Type: text/plain; charset=utf-8',
    '',
    text,
    '--b',
    'Content-Type: text/html; charset=utf-8',
    '',
    html,
    '--b--',
    '',
  ].join('\r\n');
}

interface Result {
  backend: string;
  deliverSeconds: number;
  messagesPerSecond: number;
  bytes: number;
  syncSeconds: number;
  itemsPerSecond: number;
  rounds: number;
}

async function runOne(backend: 'sqlite' | 'postgres'): Promise<Result> {
  const user = { email: 'bench@example.com', password: 'pw-bench-123456' };
  const srv = await startTestServer({ users: [user], backend, logLevel: 'warn' });
  const lmtp = createMailListener({ ...srv.runtime.deliveryTargets, log: pino({ level: 'warn' }) });
  const port = await lmtp.listen('127.0.0.1', 0);
  try {
    let next = 0;
    let bytes = 0;
    const t0 = process.hrtime.bigint();
    await Promise.all(
      Array.from({ length: CONNECTIONS }, async () => {
        const c = await LineClient.open(port);
        await c.command('LHLO bench.test');
        for (;;) {
          const i = next++;
          if (i >= MESSAGES) break;
          const msg = message(i);
          bytes += msg.length;
          await c.command('MAIL FROM:<sender@outside.test>');
          await c.command('RCPT TO:<bench@example.com>');
          const [r] = await c.data(msg, 1);
          if (r?.code !== 250) throw new Error(`message ${i}: ${r?.code} ${r?.text}`);
          if (i > 0 && i % 1000 === 0) process.stderr.write(`  ${backend}: ${i} delivered\n`);
        }
        await c.close();
      }),
    );
    const deliverSeconds = Number(process.hrtime.bigint() - t0) / 1e9;

    const dev = new Device({ url: srv.url, user: user.email, password: user.password, deviceId: `BENCH${backend}`, version: '14.1' });
    await dev.folderSync();
    const inbox = dev.folderByType(2).serverId;
    const t1 = process.hrtime.bigint();
    const v = dev.collections.get(inbox);
    if (v) v.syncKey = '0';
    const first = await dev.sync(inbox, { options: mailOptions([{ type: 1, truncationSize: TRUNCATION }]) });
    if (first.status !== 1) throw new Error(`SyncKey 0 status ${first.status}`);
    let rounds = 0;
    const seen = new Set<string>();
    for (;;) {
      const r = await dev.sync(inbox, { windowSize: WINDOW, options: mailOptions([{ type: 1, truncationSize: TRUNCATION }]) });
      rounds++;
      if (r.status !== 1) throw new Error(`Sync status ${r.status}`);
      for (const a of r.adds) {
        if (seen.has(a.serverId)) throw new Error(`item ${a.serverId} sent twice`);
        seen.add(a.serverId);
      }
      if (!r.moreAvailable) break;
    }
    const syncSeconds = Number(process.hrtime.bigint() - t1) / 1e9;
    if (seen.size !== MESSAGES) throw new Error(`synced ${seen.size} of ${MESSAGES}`);
    return { backend, deliverSeconds, messagesPerSecond: MESSAGES / deliverSeconds, bytes, syncSeconds, itemsPerSecond: MESSAGES / syncSeconds, rounds };
  } finally {
    await lmtp.close();
    await srv.close();
  }
}

const backends: Array<'sqlite' | 'postgres'> = backendArg === 'both' ? ['sqlite', 'postgres'] : [backendArg as 'sqlite' | 'postgres'];
const loadBefore = loadavg().map((x) => x.toFixed(2)).join(' ');
const results: Result[] = [];
for (const b of backends) {
  process.stderr.write(`${b}: delivering ${MESSAGES} messages of ~${SIZE_KB} KB over ${CONNECTIONS} LMTP connections...\n`);
  const r = await runOne(b);
  results.push(r);
  process.stdout.write(
    `${b}: delivery ${r.deliverSeconds.toFixed(1)} s, ${r.messagesPerSecond.toFixed(1)} messages/s (${(r.bytes / r.deliverSeconds / 1e6).toFixed(2)} MB/s); initial sync ${r.syncSeconds.toFixed(1)} s, ${r.itemsPerSecond.toFixed(1)} items/s in ${r.rounds} Syncs\n`,
  );
}

if (WRITE) {
  const date = execSync('date -u').toString().trim();
  const rev = execSync('git rev-parse --short HEAD', { cwd: ROOT }).toString().trim();
  const lines = [
    '',
    `## mail: LMTP delivery and initial sync of the delivered Inbox (${date})`,
    '',
    `- Command: \`node --import tsx bench/mail/lmtp.ts ${argv.join(' ')}\` (from the repository root)`,
    `- Date: ${date}`,
    `- Machine: nproc ${cpus().length}, CPU "${cpus()[0]?.model ?? '?'}", node ${process.version}; other work was running on the machine at the same time`,
    `- Load average (1/5/15 min) before: ${loadBefore}, after: ${loadavg().map((x) => x.toFixed(2)).join(' ')}`,
    `- Revision: ${rev} (plus uncommitted work of the tree)`,
    `- Workload: ${MESSAGES} distinct messages of ~${SIZE_KB} KB (multipart/alternative text + HTML), ${CONNECTIONS} parallel LMTP connections, one message per transaction, one recipient; then one device, SyncKey 0, BodyPreference Type 1 TruncationSize ${TRUNCATION}, WindowSize ${WINDOW}. Server and load generator in one process.`,
    '',
    '| backend | delivery s | messages/s | MB/s in | initial sync s | items/s | Syncs |',
    '|---|---:|---:|---:|---:|---:|---:|',
    ...results.map(
      (r) =>
        `| ${r.backend} | ${r.deliverSeconds.toFixed(1)} | ${r.messagesPerSecond.toFixed(1)} | ${(r.bytes / r.deliverSeconds / 1e6).toFixed(2)} | ${r.syncSeconds.toFixed(1)} | ${r.itemsPerSecond.toFixed(1)} | ${r.rounds} |`,
    ),
    '',
  ];
  appendFileSync(join(ROOT, 'bench/RESULTS.md'), lines.join('\n'));
}

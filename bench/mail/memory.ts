/**
 * Mail in: peak memory (and time) of the server process for one large LMTP delivery.
 *
 *   node --import tsx bench/mail/memory.ts [--backend sqlite|postgres|both] [--size-mb 45]
 *        [--kind attachment|text] [--write-results]
 *
 * For each backend a child process runs an easd server (the production composition over a fresh
 * store: a temp SQLite directory, or a fresh PostgreSQL schema at EASD_BENCH_PG_URL) with an LMTP
 * listener on loopback, one user; it delivers one small message first so start-up is done. This
 * process then sends one message of about `--size-mb` MB over LMTP (kind `attachment`: a short
 * text body and one base64 binary attachment; kind `text`: one large text/plain body) and reads
 * the child's /proc/PID/status before and after: VmHWM (peak resident set) and VmRSS. The client
 * lives in this process, so its buffers are not counted. Measurements, not tests.
 */
import { spawn, execSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { appendFileSync, readFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { pino } from 'pino';
import { createMailListener } from '../../src/mail/lmtp-server.ts';
import { startTestServer } from '../../test/helpers/server.ts';
import { LineClient } from '../../test/mail/lmtp-client.ts';

const ROOT = join(import.meta.dirname, '..', '..');
const argv = process.argv.slice(2);
const arg = (name: string, dflt: string) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 && argv[i + 1] !== undefined ? argv[i + 1]! : dflt;
};
const USER = { email: 'bench@example.com', password: 'pw-bench-123456' };

if (argv.includes('--child')) {
  // The server side: report the LMTP port, run until stdin closes.
  if (process.env.EASD_BENCH_PG_URL) process.env.EASD_TEST_PG_URL = process.env.EASD_BENCH_PG_URL;
  const srv = await startTestServer({ users: [USER], backend: arg('backend', 'sqlite') as 'sqlite' | 'postgres', logLevel: 'warn' });
  const lmtp = createMailListener({ ...srv.runtime.deliveryTargets, log: pino({ level: 'warn' }), maxMessageBytes: 200 * 1024 * 1024 });
  const port = await lmtp.listen('127.0.0.1', 0);
  process.stdout.write(JSON.stringify({ port }) + '\n');
  process.stdin.resume();
  process.stdin.once('end', () => {
    void lmtp.close().then(() => srv.close()).then(() => process.exit(0));
  });
} else {
  await main();
}

function status(pid: number): { hwm: number; rss: number } {
  const s = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (k: string) => Number(new RegExp(`^${k}:\\s+(\\d+) kB`, 'm').exec(s)?.[1] ?? NaN);
  return { hwm: kb('VmHWM') / 1024, rss: kb('VmRSS') / 1024 };
}

function bigMessage(sizeMb: number, kind: string): Buffer {
  const head = ['From: <sender@outside.test>', 'To: <bench@example.com>', 'Subject: Large message', 'Message-ID: <large@outside.test>', 'Date: Mon, 3 Feb 2025 09:01:02 +0100', 'MIME-Version: 1.0'];
  if (kind === 'text') {
    const line = 'lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor incididunt\r\n';
    const body = line.repeat(Math.ceil((sizeMb * 1024 * 1024) / line.length));
    return Buffer.from([...head, 'Content-Type: text/plain; charset=utf-8', '', body].join('\r\n'), 'latin1');
  }
  // base64 grows 4/3; 76-character lines.
  const b64 = randomBytes(Math.floor((sizeMb * 1024 * 1024 * 3) / 4)).toString('base64').replace(/.{76}/g, '$&\r\n');
  return Buffer.from(
    [
      ...head,
      'Content-Type: multipart/mixed; boundary="b"',
      '',
      '--b',
      'Content-Type: text/plain; charset=utf-8',
      '',
      'The report is attached.',
      '--b',
      'Content-Type: application/octet-stream; name="report.bin"',
      'Content-Disposition: attachment; filename="report.bin"',
      'Content-Transfer-Encoding: base64',
      '',
      b64,
      '--b--',
      '',
    ].join('\r\n'),
    'latin1',
  );
}

async function deliver(port: number, msg: Buffer): Promise<void> {
  const c = await LineClient.open(port);
  await c.command('LHLO bench.test');
  await c.command('MAIL FROM:<sender@outside.test>');
  await c.command(`RCPT TO:<${USER.email}>`);
  const [r] = await c.data(msg, 1);
  await c.close();
  if (r?.code !== 250) throw new Error(`delivery: ${r?.code} ${r?.text}`);
}

interface Result {
  backend: string;
  bytes: number;
  seconds: number;
  hwmBefore: number;
  hwmAfter: number;
  rssAfter: number;
}

async function runOne(backend: string, sizeMb: number, kind: string): Promise<Result> {
  const child = spawn(process.execPath, ['--import', 'tsx', join(import.meta.dirname, 'memory.ts'), '--child', '--backend', backend], {
    cwd: ROOT,
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const lines = createInterface({ input: child.stdout! });
  const first = await new Promise<string>((resolve, reject) => {
    lines.once('line', resolve);
    child.once('exit', (code) => reject(new Error(`server exited ${code}`)));
  });
  const { port } = JSON.parse(first) as { port: number };
  try {
    await deliver(port, bigMessage(0.05, kind)); // warm-up: code loaded, store open
    const msg = bigMessage(sizeMb, kind);
    const before = status(child.pid!);
    const t0 = process.hrtime.bigint();
    await deliver(port, msg);
    const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
    const after = status(child.pid!);
    return { backend, bytes: msg.length, seconds, hwmBefore: before.hwm, hwmAfter: after.hwm, rssAfter: after.rss };
  } finally {
    child.stdin!.end();
    await new Promise((resolve) => child.once('exit', resolve));
  }
}

async function main(): Promise<void> {
  const backendArg = arg('backend', 'sqlite');
  const sizeMb = Number(arg('size-mb', '45'));
  const kind = arg('kind', 'attachment');
  const backends = backendArg === 'both' ? ['sqlite', 'postgres'] : [backendArg];
  const loadBefore = loadavg().map((x) => x.toFixed(2)).join(' ');
  const results: Result[] = [];
  for (const b of backends) {
    const r = await runOne(b, sizeMb, kind);
    results.push(r);
    process.stdout.write(
      `${b}: ${(r.bytes / 1048576).toFixed(1)} MB (${kind}) in ${r.seconds.toFixed(2)} s; server peak RSS ${r.hwmBefore.toFixed(0)} MB before, ${r.hwmAfter.toFixed(0)} MB after (+${(r.hwmAfter - r.hwmBefore).toFixed(0)} MB); RSS after ${r.rssAfter.toFixed(0)} MB\n`,
    );
  }
  if (argv.includes('--write-results')) {
    const date = execSync('date -u').toString().trim();
    const rev = execSync('git rev-parse --short HEAD', { cwd: ROOT }).toString().trim();
    appendFileSync(
      join(ROOT, 'bench/RESULTS.md'),
      [
        '',
        `### mail memory run (${date})`,
        '',
        `- Command: \`node --import tsx bench/mail/memory.ts ${argv.join(' ')}\`; revision ${rev}; nproc ${cpus().length}, node ${process.version}; load before ${loadBefore}, after ${loadavg().map((x) => x.toFixed(2)).join(' ')}`,
        '',
        '| backend | message MB | kind | seconds | peak RSS before MB | peak RSS after MB | growth MB |',
        '|---|---:|---|---:|---:|---:|---:|',
        ...results.map((r) => `| ${r.backend} | ${(r.bytes / 1048576).toFixed(1)} | ${kind} | ${r.seconds.toFixed(2)} | ${r.hwmBefore.toFixed(0)} | ${r.hwmAfter.toFixed(0)} | ${(r.hwmAfter - r.hwmBefore).toFixed(0)} |`),
        '',
      ].join('\n'),
    );
  }
}

/**
 * Start-up time and memory of the easd command (issue 18 item 7): wall time and peak RSS of
 * `easd --version` and `easd user list` (SQLite, one user), and the RSS of an idle `easd serve`
 * (SQLite, after it says it listens and has settled). Several runs each; medians are reported.
 *
 *   node --import tsx bench/cli/startup.ts [--easd PATH] [--runs N] [--label TEXT]
 *
 * --easd picks the command to measure (default ./bin/easd of this checkout), so another checkout's
 * bin/easd (e.g. a worktree at an older revision) gives the "before" figures on the same machine.
 * Peak RSS comes from GNU time (/usr/bin/time -f %M); without it that column is left empty.
 * A measurement, not a test: nothing asserts on the figures.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(name);
  return i >= 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1]! : fallback;
}

const easd = resolve(arg('--easd', join(ROOT, 'bin/easd')));
const runs = Number(arg('--runs', '7'));
const label = arg('--label', easd);
const gnuTime = existsSync('/usr/bin/time') ? '/usr/bin/time' : undefined;
// No developer setting may change what is measured.
const env: NodeJS.ProcessEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('EASD_')));

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** One run of `easd args`: wall milliseconds and peak RSS in MB (GNU time), failing loudly on a non-zero exit. */
function timeOnce(args: string[], input = ''): { ms: number; rssMb: number | undefined } {
  const [cmd, argv] = gnuTime ? [gnuTime, ['-f', '%M', easd, ...args]] : [easd, args];
  const t0 = performance.now();
  const r = spawnSync(cmd, argv, { env, input, encoding: 'utf8' });
  const ms = performance.now() - t0;
  if (r.status !== 0) throw new Error(`easd ${args.join(' ')} exited ${r.status}: ${r.stderr}`);
  const kb = gnuTime ? Number(/(\d+)\s*$/.exec(r.stderr)?.[1]) : NaN;
  return { ms, rssMb: Number.isFinite(kb) ? kb / 1024 : undefined };
}

/** RSS in MB of an idle `easd serve` on a fresh SQLite store, read from /proc once it has settled. */
async function idleServeRss(dataDir: string): Promise<number> {
  const child = spawn(easd, ['serve', '--data', dataDir, '--listen', '127.0.0.1:0', '--no-demo-user', '--log-level', 'warn'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  try {
    await new Promise<void>((res, rej) => {
      let out = '';
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        if (out.includes('easd is listening')) res();
      });
      child.stderr.on('data', (d: Buffer) => (out += d.toString()));
      child.once('exit', (code) => rej(new Error(`easd serve exited ${code}: ${out}`)));
    });
    // Settle: lazy start-up work and the first GC are done by then.
    await new Promise((r) => setTimeout(r, 3000));
    // bin/easd execs node, so the child's pid is the server's.
    const status = readFileSync(`/proc/${child.pid}/status`, 'utf8');
    return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1]) / 1024;
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => child.once('close', r));
  }
}

const work = mkdtempSync(join(tmpdir(), 'easd-bench-cli-'));
try {
  const data = join(work, 'data');
  timeOnce(['user', 'add', 'bench@example.com', '--password-stdin', '--data', data], 'a-long-bench-password\n');
  const rows: Array<[string, number[], Array<number | undefined>]> = [];
  for (const [name, args] of [['easd --version', ['--version']], ['easd user list (SQLite)', ['user', 'list', '--data', data]]] as const) {
    timeOnce([...args]); // warm-up: file cache, tsx's compile cache where it is used
    const ms: number[] = [];
    const rss: Array<number | undefined> = [];
    for (let i = 0; i < runs; i++) {
      const r = timeOnce([...args]);
      ms.push(r.ms);
      rss.push(r.rssMb);
    }
    rows.push([name, ms, rss]);
  }
  const idle: number[] = [];
  for (let i = 0; i < 3; i++) idle.push(await idleServeRss(join(work, `serve-${i}`)));

  console.log(`easd start-up: ${label}`);
  console.log(`date: ${new Date().toUTCString()}, node ${process.version}, load ${loadavg().map((l) => l.toFixed(2)).join(' ')}, runs ${runs}`);
  console.log('| command | median ms | min ms | max ms | median peak RSS MB |');
  console.log('|---|---|---|---|---|');
  for (const [name, ms, rss] of rows) {
    const r = rss.filter((x): x is number => x !== undefined);
    console.log(`| ${name} | ${median(ms).toFixed(0)} | ${Math.min(...ms).toFixed(0)} | ${Math.max(...ms).toFixed(0)} | ${r.length ? median(r).toFixed(1) : ''} |`);
  }
  console.log(`| idle easd serve (SQLite, 3 s after start) | | | | ${median(idle).toFixed(1)} (runs: ${idle.map((x) => x.toFixed(1)).join(', ')}) |`);
} finally {
  rmSync(work, { recursive: true, force: true });
}

/**
 * Start-up time and memory of the easd command (issue 18 item 7): wall time and peak RSS of
 * `easd --version` and `easd user list` (SQLite, one user), and the RSS of an idle `easd serve`
 * (SQLite, after it says it listens and has settled). Several runs each; medians are reported.
 *
 *   node --import tsx bench/cli/startup.ts [--easd LABEL=PATH]... [--runs N]
 *
 * --easd picks a command to measure (default ./bin/easd of this checkout); given several times
 * (e.g. a worktree at an older revision as "before"), the runs interleave them, so a machine
 * whose load changes affects all alike. `node -e 0` is timed in every round as the baseline.
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

/** `--easd LABEL=PATH`, repeatable; default this checkout's bin/easd. */
function targets(): Array<{ label: string; easd: string }> {
  const out: Array<{ label: string; easd: string }> = [];
  process.argv.forEach((a, i) => {
    if (a !== '--easd' || process.argv[i + 1] === undefined) return;
    const v = process.argv[i + 1]!;
    const eq = v.indexOf('=');
    out.push(eq > 0 ? { label: v.slice(0, eq), easd: resolve(v.slice(eq + 1)) } : { label: v, easd: resolve(v) });
  });
  return out.length ? out : [{ label: 'this checkout', easd: join(ROOT, 'bin/easd') }];
}

const runs = Number(arg('--runs', '7'));
const gnuTime = existsSync('/usr/bin/time') ? '/usr/bin/time' : undefined;
// No developer setting may change what is measured.
const env: NodeJS.ProcessEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('EASD_')));

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** One run of `easd args`: wall milliseconds and peak RSS in MB (GNU time), failing loudly on a non-zero exit. */
function timeOnce(easd: string, args: string[], input = ''): { ms: number; rssMb: number | undefined } {
  const [cmd, argv] = gnuTime ? [gnuTime, ['-f', '%M', easd, ...args]] : [easd, args];
  const t0 = performance.now();
  const r = spawnSync(cmd, argv, { env, input, encoding: 'utf8' });
  const ms = performance.now() - t0;
  if (r.status !== 0) throw new Error(`${easd} ${args.join(' ')} exited ${r.status}: ${r.stderr}`);
  const kb = gnuTime ? Number(/(\d+)\s*$/.exec(r.stderr)?.[1]) : NaN;
  return { ms, rssMb: Number.isFinite(kb) ? kb / 1024 : undefined };
}

/** RSS in MB of an idle `easd serve` on a fresh SQLite store, read from /proc once it has settled. */
async function idleServeRss(easd: string, dataDir: string): Promise<number> {
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
  const all = targets();
  const data = join(work, 'data');
  const first = all[0]!.easd;
  timeOnce(first, ['user', 'add', 'bench@example.com', '--password-stdin', '--data', data], 'a-long-bench-password\n');
  const loadBefore = loadavg();
  // Node's own start (`node -e 0`) is measured beside them: on a loaded machine it says how much
  // of a command's time is the machine's.
  const commands: Array<[string, string[]]> = [
    ['easd --version', ['--version']],
    ['easd user list (SQLite)', ['user', 'list', '--data', data]],
  ];
  const rows = new Map<string, { ms: number[]; rss: number[] }>();
  const row = (k: string) => rows.get(k) ?? rows.set(k, { ms: [], rss: [] }).get(k)!;
  const nodeCmd = process.execPath;
  // Warm-up (file cache, tsx's compile cache where it is used), then rounds interleaving every target.
  for (const t of all) for (const [, args] of commands) timeOnce(t.easd, args);
  for (let i = 0; i < runs; i++) {
    const base = timeNode(nodeCmd);
    row('node -e 0 (baseline)').ms.push(base.ms);
    if (base.rssMb !== undefined) row('node -e 0 (baseline)').rss.push(base.rssMb);
    for (const t of all) {
      for (const [name, args] of commands) {
        const r = timeOnce(t.easd, args);
        const x = row(`${t.label}: ${name}`);
        x.ms.push(r.ms);
        if (r.rssMb !== undefined) x.rss.push(r.rssMb);
      }
    }
  }
  const idle = new Map<string, number[]>();
  for (let i = 0; i < 3; i++) for (const t of all) (idle.get(t.label) ?? idle.set(t.label, []).get(t.label)!).push(await idleServeRss(t.easd, join(work, `serve-${t.label.replace(/\W/g, '_')}-${i}`)));

  console.log(`date: ${new Date().toUTCString()}, node ${process.version}, runs ${runs}, load before ${loadBefore.map((l) => l.toFixed(2)).join(' ')}, after ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
  for (const t of all) console.log(`${t.label}: ${t.easd}`);
  console.log('| command | median ms | min ms | max ms | median peak RSS MB |');
  console.log('|---|---|---|---|---|');
  for (const [name, { ms, rss }] of rows) {
    console.log(`| ${name} | ${median(ms).toFixed(0)} | ${Math.min(...ms).toFixed(0)} | ${Math.max(...ms).toFixed(0)} | ${rss.length ? median(rss).toFixed(1) : ''} |`);
  }
  for (const [label, xs] of idle) {
    console.log(`| ${label}: idle easd serve (SQLite, RSS 3 s after start) | | | | ${median(xs).toFixed(1)} (runs: ${xs.map((x) => x.toFixed(1)).join(', ')}) |`);
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}

/** `node -e 0` timed as the commands are. */
function timeNode(node: string): { ms: number; rssMb: number | undefined } {
  const [cmd, argv] = gnuTime ? [gnuTime, ['-f', '%M', node, '-e', '0']] : [node, ['-e', '0']];
  const t0 = performance.now();
  const r = spawnSync(cmd, argv, { env, encoding: 'utf8' });
  const ms = performance.now() - t0;
  const kb = gnuTime ? Number(/(\d+)\s*$/.exec(r.stderr)?.[1]) : NaN;
  return { ms, rssMb: Number.isFinite(kb) ? kb / 1024 : undefined };
}

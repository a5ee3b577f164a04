/**
 * The generic half of the benchmark kit (re-exported by bench/sync/common.ts): arguments, the
 * machine description, the RESULTS.md appender, latency statistics, progress lines and a
 * deterministic PRNG.
 * Measurements, not tests: nothing here fails on a slow result.
 */
import { spawnSync } from 'node:child_process';
import { appendFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
export const ROOT = resolve(here, '../..');
export const RESULTS_FILE = join(ROOT, 'bench/RESULTS.md');
export const PG_URL = process.env.EASD_BENCH_PG_URL || 'postgres://postgres@127.0.0.1:5432/test';

// ---------------------------------------------------------------------------------------------
// Arguments

export type ArgSpec = Record<string, 'number' | 'string' | 'boolean' | 'list'>;
export type Args = Record<string, number | string | boolean | string[] | undefined>;

/** --name value / --flag; unknown flags exit 2. */
export function parseArgs(argv: string[], spec: ArgSpec, defaults: Args, usage: string): Args {
  const out: Args = { ...defaults };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--help' || a === '-h') {
      process.stdout.write(usage + '\n');
      process.exit(0);
    }
    const name = a.replace(/^--/, '');
    const kind = spec[name];
    if (!a.startsWith('--') || !kind) {
      process.stderr.write(`unknown argument ${a}\n${usage}\n`);
      process.exit(2);
    }
    if (kind === 'boolean') {
      out[name] = true;
      continue;
    }
    const v = argv[++i];
    if (v === undefined) {
      process.stderr.write(`${a} needs a value\n`);
      process.exit(2);
    }
    if (kind === 'number') {
      const n = Number(v);
      if (!Number.isFinite(n)) {
        process.stderr.write(`${a} needs a number\n`);
        process.exit(2);
      }
      out[name] = n;
    } else if (kind === 'list') out[name] = v.split(',').filter((s) => s !== '');
    else out[name] = v;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Machine and results

export function sh(cmd: string): string {
  const r = spawnSync('sh', ['-c', cmd], { encoding: 'utf8' });
  return (r.stdout ?? '').trim();
}

export interface Machine {
  date: string;
  nproc: string;
  cpu: string;
  memTotal: string;
  node: string;
  kernel: string;
  revision: string;
  ulimitN: string;
}

export function machine(): Machine {
  const cpuinfo = existsSync('/proc/cpuinfo') ? readFileSync('/proc/cpuinfo', 'utf8') : '';
  const model = /^model name\s*:\s*(.*)$/m.exec(cpuinfo)?.[1]?.trim() ?? cpus()[0]?.model ?? 'unknown';
  const meminfo = existsSync('/proc/meminfo') ? readFileSync('/proc/meminfo', 'utf8') : '';
  const memKb = Number(/^MemTotal:\s*(\d+)\s*kB/m.exec(meminfo)?.[1] ?? totalmem() / 1024);
  const rev = sh(`git -C '${ROOT}' rev-parse --short HEAD 2>/dev/null`);
  const dirty = sh(`git -C '${ROOT}' status --porcelain -- src 2>/dev/null`) ? ' (src has uncommitted changes)' : '';
  return {
    date: sh('date -u'),
    nproc: sh('nproc'),
    cpu: model,
    memTotal: `${(memKb / 1024 / 1024).toFixed(1)} GiB (MemTotal ${memKb} kB)`,
    node: process.version,
    kernel: sh('uname -sr'),
    revision: (rev || 'unknown') + dirty,
    ulimitN: sh('ulimit -n'),
  };
}

export function machineLines(m: Machine): string {
  return (
    `- Date: ${m.date}\n` +
    `- Machine: nproc ${m.nproc}, CPU "${m.cpu}", memory ${m.memTotal}, node ${m.node}, ${m.kernel}, ulimit -n ${m.ulimitN}\n` +
    `- Revision: ${m.revision}\n`
  );
}

export const fmtLoad = (l: number[]) => l.map((x) => x.toFixed(2)).join(' ');
export const load = () => loadavg();

/** Appends a section to bench/RESULTS.md: re-reads the file right before, only appends. */
export function appendResults(section: string): void {
  if (!existsSync(RESULTS_FILE)) {
    writeFileSync(RESULTS_FILE, '# Benchmark results\n\nMeasured results of the benchmarks in bench/ (see bench/README.md). Newest sections are at the end.\n');
  }
  const current = readFileSync(RESULTS_FILE, 'utf8');
  appendFileSync(RESULTS_FILE, (current.endsWith('\n') ? '' : '\n') + section.replace(/^\n*/, '\n'));
}

// ---------------------------------------------------------------------------------------------
// Statistics

export function percentile(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i]!;
}

export function sortedCopy(xs: ArrayLike<number>, n = xs.length): Float64Array {
  const a = Float64Array.from({ length: n }, (_, i) => xs[i]!);
  return a.sort();
}

export const f1 = (x: number) => (Number.isFinite(x) ? x.toFixed(1) : '-');
export const f2 = (x: number) => (Number.isFinite(x) ? x.toFixed(2) : '-');
export const f0 = (x: number) => (Number.isFinite(x) ? Math.round(x).toString() : '-');

export const nowNs = () => process.hrtime.bigint();
export const msSince = (t0: bigint) => Number(process.hrtime.bigint() - t0) / 1e6;

export function log(msg: string): void {
  process.stderr.write(`[${new Date().toISOString().slice(11, 19)}] ${msg}\n`);
}

/** A small deterministic PRNG (mulberry32). */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

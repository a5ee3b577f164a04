/**
 * WBXML codec throughput, and libwbxml's wbxml2xml on the same file.
 *
 *   node --import tsx bench/wbxml/run.ts [--size-mb N] [--iterations K] [--seed S] [--write-results] [--keep]
 *
 * Generates a deterministic Sync response of at least N MB (bench/wbxml/generate.ts), encodes it
 * with our encoder to a temporary file, checks that it round-trips, then measures in K interleaved
 * rounds (each round runs every row once, so load from other processes hits all rows alike):
 *   - decode:        decodeWbxml(bytes) -> tree, in process
 *   - encode:        encodeWbxml(tree) -> bytes, in process
 *   - decode+toXml:  bytes -> XML as UTF-8 bytes, in process: what wbxml2xml does, minus process
 *                    start and file I/O (toXmlBytes if the codec exports one, else toXml + UTF-8)
 *   - wbxml2xml:     `wbxml2xml -l ACTIVESYNC -m 0 -o out.xml FILE`, wall time of the process
 *   - easd CLI:      `./bin/easd wbxml decode FILE > /dev/null`, wall time of the process, and
 *                    `./bin/easd --version` for its start-up cost alone
 * In-process rows get warm-up runs and a full GC before each timed run; GC pauses inside the
 * timed runs are reported separately. MB/s is WBXML bytes per second (1 MB = 10^6 bytes); encode
 * counts the bytes it produces. With --write-results a dated section is appended to
 * bench/RESULTS.md.
 *
 * This is a measurement, not a test: nothing here fails on a slow result.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync, statSync, writeFileSync, appendFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg, tmpdir } from 'node:os';
import { PerformanceObserver, performance } from 'node:perf_hooks';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import * as wbxml from '../../src/wbxml/index.ts';
import { decodeWbxml, el, encodeWbxml, toXml, treesEqual, type ToXmlOptions, type WbxmlElement } from '../../src/wbxml/index.ts';
import { generateSyncResponse } from './generate.ts';

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, '../..');
const resultsFile = join(root, 'bench/RESULTS.md');

// ---------------------------------------------------------------------------------------------
// Options

interface Options {
  sizeMb: number;
  iterations: number;
  seed: number;
  writeResults: boolean;
  keep: boolean;
}

function parseArgs(argv: string[]): Options {
  const o: Options = { sizeMb: 10, iterations: 10, seed: 20240601, writeResults: false, keep: false };
  const num = (flag: string, v: string | undefined, min: number) => {
    const n = Number(v);
    if (v === undefined || !Number.isFinite(n) || n < min) {
      process.stderr.write(`run.ts: ${flag} needs a number >= ${min}\n`);
      process.exit(2);
    }
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--size-mb') o.sizeMb = num(a, argv[++i], 0.001);
    else if (a === '--iterations') o.iterations = Math.floor(num(a, argv[++i], 1));
    else if (a === '--seed') o.seed = Math.floor(num(a, argv[++i], 0));
    else if (a === '--write-results') o.writeResults = true;
    else if (a === '--keep') o.keep = true;
    else if (a === '--help' || a === '-h') {
      process.stdout.write('usage: node --import tsx bench/wbxml/run.ts [--size-mb N] [--iterations K] [--seed S] [--write-results] [--keep]\n');
      process.exit(0);
    } else {
      process.stderr.write(`run.ts: unknown argument ${a}\n`);
      process.exit(2);
    }
  }
  return o;
}

// ---------------------------------------------------------------------------------------------
// Timing

/** A full collection between timed runs, so one run's garbage is not billed to the next. */
const gc: () => void = (() => {
  try {
    setFlagsFromString('--expose-gc');
    const f = runInNewContext('gc') as unknown;
    if (typeof f === 'function') return f as () => void;
  } catch {
    // fall through
  }
  return () => {};
})();

/** GC pauses (perf_hooks 'gc' entries), to tell how much of an in-process figure is collection. */
const gcPauses: Array<{ start: number; duration: number }> = [];
const gcObserver = new PerformanceObserver((list) => {
  for (const e of list.getEntries()) gcPauses.push({ start: e.startTime, duration: e.duration });
});
gcObserver.observe({ entryTypes: ['gc'] });

interface Stats {
  /** Seconds per run, sorted ascending. */
  times: number[];
  best: number;
  median: number;
}

function stats(times: number[]): Stats {
  const t = [...times].sort((a, b) => a - b);
  const mid = t.length >> 1;
  const median = t.length % 2 ? t[mid]! : (t[mid - 1]! + t[mid]!) / 2;
  return { times: t, best: t[0]!, median };
}

interface Measurement {
  name: string;
  kind: 'in process' | 'process wall time';
  /** How it is run, for the results file. */
  how: string;
  /** False for reference rows that are not throughput (CLI startup). */
  throughput: boolean;
  /** One run; returns nothing useful, throws if the run did not do its work. */
  run: () => void;
  times: number[];
  /** performance.now() windows of the timed runs, to attribute GC pauses (in-process rows). */
  windows: Array<[number, number]>;
  /** Rows that may be unavailable (the CLI, while other work is in progress): not fatal. */
  optional?: boolean;
  /** Why an optional row could not be measured. */
  error?: string;
}

let sink: unknown;

function inProcess(name: string, how: string, fn: () => unknown): Measurement {
  return { name, kind: 'in process', how, throughput: true, run: () => void (sink = fn()), times: [], windows: [] };
}

/** A child process run with spawnSync; `verify` checks it did its work (exit status, output). */
function childProcess(
  name: string,
  how: string,
  file: string,
  args: string[],
  stdoutFile: string | undefined,
  verify: (status: number | null, stderr: string) => void,
  throughput = true,
  optional = false,
): Measurement {
  return {
    name,
    kind: 'process wall time',
    how,
    throughput,
    optional,
    run: () => {
      const out = stdoutFile ? openSync(stdoutFile, 'w') : 'ignore';
      try {
        const r = spawnSync(file, args, { cwd: root, stdio: ['ignore', out, 'pipe'], maxBuffer: 64 << 20 });
        if (r.error) throw new Error(`${name}: ${r.error.message}`);
        verify(r.status, r.stderr.toString('utf8'));
      } finally {
        if (typeof out === 'number') closeSync(out);
      }
    },
    times: [],
    windows: [],
  };
}

/**
 * Warm-up, then K rounds; each round runs every measurement once, in an order rotated per round,
 * so that load from other processes on the machine hits all rows alike instead of one row's block.
 */
function runRounds(ms: Measurement[], k: number, warmupInProcess: number, warmupProcess: number) {
  for (const m of ms) {
    try {
      for (let i = 0; i < (m.kind === 'in process' ? warmupInProcess : warmupProcess); i++) m.run();
    } catch (e) {
      if (!m.optional) throw e;
      m.error = (e instanceof Error ? e.message : String(e)).split('\n').find((l) => /Error/.test(l))?.trim() ?? 'failed';
      process.stderr.write(`warning: ${m.name} not measured: ${e instanceof Error ? e.message : String(e)}\n`);
    }
  }
  for (let r = 0; r < k; r++) {
    for (let j = 0; j < ms.length; j++) {
      const m = ms[(j + r) % ms.length]!;
      if (m.error !== undefined) continue;
      sink = undefined;
      gc();
      const w0 = performance.now();
      const t0 = process.hrtime.bigint();
      m.run();
      const t1 = process.hrtime.bigint();
      m.windows.push([w0, performance.now()]);
      m.times.push(Number(t1 - t0) / 1e9);
    }
  }
}

/** Median over runs of the GC pause time inside each run's window, in seconds. */
function gcMedian(m: Measurement): number {
  const per = m.windows.map(([a, b]) => gcPauses.filter((p) => p.start >= a && p.start < b).reduce((s, p) => s + p.duration, 0) / 1000);
  return stats(per).median;
}

// ---------------------------------------------------------------------------------------------
// Machine description

function sh(cmd: string): string {
  const r = spawnSync('sh', ['-c', cmd], { encoding: 'utf8' });
  return (r.stdout ?? '').trim();
}

function machine() {
  const cpuinfo = existsSync('/proc/cpuinfo') ? readFileSync('/proc/cpuinfo', 'utf8') : '';
  const model = /^model name\s*:\s*(.*)$/m.exec(cpuinfo)?.[1]?.trim() ?? cpus()[0]?.model ?? 'unknown';
  const libwbxml = /libwbxml ([\d.]+)/.exec(sh('wbxml2xml 2>&1 | head -n 3'))?.[1] ?? 'unknown';
  return {
    date: sh('date -u'),
    nproc: sh('nproc'),
    cpu: model,
    node: process.version,
    kernel: sh('uname -sr'),
    libwbxml,
    libwbxmlPackage: sh("dpkg-query -W -f='${Version}' libwbxml2-utils 2>/dev/null"),
  };
}

// ---------------------------------------------------------------------------------------------
// Main

const MB = 1e6;
const opts = parseArgs(process.argv.slice(2));
const commandLine = `node --import tsx bench/wbxml/run.ts ${process.argv.slice(2).join(' ')}`.trim();
const K = opts.iterations;
const WARMUP = 3;
const PROC_WARMUP = 1;

/**
 * The XML rendering as UTF-8 bytes, which is what wbxml2xml produces: toXmlBytes if the codec
 * has one, else toXml's string encoded to UTF-8 (which also forces a lazily built string flat).
 */
const toXmlBytes = (wbxml as Record<string, unknown>).toXmlBytes as ((t: WbxmlElement, o?: ToXmlOptions) => Buffer) | undefined;
const xmlBytes = (tree: WbxmlElement, o: ToXmlOptions): Buffer => (toXmlBytes ? toXmlBytes(tree, o) : Buffer.from(toXml(tree, o), 'utf8'));
const xmlPath = toXmlBytes ? 'toXmlBytes(decodeWbxml(buf), { indent: false })' : "Buffer.from(toXml(decodeWbxml(buf), { indent: false }), 'utf8')";

const dir = mkdtempSync(join(tmpdir(), 'easd-bench-wbxml-'));
try {
  const load0 = loadavg();
  const t0 = process.hrtime.bigint();
  const gen = generateSyncResponse(Math.ceil(opts.sizeMb * MB), opts.seed);
  const genSeconds = Number(process.hrtime.bigint() - t0) / 1e9;
  const input = gen.wbxml;
  const size = input.length;
  const file = join(dir, 'sync-response.wbxml');
  writeFileSync(file, input);
  const sha = createHash('sha256').update(input).digest('hex');

  // Correctness first (untimed): our decoder reads back what our encoder wrote, and both XML
  // renderings exist; a fast wrong answer is not a result.
  const decoded = decodeWbxml(input);
  if (!treesEqual(decoded, gen.tree)) throw new Error('decodeWbxml(encodeWbxml(tree)) differs from tree');
  if (!encodeWbxml(decoded).equals(input)) throw new Error('encodeWbxml(decodeWbxml(buf)) differs from buf');
  const ourXmlBytes = xmlBytes(decoded, { indent: false }).length;

  process.stdout.write(
    `input: ${file}\n` +
      `  ${size} bytes (${(size / MB).toFixed(2)} MB), ${gen.emails} email + ${gen.events} calendar items, seed ${opts.seed}, sha256 ${sha.slice(0, 16)}…\n` +
      `  generated in ${genSeconds.toFixed(2)} s; ${K} rounds (after ${WARMUP} warm-up runs in process, ${PROC_WARMUP} per process row)\n` +
      `  load average ${load0.map((l) => l.toFixed(2)).join(' ')} on ${availableParallelism()} CPUs\n\n`,
  );

  const libOut = join(dir, 'libwbxml-out.xml');
  const libArgs = ['-l', 'ACTIVESYNC', '-m', '0', '-o', libOut, file];
  const cliOut = join(dir, 'easd-out.xml');
  const easd = join(root, 'bin/easd');
  const cliVerify = (status: number | null, stderr: string) => {
    if (status !== 0) throw new Error(`easd wbxml decode failed (status ${status}): ${stderr.trim()}`);
  };

  const decode = inProcess('decode (bytes -> tree)', '`decodeWbxml(buf)`', () => decodeWbxml(input));
  const encode = inProcess('encode (tree -> bytes)', '`encodeWbxml(tree)`; MB/s of output', () => encodeWbxml(gen.tree));
  const decodeXml = inProcess('decode + toXml (bytes -> XML bytes)', `\`${xmlPath}\``, () => xmlBytes(decodeWbxml(input), { indent: false }));
  const lib = childProcess(
    'libwbxml wbxml2xml',
    '`wbxml2xml -l ACTIVESYNC -m 0 -o out.xml FILE`; includes process start + file I/O',
    'wbxml2xml',
    libArgs,
    undefined,
    (status, stderr) => {
      // wbxml2xml exits 0 even on failure; the output file is the verdict.
      if (status !== 0 || !existsSync(libOut) || statSync(libOut).size < size / 2) {
        throw new Error(`wbxml2xml failed (status ${status}): ${stderr.trim()}`);
      }
    },
  );
  const cli = childProcess(
    'easd CLI',
    '`./bin/easd wbxml decode FILE > /dev/null`; includes node + tsx start + file I/O, indented XML',
    easd,
    ['wbxml', 'decode', file],
    '/dev/null',
    cliVerify,
    true,
    true,
  );
  const cliStartup = childProcess(
    '(easd CLI startup only)',
    '`./bin/easd --version`; no work, for reference',
    easd,
    ['--version'],
    undefined,
    (status, stderr) => {
      if (status !== 0) throw new Error(`easd --version failed: ${stderr.trim()}`);
    },
    false,
    true,
  );
  // wbxml2xml on a one-element document: its process start-up and I/O alone, for reference.
  const tinyFile = join(dir, 'tiny.wbxml');
  const tinyOut = join(dir, 'tiny.xml');
  writeFileSync(tinyFile, encodeWbxml(el('AirSync', 'Sync', el('AirSync', 'Status', 1))));
  const libStartup = childProcess(
    '(wbxml2xml startup only)',
    '`wbxml2xml -l ACTIVESYNC -m 0 -o out.xml TINY` on a one-element document, for reference',
    'wbxml2xml',
    ['-l', 'ACTIVESYNC', '-m', '0', '-o', tinyOut, tinyFile],
    undefined,
    (status, stderr) => {
      if (status !== 0 || !existsSync(tinyOut)) throw new Error(`wbxml2xml (tiny) failed: ${stderr.trim()}`);
    },
    false,
  );
  const rows = [decode, encode, decodeXml, lib, libStartup, cli, cliStartup];
  runRounds(rows, K, WARMUP, PROC_WARMUP);
  await new Promise((r) => setTimeout(r, 200)); // let the GC observer deliver its entries (async)
  gcObserver.disconnect();
  const load1 = loadavg();

  // Output sizes, from one more run of each whole-process path.
  const libXmlBytes = statSync(libOut).size;
  let cliXmlBytes: number | string = 'n/a';
  if (cli.error === undefined) {
    childProcess('easd CLI', '', easd, ['wbxml', 'decode', file], cliOut, cliVerify).run();
    cliXmlBytes = statSync(cliOut).size;
  }

  // -------------------------------------------------------------------------------------------
  // Report

  const st = new Map(rows.filter((m) => m.error === undefined).map((m) => [m, stats(m.times)]));
  const S = (m: Measurement) => st.get(m)!;
  const mbps = (sec: number) => size / MB / sec;
  const fmt = (n: number, d = 1) => n.toFixed(d);
  const gcCell = (m: Measurement) => (m.kind === 'in process' ? fmt(gcMedian(m) * 1000) : '-');
  const header = ['measurement', 'kind', 'best MB/s', 'median MB/s', 'median ms', 'best ms', 'GC ms (median)'];
  const cells = rows.map((m) => {
    if (m.error !== undefined) return [m.name, m.kind, 'failed', '-', '-', '-', '-'];
    const s = S(m);
    return [
      m.name,
      m.kind,
      m.throughput ? fmt(mbps(s.best)) : '-',
      m.throughput ? fmt(mbps(s.median)) : '-',
      fmt(s.median * 1000),
      fmt(s.best * 1000),
      gcCell(m),
    ];
  });
  const table = [header, ...cells];
  const widths = header.map((_, i) => Math.max(...table.map((r) => r[i]!.length)));
  process.stdout.write(table.map((r) => r.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd()).join('\n') + '\n\n');

  const verdict = (ours: Measurement, label: string) => {
    const ratio = ours.error === undefined ? S(lib).median / S(ours).median : NaN;
    return { label, met: ratio >= 1, ratio };
  };
  const verdicts = [
    verdict(decode, 'decode (bytes -> tree) vs wbxml2xml'),
    verdict(decodeXml, 'decode + toXml (bytes -> XML bytes, in process) vs wbxml2xml'),
    verdict(cli, 'easd CLI vs wbxml2xml (both whole processes)'),
  ];
  const targetMet = verdicts[0]!.met;
  const notes = [
    "wbxml2xml's figure includes its process start and file I/O; the in-process figures do not.",
    'The easd CLI row is the whole-process comparison (it also pays for node + tsx start-up, see its startup row, and writes indented XML).',
    'GC ms is the median of the garbage-collection pauses inside each timed in-process run (a full GC runs before each).',
  ];
  const verdictLines = verdicts.map((v) =>
    Number.isNaN(v.ratio)
      ? `NOT MEASURED: ${v.label}`
      : `${v.met ? 'MET' : 'NOT MET'}: ${v.label}: ours runs at ${v.ratio.toPrecision(3)}x wbxml2xml's speed (medians)`,
  );
  const busy = Math.max(load0[0]!, load1[0]!) > availableParallelism() / 2;
  if (busy) notes.push(`The machine was busy (1-minute load average up to ${fmt(Math.max(load0[0]!, load1[0]!), 2)} on ${availableParallelism()} CPUs): medians are noisy, best times are the better guide.`);
  for (const m of rows) if (m.error !== undefined) notes.push(`${m.name} could not be measured: ${m.error}`);
  process.stdout.write(
    `XML output: ours (compact) ${ourXmlBytes} bytes, easd CLI (indented) ${cliXmlBytes} bytes, wbxml2xml -m 0 ${libXmlBytes} bytes\n` +
      `load average after: ${load1.map((l) => l.toFixed(2)).join(' ')}\n` +
      notes.map((n) => `Note: ${n}`).join('\n') +
      `\n\nTarget (our decoder >= wbxml2xml on this file): ${targetMet ? 'MET' : 'NOT MET'}\n` +
      verdictLines.map((l) => `  ${l}`).join('\n') +
      '\n',
  );

  if (opts.writeResults) {
    const m = machine();
    if (!existsSync(resultsFile)) {
      writeFileSync(
        resultsFile,
        '# Benchmark results\n\n' +
          'Measured results of the benchmarks in bench/ (see bench/README.md for how to run them).\n' +
          'Each section is appended by a benchmark run with `--write-results` and records the exact\n' +
          'command, the date (`date -u`) and the machine, so that figures from different machines or\n' +
          'revisions are not compared unknowingly. Benchmarks are measurements, not tests: nothing in\n' +
          'the test suite asserts on timings. Newest sections are at the end.\n',
      );
    }
    const rev = sh(`git -C '${root}' rev-parse --short HEAD 2>/dev/null`);
    const dirty = sh(`git -C '${root}' status --porcelain -- src/wbxml 2>/dev/null`) ? ' (src/wbxml has uncommitted changes)' : '';
    const mdRows = rows.map((r, i) => `| ${cells[i]!.join(' | ')} | ${r.how} |`);
    const section =
      `\n## wbxml: decode/encode throughput vs libwbxml wbxml2xml (${m.date})\n\n` +
      `- Command: \`${commandLine}\` (from the repository root)\n` +
      `- Date: ${m.date}\n` +
      `- Machine: nproc ${m.nproc}, CPU "${m.cpu}", node ${m.node}, ${m.kernel}; libwbxml ${m.libwbxml}` +
      (m.libwbxmlPackage ? ` (Debian libwbxml2-utils ${m.libwbxmlPackage})` : '') +
      `\n- Load average (1/5/15 min) before: ${load0.map((l) => l.toFixed(2)).join(' ')}, after: ${load1.map((l) => l.toFixed(2)).join(' ')}\n` +
      `- Revision: ${rev || 'unknown'}${dirty}\n` +
      `- Input: generated Sync response (bench/wbxml/generate.ts), ${size} bytes (${fmt(size / MB, 2)} MB), ${gen.emails} email + ${gen.events} calendar items, seed ${opts.seed}, sha256 \`${sha}\`\n` +
      `- Runs: ${K} interleaved rounds, after ${WARMUP} warm-up runs per in-process row and ${PROC_WARMUP} per process row; full GC before each timed run; MB = 10^6 bytes of WBXML\n` +
      `- XML output sizes: ours compact ${ourXmlBytes} bytes, easd CLI indented ${cliXmlBytes} bytes, wbxml2xml -m 0 ${libXmlBytes} bytes\n\n` +
      `| ${header.join(' | ')} | what |\n` +
      `|---|---|---:|---:|---:|---:|---:|---|\n` +
      mdRows.join('\n') +
      '\n\n' +
      notes.join(' ') +
      `\n\n**Target (our decoder >= wbxml2xml on this file): ${targetMet ? 'MET' : 'NOT MET'}**\n\n` +
      verdictLines.map((l) => `- ${l}`).join('\n') +
      '\n';
    appendFileSync(resultsFile, section);
    process.stdout.write(`\nappended to ${relative(process.cwd(), resultsFile) || resultsFile}\n`);
  }
  if (opts.keep) process.stdout.write(`\nkept ${dir}\n`);
  if (sink === null) process.stdout.write(''); // keep the last result observable
} finally {
  if (!opts.keep) rmSync(dir, { recursive: true, force: true });
}

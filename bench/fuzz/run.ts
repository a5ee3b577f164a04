/**
 * The fuzzer's command line (README "Fuzzing"; issue 15 "Keep it true").
 *
 *   node --import tsx bench/fuzz/run.ts [--requests 5000] [--seed 1] [--backend sqlite|postgres]
 *        [--time-limit 600] [--concurrency 4] [--hang-ms 30000] [--hold-ms 3000] [--huge-max 1000000]
 *        [--failures DIR] [--protection off|on] [--progress-ms 10000] [--json FILE] [--write-results]
 *   node --import tsx bench/fuzz/run.ts --replay FILE [--backend sqlite|postgres]
 *
 * Exits 1 when the run found a crash, a hang, an unexpected 5xx, an error-level log line,
 * cross-user reach, a vCard import fault or an LMTP temporary failure. Every such request is
 * saved as JSON in the failures directory; --replay sends one again to a fresh server.
 */
import { writeFileSync } from 'node:fs';
import { appendResults, machine, machineLines, parseArgs, sh } from '../sync/common.ts';
import { findings, runFuzz, type FuzzReport } from './fuzz.ts';
import { replay } from './replay.ts';

const usage = 'usage: node --import tsx bench/fuzz/run.ts [--requests N] [--seed S] [--backend sqlite|postgres] [--time-limit SEC] [--concurrency N] [--failures DIR] [--write-results] | --replay FILE';
const args = parseArgs(
  process.argv.slice(2),
  { requests: 'number', seed: 'number', backend: 'string', 'time-limit': 'number', concurrency: 'number', 'hang-ms': 'number', 'hold-ms': 'number', 'huge-max': 'number', failures: 'string', protection: 'string', 'progress-ms': 'number', json: 'string', 'write-results': 'boolean', replay: 'string' },
  { requests: 5000, seed: 1, backend: 'sqlite', 'time-limit': 600, concurrency: 4, 'hang-ms': 30_000, 'hold-ms': 3000, 'huge-max': 1_000_000, protection: 'off', 'progress-ms': 10_000 },
  usage,
);
const backend = args.backend === 'postgres' ? 'postgres' : 'sqlite';

if (args.replay) {
  process.exit(await replay(String(args.replay), backend));
}

const report = await runFuzz({
  requests: Number(args.requests),
  seed: Number(args.seed),
  backend,
  timeLimitSec: Number(args['time-limit']),
  concurrency: Number(args.concurrency),
  hangMs: Number(args['hang-ms']),
  holdMs: Number(args['hold-ms']),
  hugeMax: Number(args['huge-max']),
  ...(args.failures ? { failuresDir: String(args.failures) } : {}),
  protection: args.protection === 'on' ? 'on' : 'off',
  progressMs: Number(args['progress-ms']),
});
const text = summary(report);
process.stdout.write(text + '\n');
if (args.json) writeFileSync(String(args.json), JSON.stringify(report, null, 1));
if (args['write-results']) {
  const command = `node --import tsx bench/fuzz/run.ts ${process.argv.slice(2).join(' ')}`.trim();
  appendResults(`## fuzz: ${report.http.toLocaleString('en')} HTTP requests, seed ${report.seed}, ${report.backend} (${new Date().toUTCString()})\n\n- Command: \`${command}\` (from the repository root)\n${machineLines(machine())}\n- Revision: ${sh('git rev-parse --short HEAD')}\n\n${text}\n`);
}
process.exit(findings(report) > 0 ? 1 : 0);

function summary(r: FuzzReport): string {
  const mb = (b: number) => (b / 1048576).toFixed(1);
  const secs = r.durationMs / 1000;
  const sorted = (o: Record<string, number>) => Object.entries(o).sort((a, b) => b[1] - a[1]).map(([k, v]) => `${k} ${v}`).join(', ');
  const lines = [
    '| figure | value |',
    '|---|---:|',
    `| HTTP requests | ${r.http} |`,
    `| LMTP deliveries / vCard imports | ${r.lmtp} / ${r.vcard} |`,
    `| duration | ${secs.toFixed(1)} s (stopped by ${r.stoppedBy}) |`,
    `| HTTP requests/s | ${(r.http / secs).toFixed(0)} |`,
    `| crashes | ${r.crashed ? 1 : 0} |`,
    `| hangs | ${r.hangs} |`,
    `| unexpected 5xx | ${r.unexpected5xx} |`,
    `| known 5xx (issue 15 items) | ${sorted(r.known) || 0} |`,
    `| error-level log lines | ${r.errorLines.length} |`,
    `| warn lines | ${r.warnCount} |`,
    `| cross-user reach | ${r.crossUser} |`,
    `| held Ping/Sync let go | ${r.held} |`,
    `| connections closed without an answer | ${r.closedWithoutAnswer} |`,
    `| operations the fuzzer failed to generate | ${r.fuzzerErrors} |`,
    `| RSS start -> end (after GC) | ${mb(r.rssStart)} -> ${mb(r.rssEnd)} MiB |`,
    `| heap used start -> end (after GC) | ${mb(r.heapStart)} -> ${mb(r.heapEnd)} MiB |`,
    `| longest event-loop stall | ${r.maxStallMs.toFixed(0)} ms (window: ${r.worstStallLabels.join(', ')}) |`,
    `| load average before / after | ${r.loadBefore.map((x) => x.toFixed(2)).join(' ')} / ${r.loadAfter.map((x) => x.toFixed(2)).join(' ')} |`,
    '',
    `HTTP statuses: ${sorted(r.statuses)}`,
    '',
    `Operations: ${sorted(r.labels)}`,
    '',
    `LMTP last replies: ${sorted(r.lmtpCodes)}`,
  ];
  if (r.failures.length) lines.push('', 'Findings:', ...r.failures.slice(0, 30).map((f) => `- ${f.kind} ${f.label}: ${f.detail.replace(/\s+/g, ' ').slice(0, 300)}${f.file ? ` (${f.file})` : ''}`));
  if (r.errorLines.length) lines.push('', 'Error lines:', ...r.errorLines.slice(0, 10).map((l) => `- ${l.slice(0, 400)}`));
  return lines.join('\n');
}

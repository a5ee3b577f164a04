/**
 * The kill -9 durability check (harness.ts): kills `easd serve` with SIGKILL at seeded random
 * moments while it takes LMTP deliveries and device syncs, restarts it on the same store, and
 * verifies that nothing acknowledged was lost or duplicated.
 *
 *   node --import tsx bench/durability/run.ts [--kills 100] [--backend sqlite|postgres] [--seed 1]
 *        [--devices 3] [--deliverers 2] [--min-answers 2] [--max-answers 20] [--jitter-ms 400] [--max-minutes M] [--write-results]
 *
 * PostgreSQL: EASD_TEST_PG_URL (default postgres://postgres@127.0.0.1:5432/test); the run makes a
 * schema of its own and drops it. Exits 1 when anything acknowledged was lost or duplicated, the
 * store check failed, or a worker gave up.
 */
import { loadavg } from 'node:os';
import { appendResults, fmtLoad, machine, machineLines, parseArgs } from '../sync/common.ts';
import { formatReport, runDurability } from './harness.ts';

const usage = 'usage: node --import tsx bench/durability/run.ts [--kills N] [--backend sqlite|postgres] [--seed S] [--devices N] [--deliverers N] [--min-answers N] [--max-answers N] [--jitter-ms MS] [--max-minutes M] [--write-results]';
const args = parseArgs(
  process.argv.slice(2),
  { kills: 'number', backend: 'string', seed: 'number', devices: 'number', deliverers: 'number', 'min-answers': 'number', 'max-answers': 'number', 'jitter-ms': 'number', 'max-minutes': 'number', 'write-results': 'boolean' },
  { kills: 10, backend: 'sqlite', seed: 1, devices: 3, deliverers: 2, 'min-answers': 2, 'max-answers': 20, 'jitter-ms': 400 },
  usage,
);
const backend = args['backend'] === 'postgres' ? 'postgres' : args['backend'] === 'sqlite' ? 'sqlite' : undefined;
if (!backend) {
  process.stderr.write(`--backend is sqlite or postgres\n${usage}\n`);
  process.exit(2);
}
const loadBefore = loadavg();
const m = machine();
const report = await runDurability({
  backend,
  kills: args['kills'] as number,
  seed: args['seed'] as number,
  devices: args['devices'] as number,
  deliverers: args['deliverers'] as number,
  minAnswers: args['min-answers'] as number,
  maxAnswers: args['max-answers'] as number,
  jitterMs: args['jitter-ms'] as number,
  maxMinutes: args['max-minutes'] as number | undefined,
  log: (line) => process.stderr.write(`[${new Date().toISOString().slice(11, 19)}] ${line}\n`),
});
const loadAfter = loadavg();
const text = formatReport(report);
process.stdout.write(text + '\n');
const ok = report.verification.losses.length === 0 && /^ok/.test(report.integrity);
if (args['write-results']) {
  const command = `node --import tsx bench/durability/run.ts ${process.argv.slice(2).join(' ')}`;
  appendResults(
    `\n## durability: kill -9 during deliveries and syncs, ${backend} (${m.date})\n\n` +
      `- Command: \`${command}\` (from the repository root)\n` +
      machineLines(m) +
      `- Load average (1/5/15 min) before: ${fmtLoad(loadBefore)}, after: ${fmtLoad(loadAfter)}\n` +
      `- Setup: one user, ${args['devices']} devices, ${args['deliverers']} LMTP connections; each server generation killed after the devices got ${args['min-answers']}-${args['max-answers']} answers from it plus 0-${args['jitter-ms']} ms (seed ${args['seed']}); protection off (--no-throttle --no-loop-detection --no-lockout)\n` +
      (report.kills < (args['kills'] as number) ? `- Stopped by --max-minutes after ${report.kills} of ${args['kills']} kills\n` : '') +
      text +
      `\n- Result: ${ok ? 'PASS: nothing acknowledged lost or duplicated, store intact' : 'FAIL'}\n`,
  );
}
process.exit(ok ? 0 : 1);

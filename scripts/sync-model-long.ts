/**
 * The long run of the sync model test (test/sync/sync-model.test.ts): thousands of random
 * operation sequences against a real server, in batches of one seed each, so a failure costs one
 * batch and the run goes on with the next seed. Prints per batch and in all: runs, operations,
 * HTTP requests, checks made, time, and every failure with its seed, its shrunk operation list
 * (ready for test/sync/sync-model-regressions.test.ts) and its message.
 *
 *   node --import tsx scripts/sync-model-long.ts [--backend sqlite|postgres] [--runs 5000]
 *        [--batch 100] [--seed 1] [--max-ops 24] [--no-shrink]
 *
 * Exits 1 when any batch failed.
 */
import fc from 'fast-check';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { DEFAULT_GEN, opsArb, type Op } from '../test/sync/model/ops.ts';
import { closeModelEnv, runOps, startModelEnv } from '../test/sync/model/runner.ts';

const { values } = parseArgs({
  options: {
    backend: { type: 'string', default: 'sqlite' },
    runs: { type: 'string', default: '5000' },
    batch: { type: 'string', default: '100' },
    seed: { type: 'string', default: '1' },
    'max-ops': { type: 'string', default: String(DEFAULT_GEN.maxOps) },
    'no-shrink': { type: 'boolean', default: false },
  },
});
const backend = values.backend === 'postgres' ? 'postgres' : 'sqlite';
const target = Number(values.runs);
const batch = Number(values.batch);
const firstSeed = Number(values.seed);
const gen = { ...DEFAULT_GEN, maxOps: Number(values['max-ops']) };

interface Failure {
  seed: number;
  afterRuns: number;
  shrinks: number;
  ops: Op[];
  message: string;
}

const env = await startModelEnv(backend);
const started = performance.now();
const totals: Record<string, number> = { runs: 0, steps: 0, requests: 0 };
const failures: Failure[] = [];
let seed = firstSeed;
try {
  while (totals.runs! < target) {
    const numRuns = Math.min(batch, target - totals.runs!);
    let runsThisBatch = 0;
    let shrinking = false;
    const batchStart = performance.now();
    const result = await fc.check(
      fc.asyncProperty(opsArb(gen), async (ops) => {
        const stats = await runOps(env, ops).catch((err: unknown) => {
          shrinking = true;
          throw err;
        });
        // Runs while shrinking replay counterexamples: not counted as runs of the batch.
        if (shrinking) return;
        runsThisBatch++;
        totals.steps! += stats.steps;
        totals.requests! += stats.requests;
        for (const [k, v] of Object.entries(stats.checks)) totals[k] = (totals[k] ?? 0) + v;
      }),
      { numRuns, seed, endOnFailure: values['no-shrink'] },
    );
    totals.runs! += result.failed ? result.numRuns : runsThisBatch;
    const ms = Math.round(performance.now() - batchStart);
    if (result.failed) {
      const err = result.errorInstance;
      const message = err instanceof Error ? err.message : String(err);
      const ops = (result.counterexample?.[0] ?? []) as Op[];
      failures.push({ seed, afterRuns: result.numRuns, shrinks: result.numShrinks, ops, message });
      console.log(`seed ${seed}: FAILED after ${result.numRuns} runs (${result.numShrinks} shrinks, ${ms} ms)\n  ops: ${JSON.stringify(ops)}\n  ${message.split('\n')[0]}`);
    } else {
      console.log(`seed ${seed}: ${numRuns} runs passed (${ms} ms)`);
    }
    seed++;
  }
} finally {
  await closeModelEnv(env);
}
const seconds = (performance.now() - started) / 1000;
console.log('\nsummary');
console.log(
  JSON.stringify(
    {
      backend,
      seeds: `${firstSeed}..${seed - 1}`,
      batch,
      maxOps: gen.maxOps,
      ...totals,
      seconds: Math.round(seconds),
      failedSeeds: failures.length,
      failures: failures.map((f) => ({ seed: f.seed, afterRuns: f.afterRuns, ops: f.ops, message: f.message.split('\n')[0] })),
    },
    null,
    1,
  ),
);
process.exit(failures.length ? 1 : 0);

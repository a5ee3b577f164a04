/**
 * Model-based, property-based test of the collection sync engine (src/sync/), driving a real
 * server over HTTP on SQLite and PostgreSQL with fast-check: random sequences of server-side
 * deliveries, changes, deletes and moves, device Syncs (WindowSize 1-512, client Adds, Changes
 * and Deletes, Changes of a received message's Subject that the server keeps (the device must
 * converge to the server's version, kb-1.2), DeletesAsMoves on and off, FilterType changes), lost answers retried with the same
 * SyncKey, SyncKey 0 resets, MoveItems, GetItemEstimate, two devices syncing at once, days passing
 * (Date mocked in-process) and quarantine, for one user with three devices and a second user whose
 * mail must never show. After every step the devices are checked against a reference model (see
 * model/runner.ts for the six invariants).
 *
 * The seed is fixed so the suite is repeatable; EASD_MODEL_SEED and EASD_MODEL_RUNS change it
 * (scripts/sync-model-long.ts runs thousands). A failure prints the shrunk operation list (add it
 * to sync-model-regressions.test.ts as a plain case) and EASD_MODEL_PATH to replay it alone.
 * (With EASD_MODEL_SEED set, the PostgreSQL suite runs that seed + 1.)
 */
import fc from 'fast-check';
import { after, before, describe, it } from 'node:test';
import { pgSkipped } from '../helpers/db.ts';
import { DEFAULT_GEN, opsArb } from './model/ops.ts';
import { closeModelEnv, runOps, startModelEnv, type ModelEnv } from './model/runner.ts';

const SEED = process.env.EASD_MODEL_SEED ? Number(process.env.EASD_MODEL_SEED) : 20261207;
/** Passing: about 20 s each on a quiet 2-core machine, about 60 s with the CPU shared three ways. */
const RUNS = { sqlite: 160, postgres: 90 };
/** The two backends run different sequences (more ground covered); the seed is logged either way. */
const SEEDS = { sqlite: SEED, postgres: SEED + 1 };

for (const backend of ['sqlite', 'postgres'] as const) {
  const skip = backend === 'postgres' && pgSkipped() ? 'EASD_TEST_SKIP_PG=1' : false;
  describe(`sync engine against the model (${backend})`, { skip }, () => {
    let env: ModelEnv;
    before(async () => {
      env = await startModelEnv(backend);
    });
    after(async () => {
      if (env) await closeModelEnv(env);
    });

    const numRuns = process.env.EASD_MODEL_RUNS ? Number(process.env.EASD_MODEL_RUNS) : RUNS[backend];
    const seed = SEEDS[backend];
    it(`${numRuns} random operation sequences keep every device equal to the model (seed ${seed})`, async (t) => {
      const totals: Record<string, number> = { steps: 0, requests: 0 };
      const started = performance.now();
      const result = await fc.check(
        fc.asyncProperty(opsArb(DEFAULT_GEN), async (ops) => {
          const stats = await runOps(env, ops);
          totals.steps! += stats.steps;
          totals.requests! += stats.requests;
          for (const [k, v] of Object.entries(stats.checks)) totals[k] = (totals[k] ?? 0) + v;
        }),
        { numRuns, seed, ...(process.env.EASD_MODEL_PATH ? { path: process.env.EASD_MODEL_PATH } : {}) },
      );
      if (result.failed) {
        // The shrunk operations (paste them into sync-model-regressions.test.ts) and what broke.
        const cause = result.errorInstance instanceof Error ? result.errorInstance.message : String(result.errorInstance);
        throw new Error(
          `seed ${seed}: failed after ${result.numRuns} runs, shrunk ${result.numShrinks} times (replay: EASD_MODEL_SEED=${SEED} EASD_MODEL_PATH=${result.counterexamplePath}, ${backend})\n` +
            `ops: ${JSON.stringify(result.counterexample?.[0])}\n${cause}`,
        );
      }
      t.diagnostic(`seed ${seed}, ${numRuns} runs in ${Math.round(performance.now() - started)} ms: ${JSON.stringify(totals)}`);
    });
  });
}

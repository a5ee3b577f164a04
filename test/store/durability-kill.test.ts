/**
 * The short kill -9 durability check (bench/durability/, issue 15 "Keep it true"): `easd serve`
 * on SQLite is killed with SIGKILL three times while it takes LMTP deliveries and three devices
 * sync, add, change, delete and move; after it is started again on the same store, nothing it
 * acknowledged is lost or duplicated (kb-2.7: a client Add sent again after a kill with the same
 * ClientId gets the same ServerId), every device synced on from its last SyncKey holds exactly
 * the server's items, and the database passes integrity_check. The long runs (100 kills per
 * backend) are recorded in bench/RESULTS.md.
 *
 * Nothing here depends on timing: how much each generation gets done before its kill varies
 * with the load, so the test asserts on what was acknowledged, whatever that was, and the
 * devices take their last steps after the kills so that client writes are always part of it.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatReport, runDurability } from '../../bench/durability/harness.ts';

test('kb-2.7: three kill -9 restarts during deliveries and syncs lose and duplicate nothing acknowledged (SQLite)', { timeout: 900_000 }, async () => {
  const report = await runDurability({ backend: 'sqlite', kills: 3, seed: 7, stepsAfter: 12 });
  const text = formatReport(report);
  assert.equal(report.kills, 3, text);
  assert.deepEqual(report.verification.losses, [], text);
  assert.equal(report.integrity, 'ok', text);
  assert.ok(report.counts.deliveriesAcked > 0, text);
  assert.ok(report.counts.addsAcked > 0, text);
  assert.equal(report.counts.http5xx, 0, text);
  assert.deepEqual(report.serverErrors, [], text);
});

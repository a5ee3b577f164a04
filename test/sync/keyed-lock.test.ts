import assert from 'node:assert/strict';
import { it } from 'node:test';
import { KeyedLock } from '../../src/sync/keyed-lock.ts';

const tick = (ms: number) => new Promise((r) => setTimeout(r, ms));

it('KeyedLock runs one key\'s functions one at a time in call order, other keys alongside, and forgets idle keys', async () => {
  const lock = new KeyedLock();
  const log: string[] = [];
  const job = (key: string, name: string, ms: number) =>
    lock.run(key, async () => {
      log.push(`start ${name}`);
      await tick(ms);
      log.push(`end ${name}`);
      return name;
    });
  const results = await Promise.all([job('a', 'a1', 30), job('a', 'a2', 1), job('b', 'b1', 5), job('a', 'a3', 1)]);
  assert.deepEqual(results, ['a1', 'a2', 'b1', 'a3']);
  assert.deepEqual(
    log.filter((l) => l.endsWith('a1') || l.endsWith('a2') || l.endsWith('a3')),
    ['start a1', 'end a1', 'start a2', 'end a2', 'start a3', 'end a3'],
  );
  assert.ok(log.indexOf('end b1') < log.indexOf('end a1'), 'b ran while a1 held a');
  assert.equal(lock.size, 0);
  // A failure is the caller's; the next one runs.
  await assert.rejects(lock.run('a', async () => Promise.reject(new Error('boom'))), /boom/);
  assert.equal(await lock.run('a', async () => 'after'), 'after');
  assert.equal(lock.size, 0);
});

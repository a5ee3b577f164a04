/**
 * Ping (MS-ASCMD 2.2.1.13), model-based. The contract: a change relevant to a device always wakes
 * its Ping, an irrelevant one never does. Relevant: the next Sync of a watched folder, from the
 * device's last sync key, would send the device at least one command; the model says which from
 * what the device was sent (MS-ASCMD 2.2.3.7.2 Add, 2.2.3.24 Change, 2.2.3.42.2 Delete): an item
 * in its FilterType window it does not have, a newer version of one it has, or the deletion of
 * one it has. So these are irrelevant: a change in a folder the Ping does not watch, the device's
 * own writes through Sync, a change to another user's folder, an item (created, changed or
 * deleted) outside the device's FilterType window for that folder, an item created and deleted
 * again before the device synchronised, a hierarchy change that leaves the watched folders.
 *
 * Random sequences over two devices of one user (14.1; Inbox with FilterType 3 or none, Calendar
 * with 4 or none, Contacts), a second user, and the store API. Checked:
 * - every Sync sends exactly the commands the model expects (the model's notion of "relevant"
 *   is the server's Sync, checked whenever a device synchronises);
 * - a Ping sent while something is owed answers at once, Status 2, naming exactly the watched
 *   folders with something to send;
 * - a Ping held (nothing owed) stays held through irrelevant changes and answers Status 2 naming
 *   exactly the folders owed something once a relevant change is stored.
 * Nothing waits for a heartbeat (600 s, PING_HEARTBEAT.min is 60): "not woken" is read from the
 * answer that the relevant change finally brings (it must name only folders owed something), and
 * from the request not being answered yet when the next change is made (never by waiting).
 *
 * Seed and run count: EASD_MODEL_SEED, EASD_MODEL_RUNS. Failures found by fast-check are kept
 * below as plain regression tests.
 */
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { pgSkipped } from '../helpers/db.ts';
import type { TestServer } from '../helpers/server.ts';
import { runSettings } from './hierarchy-model/ops.ts';
import { startModelServer } from './model-server.ts';
import { opArb, setupArb, type Op } from './ping-model/ops.ts';
import { PASSWORD, PingWorld, stats } from './ping-model/world.ts';

for (const backend of ['sqlite', 'postgres'] as const) {
  describe(`Ping against a model of what each device is owed (${backend})`, { skip: backend === 'postgres' && pgSkipped() ? 'EASD_TEST_SKIP_PG=1' : false }, () => {
    let srv: TestServer;
    let passwordHash: string;
    let runs = 0;

    before(async () => {
      ({ srv, passwordHash } = await startModelServer(backend, PASSWORD));
    });
    after(async () => srv.close());

    const replay = async (ops: Op[], filters: (boolean | null)[] = []) => {
      const n = ++runs;
      const [user, other] = await Promise.all(['a', 'b'].map((x) => srv.store.createUser({ email: `pm-${n}-${x}@example.com`, passwordHash })));
      await new PingWorld(srv, user!, other!).run(ops, filters);
    };

    it('random sequences: relevant changes always wake a Ping, irrelevant ones never do', async (t) => {
      const { numRuns, seed } = runSettings(backend === 'sqlite' ? 40 : 25);
      t.diagnostic(`fast-check seed ${seed}, ${numRuns} runs (EASD_MODEL_SEED, EASD_MODEL_RUNS)`);
      await fc.assert(
        fc.asyncProperty(fc.array(opArb, { minLength: 1, maxLength: 16 }), setupArb, async (ops, filters) => replay(ops, filters)),
        { seed, numRuns, interruptAfterTimeLimit: 240_000, markInterruptAsFailure: false, includeErrorInReport: true },
      );
      t.diagnostic(`outcomes: ${[...stats].sort().map(([k, v]) => `${k}: ${v}`).join(', ')}`);
    });

    // Each irrelevant change of the contract, one by one (a failure of any is a server bug), then
    // the relevant ones. Setup: both devices synced Inbox (FilterType 3), Calendar (4), Contacts.
    // Where a change in a watched folder must not wake the Ping, the change that finally does is
    // in another watched folder, so an early answer names the wrong folder.
    const ALL = [true, true, true, true, true, true];

    it('an item outside the FilterType window does not wake a held Ping, nor does its change or deletion', async () => {
      await replay([
        { k: 'ping', d: 0, mask: 3, during: [{ k: 'put', at: 'inbox', old: true }, { k: 'put', at: 'calendar', old: true }], wake: 1, path: 'final' },
        { k: 'sync', d: 0, f: 'calendar', filter: true, reset: false },
        { k: 'sync', d: 0, f: 'inbox', filter: true, reset: false },
        { k: 'ping', d: 0, mask: 3, during: [{ k: 'update', at: 'inbox', i: 0 }, { k: 'delete', at: 'inbox', i: 0 }], wake: 1, path: 'final' },
        { k: 'sync', d: 0, f: 'calendar', filter: true, reset: false },
        { k: 'ping', d: 0, mask: 3, during: [{ k: 'update', at: 'calendar', i: 0 }], wake: 0, path: 'final' },
      ], ALL);
    });

    it('a Ping sent after an item outside the window arrived, or after an item came and went, is held', async () => {
      await replay([
        { k: 'put', at: 'inbox', old: true },
        { k: 'ping', d: 0, mask: 1, during: [], wake: 0, path: 'final' },
        { k: 'sync', d: 0, f: 'inbox', filter: true, reset: false },
        { k: 'put', at: 'contacts', old: false },
        { k: 'delete', at: 'contacts', i: 0 },
        { k: 'ping', d: 0, mask: 5, during: [], wake: 0, path: 'final' },
      ], ALL);
    });

    it("the device's own writes through Sync do not wake its Ping; the other device's do", async () => {
      await replay([
        { k: 'put', at: 'inbox', old: false },
        { k: 'put', at: 'contacts', old: false },
        { k: 'sync', d: 0, f: 'inbox', filter: true, reset: false },
        { k: 'sync', d: 0, f: 'contacts', filter: false, reset: false },
        { k: 'own', d: 0, f: 'contacts', what: 'add', i: 0 },
        { k: 'own', d: 0, f: 'contacts', what: 'change', i: 0 },
        { k: 'own', d: 0, f: 'inbox', what: 'delete', i: 0 },
        { k: 'ping', d: 0, mask: 5, during: [], wake: 1, path: 'final' },
        { k: 'sync', d: 0, f: 'contacts', filter: false, reset: false },
        { k: 'sync', d: 1, f: 'contacts', filter: false, reset: false },
        { k: 'ping', d: 0, mask: 4, during: [{ k: 'own', d: 1, f: 'contacts', what: 'add', i: 0 }], wake: 0, path: 'during' },
      ], ALL);
    });

    it("another user's folder, an unwatched folder and a new folder do not wake a held Ping", async () => {
      await replay([
        { k: 'ping', d: 0, mask: 1, during: [{ k: 'put', at: 'other', old: false }, { k: 'put', at: 'notes', old: false }, { k: 'put', at: 'contacts', old: false }, { k: 'folder' }], wake: 0, path: 'final' },
        // Contacts is owed the new contact now: answered at once.
        { k: 'ping', d: 0, mask: 6, during: [], wake: 0, path: 'at once' },
      ], ALL);
    });

    it('a change of an item the device has, its deletion, and a new item in the window each wake a held Ping', async () => {
      await replay([
        { k: 'put', at: 'inbox', old: false },
        { k: 'put', at: 'calendar', old: false },
        { k: 'sync', d: 0, f: 'inbox', filter: true, reset: false },
        { k: 'sync', d: 0, f: 'calendar', filter: true, reset: false },
        { k: 'ping', d: 0, mask: 3, during: [{ k: 'update', at: 'inbox', i: 0 }], wake: 0, path: 'during' },
        { k: 'sync', d: 0, f: 'inbox', filter: true, reset: false },
        { k: 'ping', d: 0, mask: 3, during: [{ k: 'delete', at: 'calendar', i: 0 }], wake: 0, path: 'during' },
        { k: 'sync', d: 0, f: 'calendar', filter: true, reset: false },
        { k: 'ping', d: 0, mask: 3, during: [{ k: 'put', at: 'calendar', old: false }], wake: 0, path: 'during' },
      ], ALL);
    });
  });
}

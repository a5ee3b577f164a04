/**
 * The Store contract: the suites every SQL backend runs (sqlite.test.ts, postgres.test.ts), one
 * per owner of the store (src/ports/store.ts) and the migrations, which belong to the store as a
 * whole. Each test opens a fresh, empty store with a fake clock and cleans it up after.
 *
 * - contract-accounts.ts: users, and the Accounts port over them (AccountsStore)
 * - contract-content.ts, contract-content-items.ts: folders, items, isolation between users,
 *   change notifications (ContentStore)
 * - contract-device-state.ts: devices and device sync data (DeviceStateStore)
 * - contract-helpers.ts: the harness, the per-test fixture and what the suites share
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Folder } from '../../src/store/types.ts';
import { runAccountsContract } from './contract-accounts.ts';
import { runContentContract } from './contract-content.ts';
import { runDeviceStateContract } from './contract-device-state.ts';
import { storeTest, type OpenStore } from './contract-helpers.ts';

export function runStoreContract(name: string, open: OpenStore): void {
  runAccountsContract(name, open);
  runContentContract(name, open);
  runDeviceStateContract(name, open);

  describe(`Store contract (migrations): ${name}`, () => {
    it(
      'are idempotent: opening the same database again keeps the data',
      storeTest(open, async ({ opened, mkUser, mkFolder }) => {
        assert.ok(opened.reopen, 'the backend harness must provide reopen()');
        const u = await mkUser();
        const f: Folder = await mkFolder(u);
        await opened.store.close();
        const again = await opened.reopen();
        const third = await opened.reopen();
        assert.deepEqual(await again.getUserById(u.id), u);
        assert.deepEqual(await third.getFolder(u.id, f.id), f);
        await again.putItem({ userId: u.id, folderId: f.id, class: 'Email', data: {} });
        assert.equal((await third.getFolder(u.id, f.id))?.modseq, 1);
      }),
    );
  });
}

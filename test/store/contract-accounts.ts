/**
 * The store contract for accounts (AccountsStore in src/ports/store.ts): users with their password
 * hashes, and the Accounts port over them (StoredAccounts, src/auth/stored-accounts.ts). The tests
 * reach the store only as an AccountsStore; the other owners' ports appear where a promise of
 * this one reaches them (deleting a user deletes their folders, items and devices).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { hashPassword } from '../../src/auth/password.ts';
import { StoredAccounts } from '../../src/auth/stored-accounts.ts';
import type { Accounts } from '../../src/ports/accounts.ts';
import type { AccountsStore } from '../../src/ports/store.ts';
import { StoreError } from '../../src/store/types.ts';
import { rejectsWith, storeTest, type OpenStore, type PortTest } from './contract-helpers.ts';

export function runAccountsContract(name: string, open: OpenStore): void {
  describe(`Store contract (accounts): ${name}`, () => {
    /** A test of the store as an AccountsStore. */
    const test: PortTest<AccountsStore> = (fn, opts) => storeTest(open, (fx) => fn(fx.accounts, fx), opts);

    describe('users', () => {
      it(
        'creates and reads a user, email lowercased and trimmed',
        test(async (accounts, { clock }) => {
          const u = await accounts.createUser({ email: '  Alice@Example.COM ', passwordHash: 'h1', displayName: 'Alice' });
          assert.equal(u.email, 'alice@example.com');
          assert.equal(u.displayName, 'Alice');
          assert.equal(u.passwordHash, 'h1');
          assert.equal(typeof u.id, 'string');
          assert.ok(u.id.length > 0);
          assert.deepEqual(u.createdAt, clock.now());

          assert.deepEqual(await accounts.getUserById(u.id), u);
          assert.deepEqual(await accounts.getUserByEmail('ALICE@example.com'), u);
          assert.deepEqual(await accounts.getUserByEmail(' alice@example.com'), u);
          assert.equal(await accounts.getUserByEmail('bob@example.com'), null);
          assert.equal(await accounts.getUserById('no-such-id'), null);

          const noName = await accounts.createUser({ email: 'x@example.com', passwordHash: 'h' });
          assert.equal(noName.displayName, null);
        }),
      );

      it(
        'rejects a duplicate email, whatever its case, with conflict',
        test(async (accounts, { mkUser }) => {
          await mkUser('alice@example.com');
          await rejectsWith(accounts.createUser({ email: 'ALICE@example.com', passwordHash: 'x' }), 'conflict');
          assert.equal(await accounts.countUsers(), 1);
        }),
      );

      it(
        "rejects another user's alias, whatever its case and spaces, with conflict naming its owner; the alias stays theirs",
        test(async (accounts, { mkUser }) => {
          const ann = await mkUser('ann@example.com');
          await accounts.directory.addAlias(ann.id, 'sales@example.com');
          await assert.rejects(accounts.createUser({ email: ' Sales@EXAMPLE.com ', passwordHash: 'x' }), (err: unknown) => {
            assert.ok(err instanceof StoreError, `expected StoreError, got ${String(err)}`);
            assert.equal(err.code, 'conflict');
            assert.equal(err.message, 'sales@example.com is already an alias of ann@example.com');
            return true;
          });
          assert.equal(await accounts.countUsers(), 1);
          assert.equal(await accounts.getUserByEmail('sales@example.com'), null);
          assert.equal(await accounts.directory.findUserIdByAddress('sales@example.com'), ann.id);
          // Once the alias is removed, the address is free for a user.
          assert.equal(await accounts.directory.removeAlias(ann.id, 'sales@example.com'), true);
          const sales = await accounts.createUser({ email: 'sales@example.com', passwordHash: 'x' });
          assert.equal(await accounts.directory.findUserIdByAddress('sales@example.com'), sales.id);
        }),
      );

      it(
        'creating a user and adding the same address as an alias at once: one of them wins',
        test(async (accounts, { mkUser }) => {
          const ann = await mkUser('ann@example.com');
          for (let i = 0; i < 20; i++) {
            const address = `shared${i}@example.com`;
            const [created, aliased] = await Promise.allSettled([
              accounts.createUser({ email: address, passwordHash: 'x' }),
              accounts.directory.addAlias(ann.id, address),
            ]);
            const wins = [created, aliased].filter((r) => r.status === 'fulfilled').length;
            assert.equal(wins, 1, `${address}: ${created.status}, ${aliased.status}`);
            for (const r of [created, aliased]) {
              if (r.status === 'rejected') assert.ok(r.reason instanceof StoreError && r.reason.code === 'conflict', String(r.reason));
            }
          }
        }),
      );

      it(
        'rejects an empty email or password hash with invalid',
        test(async (accounts) => {
          await rejectsWith(accounts.createUser({ email: '  ', passwordHash: 'x' }), 'invalid');
          await rejectsWith(accounts.createUser({ email: 'a@b.c', passwordHash: '' }), 'invalid');
        }),
      );

      it(
        'lists users by email and counts them',
        test(async (accounts, { mkUser }) => {
          assert.equal(await accounts.countUsers(), 0);
          assert.deepEqual(await accounts.listUsers(), []);
          await mkUser('carol@example.com');
          await mkUser('alice@example.com');
          await mkUser('bob@example.com');
          assert.equal(await accounts.countUsers(), 3);
          assert.deepEqual(
            (await accounts.listUsers()).map((u) => u.email),
            ['alice@example.com', 'bob@example.com', 'carol@example.com'],
          );
        }),
      );

      it(
        'sets a password hash',
        test(async (accounts, { mkUser }) => {
          const u = await mkUser();
          await accounts.setPasswordHash(u.id, 'h2');
          assert.equal((await accounts.getUserById(u.id))?.passwordHash, 'h2');
          await rejectsWith(accounts.setPasswordHash('no-such-id', 'h3'), 'not_found');
        }),
      );

      it(
        "deletes a user with their folders, items and devices, leaving others' alone",
        test(async (accounts, { content, deviceState, mkUser, mkFolder }) => {
          const a = await mkUser('a@example.com');
          const b = await mkUser('b@example.com');
          const fa = await mkFolder(a);
          const sub = await mkFolder(a, 'Sub', fa.id, 12);
          const ia = await content.putItem({ userId: a.id, folderId: sub.id, class: 'Email', data: { s: 1 } });
          await deviceState.upsertDevice({ userId: a.id, deviceId: 'DEVA', deviceType: 'iPhone' });
          const fb = await mkFolder(b);
          const ib = await content.putItem({ userId: b.id, folderId: fb.id, class: 'Email', data: { s: 2 } });
          await deviceState.upsertDevice({ userId: b.id, deviceId: 'DEVB', deviceType: 'Android' });

          await accounts.deleteUser(a.id);
          assert.equal(await accounts.getUserById(a.id), null);
          assert.equal(await accounts.getUserByEmail('a@example.com'), null);
          assert.deepEqual(await content.listFolders(a.id), []);
          assert.equal(await content.getFolder(a.id, fa.id), null);
          assert.equal(await content.getItem(a.id, ia.id), null);
          assert.deepEqual(await deviceState.listDevices(a.id), []);
          assert.equal(await deviceState.getDevice(a.id, 'DEVA'), null);
          await rejectsWith(accounts.deleteUser(a.id), 'not_found');

          assert.equal(await accounts.countUsers(), 1);
          assert.deepEqual(await content.getItem(b.id, ib.id), ib);
          assert.equal((await content.listFolders(b.id)).length, 1);
          assert.equal((await deviceState.listDevices()).length, 1);

          // The email is free again.
          await mkUser('a@example.com');
        }),
      );
    });

    describe('StoredAccounts (the Accounts port over the store)', () => {
      it(
        'finds a user by login whatever its case, null for an unknown login',
        test(async (accounts) => {
          const u = await accounts.createUser({ email: 'Bo@Example.com', passwordHash: 'h' });
          const port: Accounts = new StoredAccounts(accounts);
          assert.deepEqual(await port.findUser('bo@example.com'), u);
          assert.deepEqual(await port.findUser('BO@EXAMPLE.COM'), u);
          assert.equal(await port.findUser('bob@example.com'), null);
        }),
      );

      it(
        'checks a password against the stored hash',
        test(async (accounts) => {
          const port: Accounts = new StoredAccounts(accounts);
          await accounts.createUser({ email: 'bo@example.com', passwordHash: await hashPassword('right password') });
          const u = await port.findUser('bo@example.com');
          assert.ok(u);
          assert.equal(await port.checkPassword(u, 'right password'), true);
          assert.equal(await port.checkPassword(u, 'wrong password'), false);
          assert.equal(await port.checkPassword(u, ''), false);
          assert.equal(await port.checkPassword(u, 'Right password'), false);
        }),
      );

      it(
        'changes the credential tag when setPasswordHash changes the hash',
        test(async (accounts) => {
          const port: Accounts = new StoredAccounts(accounts);
          await accounts.createUser({ email: 'bo@example.com', passwordHash: await hashPassword('first') });
          const before = (await port.findUser('bo@example.com'))!;
          assert.equal(port.credentialTag((await port.findUser('BO@example.com'))!), port.credentialTag(before), 'reading again keeps the tag');

          await accounts.setPasswordHash(before.id, await hashPassword('second'));
          const after = (await port.findUser('bo@example.com'))!;
          assert.notEqual(port.credentialTag(after), port.credentialTag(before));
          assert.equal(await port.checkPassword(after, 'second'), true);
          assert.equal(await port.checkPassword(after, 'first'), false);
        }),
      );
    });
  });
}

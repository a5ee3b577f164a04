/**
 * The directory store contract (src/store/directory-types.ts), run on SQLite and PostgreSQL.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MAX_PICTURE_BYTES, type OofSettings } from '../../src/store/directory-types.ts';
import { StoreError, type Store, type StoreErrorCode } from '../../src/store/types.ts';
import { openTempPostgresStore, openTempSqliteStore, pgSkipped, type TestStore, withTempStore } from '../helpers/db.ts';

async function rejectsWith(p: Promise<unknown>, code: StoreErrorCode): Promise<void> {
  await assert.rejects(p, (err: unknown) => {
    assert.ok(err instanceof StoreError, `expected StoreError, got ${String(err)}`);
    assert.equal(err.code, code);
    return true;
  });
}

class FakeClock {
  ms = Date.parse('2026-03-01T08:00:00.000Z');
  readonly now = (): Date => new Date(this.ms);
}

const OOF: OofSettings = {
  state: 'scheduled',
  start: '2026-03-02T00:00:00.000Z',
  end: '2026-03-09T00:00:00.000Z',
  internal: { enabled: true, message: 'Away, back Monday', bodyType: 'text' },
  externalKnown: null,
  externalUnknown: { enabled: true, message: '<p>Out</p>', bodyType: 'html' },
};

function contract(name: string, open: (clock: FakeClock) => Promise<TestStore>): void {
  describe(`directory store (${name})`, { skip: name === 'postgres' && pgSkipped() ? 'EASD_TEST_SKIP_PG=1' : false }, () => {
    const withStore = (fn: (store: Store, clock: FakeClock) => Promise<void>) => {
      const clock = new FakeClock();
      return withTempStore(() => open(clock), (store) => fn(store, clock));
    };

    it('a new user has an empty entry; fields set, clear and keep; the display name lives on the user', () =>
      withStore(async (store) => {
        const u = await store.createUser({ email: 'Ann@Example.com', passwordHash: 'h', displayName: 'Ann' });
        const empty = await store.directory.getEntry(u.id);
        assert.deepEqual(empty, {
          userId: u.id,
          email: 'ann@example.com',
          displayName: 'Ann',
          firstName: null,
          lastName: null,
          title: null,
          phone: null,
          mobilePhone: null,
          homePhone: null,
          office: null,
          company: null,
          aliases: [],
          pictureSize: 0,
        });
        let e = await store.directory.updateEntry(u.id, { displayName: 'Ann Smith', firstName: 'Ann', lastName: 'Smith', title: ' CTO ', phone: '+1 555' });
        assert.equal(e.displayName, 'Ann Smith');
        assert.equal(e.title, 'CTO');
        assert.equal((await store.getUserById(u.id))?.displayName, 'Ann Smith');
        e = await store.directory.updateEntry(u.id, { phone: null, office: 'B2', company: '' });
        assert.equal(e.phone, null);
        assert.equal(e.office, 'B2');
        assert.equal(e.company, null);
        assert.equal(e.firstName, 'Ann', 'absent fields are kept');
        assert.equal(await store.directory.getEntry('nobody'), null);
        await rejectsWith(store.directory.updateEntry('nobody', { title: 'x' }), 'not_found');
        await rejectsWith(store.directory.updateEntry(u.id, { title: 'x'.repeat(5000) }), 'invalid');
      }));

    it('aliases: unique across users and primary addresses, found case-insensitively, removed', () =>
      withStore(async (store) => {
        const a = await store.createUser({ email: 'a@example.com', passwordHash: 'h' });
        const b = await store.createUser({ email: 'b@example.com', passwordHash: 'h' });
        await store.directory.addAlias(a.id, 'Sales@Example.com');
        await store.directory.addAlias(a.id, 'sales@example.com'); // own alias again: nothing
        await store.directory.addAlias(a.id, 'ann@example.org');
        assert.deepEqual((await store.directory.getEntry(a.id))?.aliases, ['ann@example.org', 'sales@example.com']);
        await rejectsWith(store.directory.addAlias(b.id, 'SALES@example.com'), 'conflict');
        await rejectsWith(store.directory.addAlias(b.id, 'a@example.com'), 'conflict');
        await rejectsWith(store.directory.addAlias(b.id, '  '), 'invalid');
        await rejectsWith(store.directory.addAlias('nobody', 'x@example.com'), 'not_found');
        assert.equal(await store.directory.findUserIdByAddress(' SALES@EXAMPLE.COM '), a.id);
        assert.equal(await store.directory.findUserIdByAddress('B@example.com'), b.id);
        assert.equal(await store.directory.findUserIdByAddress('c@example.com'), null);
        assert.equal(await store.directory.findUserIdByAddress(''), null);
        const all = await store.directory.listEntries();
        assert.deepEqual(
          all.map((e) => [e.email, e.aliases]),
          [
            ['a@example.com', ['ann@example.org', 'sales@example.com']],
            ['b@example.com', []],
          ],
        );
        assert.equal(await store.directory.removeAlias(b.id, 'sales@example.com'), false, "another user's alias is not removed");
        assert.equal(await store.directory.removeAlias(a.id, 'Sales@example.com'), true);
        assert.equal(await store.directory.findUserIdByAddress('sales@example.com'), null);
        await store.deleteUser(a.id);
        assert.equal(await store.directory.findUserIdByAddress('ann@example.org'), null, 'aliases go with the user');
      }));

    it('listEntries containing: names, addresses and aliases, ASCII case-insensitive, % and _ literal', () =>
      withStore(async (store) => {
        const a = await store.createUser({ email: 'ann@example.com', passwordHash: 'h', displayName: 'Ann Smith' });
        const b = await store.createUser({ email: 'bob_1@example.com', passwordHash: 'h', displayName: '100% Bob' });
        const c = await store.createUser({ email: 'carl@example.com', passwordHash: 'h' });
        await store.directory.updateEntry(c.id, { firstName: 'Carl', lastName: 'Jonas' });
        await store.directory.addAlias(a.id, 'sales@example.org');
        const emails = async (containing: string) => (await store.directory.listEntries({ containing })).map((e) => e.email);
        assert.deepEqual(await emails('SMI'), ['ann@example.com']);
        assert.deepEqual(await emails('jon'), ['carl@example.com']);
        assert.deepEqual(await emails('sales'), ['ann@example.com']);
        assert.deepEqual(await emails('example'), ['ann@example.com', 'bob_1@example.com', 'carl@example.com']);
        assert.deepEqual(await emails('b_'), ['bob_1@example.com']);
        assert.deepEqual(await emails('%'), ['bob_1@example.com']);
        assert.deepEqual(await emails('a_n'), [], '_ is not a wildcard');
        assert.deepEqual((await store.directory.listEntries({ containing: 'sales' }))[0]!.aliases, ['sales@example.org']);
        assert.equal((await store.directory.listEntries()).length, 3);
        void b;
      }));

    it('pictures: stored bytes come back, size limit, removal', () =>
      withStore(async (store) => {
        const u = await store.createUser({ email: 'p@example.com', passwordHash: 'h' });
        assert.equal(await store.directory.getPicture(u.id), null);
        const pic = Buffer.from([0xff, 0xd8, 0xff, 0x00, 0x01, 0x80, 0xfe]);
        await store.directory.setPicture(u.id, pic);
        assert.deepEqual(await store.directory.getPicture(u.id), pic);
        assert.equal((await store.directory.getEntry(u.id))?.pictureSize, pic.length);
        await rejectsWith(store.directory.setPicture(u.id, Buffer.alloc(MAX_PICTURE_BYTES + 1)), 'invalid');
        await rejectsWith(store.directory.setPicture(u.id, Buffer.alloc(0)), 'invalid');
        assert.deepEqual(await store.directory.getPicture(u.id), pic, 'a refused picture changes nothing');
        await rejectsWith(store.directory.setPicture('nobody', pic), 'not_found');
        await store.directory.setPicture(u.id, null);
        assert.equal(await store.directory.getPicture(u.id), null);
        assert.equal((await store.directory.getEntry(u.id))?.pictureSize, 0);
      }));

    it('out-of-office settings round-trip; saving them forgets the reply history', () =>
      withStore(async (store, clock) => {
        const u = await store.createUser({ email: 'o@example.com', passwordHash: 'h' });
        assert.equal(await store.directory.getOof(u.id), null);
        await store.directory.putOof(u.id, OOF);
        assert.deepEqual(await store.directory.getOof(u.id), OOF);
        await rejectsWith(store.directory.putOof('nobody', OOF), 'not_found');

        const week = 7 * 24 * 3600 * 1000;
        const cutoff = () => new Date(clock.ms - week);
        assert.equal(await store.directory.claimAutoReply(u.id, 'X@Outside.example', cutoff()), true);
        assert.equal((await store.directory.lastAutoReply(u.id, 'x@outside.example'))?.toISOString(), '2026-03-01T08:00:00.000Z');
        clock.ms += 3600_000;
        assert.equal(await store.directory.claimAutoReply(u.id, 'x@outside.example', cutoff()), false, 'within the period');
        assert.equal(await store.directory.claimAutoReply(u.id, 'y@outside.example', cutoff()), true, 'another sender');
        clock.ms += week;
        assert.equal(await store.directory.claimAutoReply(u.id, 'x@outside.example', cutoff()), true, 'after the period');
        assert.equal((await store.directory.lastAutoReply(u.id, 'x@outside.example'))?.toISOString(), new Date(clock.ms).toISOString());
        await store.directory.putOof(u.id, { ...OOF, state: 'global' });
        assert.equal(await store.directory.lastAutoReply(u.id, 'x@outside.example'), null);
        assert.equal(await store.directory.claimAutoReply(u.id, 'x@outside.example', cutoff()), true);
        await rejectsWith(store.directory.claimAutoReply('nobody', 'x@outside.example', cutoff()), 'not_found');
      }));

    it('concurrent claims for one sender: exactly one wins', () =>
      withStore(async (store, clock) => {
        const u = await store.createUser({ email: 'c@example.com', passwordHash: 'h' });
        const results = await Promise.all(
          Array.from({ length: 8 }, () => store.directory.claimAutoReply(u.id, 's@outside.example', new Date(clock.ms - 1000))),
        );
        assert.equal(results.filter(Boolean).length, 1);
      }));
  });
}

contract('sqlite', (clock) => openTempSqliteStore({ now: clock.now }));
contract('postgres', (clock) => openTempPostgresStore({ now: clock.now }));

/**
 * searchGal over a real SQLite store: prefix matching, order, Range and Total, pictures and their
 * statuses, and the Store element built for the Search response.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { findUserByAddress } from '../../src/directory/addresses.ts';
import {
  galStoreElement,
  matchesQuery,
  parseRange,
  PictureStatus,
  searchGal,
  type GalSearchOutcome,
} from '../../src/directory/gal-search.ts';
import type { Store } from '../../src/store/types.ts';
import { child, childText, children } from '../../src/wbxml/tree.ts';
import { openTempSqliteStore, type TestStore } from '../helpers/db.ts';

let t: TestStore;
let store: Store;
const PIC = Buffer.from('89504e470d0a1a0a0000', 'hex');

before(async () => {
  t = await openTempSqliteStore();
  store = t.store;
  const add = async (email: string, displayName: string, fields: Record<string, string> = {}) => {
    const u = await store.createUser({ email, passwordHash: 'h', displayName });
    await store.directory.updateEntry(u.id, fields);
    return u;
  };
  const ann = await add('ann.smith@example.com', 'Ann Smith', { firstName: 'Ann', lastName: 'Smith', title: 'CTO', phone: '+1 555 0100', office: 'B2', company: 'Example Ltd', mobilePhone: '+1 555 0199', homePhone: '+1 555 0111' });
  await store.directory.addAlias(ann.id, 'sales@example.com');
  await store.directory.setPicture(ann.id, PIC);
  const bob = await add('bob@example.com', 'Bob Smithers', { firstName: 'Bob', lastName: 'Smithers' });
  await store.directory.setPicture(bob.id, PIC);
  const carl = await add('carl@example.com', 'Carl Jones', { firstName: 'Carl', lastName: 'Jones' });
  await store.directory.setPicture(carl.id, Buffer.alloc(5000, 1));
  await add('dora@example.com', 'Dora Annan');
  await add('nandu@example.com', 'Ñandú Émile');
  for (let i = 0; i < 120; i++) await add(`staff${String(i).padStart(3, '0')}@example.com`, `Staff ${String(i).padStart(3, '0')}`);
});
after(() => t.cleanup());

const names = (o: GalSearchOutcome) => o.results.map((r) => r.displayName);

describe('searchGal', () => {
  it('matches by prefix of first name, last name, display name, address and alias, case-insensitively', async () => {
    assert.deepEqual(names(await searchGal(store, { query: 'smi', version: '16.1' })), ['Ann Smith', 'Bob Smithers']);
    assert.deepEqual(names(await searchGal(store, { query: 'ANN', version: '16.1' })), ['Ann Smith', 'Dora Annan']);
    assert.deepEqual(names(await searchGal(store, { query: 'ann smi', version: '16.1' })), ['Ann Smith']);
    assert.deepEqual(names(await searchGal(store, { query: 'smith ann', version: '16.1' })), ['Ann Smith']);
    assert.deepEqual(names(await searchGal(store, { query: 'ann.smith@ex', version: '16.1' })), ['Ann Smith']);
    assert.deepEqual(names(await searchGal(store, { query: 'bob@', version: '16.1' })), ['Bob Smithers']);
    assert.deepEqual(names(await searchGal(store, { query: 'Sales', version: '16.1' })), ['Ann Smith'], 'alias local part');
    assert.deepEqual(names(await searchGal(store, { query: 'sales@example.com', version: '16.1' })), ['Ann Smith'], 'whole alias');
    assert.deepEqual(names(await searchGal(store, { query: 'mith', version: '16.1' })), [], 'infix is not a prefix');
    assert.deepEqual(names(await searchGal(store, { query: 'zz', version: '16.1' })), []);
    assert.deepEqual(names(await searchGal(store, { query: 'ñan', version: '16.1' })), ['Ñandú Émile'], 'non-ASCII, any case');
    assert.deepEqual(names(await searchGal(store, { query: 'ÉMI', version: '16.1' })), ['Ñandú Émile']);
  });

  it('returns the GAL fields, with Alias the local part of the primary address', async () => {
    const [r] = (await searchGal(store, { query: 'ann smith', version: '14.0' })).results;
    assert.deepEqual({ ...r, userId: undefined }, {
      userId: undefined,
      displayName: 'Ann Smith',
      phone: '+1 555 0100',
      office: 'B2',
      title: 'CTO',
      company: 'Example Ltd',
      alias: 'ann.smith',
      firstName: 'Ann',
      lastName: 'Smith',
      homePhone: '+1 555 0111',
      mobilePhone: '+1 555 0199',
      emailAddress: 'ann.smith@example.com',
    });
  });

  it('Range m-n returns that slice with Total; default 0-99; at most 100 with Status 12 when cut', async () => {
    let o = await searchGal(store, { query: 'staff', range: '0-9', version: '16.1' });
    assert.equal(o.status, 1);
    assert.equal(o.results.length, 10);
    assert.equal(o.range, '0-9');
    assert.equal(o.total, 120);
    assert.equal(o.results[0]!.displayName, 'Staff 000');
    o = await searchGal(store, { query: 'staff', range: '10-14', version: '16.1' });
    assert.deepEqual(names(o), ['Staff 010', 'Staff 011', 'Staff 012', 'Staff 013', 'Staff 014']);
    assert.equal(o.range, '10-14');
    o = await searchGal(store, { query: 'staff', version: '16.1' });
    assert.equal(o.status, 1, 'the default range is not a cut');
    assert.equal(o.results.length, 100);
    assert.equal(o.range, '0-99');
    o = await searchGal(store, { query: 'staff', range: '90-199', version: '16.1' });
    assert.equal(o.status, 12, 'matches beyond index 99 were left out');
    assert.equal(o.range, '90-99');
    o = await searchGal(store, { query: 'smi', range: '0-199', version: '16.1' });
    assert.equal(o.status, 1, 'a wide range over few matches is no cut');
    assert.equal(o.range, '0-1');
    o = await searchGal(store, { query: 'smi', range: '5-9', version: '16.1' });
    assert.equal(o.status, 1);
    assert.equal(o.results.length, 0);
    assert.equal(o.range, undefined);
    assert.equal(o.total, 2);
  });

  it('a malformed Range or an empty query is Status 2', async () => {
    for (const range of ['9-0', 'a-b', '5', '-1-3', '']) {
      assert.equal((await searchGal(store, { query: 'smi', range, version: '16.1' })).status, 2, range);
    }
    assert.equal((await searchGal(store, { query: '   ', version: '16.1' })).status, 2);
    assert.deepEqual(parseRange('0-9'), [0, 9]);
    assert.deepEqual(parseRange(undefined), [0, 99]);
  });

  it('pictures from 14.1: data, no picture (173), too large (174), MaxPictures reached (175)', async () => {
    let o = await searchGal(store, { query: 'ann', picture: {}, version: '14.1' });
    assert.equal(o.results[0]!.picture?.status, PictureStatus.Success);
    assert.deepEqual(o.results[0]!.picture?.data, PIC);
    assert.equal(o.results[1]!.picture?.status, PictureStatus.NoPicture);
    o = await searchGal(store, { query: 'carl', picture: { maxSize: 1000 }, version: '16.1' });
    assert.equal(o.results[0]!.picture?.status, PictureStatus.TooLarge);
    o = await searchGal(store, { query: 'smi', picture: { maxPictures: 1 }, version: '16.1' });
    assert.deepEqual(names(o), ['Ann Smith', 'Bob Smithers']);
    assert.equal(o.results[0]!.picture?.status, PictureStatus.Success);
    assert.equal(o.results[1]!.picture?.status, PictureStatus.TooMany);
    o = await searchGal(store, { query: 'ann', picture: {}, version: '14.0' });
    assert.equal(o.results[0]!.picture, undefined, 'no pictures before 14.1');
  });

  it('builds the Search Store element: Status, Result/Properties, Range, Total; one empty Result when none', async () => {
    const store1 = galStoreElement(await searchGal(store, { query: 'ann smith', picture: {}, version: '16.1' }));
    assert.equal(childText(store1, 'Status', 'Search'), '1');
    const results = children(store1, 'Result', 'Search');
    assert.equal(results.length, 1);
    const props = child(results[0]!, 'Properties', 'Search')!;
    assert.deepEqual(
      children(props).map((c) => c.name),
      ['DisplayName', 'Phone', 'Office', 'Title', 'Company', 'Alias', 'FirstName', 'LastName', 'HomePhone', 'MobilePhone', 'EmailAddress', 'Picture'],
    );
    assert.equal(childText(child(props, 'Picture', 'GAL')!, 'Data', 'GAL'), PIC.toString('base64'));
    assert.equal(childText(store1, 'Range', 'Search'), '0-0');
    assert.equal(childText(store1, 'Total', 'Search'), '1');

    const none = galStoreElement(await searchGal(store, { query: 'zz', version: '16.1' }));
    assert.equal(children(none, 'Result', 'Search').length, 1);
    assert.equal(children(children(none, 'Result', 'Search')[0]!).length, 0);
    assert.equal(child(none, 'Range', 'Search'), undefined);
    assert.equal(childText(none, 'Total', 'Search'), '0');
    const bad = galStoreElement(await searchGal(store, { query: 'a', range: 'x', version: '16.1' }));
    assert.deepEqual(children(bad).map((c) => c.name), ['Status']);
  });

  it('matchesQuery ignores empty queries', () => {
    const e = { userId: 'u', email: 'a@b.c', displayName: null, firstName: null, lastName: null, title: null, phone: null, mobilePhone: null, homePhone: null, office: null, company: null, aliases: [], pictureSize: 0 };
    assert.equal(matchesQuery(e, ''), false);
    assert.equal(matchesQuery(e, 'a'), true);
  });
});

describe('findUserByAddress', () => {
  it('finds a user by primary address or alias, case-insensitively, with or without a display name', async () => {
    assert.equal((await findUserByAddress(store, 'SALES@example.com'))?.email, 'ann.smith@example.com');
    assert.equal((await findUserByAddress(store, '"Ann" <Ann.Smith@Example.com>'))?.email, 'ann.smith@example.com');
    assert.equal((await findUserByAddress(store, 'bob@example.com'))?.email, 'bob@example.com');
    assert.equal(await findUserByAddress(store, 'nobody@example.com'), null);
    assert.equal(await findUserByAddress(store, ''), null);
  });
});

import { test } from 'node:test';
import assert from 'node:assert/strict';

import {
  CODE_PAGES,
  pageByName,
  pageByNumber,
  tagOf,
  tokenOf,
  type CodePage,
  type ProtocolVersion,
} from '../../src/wbxml/codepages.ts';

const VERSIONS: readonly ProtocolVersion[] = ['2.5', '12.0', '12.1', '14.0', '14.1', '16.0', '16.1'];

const PAGE_NAMES = [
  'AirSync',
  'Contacts',
  'Email',
  'AirNotify',
  'Calendar',
  'Move',
  'GetItemEstimate',
  'FolderHierarchy',
  'MeetingResponse',
  'Tasks',
  'ResolveRecipients',
  'ValidateCert',
  'Contacts2',
  'Ping',
  'Provision',
  'Search',
  'GAL',
  'AirSyncBase',
  'Settings',
  'DocumentLibrary',
  'ItemOperations',
  'ComposeMail',
  'Email2',
  'Notes',
  'RightsManagement',
  'Find',
];

function page(name: string): CodePage {
  const p = pageByName(name);
  assert.ok(p, `page ${name} exists`);
  return p;
}

function token(pageName: string, tagName: string): number | undefined {
  return tokenOf(page(pageName), tagName);
}

test('pages 0..25 are present, in order, with the MS-ASWBXML 2.1.2.1 names', () => {
  assert.equal(CODE_PAGES.length, 26);
  PAGE_NAMES.forEach((name, n) => {
    const p = CODE_PAGES[n];
    assert.ok(p);
    assert.equal(p.page, n);
    assert.equal(p.name, name);
    assert.equal(pageByNumber(n), p);
    assert.equal(pageByName(name), p);
  });
  assert.equal(pageByNumber(26), undefined);
  assert.equal(pageByNumber(-1), undefined);
  assert.equal(pageByName('Nope'), undefined);
});

test('no duplicate token or name within a page; tokens in 0x05..0x3F, in ascending order', () => {
  for (const p of CODE_PAGES) {
    const names = new Set<string>();
    let last = 0x04;
    for (const tag of p.tags) {
      assert.ok(Number.isInteger(tag.token), `${p.name}:${tag.name} token is an integer`);
      assert.ok(tag.token >= 0x05 && tag.token <= 0x3f, `${p.name}:${tag.name} token in range`);
      assert.ok(tag.token > last, `${p.name}:${tag.name} after 0x${last.toString(16)} (sorted, unique)`);
      last = tag.token;
      assert.ok(!names.has(tag.name), `${p.name}:${tag.name} is unique`);
      names.add(tag.name);
      assert.match(tag.name, /^[A-Za-z][A-Za-z0-9]*$/, `${p.name}:${tag.name} is a plain XML name`);
    }
  }
});

test('since/removedIn are known versions and removedIn comes after since', () => {
  for (const p of CODE_PAGES) {
    for (const tag of p.tags) {
      const s = VERSIONS.indexOf(tag.since);
      assert.ok(s >= 0, `${p.name}:${tag.name} since`);
      if (tag.removedIn !== undefined) {
        const r = VERSIONS.indexOf(tag.removedIn);
        assert.ok(r > s, `${p.name}:${tag.name} removedIn after since`);
      }
    }
  }
});

test('tokenOf and tagOf agree for every tag and miss cleanly', () => {
  for (const p of CODE_PAGES) {
    for (const tag of p.tags) {
      assert.equal(tokenOf(p, tag.name), tag.token);
      assert.equal(tagOf(p, tag.token), tag);
    }
  }
  const airSync = page('AirSync');
  assert.equal(tokenOf(airSync, 'NoSuchTag'), undefined);
  assert.equal(tagOf(airSync, 0x11), undefined); // unassigned in 2.1.2.1.1
  assert.equal(tagOf(airSync, 0x3f), undefined);
  assert.equal(tagOf(airSync, 0x00), undefined);
  assert.equal(tagOf(airSync, 0x40), undefined);
  assert.equal(page('AirNotify').tags.length, 0); // 2.1.2.1.4: no longer in use
});

test('spot checks of well-known tokens (MS-ASWBXML 2.1.2.1.x)', () => {
  assert.equal(token('AirSync', 'Sync'), 0x05);
  assert.equal(token('AirSync', 'SyncKey'), 0x0b);
  assert.equal(token('AirSync', 'Collection'), 0x0f);
  assert.equal(token('AirSync', 'CollectionId'), 0x12);
  assert.equal(token('AirSync', 'Supported'), 0x20);
  assert.equal(token('AirSync', 'HeartbeatInterval'), 0x29);
  assert.equal(token('Contacts', 'Email1Address'), 0x1b);
  assert.equal(token('Email', 'DtStamp'), 0x1d);
  assert.equal(token('Email', 'TimeZone'), 0x33);
  assert.equal(token('Calendar', 'Timezone'), 0x05);
  assert.equal(token('Calendar', 'DtStamp'), 0x11);
  assert.equal(token('Calendar', 'UID'), 0x28);
  assert.equal(token('FolderHierarchy', 'FolderSync'), 0x16);
  assert.equal(token('Ping', 'Ping'), 0x05);
  assert.equal(token('Ping', 'HeartbeatInterval'), 0x08);
  assert.equal(token('Provision', 'Policies'), 0x06);
  assert.equal(token('Provision', 'EASProvisionDoc'), 0x0d);
  assert.equal(token('AirSyncBase', 'BodyPreference'), 0x05);
  assert.equal(token('AirSyncBase', 'Location'), 0x20);
  assert.equal(token('ItemOperations', 'ItemOperations'), 0x05);
  assert.equal(token('ComposeMail', 'SendMail'), 0x05);
  assert.equal(token('Email2', 'UmCallerID'), 0x05);
  assert.equal(token('Find', 'Find'), 0x05);
  assert.equal(token('Find', 'MaxPictures'), 0x20);
  assert.equal(token('Find', 'Picture'), 0x22);
});

test('the byte-by-byte example of MS-ASWBXML section 3 decodes to the names it gives', () => {
  // Tag bytes from the example with the 0x40 "has content" bit removed.
  const expect = (pageName: string, byte: number, name: string) =>
    assert.equal(tagOf(page(pageName), byte & 0x3f)?.name, name, `${pageName} 0x${byte.toString(16)}`);
  expect('AirSync', 0x45, 'Sync');
  expect('AirSync', 0x5c, 'Collections');
  expect('AirSync', 0x4f, 'Collection');
  expect('AirSync', 0x50, 'Class');
  expect('AirSync', 0x4b, 'SyncKey');
  expect('AirSync', 0x52, 'CollectionId');
  expect('AirSync', 0x4e, 'Status');
  expect('AirSync', 0x56, 'Commands');
  expect('AirSync', 0x47, 'Add');
  expect('AirSync', 0x4d, 'ServerId');
  expect('AirSync', 0x5d, 'ApplicationData');
  expect('AirSyncBase', 0x4a, 'Body');
  expect('AirSyncBase', 0x46, 'Type');
  expect('AirSyncBase', 0x4c, 'EstimatedDataSize');
  expect('AirSyncBase', 0x4d, 'Truncated');
  expect('AirSyncBase', 0x56, 'NativeBodyType');
  expect('Contacts', 0x5e, 'FileAs');
  expect('Contacts', 0x5f, 'FirstName');
  expect('Contacts', 0x69, 'LastName');
});

test('protocol versions follow the spec tables', () => {
  for (const tag of page('Email2').tags) {
    assert.ok(VERSIONS.indexOf(tag.since) >= VERSIONS.indexOf('14.0'), `Email2:${tag.name}`);
  }
  for (const tag of page('Find').tags) assert.equal(tag.since, '16.1');
  for (const tag of page('AirSyncBase').tags) {
    assert.ok(VERSIONS.indexOf(tag.since) >= VERSIONS.indexOf('12.0'), `AirSyncBase:${tag.name}`);
  }

  const tag = (pageName: string, name: string) => {
    const p = page(pageName);
    const t = tokenOf(p, name);
    assert.ok(t !== undefined, `${pageName}:${name}`);
    const def = tagOf(p, t);
    assert.ok(def);
    return def;
  };
  assert.equal(tag('Email2', 'UmCallerID').since, '14.0');
  assert.equal(tag('Email2', 'IsDraft').since, '16.0');
  assert.equal(tag('Calendar', 'ClientUid').since, '16.0');
  assert.equal(tag('Calendar', 'FirstDayOfWeek').since, '14.1');
  assert.equal(tag('AirSync', 'Wait').since, '12.1');
  assert.equal(tag('AirSync', 'Sync').since, '2.5');
  assert.equal(tag('AirSync', 'Conflict').removedIn, undefined);
  assert.equal(tag('MeetingResponse', 'ProposedStartTime').since, '16.1');
  assert.equal(tag('Provision', 'AccountOnlyRemoteWipe').since, '16.1');
  assert.equal(tag('Provision', 'RequireStorageCardEncryption').since, '12.1');

  // Tags the spec no longer supports from some version on are kept, with removedIn.
  assert.deepEqual(
    { ...tag('AirSync', 'Truncation') },
    { token: 0x19, name: 'Truncation', since: '2.5', removedIn: '12.0' },
  );
  assert.equal(tag('Contacts', 'Body').removedIn, '12.0');
  assert.equal(tag('Email', 'Att0id').removedIn, '12.0');
  assert.equal(tag('Email', 'Location').removedIn, '16.0');
  assert.equal(tag('Email', 'GlobalObjId').removedIn, '16.0');
  assert.equal(tag('Calendar', 'Location').removedIn, '16.0');
  assert.equal(tag('Calendar', 'ExceptionStartTime').removedIn, '16.0');
  assert.equal(tag('GetItemEstimate', 'Class').removedIn, '14.0');
  assert.equal(tag('FolderHierarchy', 'Folders').removedIn, '14.0');
});

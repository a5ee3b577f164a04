import { test } from 'node:test';
import assert from 'node:assert/strict';

import { classForFolderType, converterFor, filterWindowStart, withinFilter } from '../../src/classes/index.ts';
import { ITEM_CLASSES } from '../../src/store/types.ts';

test('converterFor gives each class its converter', () => {
  for (const c of ITEM_CLASSES) assert.equal(converterFor(c).itemClass, c);
});

test('classForFolderType follows MS-ASCMD 2.2.3.186.3 folder types', () => {
  const expected: Record<number, string> = {
    1: 'Email', // user-created generic
    2: 'Email', // Inbox
    3: 'Email', // Drafts
    4: 'Email', // Deleted Items
    5: 'Email', // Sent Items
    6: 'Email', // Outbox
    7: 'Tasks',
    8: 'Calendar',
    9: 'Contacts',
    10: 'Notes',
    11: 'Email', // Journal: no EAS class
    12: 'Email',
    13: 'Calendar',
    14: 'Contacts',
    15: 'Tasks',
    16: 'Email', // user-created journal
    17: 'Notes',
    18: 'Email', // unknown
    19: 'Contacts', // recipient information cache
  };
  for (const [type, cls] of Object.entries(expected)) assert.equal(classForFolderType(Number(type)), cls, `type ${type}`);
  assert.throws(() => classForFolderType(0), RangeError);
  assert.throws(() => classForFolderType(20), RangeError);
});

test('filterWindowStart: MS-ASCMD 2.2.3.68.2 windows', () => {
  const now = new Date('2010-03-31T12:00:00.000Z');
  assert.equal(filterWindowStart(0, now), undefined);
  assert.deepEqual(filterWindowStart(1, now), new Date('2010-03-30T12:00:00.000Z'));
  assert.deepEqual(filterWindowStart(2, now), new Date('2010-03-28T12:00:00.000Z'));
  assert.deepEqual(filterWindowStart(3, now), new Date('2010-03-24T12:00:00.000Z'));
  assert.deepEqual(filterWindowStart(4, now), new Date('2010-03-17T12:00:00.000Z'));
  assert.deepEqual(filterWindowStart(5, now), new Date('2010-02-28T12:00:00.000Z')); // no Feb 31st: the month's last day
  assert.deepEqual(filterWindowStart(6, now), new Date('2009-12-31T12:00:00.000Z'));
  assert.deepEqual(filterWindowStart(7, now), new Date('2009-09-30T12:00:00.000Z'));
  assert.equal(filterWindowStart(8, now), undefined);
});

test('withinFilter: mail by DateReceived, calendar by end, tasks by completion', () => {
  const now = new Date('2010-03-31T12:00:00.000Z');
  assert.equal(withinFilter('Email', { dateReceived: '2010-03-30T13:00:00.000Z' }, 1, now), true);
  assert.equal(withinFilter('Email', { dateReceived: '2010-03-30T11:00:00.000Z' }, 1, now), false);
  assert.equal(withinFilter('Email', { dateReceived: '2001-01-01T00:00:00.000Z' }, 0, now), true);
  assert.equal(withinFilter('Calendar', { endTime: '2010-03-20T00:00:00.000Z' }, 4, now), true);
  assert.equal(withinFilter('Calendar', { endTime: '2010-03-10T00:00:00.000Z' }, 4, now), false);
  assert.equal(withinFilter('Calendar', { endTime: '2000-01-01T00:00:00.000Z', recurrence: {} }, 4, now), true, 'recurring: always');
  assert.equal(withinFilter('Tasks', { complete: false }, 8, now), true);
  assert.equal(withinFilter('Tasks', { complete: true }, 8, now), false);
  assert.equal(withinFilter('Tasks', { complete: true }, 0, now), true);
  assert.equal(withinFilter('Contacts', {}, 5, now), true);
});

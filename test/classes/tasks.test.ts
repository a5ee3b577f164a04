import { test } from 'node:test';
import assert from 'node:assert/strict';

import { tasksConverter as conv } from '../../src/classes/tasks.ts';
import { ConversionError } from '../../src/classes/types.ts';
import type { JsonObject } from '../../src/store/types.ts';
import { el } from '../../src/wbxml/tree.ts';
import { appData, ctx, names, roundTrip, textOf } from './helpers.ts';

const T = 'Tasks';
const now = () => new Date('2009-11-20T12:00:00.000Z');

const FULL: JsonObject = {
  subject: 'File the report',
  importance: 2,
  utcStartDate: '2009-11-12T08:00:00.000Z',
  startDate: '2009-11-12T00:00:00.000Z',
  utcDueDate: '2009-11-13T08:00:00.000Z',
  dueDate: '2009-11-13T00:00:00.000Z',
  categories: ['Work'],
  complete: true,
  dateCompleted: '2009-11-13T10:00:00.000Z',
  sensitivity: 1,
  reminderTime: '2009-11-13T07:00:00.000Z',
  reminderSet: true,
  body: { text: 'Before Friday.' },
};

test('full round trip: data -> toEas -> WBXML -> fromEas', () => {
  assert.deepEqual(roundTrip(conv, FULL, ctx('14.1', { now })), FULL);
});

test('element names and order (Tasks.xsd AllProps, MS-ASTASK section 6)', () => {
  assert.deepEqual(names(conv.toEas(FULL, ctx('14.1'))), [
    'Tasks:Subject',
    'AirSyncBase:Body',
    'Tasks:Importance',
    'Tasks:UtcStartDate',
    'Tasks:StartDate',
    'Tasks:UtcDueDate',
    'Tasks:DueDate',
    'Tasks:Categories',
    'Tasks:Complete',
    'Tasks:DateCompleted',
    'Tasks:Sensitivity',
    'Tasks:ReminderTime',
    'Tasks:ReminderSet',
  ]);
});

test('values on the wire: dateTime dates, Complete always present (required, MS-ASTASK 2.2.2.7)', () => {
  const kids = conv.toEas(FULL, ctx('14.1'));
  assert.equal(textOf(kids, 'UtcDueDate'), '2009-11-13T08:00:00.000Z');
  assert.equal(textOf(kids, 'Complete'), '1');
  assert.equal(textOf(conv.toEas({ subject: 'x' }, ctx('14.1')), 'Complete'), '0');
});

test('a Change keeps the fields it does not carry', () => {
  const c = ctx('14.1', { now });
  assert.deepEqual(conv.fromEas(appData(el(T, 'Importance', '0')), c, FULL), { ...FULL, importance: 0 });
});

test('completing a task without DateCompleted stamps the current time; reopening drops it', () => {
  const c = ctx('14.1', { now });
  const open: JsonObject = { subject: 'x', complete: false };
  assert.equal(conv.fromEas(appData(el(T, 'Complete', '1')), c, open)['dateCompleted'], '2009-11-20T12:00:00.000Z');
  const reopened = conv.fromEas(appData(el(T, 'Complete', '0')), c, FULL);
  assert.equal(reopened['complete'], false);
  assert.equal('dateCompleted' in reopened, false);
});

test('malformed values are ConversionErrors', () => {
  const c = ctx('14.1', { now });
  const bad = [
    [el(T, 'Complete', '2')],
    [el(T, 'Importance', '5')],
    [el(T, 'Sensitivity', '4')],
    [el(T, 'ReminderSet', 'on')],
    [el(T, 'UtcDueDate', 'tomorrow')],
    // DueDate before StartDate.
    [el(T, 'StartDate', '2009-11-14T00:00:00.000Z'), el(T, 'DueDate', '2009-11-13T00:00:00.000Z')],
    [el(T, 'UtcStartDate', '2009-11-14T00:00:00.000Z')], // after the stored UtcDueDate
  ];
  for (const kids of bad) assert.throws(() => conv.fromEas(appData(...kids), c, FULL), ConversionError, JSON.stringify(kids));
});

test('matchKey: subject and due date, whitespace and case insensitive', () => {
  const a = conv.matchKey({ subject: 'File  the Report', utcDueDate: '2009-11-13T08:00:00.000Z' });
  assert.ok(a);
  assert.equal(a, conv.matchKey({ subject: 'file the report ', utcDueDate: '2009-11-13T08:00:00.000Z', importance: 0 }));
  assert.notEqual(a, conv.matchKey({ subject: 'file the report', utcDueDate: '2009-11-14T08:00:00.000Z' }));
  assert.notEqual(a, conv.matchKey({ subject: 'file the taxes', utcDueDate: '2009-11-13T08:00:00.000Z' }));
  assert.equal(conv.matchKey({ utcDueDate: '2009-11-13T08:00:00.000Z' }), undefined);
});

test('filterTime: incomplete tasks always in the window; a completed task at its due date', () => {
  assert.equal(conv.filterTime!({ subject: 'x', utcDueDate: '2000-01-01T00:00:00.000Z' }), undefined);
  assert.deepEqual(conv.filterTime!(FULL), new Date('2009-11-13T08:00:00.000Z'));
});

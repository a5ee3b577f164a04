import { test } from 'node:test';
import assert from 'node:assert/strict';

import { completeOccurrence, nextOccurrence, tasksConverter as conv } from '../../src/classes/tasks.ts';
import { ConversionError } from '../../src/classes/types.ts';
import type { JsonObject } from '../../src/store/types.ts';
import { el } from '../../src/wbxml/tree.ts';
import { appData, childNames, ctx, droppedInto, find, names, roundTrip, textOf } from './helpers.ts';

const T = 'Tasks';
const now = () => new Date('2009-11-20T12:00:00.000Z');

/** Every element of the class. */
export const FULL_TASK: JsonObject = {
  subject: 'File the report',
  importance: 2,
  utcStartDate: '2009-11-12T08:00:00.000Z',
  startDate: '2009-11-12T00:00:00.000Z',
  utcDueDate: '2009-11-13T08:00:00.000Z',
  dueDate: '2009-11-13T00:00:00.000Z',
  categories: ['Work', 'Reports'],
  recurrence: {
    type: 1,
    start: '2009-11-12T00:00:00.000Z',
    until: '2010-11-12T00:00:00.000Z',
    interval: 1,
    dayOfWeek: 16,
    regenerate: false,
    deadOccur: false,
    calendarType: 1,
    isLeapMonth: false,
    firstDayOfWeek: 1,
  },
  complete: false,
  sensitivity: 1,
  reminderTime: '2009-11-13T07:00:00.000Z',
  reminderSet: true,
  ordinalDate: '2009-11-12T09:00:00.000Z',
  subOrdinalDate: '5000000000000000',
  body: { text: 'Before Friday.' },
};

test('every element round-trips (14.1, 16.1); 12.1 has no CalendarType, IsLeapMonth, FirstDayOfWeek', () => {
  for (const v of ['14.1', '16.0', '16.1'] as const) assert.deepEqual(roundTrip(conv, FULL_TASK, ctx(v, { now })), FULL_TASK, v);
  const r = FULL_TASK['recurrence'] as JsonObject;
  const { calendarType: _a, isLeapMonth: _b, firstDayOfWeek: _c, ...older } = r;
  assert.deepEqual(roundTrip(conv, FULL_TASK, ctx('12.1', { now })), { ...FULL_TASK, recurrence: older });
  const monthlyNth: JsonObject = { subject: 'x', body: { text: 'b' }, recurrence: { type: 6, start: '2009-01-01T00:00:00.000Z', occurrences: 10, interval: 2, dayOfWeek: 2, weekOfMonth: 5, monthOfYear: 3, dayOfMonth: 1, regenerate: true, deadOccur: true } };
  assert.deepEqual(roundTrip(conv, monthlyNth, ctx('14.1')), { ...monthlyNth, complete: false });
});

test('element names and order (Tasks.xsd, MS-ASTASK section 6)', () => {
  const kids = conv.toEas({ ...FULL_TASK, complete: true, dateCompleted: '2009-11-13T10:00:00.000Z' }, ctx('16.1'));
  assert.deepEqual(names(kids), [
    'Tasks:Subject',
    'AirSyncBase:Body',
    'Tasks:Importance',
    'Tasks:UtcStartDate',
    'Tasks:StartDate',
    'Tasks:UtcDueDate',
    'Tasks:DueDate',
    'Tasks:Categories',
    'Tasks:Recurrence',
    'Tasks:Complete',
    'Tasks:DateCompleted',
    'Tasks:Sensitivity',
    'Tasks:ReminderTime',
    'Tasks:ReminderSet',
    'Tasks:OrdinalDate',
    'Tasks:SubOrdinalDate',
  ]);
  assert.deepEqual(childNames(find(kids, 'Recurrence')), [
    'Tasks:Type',
    'Tasks:Start',
    'Tasks:Until',
    'Tasks:Interval',
    'Tasks:DayOfWeek',
    'Tasks:Regenerate',
    'Tasks:DeadOccur',
    'Tasks:CalendarType',
    'Tasks:IsLeapMonth',
    'Tasks:FirstDayOfWeek',
  ]);
});

test('values on the wire: dateTime dates, Complete always present, FirstDayOfWeek for weekly', () => {
  const kids = conv.toEas(FULL_TASK, ctx('14.1'));
  assert.equal(textOf(kids, 'UtcDueDate'), '2009-11-13T08:00:00.000Z');
  assert.equal(textOf(kids, 'Complete'), '0');
  assert.equal(textOf(conv.toEas({ subject: 'x', complete: true }, ctx('14.1')), 'Complete'), '1');
  const weekly = conv.toEas({ subject: 'x', recurrence: { type: 1, start: '2009-11-12T00:00:00.000Z', dayOfWeek: 2 } }, ctx('14.1'));
  assert.equal(textOf(find(weekly, 'Recurrence')!.children as never, 'FirstDayOfWeek'), '0');
});

test('a Change is the whole task: omitted elements are cleared, an omitted body is kept', () => {
  const c = ctx('14.1', { now });
  const out = conv.fromEas(appData(el(T, 'Subject', 'File the report'), el(T, 'Importance', '0'), el(T, 'Complete', '0')), c, FULL_TASK);
  assert.deepEqual(out, { subject: 'File the report', importance: 0, complete: false, body: FULL_TASK['body'] });
  // An empty Recurrence ends the recurrence too.
  assert.equal('recurrence' in conv.fromEas(appData(el(T, 'Subject', 'x'), el(T, 'Recurrence')), c, FULL_TASK), false);
});

test('completing a task without DateCompleted stamps the current time; reopening drops it', () => {
  const c = ctx('14.1', { now });
  assert.equal(conv.fromEas(appData(el(T, 'Subject', 'x'), el(T, 'Complete', '1')), c, { subject: 'x', complete: false })['dateCompleted'], '2009-11-20T12:00:00.000Z');
  const reopened = conv.fromEas(appData(el(T, 'Subject', 'x'), el(T, 'Complete', '0')), c, { subject: 'x', complete: true, dateCompleted: '2009-11-13T10:00:00.000Z' });
  assert.equal(reopened['complete'], false);
  assert.equal('dateCompleted' in reopened, false);
});

test('a malformed optional element is left out and the task kept; on a Change the stored value stays (issue 14 item 9)', () => {
  const c = ctx('14.1', { now });
  // A Change is the whole task: the device sends every element, one of them malformed.
  const whole = conv.toEas(FULL_TASK, c);
  const tolerated = [el(T, 'Importance', '5'), el(T, 'Sensitivity', '4'), el(T, 'ReminderSet', 'on'), el(T, 'UtcDueDate', 'tomorrow'), el(T, 'ReminderTime', '2009-02-30T00:00:00.000Z'), el(T, 'OrdinalDate', 'x')];
  for (const bad of tolerated) {
    const dropped: string[] = [];
    const kids = whole.map((k) => (k.ns === T && k.name === bad.name ? bad : k));
    assert.deepEqual(conv.fromEas(appData(...kids), { ...c, ...droppedInto(dropped) }, FULL_TASK), FULL_TASK, JSON.stringify(bad));
    assert.deepEqual(dropped, [`${T}:${bad.name}`]);
    const added = conv.fromEas(appData(el(T, 'Subject', 'x'), el(T, 'Complete', '0'), bad), c);
    assert.deepEqual(added, { subject: 'x', complete: false }, JSON.stringify(bad));
  }
});

test('a malformed Complete (required) or Recurrence child (decides the dates) is a ConversionError (Status 6)', () => {
  const c = ctx('14.1', { now });
  const bad = [
    [el(T, 'Complete', '2')],
    [el(T, 'Recurrence', el(T, 'Type', '1'), el(T, 'Start', '2009-11-12T00:00:00.000Z'), el(T, 'Interval', '0'))],
    [el(T, 'Recurrence', el(T, 'Type', '1'), el(T, 'Start', 'next week'))],
    [el(T, 'StartDate', '2009-11-14T00:00:00.000Z'), el(T, 'DueDate', '2009-11-13T00:00:00.000Z')],
    [el(T, 'UtcStartDate', '2009-11-14T00:00:00.000Z'), el(T, 'UtcDueDate', '2009-11-13T00:00:00.000Z')],
    [el(T, 'Recurrence', el(T, 'Start', '2009-11-12T00:00:00.000Z'))],
    [el(T, 'Recurrence', el(T, 'Type', '4'), el(T, 'Start', '2009-11-12T00:00:00.000Z'))],
    [el(T, 'Recurrence', el(T, 'Type', '1'))],
    [el(T, 'Recurrence', el(T, 'Type', '1'), el(T, 'Start', '2009-11-12T00:00:00.000Z'), el(T, 'Until', '2009-11-01T00:00:00.000Z'))],
    [el(T, 'Recurrence', el(T, 'Type', '2'), el(T, 'Start', '2009-11-12T00:00:00.000Z'), el(T, 'DayOfMonth', '32'))],
  ];
  for (const kids of bad) assert.throws(() => conv.fromEas(appData(el(T, 'Subject', 'x'), ...kids), c, FULL_TASK), ConversionError, JSON.stringify(kids));
});

test('nextOccurrence: daily, weekly, monthly, monthly nth, yearly, yearly nth', () => {
  const d = (s: string) => new Date(`${s}T00:00:00.000Z`);
  const iso = (x: Date | undefined) => x?.toISOString().slice(0, 10);
  assert.equal(iso(nextOccurrence({ type: 0, interval: 3 }, d('2009-11-01'), d('2009-11-04'))), '2009-11-07');
  // Every weekday: Friday -> Monday.
  assert.equal(iso(nextOccurrence({ type: 0, dayOfWeek: 62 }, d('2009-11-02'), d('2009-11-13'))), '2009-11-16');
  // Every two weeks on Tuesday and Thursday (series from Tuesday 2009-11-03).
  assert.equal(iso(nextOccurrence({ type: 1, interval: 2, dayOfWeek: 4 | 16 }, d('2009-11-03'), d('2009-11-03'))), '2009-11-05');
  assert.equal(iso(nextOccurrence({ type: 1, interval: 2, dayOfWeek: 4 | 16 }, d('2009-11-03'), d('2009-11-05'))), '2009-11-17');
  // Monthly on the 31st: short months clamp to their last day.
  assert.equal(iso(nextOccurrence({ type: 2, dayOfMonth: 31 }, d('2009-01-31'), d('2009-01-31'))), '2009-02-28');
  // Last Friday of the month.
  assert.equal(iso(nextOccurrence({ type: 3, weekOfMonth: 5, dayOfWeek: 32 }, d('2009-01-30'), d('2009-11-27'))), '2009-12-25');
  assert.equal(iso(nextOccurrence({ type: 5, dayOfMonth: 29, monthOfYear: 2 }, d('2008-02-29'), d('2008-02-29'))), '2009-02-28');
  // Second Sunday of May.
  assert.equal(iso(nextOccurrence({ type: 6, weekOfMonth: 2, dayOfWeek: 1, monthOfYear: 5 }, d('2009-05-10'), d('2009-05-10'))), '2010-05-09');
  // A non-Gregorian calendar: none computed.
  assert.equal(nextOccurrence({ type: 0, calendarType: 15 }, d('2009-01-01'), d('2009-01-01')), undefined);
});

test('completing a recurring task: a completed copy, and the series moves to the next occurrence (MS-OXOTASK 3.1.4.6)', () => {
  const series: JsonObject = { ...FULL_TASK, recurrence: { type: 1, start: '2009-11-12T00:00:00.000Z', interval: 1, dayOfWeek: 16, occurrences: 5 } };
  const done = { ...series, complete: true, dateCompleted: '2009-11-12T15:00:00.000Z', recurrence: { ...(series['recurrence'] as JsonObject), deadOccur: true } };
  const split = completeOccurrence(done, series, new Date('2009-11-12T15:00:00.000Z'));
  assert.ok(split && 'series' in split);
  // Thursday 12th -> Thursday 19th: start, due (one day later) and reminder move by a week.
  assert.equal(split.series['startDate'], '2009-11-19T00:00:00.000Z');
  assert.equal(split.series['dueDate'], '2009-11-20T00:00:00.000Z');
  assert.equal(split.series['utcStartDate'], '2009-11-19T08:00:00.000Z');
  assert.equal(split.series['utcDueDate'], '2009-11-20T08:00:00.000Z');
  assert.equal(split.series['reminderTime'], '2009-11-20T07:00:00.000Z');
  assert.equal(split.series['reminderSet'], true);
  assert.equal(split.series['complete'], false);
  assert.equal('dateCompleted' in split.series, false);
  assert.deepEqual(split.series['recurrence'], { type: 1, start: '2009-11-12T00:00:00.000Z', interval: 1, dayOfWeek: 16, occurrences: 4, deadOccur: false });
  assert.equal(split.completed['complete'], true);
  assert.equal(split.completed['dueDate'], FULL_TASK['dueDate']);
  assert.equal(split.completed['reminderSet'], false);
  assert.deepEqual(split.completed['recurrence'], { type: 1, start: '2009-11-12T00:00:00.000Z', interval: 1, dayOfWeek: 16, occurrences: 5, deadOccur: true }, 'the copy is a dead instance of the series');
  // Completing the dead copy again (after reopening it) splits nothing.
  assert.equal(completeOccurrence({ ...split.completed, complete: true }, { ...split.completed, complete: false }, now()), undefined);
});

test('Regenerate counts from the completion date; the last occurrence completes the series (DeadOccur)', () => {
  const regen: JsonObject = { subject: 'Water plants', dueDate: '2009-11-10T00:00:00.000Z', recurrence: { type: 0, start: '2009-11-01T00:00:00.000Z', interval: 3, regenerate: true } };
  const split = completeOccurrence({ ...regen, complete: true, dateCompleted: '2009-11-12T10:00:00.000Z' }, regen, now());
  assert.ok(split && 'series' in split);
  // Completed the 12th (late): next due three days after the pattern's next step from the 12th.
  assert.equal(split.series['dueDate'], '2009-11-13T00:00:00.000Z');

  const lastOne: JsonObject = { subject: 'x', dueDate: '2009-11-10T00:00:00.000Z', recurrence: { type: 0, start: '2009-11-01T00:00:00.000Z', occurrences: 1 } };
  const last = completeOccurrence({ ...lastOne, complete: true }, lastOne, now());
  assert.ok(last && 'last' in last);
  assert.equal((last.last['recurrence'] as JsonObject)['deadOccur'], true);
  const pastUntil: JsonObject = { subject: 'x', dueDate: '2009-11-10T00:00:00.000Z', recurrence: { type: 0, start: '2009-11-01T00:00:00.000Z', until: '2009-11-10T00:00:00.000Z' } };
  assert.ok('last' in completeOccurrence({ ...pastUntil, complete: true }, pastUntil, now())!);
  // Not recurring, already complete, or an already dead series: nothing to do.
  assert.equal(completeOccurrence({ subject: 'x', complete: true }, { subject: 'x' }, now()), undefined);
  assert.equal(completeOccurrence({ ...regen, complete: true }, { ...regen, complete: true }, now()), undefined);
});

test('the converter hook: afterClientChange splits a completed occurrence', () => {
  const series: JsonObject = { subject: 'x', dueDate: '2009-11-10T00:00:00.000Z', recurrence: { type: 0, start: '2009-11-01T00:00:00.000Z' } };
  const r = conv.afterClientChange!({ ...series, complete: true, dateCompleted: '2009-11-10T09:00:00.000Z' }, series, ctx('14.1', { now }));
  assert.ok(r);
  assert.equal(r.created.length, 1);
  assert.equal(r.data['dueDate'], '2009-11-11T00:00:00.000Z');
  assert.equal(conv.afterClientChange!({ subject: 'y' }, { subject: 'x' }, ctx('14.1')), undefined);
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
  assert.deepEqual(conv.filterTime!({ ...FULL_TASK, complete: true }), new Date('2009-11-13T08:00:00.000Z'));
});

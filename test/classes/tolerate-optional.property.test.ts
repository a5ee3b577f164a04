/**
 * Issue 14 item 9, as a property: a valid Add whose optional elements are replaced at random by
 * malformed values (not a date, not a number, out of range, an unknown enum value, a truncated
 * Timezone, an empty element or container) is never refused. The item is stored, its
 * required/placing elements (a calendar item's StartTime and EndTime, a task's Complete) are as
 * sent, and every element left untouched keeps its value.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';

import { calendarConverter, contactsConverter, notesConverter, tasksConverter } from '../../src/classes/index.ts';
import type { ConvertContext, ItemConverter } from '../../src/classes/types.ts';
import type { JsonObject } from '../../src/store/types.ts';
import { el, isElement, type WbxmlElement } from '../../src/wbxml/tree.ts';
import { berlinBlob } from '../helpers/timezone-blobs.ts';
import { FULL_CONTACT } from './contacts-fixture.ts';
import { appData, ctx } from './helpers.ts';

const CALENDAR: JsonObject = {
  timezone: berlinBlob(),
  allDayEvent: false,
  busyStatus: 2,
  organizerName: 'Organizer',
  organizerEmail: 'organizer@example.com',
  dtStamp: '2009-11-10T10:00:00.000Z',
  endTime: '2009-11-12T09:00:00.000Z',
  location: 'Room 1',
  reminder: 15,
  sensitivity: 0,
  subject: 'Planning',
  startTime: '2009-11-12T08:00:00.000Z',
  uid: 'UID-1',
  meetingStatus: 1,
  attendees: [{ email: 'a@example.com', name: 'A', attendeeStatus: 3, attendeeType: 1 }],
  categories: ['Meetings'],
  responseRequested: true,
  appointmentReplyTime: '2009-11-11T10:00:00.000Z',
  responseType: 1,
  disallowNewTimeProposal: false,
  onlineMeetingConfLink: 'https://meet.example.com/1',
};

const TASK: JsonObject = {
  subject: 'File the report',
  importance: 2,
  utcStartDate: '2009-11-12T08:00:00.000Z',
  startDate: '2009-11-12T00:00:00.000Z',
  utcDueDate: '2009-11-13T08:00:00.000Z',
  dueDate: '2009-11-13T00:00:00.000Z',
  categories: ['Work'],
  complete: false,
  sensitivity: 1,
  reminderTime: '2009-11-13T07:00:00.000Z',
  reminderSet: true,
  ordinalDate: '2009-11-12T09:00:00.000Z',
  subOrdinalDate: '5000',
};

const NOTE: JsonObject = { subject: 'Shopping', messageClass: 'IPN.StickyNote', lastModifiedDate: '2009-07-02T19:51:42.000Z', categories: ['Home'] };

interface Case {
  name: string;
  converter: ItemConverter;
  data: JsonObject;
  /** Elements that place or define the item: never mutated here (their rules are tested apart). */
  fixed: readonly string[];
  /** What must survive whatever the optional elements hold. */
  kept: readonly string[];
}

const CASES: Case[] = [
  { name: 'Calendar', converter: calendarConverter, data: CALENDAR, fixed: ['Calendar:StartTime', 'Calendar:EndTime', 'Calendar:UID'], kept: ['startTime', 'endTime'] },
  { name: 'Contacts', converter: contactsConverter, data: FULL_CONTACT, fixed: [], kept: [] },
  { name: 'Tasks', converter: tasksConverter, data: TASK, fixed: ['Tasks:Complete'], kept: ['complete'] },
  { name: 'Notes', converter: notesConverter, data: NOTE, fixed: [], kept: [] },
];

/** Values no date, boolean or enumeration element takes (plus '' which clears a field). */
const malformed = fc.oneof(
  fc.constantFrom('', '-1', '99999999999', '1.5', '2', '7', 'true', 'yes', '2009-02-30T00:00:00.000Z', '20091312T080000Z', '2009/11/12', 'AAA', '*not base64*'),
  fc.string({ maxLength: 12 }).map((s) => `x${s.replace(/\uFFFD/g, '')}`),
  // A TIME_ZONE_INFORMATION cut short, as iOS has sent (horde/kronolith pull request 68).
  fc.integer({ min: 0, max: 171 }).map((n) => Buffer.from(berlinBlob(), 'base64').subarray(0, n).toString('base64')),
);

/** The element with its text replaced by `value`, or emptied (a container's children too). */
function mutate(e: WbxmlElement, value: string, empty: boolean): WbxmlElement {
  if (empty || e.children.some(isElement)) {
    // Containers (Categories, Attendees, Children) get malformed children or none at all.
    if (empty) return el(e.ns, e.name);
    return el(
      e.ns,
      e.name,
      e.children.filter(isElement).map((c) => (c.children.some(isElement) ? el(c.ns, c.name, c.children.filter(isElement).map((g) => el(g.ns, g.name, value))) : el(c.ns, c.name, value))),
    );
  }
  return el(e.ns, e.name, value);
}

/** "CodePage:Name" of an element and everything inside it. */
function namesIn(e: WbxmlElement): string[] {
  return [`${e.ns}:${e.name}`, ...e.children.filter(isElement).flatMap(namesIn)];
}

for (const c of CASES) {
  test(`${c.name}: an Add with random malformed optional elements is always stored (issue 14 item 9)`, () => {
    const cx: ConvertContext = ctx('16.1', { now: () => new Date('2009-11-01T00:00:00Z'), newUid: () => 'GEN', bodyPreferences: [{ type: 1 }] });
    const valid = c.converter.toEas(c.data, cx).filter((e) => !(e.ns === 'AirSyncBase' && e.name === 'Body'));
    const optional = valid.map((e, i) => ({ e, i })).filter(({ e }) => !c.fixed.includes(`${e.ns}:${e.name}`));
    const baseline = c.converter.fromEas(appData(...valid), cx);
    fc.assert(
      fc.property(fc.uniqueArray(fc.nat({ max: optional.length - 1 }), { minLength: 1, maxLength: optional.length }), fc.array(malformed, { minLength: optional.length, maxLength: optional.length }), fc.array(fc.boolean(), { minLength: optional.length, maxLength: optional.length }), (picks, values, empties) => {
        const kids = [...valid];
        for (const p of picks) kids[optional[p]!.i] = mutate(optional[p]!.e, values[p]!, empties[p]! && values[p] === '');
        const dropped: string[] = [];
        const out = c.converter.fromEas(appData(...kids), { ...cx, dropped: (element) => void dropped.push(element) });
        for (const k of c.kept) assert.deepEqual(out[k], baseline[k], k);
        // Elements left alone keep their values.
        const mutated = new Set(picks.map((p) => optional[p]!.e.name));
        const untouched = c.converter.fromEas(appData(...valid.filter((e) => !mutated.has(e.name))), cx);
        for (const [k, v] of Object.entries(untouched)) if (k !== 'dtStamp' && k !== 'lastModifiedDate' && k !== 'uid' && k !== 'uidGenerated') assert.deepEqual(out[k], v, k);
        // Only what was mutated is reported as dropped.
        const inside = new Set(picks.flatMap((p) => namesIn(optional[p]!.e)));
        for (const d of dropped) assert.ok(inside.has(d), `${d} was not mutated`);
      }),
      { numRuns: 150 },
    );
  });
}

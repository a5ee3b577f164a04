/**
 * Resource booking decisions (src/calendar/resource-booking.ts): when a room or piece of
 * equipment accepts or declines a meeting request, and what it keeps in its calendar.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import type { ItipDecision } from '../../src/calendar/itip.ts';
import { availability, BOOKING_HORIZON_DAYS, bookResource, requestedIntervals, type BookedItem } from '../../src/calendar/resource-booking.ts';
import type { JsonObject } from '../../src/store/types.ts';

const NOW = new Date('2026-03-02T08:00:00Z'); // a Monday
const ROOM = ['room1@example.com'];
const ctx = (calendar: BookedItem[]) => ({ addresses: ROOM, calendar, now: NOW });

function meeting(uid: string, start: string, end: string, extra: JsonObject = {}): JsonObject {
  return {
    uid,
    subject: `Meeting ${uid}`,
    startTime: start,
    endTime: end,
    organizerEmail: 'olivia@example.com',
    organizerName: 'Olivia',
    attendees: [
      { email: 'olivia@example.com', name: 'Olivia', attendeeStatus: 0, attendeeType: 1 },
      { email: 'room1@example.com', name: 'Room 1', attendeeStatus: 0, attendeeType: 3 },
    ],
    busyStatus: 1,
    intendedBusyStatus: 2,
    meetingStatus: 3,
    responseType: 5,
    sequence: 0,
    ...extra,
  };
}
/** Weekly on Mondays 10:00-11:00 UTC from 2026-03-02, `count` occurrences (0: endless). */
const weekly = (uid: string, count = 10, extra: JsonObject = {}) =>
  meeting(uid, '2026-03-02T10:00:00.000Z', '2026-03-02T11:00:00.000Z', { recurrence: { type: 1, interval: 1, dayOfWeek: 2, ...(count ? { occurrences: count } : {}) }, ...extra });
const booked = (data: JsonObject): BookedItem => ({ uid: String(data['uid']), data: { ...data, busyStatus: 2, responseType: 3 } });
const create = (data: JsonObject): ItipDecision => ({ action: 'create', data });

describe('resource booking', () => {
  it('accepts a request for a free slot: busy, ResponseType accepted, its own attendee entry accepted', () => {
    const b = bookResource('REQUEST', 'a', create(meeting('a', '2026-03-03T09:00:00.000Z', '2026-03-03T10:00:00.000Z')), undefined, undefined, ctx([]));
    assert.equal(b.answer, 1);
    assert.equal(b.decision.action, 'create');
    const data = (b.decision as { data: JsonObject }).data;
    assert.equal(data['busyStatus'], 2);
    assert.equal(data['responseType'], 3);
    assert.equal(data['appointmentReplyTime'], NOW.toISOString());
    const attendees = data['attendees'] as JsonObject[];
    assert.equal(attendees.find((a) => a['email'] === 'room1@example.com')!['attendeeStatus'], 3);
    assert.equal(attendees.find((a) => a['email'] === 'olivia@example.com')!['attendeeStatus'], 0);
  });

  it('declines a meeting overlapping one occurrence of a booked series, naming the occurrence; nothing is stored', () => {
    const series = booked(weekly('series'));
    // The third Monday, 10:30-11:30: overlaps 10:00-11:00 that day only.
    const b = bookResource('REQUEST', 'b', create(meeting('b', '2026-03-16T10:30:00.000Z', '2026-03-16T11:30:00.000Z')), undefined, undefined, ctx([series]));
    assert.equal(b.answer, 3);
    assert.deepEqual(b.decision, { action: 'none', reason: 'no_item' });
    assert.equal(b.conflict?.uid, 'series');
    assert.equal(b.conflict?.start.toISOString(), '2026-03-16T10:00:00.000Z');
    // A Tuesday, and a Monday slot that only touches the occurrence's end, are free.
    assert.equal(bookResource('REQUEST', 'c', create(meeting('c', '2026-03-17T10:30:00.000Z', '2026-03-17T11:30:00.000Z')), undefined, undefined, ctx([series])).answer, 1);
    assert.equal(bookResource('REQUEST', 'd', create(meeting('d', '2026-03-16T11:00:00.000Z', '2026-03-16T12:00:00.000Z')), undefined, undefined, ctx([series])).answer, 1);
  });

  it('declines a series when any occurrence within the horizon conflicts; beyond the horizon is not checked', () => {
    const near = booked(meeting('near', '2026-04-06T10:15:00.000Z', '2026-04-06T10:45:00.000Z'));
    assert.equal(bookResource('REQUEST', 's', create(weekly('s', 0)), undefined, undefined, ctx([near])).answer, 3);
    const farDay = new Date(NOW.getTime() + (BOOKING_HORIZON_DAYS + 14) * 86_400_000);
    // The Monday after the horizon ends, 10:15 (UTC; the series is in UTC).
    while (farDay.getUTCDay() !== 1) farDay.setUTCDate(farDay.getUTCDate() + 1);
    const day = farDay.toISOString().slice(0, 10);
    const far = booked(meeting('far', `${day}T10:15:00.000Z`, `${day}T10:45:00.000Z`));
    assert.equal(bookResource('REQUEST', 's', create(weekly('s', 0)), undefined, undefined, ctx([far])).answer, 1);
    // The horizon is from now: a series already running is checked from today on.
    const intervals = requestedIntervals(weekly('s', 0), NOW);
    assert.ok(intervals.length > 20 && intervals.length <= 27, String(intervals.length));
    assert.ok(intervals.every((i) => i.start.getTime() < NOW.getTime() + BOOKING_HORIZON_DAYS * 86_400_000));
  });

  it('a single meeting is checked wherever it lies, even past the horizon', () => {
    const other = booked(meeting('x', '2027-06-01T10:00:00.000Z', '2027-06-01T11:00:00.000Z'));
    assert.equal(bookResource('REQUEST', 'y', create(meeting('y', '2027-06-01T10:30:00.000Z', '2027-06-01T11:30:00.000Z')), undefined, undefined, ctx([other])).answer, 3);
  });

  it('an update of the same UID is checked without itself: moving the meeting by half an hour is accepted', () => {
    const held = booked(meeting('a', '2026-03-03T09:00:00.000Z', '2026-03-03T10:00:00.000Z'));
    const moved = meeting('a', '2026-03-03T09:30:00.000Z', '2026-03-03T10:30:00.000Z', { sequence: 1 });
    const b = bookResource('REQUEST', 'a', { action: 'update', data: moved }, held.data, undefined, ctx([held]));
    assert.equal(b.answer, 1);
    assert.equal(b.decision.action, 'update');
    assert.equal((b.decision as { data: JsonObject })['data']['responseType'], 3);
  });

  it('an update moving the meeting onto another is declined and the resource drops it (its old time is free)', () => {
    const held = booked(meeting('a', '2026-03-03T09:00:00.000Z', '2026-03-03T10:00:00.000Z'));
    const other = booked(meeting('o', '2026-03-04T09:00:00.000Z', '2026-03-04T10:00:00.000Z'));
    const moved = meeting('a', '2026-03-04T09:30:00.000Z', '2026-03-04T10:30:00.000Z', { sequence: 1 });
    const b = bookResource('REQUEST', 'a', { action: 'update', data: moved }, held.data, undefined, ctx([held, other]));
    assert.equal(b.answer, 3);
    assert.deepEqual(b.decision, { action: 'delete' });
    assert.equal(b.conflict?.uid, 'o');
  });

  it('one occurrence moved onto a conflict: that occurrence is declined (a deleted exception), the series stays', () => {
    const held = booked(weekly('s'));
    const other = booked(meeting('o', '2026-03-10T14:00:00.000Z', '2026-03-10T15:00:00.000Z'));
    const rid = '2026-03-09T10:00:00.000Z';
    const withMove = { ...held.data, exceptions: [{ exceptionStartTime: rid, startTime: '2026-03-10T14:30:00.000Z', endTime: '2026-03-10T15:30:00.000Z', busyStatus: 1, responseType: 5 }] };
    const b = bookResource('REQUEST', 's', { action: 'update', data: withMove }, held.data, rid, ctx([held, other]));
    assert.equal(b.answer, 3);
    assert.equal(b.instance, rid);
    const data = (b.decision as { data: JsonObject }).data;
    assert.ok(data['recurrence']);
    assert.deepEqual((data['exceptions'] as JsonObject[]).map((e) => [e['exceptionStartTime'], e['deleted']]), [[rid, true]]);
    // Moved to a free time instead: accepted, the exception busy and accepted.
    const free = { ...held.data, exceptions: [{ exceptionStartTime: rid, startTime: '2026-03-10T16:00:00.000Z', endTime: '2026-03-10T17:00:00.000Z', busyStatus: 1, responseType: 5 }] };
    const ok = bookResource('REQUEST', 's', { action: 'update', data: free }, held.data, rid, ctx([held, other]));
    assert.equal(ok.answer, 1);
    const ex = ((ok.decision as { data: JsonObject }).data['exceptions'] as JsonObject[])[0]!;
    assert.equal(ex['busyStatus'], 2);
    assert.equal(ex['responseType'], 3);
  });

  it('only busy and out-of-office time blocks: tentative, free, declined, cancelled items and deleted occurrences do not', () => {
    const slot = meeting('new', '2026-03-05T09:00:00.000Z', '2026-03-05T10:00:00.000Z');
    const at = (uid: string, extra: JsonObject): BookedItem => ({ uid, data: meeting(uid, '2026-03-05T09:00:00.000Z', '2026-03-05T10:00:00.000Z', extra) });
    for (const item of [at('t', { busyStatus: 1 }), at('f', { busyStatus: 0 }), at('d', { busyStatus: 2, responseType: 4 }), at('c', { busyStatus: 2, meetingStatus: 5 })]) {
      assert.deepEqual(availability(slot, 'new', [item], NOW), { free: true }, item.uid!);
    }
    assert.equal(availability(slot, 'new', [at('oof', { busyStatus: 3 })], NOW).free, false);
    // The series' Monday 2026-03-09 occurrence is deleted: that Monday is free, the next is not.
    const series = { uid: 's', data: { ...weekly('s'), busyStatus: 2, exceptions: [{ exceptionStartTime: '2026-03-09T10:00:00.000Z', deleted: true }] } as JsonObject };
    assert.equal(availability(meeting('m', '2026-03-09T10:00:00.000Z', '2026-03-09T11:00:00.000Z'), 'm', [series], NOW).free, true);
    assert.equal(availability(meeting('m', '2026-03-16T10:00:00.000Z', '2026-03-16T11:00:00.000Z'), 'm', [series], NOW).free, false);
  });

  it('CANCEL is passed through unanswered (it frees the slot); duplicates and outdated requests are not answered', () => {
    const cancel: ItipDecision = { action: 'delete' };
    assert.deepEqual(bookResource('CANCEL', 'a', cancel, meeting('a', '2026-03-03T09:00:00.000Z', '2026-03-03T10:00:00.000Z'), undefined, ctx([])), { decision: cancel });
    const dup: ItipDecision = { action: 'none', reason: 'duplicate' };
    assert.deepEqual(bookResource('REQUEST', 'a', dup, undefined, undefined, ctx([])), { decision: dup });
  });
});

/**
 * Free/busy (src/calendar/free-busy.ts). Expectations are worked out by hand from MS-ASCMD
 * 2.2.3.107 MergedFreeBusy (one digit per 30 minutes from StartTime; 0 free, 1 tentative, 2 busy,
 * 3 out of office; the higher digit wins within an interval) and MS-ASCAL (BusyStatus 2.2.2.8,
 * MeetingStatus 2.2.2.29, Exceptions 2.2.2.21, times in the event's zone across DST).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { busyIntervals, busyStatusDigit, mergedFreeBusy, skipToWindow, type BusyInterval } from '../../src/calendar/free-busy.ts';
import { expand, type EasRecurrence, type Series } from '../../src/calendar/recurrence.ts';
import { ianaOffsets, wallToUtc } from '../../src/calendar/timezone.ts';
import type { JsonObject } from '../../src/store/types.ts';

const d = (iso: string) => new Date(iso);
const DAY = 86_400_000;
const iv = (start: string, end: string, status: BusyInterval['status']) => ({ start: d(start), end: d(end), status });
const simple = (list: BusyInterval[]) => list.map((x) => [x.start.toISOString(), x.end.toISOString(), x.status]);

/**
 * Mondays 09:00-10:00 Europe/Berlin from 16 March 2026. Berlin leaves CET (UTC+1) for CEST
 * (UTC+2) on Sunday 29 March 2026, so the occurrences are 08:00Z on 16 and 23 March and 07:00Z
 * from 30 March. 23 March is moved to 14:00-15:00 Berlin (13:00Z) as tentative; 6 April
 * (07:00Z) is deleted.
 */
const weekly: JsonObject = {
  subject: 'Team',
  uid: 'weekly-1',
  timeZone: 'Europe/Berlin',
  busyStatus: 2,
  startTime: '2026-03-16T08:00:00.000Z',
  endTime: '2026-03-16T09:00:00.000Z',
  recurrence: { type: 1, interval: 1, dayOfWeek: 2 },
  exceptions: [
    { exceptionStartTime: '2026-03-23T08:00:00.000Z', startTime: '2026-03-23T13:00:00.000Z', endTime: '2026-03-23T14:00:00.000Z', busyStatus: 1 },
    { exceptionStartTime: '2026-04-06T07:00:00.000Z', deleted: true },
  ],
};

describe('busyIntervals', () => {
  it('expands a weekly series across a DST change, with a moved tentative exception and a deleted occurrence', () => {
    const got = busyIntervals([weekly], d('2026-03-16T00:00:00Z'), d('2026-04-14T00:00:00Z'));
    assert.deepEqual(simple(got), [
      ['2026-03-16T08:00:00.000Z', '2026-03-16T09:00:00.000Z', 2],
      ['2026-03-23T13:00:00.000Z', '2026-03-23T14:00:00.000Z', 1],
      ['2026-03-30T07:00:00.000Z', '2026-03-30T08:00:00.000Z', 2],
      ['2026-04-13T07:00:00.000Z', '2026-04-13T08:00:00.000Z', 2],
    ]);
    assert.equal(got[0]!.uid, 'weekly-1');
    assert.equal(got[1]!.originalStart.toISOString(), '2026-03-23T08:00:00.000Z');
  });

  it('window edges: an occurrence ending at `from` or starting at `to` is outside', () => {
    // 30 March 07:00Z-08:00Z is the only occurrence near these windows.
    assert.equal(busyIntervals([weekly], d('2026-03-30T08:00:00Z'), d('2026-04-05T00:00:00Z')).length, 0);
    assert.equal(busyIntervals([weekly], d('2026-03-29T00:00:00Z'), d('2026-03-30T07:00:00Z')).length, 0);
    assert.equal(busyIntervals([weekly], d('2026-03-30T07:59:00Z'), d('2026-03-30T08:01:00Z')).length, 1);
    assert.deepEqual(busyIntervals([weekly], d('2026-04-01T00:00:00Z'), d('2026-04-01T00:00:00Z')), []);
  });

  it('an all-day event covers midnight to midnight in its zone, whether stored as local or UTC midnights', () => {
    const local: JsonObject = { timeZone: 'Europe/Berlin', allDayEvent: true, busyStatus: 3, startTime: '2026-06-30T22:00:00.000Z', endTime: '2026-07-01T22:00:00.000Z' };
    const utc: JsonObject = { timeZone: 'Europe/Berlin', allDayEvent: true, busyStatus: 3, startTime: '2026-07-01T00:00:00.000Z', endTime: '2026-07-02T00:00:00.000Z' };
    const from = d('2026-06-30T00:00:00Z');
    const to = d('2026-07-03T00:00:00Z');
    for (const e of [local, utc]) {
      assert.deepEqual(simple(busyIntervals([e], from, to)), [['2026-06-30T22:00:00.000Z', '2026-07-01T22:00:00.000Z', 3]]);
    }
  });

  it('an all-day weekly series keeps local midnights across DST', () => {
    // Saturdays all day in Berlin: 28 March is CET to its end (27 March 23:00Z to 28 March 23:00Z,
    // the change is at 02:00 on the 29th), 4 April CEST (3 April 22:00Z to 4 April 22:00Z).
    const series: JsonObject = {
      timeZone: 'Europe/Berlin',
      allDayEvent: true,
      busyStatus: 2,
      startTime: '2026-03-27T23:00:00.000Z',
      endTime: '2026-03-28T23:00:00.000Z',
      recurrence: { type: 1, interval: 1, dayOfWeek: 64, occurrences: 2 },
    };
    assert.deepEqual(simple(busyIntervals([series], d('2026-03-20T00:00:00Z'), d('2026-04-20T00:00:00Z'))), [
      ['2026-03-27T23:00:00.000Z', '2026-03-28T23:00:00.000Z', 2],
      ['2026-04-03T22:00:00.000Z', '2026-04-04T22:00:00.000Z', 2],
    ]);
  });

  it('leaves out free, cancelled, declined and zero-length items; no BusyStatus is busy', () => {
    const at = { startTime: '2026-05-04T09:00:00.000Z', endTime: '2026-05-04T10:00:00.000Z' };
    const events: JsonObject[] = [
      { ...at, busyStatus: 0 },
      { ...at, busyStatus: 4 }, // working elsewhere: available
      { ...at, busyStatus: 2, meetingStatus: 7 }, // cancelled, received
      { ...at, busyStatus: 2, meetingStatus: 5 }, // cancelled by the organizer (the user)
      { ...at, busyStatus: 1, meetingStatus: 3, responseType: 4 }, // declined
      { startTime: at.startTime, endTime: at.startTime, busyStatus: 2 },
    ];
    assert.deepEqual(busyIntervals(events, d('2026-05-04T00:00:00Z'), d('2026-05-05T00:00:00Z')), []);
    assert.deepEqual(simple(busyIntervals([{ ...at }], d('2026-05-04T00:00:00Z'), d('2026-05-05T00:00:00Z'))), [[at.startTime, at.endTime, 2]]);
  });

  it("an exception's own BusyStatus, MeetingStatus and ResponseType win over the series'", () => {
    const series: JsonObject = {
      timeZone: 'UTC',
      busyStatus: 2,
      startTime: '2026-05-04T09:00:00.000Z',
      endTime: '2026-05-04T10:00:00.000Z',
      recurrence: { type: 0, interval: 1, occurrences: 4 },
      exceptions: [
        { exceptionStartTime: '2026-05-05T09:00:00.000Z', busyStatus: 0 },
        { exceptionStartTime: '2026-05-06T09:00:00.000Z', meetingStatus: 7 },
        { exceptionStartTime: '2026-05-07T09:00:00.000Z', busyStatus: 3 },
      ],
    };
    assert.deepEqual(simple(busyIntervals([series], d('2026-05-01T00:00:00Z'), d('2026-05-10T00:00:00Z'))), [
      ['2026-05-04T09:00:00.000Z', '2026-05-04T10:00:00.000Z', 2],
      ['2026-05-07T09:00:00.000Z', '2026-05-07T10:00:00.000Z', 3],
    ]);
  });

  it('items in different zones keep their own zone when computed together (zones are looked up once each)', () => {
    // The same wall-clock series (Mondays 09:00) in Berlin and in New York, and in Berlin again
    // as a device's TIME_ZONE_INFORMATION (W. Europe, MS-ASDTYPE 2.7.6). 2 March 2026: Berlin
    // CET (08:00Z), New York EST (14:00Z); 9 March New York is EDT (13:00Z, DST from 8 March).
    const blob = Buffer.alloc(172);
    blob.writeInt32LE(-60, 0);
    [0, 10, 0, 5, 3, 0, 0, 0].forEach((v, i) => blob.writeUInt16LE(v, 68 + 2 * i));
    [0, 3, 0, 5, 2, 0, 0, 0].forEach((v, i) => blob.writeUInt16LE(v, 152 + 2 * i));
    blob.writeInt32LE(-60, 168);
    const rec = { type: 1, interval: 1, dayOfWeek: 2, occurrences: 2 };
    const berlin: JsonObject = { uid: 'b', timeZone: 'Europe/Berlin', startTime: '2026-03-02T08:00:00.000Z', endTime: '2026-03-02T09:00:00.000Z', recurrence: rec };
    const newYork: JsonObject = { uid: 'n', timeZone: 'America/New_York', startTime: '2026-03-02T14:00:00.000Z', endTime: '2026-03-02T15:00:00.000Z', recurrence: rec };
    const device: JsonObject = { uid: 'd', timezone: blob.toString('base64'), startTime: '2026-03-02T08:00:00.000Z', endTime: '2026-03-02T09:00:00.000Z', recurrence: rec };
    const from = d('2026-03-01T00:00:00Z');
    const to = d('2026-03-15T00:00:00Z');
    const starts = (uid: string) => busyIntervals([newYork, berlin, device], from, to).filter((x) => x.uid === uid).map((x) => x.start.toISOString());
    assert.deepEqual(starts('b'), ['2026-03-02T08:00:00.000Z', '2026-03-09T08:00:00.000Z']);
    assert.deepEqual(starts('d'), ['2026-03-02T08:00:00.000Z', '2026-03-09T08:00:00.000Z']);
    assert.deepEqual(starts('n'), ['2026-03-02T14:00:00.000Z', '2026-03-09T13:00:00.000Z']);
  });

  it('maps BusyStatus values to digits', () => {
    assert.deepEqual([0, 1, 2, 3, 4, 5, undefined, 'x'].map(busyStatusDigit), [0, 1, 2, 3, 0, 2, 2, 2]);
  });
});

describe('mergedFreeBusy', () => {
  it('one digit per 30 minutes from the start', () => {
    // 30 March 06:00Z-10:00Z: the occurrence 07:00Z-08:00Z is slots 3 and 4 of 8.
    const got = mergedFreeBusy(busyIntervals([weekly], d('2026-03-30T06:00:00Z'), d('2026-03-30T10:00:00Z')), d('2026-03-30T06:00:00Z'), d('2026-03-30T10:00:00Z'));
    assert.equal(got, '00220000');
  });

  it('the example of MS-ASCMD 2.2.3.107: "32201"', () => {
    const got = mergedFreeBusy(
      [iv('2026-01-05T09:00:00Z', '2026-01-05T09:30:00Z', 3), iv('2026-01-05T09:30:00Z', '2026-01-05T10:30:00Z', 2), iv('2026-01-05T11:00:00Z', '2026-01-05T11:30:00Z', 1)],
      d('2026-01-05T09:00:00Z'),
      d('2026-01-05T11:30:00Z'),
    );
    assert.equal(got, '32201');
  });

  it('tentative and busy in one slot: busy wins; out of office beats busy', () => {
    const from = d('2026-01-05T09:00:00Z');
    const to = d('2026-01-05T10:00:00Z');
    assert.equal(mergedFreeBusy([iv('2026-01-05T09:00:00Z', '2026-01-05T10:00:00Z', 1), iv('2026-01-05T09:40:00Z', '2026-01-05T09:50:00Z', 2)], from, to), '12');
    assert.equal(mergedFreeBusy([iv('2026-01-05T09:10:00Z', '2026-01-05T09:20:00Z', 2), iv('2026-01-05T09:00:00Z', '2026-01-05T09:30:00Z', 1)], from, to), '20');
    assert.equal(mergedFreeBusy([iv('2026-01-05T09:00:00Z', '2026-01-05T10:00:00Z', 2), iv('2026-01-05T09:29:00Z', '2026-01-05T09:31:00Z', 3)], from, to), '33');
  });

  it('range edges: clipped at both ends, a short last slot, touching is not overlapping', () => {
    const from = d('2026-01-05T09:00:00Z');
    const to = d('2026-01-05T10:15:00Z');
    // Three slots: 09:00, 09:30, 10:00-10:15.
    assert.equal(mergedFreeBusy([], from, to), '000');
    assert.equal(mergedFreeBusy([iv('2026-01-05T08:00:00Z', '2026-01-05T09:01:00Z', 2)], from, to), '200');
    assert.equal(mergedFreeBusy([iv('2026-01-05T08:00:00Z', '2026-01-05T09:00:00Z', 2)], from, to), '000');
    assert.equal(mergedFreeBusy([iv('2026-01-05T10:10:00Z', '2026-01-05T11:00:00Z', 1)], from, to), '001');
    assert.equal(mergedFreeBusy([iv('2026-01-05T10:15:00Z', '2026-01-05T11:00:00Z', 2)], from, to), '000');
    assert.equal(mergedFreeBusy([iv('2026-01-05T09:30:00Z', '2026-01-05T10:00:00Z', 2)], from, to), '020');
    assert.equal(mergedFreeBusy([], to, from), '');
  });

  it('a 42-day range is 2016 digits', () => {
    const from = d('2026-03-01T00:00:00Z');
    const to = new Date(from.getTime() + 42 * 86_400_000);
    const got = mergedFreeBusy(busyIntervals([weekly], from, to), from, to);
    assert.equal(got.length, 2016);
    // 1 March to 12 April holds 16 March 08:00Z, 23 March (moved, tentative) and 30 March 07:00Z;
    // 6 April is deleted. Two slots each.
    assert.equal([...got].filter((c) => c === '2').length, 4);
    assert.equal([...got].filter((c) => c === '1').length, 2);
    const slotOf = (iso: string) => (d(iso).getTime() - from.getTime()) / 1_800_000;
    assert.equal(got.slice(slotOf('2026-03-30T07:00:00Z'), slotOf('2026-03-30T08:00:00Z')), '22');
    assert.equal(got.slice(slotOf('2026-03-23T13:00:00Z'), slotOf('2026-03-23T14:00:00Z')), '11');
  });
});

describe('skipToWindow', () => {
  it('expanding from a later start of the pattern gives exactly the occurrences of the whole series (random series)', () => {
    // A deterministic PRNG (mulberry32) so a failure can be replayed.
    let seed = 12345;
    const random = () => {
      seed = (seed + 0x6d2b79f5) | 0;
      let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
      t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
    const pick = <T>(xs: readonly T[]) => xs[Math.floor(random() * xs.length)]!;
    const zones = ['Europe/Berlin', 'America/New_York', 'Australia/Sydney', 'UTC', 'Asia/Kolkata'];
    let shifted = 0;
    for (let i = 0; i < 400; i++) {
      const zone = pick(zones);
      const offsets = ianaOffsets(zone);
      const allDay = random() < 0.2;
      // Start 0-1500 days before 1 March 2026, at a wall-clock time that may be in a DST gap (02:30).
      const day = new Date(Date.UTC(2026, 2, 1) - Math.floor(random() * 1500) * DAY);
      const hour = allDay ? 0 : pick([0, 2, 9, 13, 23]);
      const minute = allDay ? 0 : pick([0, 30]);
      const start = wallToUtc({ year: day.getUTCFullYear(), month: day.getUTCMonth() + 1, day: day.getUTCDate(), hour, minute }, offsets);
      let end: number;
      if (allDay) {
        const e = new Date(day.getTime() + pick([1, 1, 3]) * DAY);
        end = wallToUtc({ year: e.getUTCFullYear(), month: e.getUTCMonth() + 1, day: e.getUTCDate(), hour: 0, minute: 0 }, offsets);
      } else {
        end = start + pick([30, 60, 600, 1500]) * 60_000;
      }
      const type = pick([0, 0, 1, 1, 1] as const);
      const recurrence: EasRecurrence = { type, interval: pick([1, 1, 2, 3]) };
      if (type === 1 || random() < 0.2) recurrence.dayOfWeek = 1 + Math.floor(random() * 127);
      if (type === 1 && random() < 0.5) recurrence.firstDayOfWeek = pick([0, 1, 6]);
      if (random() < 0.15) recurrence.occurrences = 50 + Math.floor(random() * 500);
      if (random() < 0.15) recurrence.until = new Date(Date.UTC(2026, 2, 1) + Math.floor(random() * 120) * DAY).toISOString();
      const base: Series = { start: new Date(start), end: new Date(end), recurrence, offsets, allDay };
      // Exceptions on real instances near and inside the window, moved or deleted.
      const from = new Date(Date.UTC(2026, 2, 1) + Math.floor(random() * 60) * DAY + pick([0, 7, 13]) * 3_600_000);
      const to = new Date(from.getTime() + pick([1, 7, 42]) * DAY);
      const near = expand(base, new Date(from.getTime() - 30 * DAY), to);
      const exceptions = near
        .filter(() => random() < 0.15)
        .map((o) => (random() < 0.5 ? { exceptionStartTime: o.originalStart.toISOString(), deleted: true } : { exceptionStartTime: o.originalStart.toISOString(), startTime: new Date(o.start.getTime() + pick([-40, 3, 30 * 24]) * 3_600_000).toISOString(), endTime: new Date(o.end.getTime() + pick([-40, 3, 30 * 24]) * 3_600_000 + 3_600_000 * 0).toISOString() }));
      const series: Series = { ...base, exceptions };
      const skipped = skipToWindow(series, from);
      if (skipped.start.getTime() !== series.start.getTime()) shifted++;
      const view = (s: Series) => expand(s, from, to).map((o) => [o.originalStart.toISOString(), o.start.toISOString(), o.end.toISOString()]);
      assert.deepEqual(view(skipped), view(series), `series ${i}: ${JSON.stringify({ zone, start: new Date(start), end: new Date(end), recurrence, allDay, from, to })}`);
    }
    assert.ok(shifted > 150, `most series are moved forward (${shifted})`);
  });
});

/**
 * A stored calendar item (the JSON the Calendar class keeps, see src/classes/calendar.ts) seen as
 * an event in time: its zone, its series, its occurrences. Pure; shared by the Calendar class
 * (FilterType windows), meeting processing and free/busy.
 */
import type { JsonObject } from '../ports/types.ts';
import type { EasRecurrence } from './recurrence-pattern.ts';
import { anyOccurrenceInWindow, expand, lastOccurrenceEnd, type Occurrence, type Series, type SeriesException } from './recurrence.ts';
import { offsetsForTimezoneBlob } from './tzi-to-zone.ts';
import { canonicalZone, ianaOffsets, UTC_OFFSETS, utcToWall, wallToUtc, type OffsetFn } from './zone-offsets.ts';

function date(data: JsonObject, key: string): Date | undefined {
  const v = data[key];
  if (typeof v !== 'string') return undefined;
  const d = new Date(v);
  return Number.isNaN(d.getTime()) ? undefined : d;
}

/**
 * The event's time zone: the IANA `timeZone` when the item has one (items made from iCalendar),
 * else the device's TIME_ZONE_INFORMATION (its IANA zone for the start's year when one matches,
 * else the blob's own rules), else UTC.
 */
export function eventOffsets(data: JsonObject): OffsetFn {
  const zone = typeof data['timeZone'] === 'string' ? canonicalZone(data['timeZone']) : undefined;
  if (zone) return ianaOffsets(zone);
  const year = (date(data, 'startTime') ?? new Date()).getUTCFullYear();
  return typeof data['timezone'] === 'string' ? offsetsForTimezoneBlob(data['timezone'], year) : UTC_OFFSETS;
}

/** The item's recurrence, when it has a usable one. */
export function recurrenceOf(data: JsonObject): EasRecurrence | undefined {
  const r = data['recurrence'];
  if (!r || typeof r !== 'object' || Array.isArray(r)) return undefined;
  const type = (r as JsonObject)['type'];
  return typeof type === 'number' && [0, 1, 2, 3, 5, 6].includes(type) ? (r as unknown as EasRecurrence) : undefined;
}

/** The series of a recurring item; undefined for a single event (or one without times). */
export function seriesOf(data: JsonObject): Series | undefined {
  const recurrence = recurrenceOf(data);
  const start = date(data, 'startTime');
  const end = date(data, 'endTime') ?? start;
  if (!recurrence || !start || !end) return undefined;
  const exceptions = Array.isArray(data['exceptions']) ? (data['exceptions'] as unknown as SeriesException[]).filter((e) => e && typeof e.exceptionStartTime === 'string') : [];
  return { start, end, recurrence, exceptions, offsets: eventOffsets(data), allDay: data['allDayEvent'] === true };
}

/** The occurrences of an item (one for a single event) overlapping [from, to). */
export function occurrencesOf(data: JsonObject, from: Date, to: Date): Occurrence[] {
  const series = seriesOf(data);
  if (series) return expand(series, from, to);
  const start = date(data, 'startTime');
  const end = date(data, 'endTime') ?? start;
  if (!start || !end) return [];
  const inside = start < to && (end > from || (end.getTime() === start.getTime() && start >= from));
  return inside ? [{ originalStart: start, start, end }] : [];
}

/**
 * The time a FilterType window (MS-ASCMD 2.2.3.68.2) is tested against: the end of the last
 * occurrence (exceptions applied); undefined, i.e. always inside, for an endless series.
 */
export function eventFilterTime(data: JsonObject): Date | undefined {
  const series = seriesOf(data);
  if (series) return lastOccurrenceEnd(series);
  // A recurrence the server cannot read (kept verbatim by an earlier version): always inside,
  // rather than hiding a series that may well have occurrences in the window.
  if (data['recurrence'] !== undefined && data['recurrence'] !== null) return undefined;
  return date(data, 'endTime') ?? date(data, 'startTime');
}

/** Whether any occurrence of the item overlaps [from, to) (to undefined: from `from` on). */
export function eventInWindow(data: JsonObject, from: Date, to?: Date): boolean {
  const series = seriesOf(data);
  if (series) return anyOccurrenceInWindow(series, from, to);
  return occurrencesOf(data, from, to ?? new Date(8.64e15)).length > 0;
}

/**
 * All-day boundaries (kb-1.4): an all-day event runs from midnight to midnight in its zone. A time
 * that is not a local midnight is moved to one: a UTC midnight means that date (devices that keep
 * all-day events in UTC), anything else the nearest local midnight. The end is at least a day
 * after the start.
 */
export function allDayBounds(start: Date, end: Date, offsets: OffsetFn): { start: Date; end: Date } {
  const s = toMidnight(start, offsets);
  let e = toMidnight(end, offsets);
  if (e <= s) {
    const w = utcToWall(s.getTime(), offsets);
    const next = new Date(Date.UTC(w.year, w.month - 1, w.day + 1));
    e = new Date(wallToUtc({ year: next.getUTCFullYear(), month: next.getUTCMonth() + 1, day: next.getUTCDate(), hour: 0, minute: 0 }, offsets));
  }
  return { start: s, end: e };
}

function toMidnight(t: Date, offsets: OffsetFn): Date {
  const w = utcToWall(t.getTime(), offsets);
  if (w.hour === 0 && w.minute === 0 && (w.second ?? 0) === 0) return t;
  let day: Date;
  if (t.getUTCHours() === 0 && t.getUTCMinutes() === 0 && t.getUTCSeconds() === 0) {
    day = new Date(Date.UTC(t.getUTCFullYear(), t.getUTCMonth(), t.getUTCDate()));
  } else {
    const minutes = w.hour * 60 + w.minute;
    day = new Date(Date.UTC(w.year, w.month - 1, w.day + (minutes >= 12 * 60 ? 1 : 0)));
  }
  return new Date(wallToUtc({ year: day.getUTCFullYear(), month: day.getUTCMonth() + 1, day: day.getUTCDate(), hour: 0, minute: 0 }, offsets));
}

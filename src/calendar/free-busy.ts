/**
 * Free/busy of a calendar (pure): the busy time of stored calendar items (the Calendar class's
 * JSON, src/classes/calendar.ts) with recurrences expanded in their zone, and the MergedFreeBusy
 * string of ResolveRecipients (MS-ASCMD 2.2.3.107): one digit per 30-minute interval, 0 free,
 * 1 tentative, 2 busy, 3 out of office, 4 no data; where several statuses meet within one
 * interval the higher digit covers the whole interval.
 *
 * BusyStatus (MS-ASCAL 2.2.2.8) to digit: 0 free, 1 tentative, 2 busy, 3 out of office map to
 * the same digits. 4 "working elsewhere" has no digit of its own (MergedFreeBusy's 4 means "no
 * data", which would be false): the person is working and can be met, so it counts as free. An
 * item without BusyStatus counts as busy (what Exchange assumes for an appointment), as does a
 * value outside 0-4.
 *
 * Not busy at all: a cancelled meeting (MeetingStatus 5, 7, 13, 15, MS-ASCAL 2.2.2.29) or one the
 * user declined (ResponseType 4, MS-ASCAL 2.2.2.38), for the series or for one occurrence (the
 * exception's own values win); a deleted occurrence (Exception Deleted, dropped by `expand`);
 * an occurrence without duration.
 */
import type { JsonObject } from '../ports/types.ts';
import { allDayBounds, eventOffsets, occurrencesOf, recurrenceOf, seriesOf } from './event.ts';
import { expand, type Series } from './recurrence.ts';
import { utcToWall, wallToUtc, type OffsetFn } from './zone-offsets.ts';

/** MergedFreeBusy digits (MS-ASCMD 2.2.3.107). */
export const FreeBusy = { Free: 0, Tentative: 1, Busy: 2, OutOfOffice: 3, NoData: 4 } as const;
export type FreeBusyDigit = (typeof FreeBusy)[keyof typeof FreeBusy];

/** A stretch of time an item keeps its owner from being free. */
export interface BusyInterval {
  start: Date;
  end: Date;
  status: typeof FreeBusy.Tentative | typeof FreeBusy.Busy | typeof FreeBusy.OutOfOffice;
  /** The item's UID (GOID), so a caller can leave out the meeting it is checking against itself. */
  uid?: string;
  /** Where the series' pattern puts this occurrence (its RECURRENCE-ID); the start of a single event. */
  originalStart: Date;
}

const CANCELLED = new Set([5, 7, 13, 15]);
const DECLINED = 4;

/** The MergedFreeBusy digit of a BusyStatus value (see the header). */
export function busyStatusDigit(busyStatus: unknown): FreeBusyDigit {
  if (busyStatus === undefined || busyStatus === null) return FreeBusy.Busy;
  switch (busyStatus) {
    case 0:
    case 4:
      return FreeBusy.Free;
    case 1:
      return FreeBusy.Tentative;
    case 2:
      return FreeBusy.Busy;
    case 3:
      return FreeBusy.OutOfOffice;
    default:
      return FreeBusy.Busy;
  }
}

/**
 * An item's zone as eventOffsets works it out, kept per zone: working out a zone asks ICU for its
 * canonical name (a new Intl.DateTimeFormat), which was most of the time of a free/busy request
 * over many items in few zones. eventOffsets depends on the IANA `timeZone`, or else on the
 * TIME_ZONE_INFORMATION blob and the start's year; the key holds exactly those.
 */
const zoneCache = new Map<string, OffsetFn>();
const ZONE_CACHE_MAX = 1000;

function cachedOffsets(data: JsonObject): OffsetFn {
  const tz = data['timeZone'];
  const blob = data['timezone'];
  const start = typeof data['startTime'] === 'string' ? new Date(data['startTime']).getUTCFullYear() : NaN;
  const key = typeof tz === 'string' ? `z ${tz} ${typeof blob === 'string' ? blob : ''} ${start}` : typeof blob === 'string' ? `b ${blob} ${start}` : 'utc';
  let f = zoneCache.get(key);
  if (!f) {
    if (zoneCache.size >= ZONE_CACHE_MAX) zoneCache.clear();
    f = eventOffsets(data);
    zoneCache.set(key, f);
  }
  return f;
}

/** seriesOf (src/calendar/event.ts) with the zone from the cache above. */
function seriesWithCachedZone(data: JsonObject): Series | undefined {
  if (recurrenceOf(data) === undefined) return undefined;
  // Without zone fields seriesOf takes UTC and asks ICU nothing; the real zone goes in after.
  const plain = seriesOf({ ...data, timeZone: null, timezone: null });
  return plain && { ...plain, offsets: cachedOffsets(data) };
}

const DAY = 86_400_000;

/**
 * The same series starting at a later instance of its pattern, well before `from`, so expanding
 * it for [from, ...) does not walk every instance since the series began (a daily series started
 * years ago). Only where that cannot change any instance from `from - margin` on: daily (without
 * DayOfWeek: every Interval days) and weekly (every 7 x Interval days, the week alignment kept)
 * patterns without Occurrences (which count from the first instance), moved by whole periods of
 * local dates, keeping the wall-clock start, the duration, Until and every exception whose
 * original instance would fall after the new start. Anything else is returned unchanged, as is a
 * series whose wall-clock start would not survive the move (a start inside a DST gap).
 */
export function skipToWindow(series: Series, from: Date): Series {
  const rec = series.recurrence;
  if (rec.occurrences !== undefined && rec.occurrences > 0) return series;
  let periodDays: number;
  if (rec.type === 0 && !rec.dayOfWeek) periodDays = Math.max(1, rec.interval ?? 1);
  else if (rec.type === 0) periodDays = 7;
  else if (rec.type === 1) periodDays = 7 * Math.max(1, rec.interval ?? 1);
  else return series;
  const { offsets } = series;
  const startWall = utcToWall(series.start.getTime(), offsets);
  const firstMs = Date.UTC(startWall.year, startWall.month - 1, startWall.day);
  const fromWall = utcToWall(from.getTime(), offsets);
  const durationDays = Math.ceil(Math.max(0, series.end.getTime() - series.start.getTime()) / DAY);
  let limitMs = Date.UTC(fromWall.year, fromWall.month - 1, fromWall.day) - (periodDays + durationDays + 2) * DAY;
  for (const ex of series.exceptions ?? []) {
    const t = Date.parse(ex.exceptionStartTime);
    if (Number.isNaN(t)) return series;
    const w = utcToWall(t, offsets);
    limitMs = Math.min(limitMs, Date.UTC(w.year, w.month - 1, w.day) - DAY);
  }
  const periods = Math.floor((limitMs - firstMs) / (periodDays * DAY));
  if (periods <= 0) return series;
  const shiftDays = periods * periodDays;
  const day = new Date(firstMs + shiftDays * DAY);
  const start = wallToUtc({ year: day.getUTCFullYear(), month: day.getUTCMonth() + 1, day: day.getUTCDate(), hour: startWall.hour, minute: startWall.minute, second: startWall.second }, offsets);
  const check = utcToWall(start, offsets);
  if (check.hour !== startWall.hour || check.minute !== startWall.minute || (check.second ?? 0) !== (startWall.second ?? 0)) return series;
  let end: number;
  if (series.allDay) {
    // All-day: the end moves by the same local days (the instances take their length in days from it).
    const endWall = utcToWall(series.end.getTime(), offsets);
    const endDay = new Date(Date.UTC(endWall.year, endWall.month - 1, endWall.day) + shiftDays * DAY);
    end = wallToUtc({ year: endDay.getUTCFullYear(), month: endDay.getUTCMonth() + 1, day: endDay.getUTCDate(), hour: endWall.hour, minute: endWall.minute, second: endWall.second }, offsets);
  } else {
    end = start + (series.end.getTime() - series.start.getTime());
  }
  return { ...series, start: new Date(start), end: new Date(end) };
}

/**
 * The busy intervals of the items overlapping [from, to), sorted by start. Occurrences are not
 * clipped to the window (mergedFreeBusy clips); free ones are left out.
 */
export function busyIntervals(events: Iterable<JsonObject>, from: Date, to: Date): BusyInterval[] {
  const out: BusyInterval[] = [];
  if (!(to > from)) return out;
  for (const data of events) {
    if (!data || typeof data !== 'object') continue;
    const uid = typeof data['uid'] === 'string' ? data['uid'] : undefined;
    const series = seriesWithCachedZone(data);
    const single = series === undefined;
    for (const occ of series ? expand(skipToWindow(series, from), from, to) : occurrencesOf(data, from, to)) {
      const ex = occ.exception;
      const meetingStatus = ex && ex['meetingStatus'] !== undefined ? ex['meetingStatus'] : data['meetingStatus'];
      const responseType = ex && ex['responseType'] !== undefined ? ex['responseType'] : data['responseType'];
      if (typeof meetingStatus === 'number' && CANCELLED.has(meetingStatus)) continue;
      if (responseType === DECLINED) continue;
      const digit = busyStatusDigit(ex && ex['busyStatus'] !== undefined ? ex['busyStatus'] : data['busyStatus']);
      if (digit === FreeBusy.Free || digit === FreeBusy.NoData) continue;
      let { start, end } = occ;
      // A single all-day event stored before its times were made midnights still covers whole
      // days in its zone (kb-1.4); series occurrences are laid out that way by `expand`.
      if (single && data['allDayEvent'] === true) ({ start, end } = allDayBounds(start, end, cachedOffsets(data)));
      if (!(end > start) || !(start < to) || !(end > from)) continue;
      out.push({ start, end, status: digit, ...(uid !== undefined ? { uid } : {}), originalStart: occ.originalStart });
    }
  }
  return out.sort((a, b) => a.start.getTime() - b.start.getTime());
}

/**
 * The MergedFreeBusy string for [from, to): one digit per slot of `slotMinutes` from `from` (the
 * last slot may be shorter when the range is not a whole number of slots), the highest digit of
 * the intervals touching the slot, 0 where none does.
 */
export function mergedFreeBusy(intervals: Iterable<Pick<BusyInterval, 'start' | 'end' | 'status'>>, from: Date, to: Date, slotMinutes = 30): string {
  const lo = from.getTime();
  const hi = to.getTime();
  const slot = slotMinutes * 60_000;
  if (!(hi > lo) || !(slot > 0)) return '';
  const count = Math.ceil((hi - lo) / slot);
  const digits = new Uint8Array(count);
  for (const iv of intervals) {
    const s = Math.max(iv.start.getTime(), lo);
    const e = Math.min(iv.end.getTime(), hi);
    if (!(e > s)) continue;
    const first = Math.floor((s - lo) / slot);
    const last = Math.min(count - 1, Math.ceil((e - lo) / slot) - 1);
    for (let i = first; i <= last; i++) if (digits[i]! < iv.status) digits[i] = iv.status;
  }
  let outStr = '';
  for (let i = 0; i < count; i++) outStr += String(digits[i]);
  return outStr;
}

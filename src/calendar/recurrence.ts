/**
 * Recurring series on the server (pure): the EAS Recurrence (MS-ASCAL 2.2.2.39) expanded into
 * occurrences with their Exceptions (MS-ASCAL 2.2.2.21), and converted to and from an iCalendar
 * RRULE (RFC 5545 3.3.10) for iTIP and export.
 *
 * Semantics are Outlook's (MS-OXOCAL 2.2.1.44.1 RecurrencePattern, which EAS carries), where they
 * differ from RFC 5545:
 * - Day 29, 30 or 31 of the month (Type 2, or Type 5 with such a DayOfMonth) falls on the month's
 *   last day in shorter months (kb-1.10; Exchange's own reference for DayOfMonth: "If for a
 *   particular month this value is larger than the number of days in the month, the last day of
 *   the month is assumed"). RFC 5545 (and ical.js) skip those months for
 *   BYMONTHDAY=31; the conversion to RRULE therefore writes BYMONTHDAY=-1 for day 31 and
 *   "BYMONTHDAY=28,29,30;BYSETPOS=-1" style sets for 29 and 30, which mean the same in both.
 * - The series' StartTime is the first occurrence only when it matches the pattern; otherwise the
 *   first occurrence is the first date of the pattern after it (as Outlook lays a series out).
 * - Until is a date: an occurrence whose local date is on or before Until's local date is in
 *   (devices send Until as midnight, as the last occurrence's start, or as the end of that day).
 * - Occurrences counts every instance of the pattern, deleted ones included.
 * - Occurrences keep the series' wall-clock start time in its time zone across DST changes; a
 *   timed occurrence lasts as long as the series (in minutes), an all-day one the same number of
 *   days, midnight to midnight.
 * - CalendarType other than Gregorian (Hijri, Hebrew, Chinese lunar, ...) and IsLeapMonth are kept
 *   and sent back as received but expanded as Gregorian.
 *
 * The pattern and its local dates are in recurrence-pattern.ts, the RRULE conversion in
 * recurrence-rrule.ts; both are exported from here too.
 */
import { dateMs, DAY, fromMs, isBounded, patternDates, type EasRecurrence, type LocalDate } from './recurrence-pattern.ts';
import { utcToWall, wallToUtc, type OffsetFn, type WallTime } from './zone-offsets.ts';

export { daysInMonth, isBounded, MAX_INSTANCES, type EasRecurrence, type RecurrenceType } from './recurrence-pattern.ts';
export { recurrenceToRrule, rruleToRecurrence } from './recurrence-rrule.ts';

/** An exception of a series (MS-ASCAL 2.2.2.21): the occurrence that started at `exceptionStartTime`. */
export interface SeriesException {
  /** Original start of the occurrence (ExceptionStartTime; 16.0 InstanceId), ISO. */
  exceptionStartTime: string;
  deleted?: boolean;
  startTime?: string;
  endTime?: string;
  [field: string]: unknown;
}

export interface Series {
  /** Start and end of the first (pattern) occurrence. */
  start: Date;
  end: Date;
  recurrence: EasRecurrence;
  exceptions?: readonly SeriesException[];
  /** The series' time zone. */
  offsets: OffsetFn;
  allDay?: boolean;
}

export interface Occurrence {
  /** Where the pattern puts it (the key of an exception, the RECURRENCE-ID). */
  originalStart: Date;
  start: Date;
  end: Date;
  exception?: SeriesException;
}

// ---------------------------------------------------------------------------------------------
// Pattern instances

/**
 * Original starts and ends of the pattern's instances, in order, with no exception applied.
 * `stopAfter` (UTC ms) ends an unbounded iteration once an instance starts after it.
 */
export function* patternInstances(series: Series, stopAfter = Number.POSITIVE_INFINITY): Generator<{ start: Date; end: Date }> {
  const { recurrence: rec, offsets } = series;
  const startWall = utcToWall(series.start.getTime(), offsets);
  const first: LocalDate = { y: startWall.year, m: startWall.month, d: startWall.day };
  const durationMs = Math.max(0, series.end.getTime() - series.start.getTime());
  const endWall = utcToWall(series.end.getTime(), offsets);
  const allDayDays = Math.max(1, Math.round((dateMs({ y: endWall.year, m: endWall.month, d: endWall.day }) - dateMs(first)) / DAY));
  const untilDate = rec.until ? untilLocalDate(rec.until, offsets) : undefined;
  const count = rec.occurrences && rec.occurrences > 0 ? rec.occurrences : undefined;
  let n = 0;
  for (const day of patternDates(rec, first)) {
    if (count !== undefined && n >= count) return;
    if (untilDate !== undefined && dateMs(day) > untilDate) return;
    const wall: WallTime = { year: day.y, month: day.m, day: day.d, hour: startWall.hour, minute: startWall.minute, second: startWall.second };
    const start = wallToUtc(wall, offsets);
    if (start > stopAfter) return;
    let end: number;
    if (series.allDay) {
      const e = fromMs(dateMs(day) + allDayDays * DAY);
      end = wallToUtc({ year: e.y, month: e.m, day: e.d, hour: 0, minute: 0 }, offsets);
    } else {
      end = start + durationMs;
    }
    n++;
    yield { start: new Date(start), end: new Date(end) };
  }
}

/** Until's local date (ms of the UTC-based date) in the series' zone. */
function untilLocalDate(until: string, offsets: OffsetFn): number | undefined {
  const t = Date.parse(until);
  if (Number.isNaN(t)) return undefined;
  const w = utcToWall(t, offsets);
  return Date.UTC(w.year, w.month - 1, w.day);
}

// ---------------------------------------------------------------------------------------------
// Occurrences with exceptions

function exceptionKey(iso: string): number {
  return Date.parse(iso);
}

/**
 * Occurrences overlapping [from, to) (`to` undefined: no upper bound, the series must then be
 * bounded or the caller must stop), with exceptions applied: a Deleted exception removes its
 * occurrence; a changed one moves it to the exception's StartTime/EndTime (which may lie outside
 * the pattern, even before `from` of its original). Sorted by start.
 */
export function expand(series: Series, from: Date, to: Date): Occurrence[] {
  const exceptions = new Map<number, SeriesException>();
  for (const e of series.exceptions ?? []) {
    const k = exceptionKey(e.exceptionStartTime);
    if (!Number.isNaN(k)) exceptions.set(k, e);
  }
  const lo = from.getTime();
  const hi = to.getTime();
  const out: Occurrence[] = [];
  const seen = new Set<number>();
  for (const inst of patternInstances(series, hi)) {
    const k = inst.start.getTime();
    const ex = exceptions.get(k);
    seen.add(k);
    const occ = applyException(inst, ex);
    if (occ && occ.start.getTime() < hi && occ.end.getTime() > lo - (occ.end.getTime() === occ.start.getTime() ? 1 : 0)) out.push(occ);
  }
  // A changed occurrence moved into the window from a pattern instance after it.
  for (const [k, ex] of exceptions) {
    if (seen.has(k) || ex.deleted || k <= hi) continue;
    const occ = applyException({ start: new Date(k), end: new Date(k) }, ex);
    if (occ && occ.start.getTime() < hi && occ.end.getTime() > lo && isPatternInstance(series, k)) out.push(occ);
  }
  return out.sort((a, b) => a.start.getTime() - b.start.getTime());
}

function applyException(inst: { start: Date; end: Date }, ex: SeriesException | undefined): Occurrence | undefined {
  if (!ex) return { originalStart: inst.start, start: inst.start, end: inst.end };
  if (ex.deleted) return undefined;
  const s = ex.startTime ? new Date(ex.startTime) : inst.start;
  const e = ex.endTime ? new Date(ex.endTime) : new Date(s.getTime() + (inst.end.getTime() - inst.start.getTime()));
  return { originalStart: inst.start, start: s, end: e, exception: ex };
}

/** Whether an instant is the original start of one of the pattern's instances. */
export function isPatternInstance(series: Series, utcMs: number): boolean {
  for (const inst of patternInstances(series, utcMs)) if (inst.start.getTime() === utcMs) return true;
  return false;
}

/**
 * The end of the series' last occurrence (exceptions applied); undefined for an endless series.
 * This is what the FilterType window is tested against: a series is in a window [from, ...) when
 * its last occurrence ends after `from`.
 */
export function lastOccurrenceEnd(series: Series): Date | undefined {
  if (!isBounded(series.recurrence)) return undefined;
  const exceptions = new Map<number, SeriesException>();
  for (const e of series.exceptions ?? []) exceptions.set(exceptionKey(e.exceptionStartTime), e);
  // The pattern's local dates are cheap; only the last few are turned into instants (this runs
  // for every calendar item of a windowed Sync).
  const { offsets, recurrence: rec } = series;
  const startWall = utcToWall(series.start.getTime(), offsets);
  const first: LocalDate = { y: startWall.year, m: startWall.month, d: startWall.day };
  const untilDate = rec.until ? untilLocalDate(rec.until, offsets) : undefined;
  const count = rec.occurrences && rec.occurrences > 0 ? rec.occurrences : undefined;
  const dates: LocalDate[] = [];
  for (const day of patternDates(rec, first)) {
    if (count !== undefined && dates.length >= count) break;
    if (untilDate !== undefined && dateMs(day) > untilDate) break;
    dates.push(day);
  }
  const duration = series.end.getTime() - series.start.getTime();
  let last: number | undefined;
  // Moved occurrences may end anywhere.
  for (const e of exceptions.values()) {
    if (!e.deleted && e.endTime) {
      const t = Date.parse(e.endTime);
      if (!Number.isNaN(t) && (last === undefined || t > last)) last = t;
    }
  }
  for (let i = dates.length - 1; i >= 0; i--) {
    const day = dates[i]!;
    const start = wallToUtc({ year: day.y, month: day.m, day: day.d, hour: startWall.hour, minute: startWall.minute, second: startWall.second }, offsets);
    const ex = exceptions.get(start);
    if (ex?.deleted) continue;
    if (ex && ex.endTime) break; // counted above
    const end = series.allDay ? [...patternInstances({ ...series, start: new Date(start), end: new Date(start + duration), recurrence: { ...rec, occurrences: 1, until: undefined } })][0]!.end.getTime() : start + duration;
    if (last === undefined || end > last) last = end;
    break;
  }
  return last === undefined ? series.end : new Date(last);
}

/**
 * Whether any occurrence of the series overlaps [from, to) (`to` undefined: from `from` on).
 * An endless series with an occurrence on or after `from` always is.
 */
export function anyOccurrenceInWindow(series: Series, from: Date, to?: Date): boolean {
  if (to === undefined) {
    const last = lastOccurrenceEnd(series);
    if (last === undefined) return true;
    return last.getTime() > from.getTime() || expand(series, from, new Date(last.getTime() + 1)).length > 0;
  }
  return expand(series, from, to).length > 0;
}

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
 */
import ICAL from 'ical.js';

import { utcToWall, wallToUtc, type OffsetFn, type WallTime } from './timezone.ts';

/** MS-ASCAL 2.2.2.39 Type: 0 daily, 1 weekly, 2 monthly, 3 monthly on the nth day, 5 yearly, 6 yearly on the nth day. */
export type RecurrenceType = 0 | 1 | 2 | 3 | 5 | 6;

/** The EAS Recurrence element as data; dates are ISO strings. */
export interface EasRecurrence {
  type: RecurrenceType;
  interval?: number;
  occurrences?: number;
  until?: string;
  /** Bitmask: 1 Sunday, 2 Monday, 4 Tuesday, 8 Wednesday, 16 Thursday, 32 Friday, 64 Saturday; 127 with Type 3/6 = "day". */
  dayOfWeek?: number;
  dayOfMonth?: number;
  /** 1-4, 5 = last. */
  weekOfMonth?: number;
  monthOfYear?: number;
  calendarType?: number;
  isLeapMonth?: boolean;
  /** 0 Sunday .. 6 Saturday (14.1+). */
  firstDayOfWeek?: number;
}

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

const DAY = 86_400_000;
/** Upper bound on generated pattern instances, so a pathological series cannot spin. */
export const MAX_INSTANCES = 100_000;

// ---------------------------------------------------------------------------------------------
// Calendar arithmetic on local dates (UTC-based Date objects hold wall-clock dates)

interface LocalDate {
  y: number;
  /** 1-12 */
  m: number;
  d: number;
}

const dateMs = (x: LocalDate) => Date.UTC(x.y, x.m - 1, x.d);
const fromMs = (ms: number): LocalDate => {
  const t = new Date(ms);
  return { y: t.getUTCFullYear(), m: t.getUTCMonth() + 1, d: t.getUTCDate() };
};
const weekday = (x: LocalDate) => new Date(dateMs(x)).getUTCDay();
export const daysInMonth = (y: number, m: number) => new Date(Date.UTC(y, m, 0)).getUTCDate();
const addMonths = (y: number, m: number, n: number) => {
  const i = y * 12 + (m - 1) + n;
  return { y: Math.floor(i / 12), m: (i % 12) + 1 };
};

/** Days of the month whose weekday is in the mask, in order. */
function daysMatching(y: number, m: number, mask: number): number[] {
  const out: number[] = [];
  const first = weekday({ y, m, d: 1 });
  const n = daysInMonth(y, m);
  for (let d = 1; d <= n; d++) if (mask & (1 << ((first + d - 1) % 7))) out.push(d);
  return out;
}

/** The nth (1-4, 5 = last) day of the month whose weekday is in the mask (127: any day). */
function nthDay(y: number, m: number, mask: number, week: number): number | undefined {
  const days = daysMatching(y, m, mask & 127 || 127);
  if (days.length === 0) return undefined;
  return week >= 5 ? days.at(-1) : days[week - 1];
}

/** Day-of-month under Outlook's rule: past the month's end means the last day (kb-1.10). */
function clampDay(y: number, m: number, d: number): number {
  return Math.min(d, daysInMonth(y, m));
}

// ---------------------------------------------------------------------------------------------
// Pattern instances

/**
 * The local dates of the pattern, in order, from the series' first local date on. Unbounded
 * (the caller stops); at most MAX_INSTANCES.
 */
function* patternDates(rec: EasRecurrence, first: LocalDate): Generator<LocalDate> {
  const interval = Math.max(1, rec.interval ?? 1);
  const startMs = dateMs(first);
  const startMask = 1 << weekday(first);
  let produced = 0;
  const emit = function* (x: LocalDate): Generator<LocalDate> {
    if (dateMs(x) < startMs) return;
    produced++;
    yield x;
  };
  const guard = () => produced < MAX_INSTANCES;

  switch (rec.type) {
    case 0: {
      if (rec.dayOfWeek) {
        // "Every weekday" sent as Type 0 with a DayOfWeek mask: those days every week.
        yield* patternDates({ ...rec, type: 1, interval: 1 }, first);
        return;
      }
      for (let k = 0; guard() && k < MAX_INSTANCES; k++) yield* emit(fromMs(startMs + k * interval * DAY));
      return;
    }
    case 1: {
      const mask = rec.dayOfWeek || startMask;
      const fdow = rec.firstDayOfWeek ?? 0;
      const weekStart = startMs - ((weekday(first) - fdow + 7) % 7) * DAY;
      for (let k = 0; guard() && k < MAX_INSTANCES; k++) {
        const ws = weekStart + k * interval * 7 * DAY;
        for (let i = 0; i < 7; i++) {
          const day = fromMs(ws + i * DAY);
          if (mask & (1 << weekday(day))) yield* emit(day);
        }
      }
      return;
    }
    case 2:
    case 3: {
      for (let k = 0; guard() && k < MAX_INSTANCES; k++) {
        const { y, m } = addMonths(first.y, first.m, k * interval);
        const d = rec.type === 2 ? clampDay(y, m, rec.dayOfMonth ?? first.d) : nthDay(y, m, rec.dayOfWeek ?? startMask, rec.weekOfMonth ?? 1);
        if (d !== undefined) yield* emit({ y, m, d });
      }
      return;
    }
    case 5:
    case 6: {
      const month = rec.monthOfYear ?? first.m;
      for (let k = 0; guard() && k < MAX_INSTANCES; k++) {
        const y = first.y + k * interval;
        const d = rec.type === 5 ? clampDay(y, month, rec.dayOfMonth ?? first.d) : nthDay(y, month, rec.dayOfWeek ?? startMask, rec.weekOfMonth ?? 1);
        if (d !== undefined) yield* emit({ y, m: month, d });
      }
      return;
    }
  }
}

/** Whether the series has an end (Occurrences or Until). */
export function isBounded(rec: EasRecurrence): boolean {
  return (rec.occurrences !== undefined && rec.occurrences > 0) || rec.until !== undefined;
}

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

// ---------------------------------------------------------------------------------------------
// RRULE <-> EAS Recurrence

const RRULE_DAYS = ['SU', 'MO', 'TU', 'WE', 'TH', 'FR', 'SA'] as const;

function maskToDays(mask: number): string[] {
  return RRULE_DAYS.filter((_, i) => mask & (1 << i));
}

function daysToMask(days: readonly string[]): number {
  let mask = 0;
  for (const d of days) {
    const i = RRULE_DAYS.indexOf(d as (typeof RRULE_DAYS)[number]);
    if (i >= 0) mask |= 1 << i;
  }
  return mask;
}

/** "20261231T235959Z" */
function icalUtc(iso: string): string {
  return new Date(iso).toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');
}

/** BYMONTHDAY part of day 29/30/31 under Outlook's rule, in a form RFC 5545 readers agree on. */
function monthDayRule(day: number): string {
  if (day <= 28) return `BYMONTHDAY=${day}`;
  if (day >= 31) return 'BYMONTHDAY=-1';
  const set: number[] = [];
  for (let d = 28; d <= day; d++) set.push(d);
  return `BYMONTHDAY=${set.join(',')};BYSETPOS=-1`;
}

/** The nth-day part: BYDAY with BYSETPOS (one weekday: the "2TU" form). */
function nthRule(mask: number, week: number): string {
  const pos = week >= 5 ? -1 : week;
  const days = maskToDays(mask & 127 || 127);
  if (days.length === 1) return `BYDAY=${pos}${days[0]}`;
  return `BYDAY=${days.join(',')};BYSETPOS=${pos}`;
}

/**
 * The RRULE value (without "RRULE:") of an EAS recurrence. `start` fills in what the pattern
 * leaves to the series' start (the weekday of a weekly series, the day of a monthly one).
 * Until is written in UTC (RFC 5545 3.3.10: UNTIL in UTC when DTSTART has a zone).
 */
export function recurrenceToRrule(rec: EasRecurrence, startLocal: WallTime): string {
  const first: LocalDate = { y: startLocal.year, m: startLocal.month, d: startLocal.day };
  const parts: string[] = [];
  const interval = rec.interval && rec.interval > 1 ? `;INTERVAL=${rec.interval}` : '';
  switch (rec.type) {
    case 0:
      parts.push(rec.dayOfWeek ? `FREQ=WEEKLY;BYDAY=${maskToDays(rec.dayOfWeek).join(',')}` : `FREQ=DAILY${interval}`);
      break;
    case 1:
      parts.push(`FREQ=WEEKLY${interval};BYDAY=${maskToDays(rec.dayOfWeek || 1 << weekday(first)).join(',')}`);
      if (rec.firstDayOfWeek !== undefined) parts.push(`WKST=${RRULE_DAYS[rec.firstDayOfWeek]}`);
      break;
    case 2:
      parts.push(`FREQ=MONTHLY${interval};${monthDayRule(rec.dayOfMonth ?? first.d)}`);
      break;
    case 3:
      parts.push(`FREQ=MONTHLY${interval};${nthRule(rec.dayOfWeek ?? 1 << weekday(first), rec.weekOfMonth ?? 1)}`);
      break;
    case 5: {
      const month = rec.monthOfYear ?? first.m;
      const day = rec.dayOfMonth ?? first.d;
      // February 29th: the last day of February in other years; other months have fixed lengths.
      const rule = month === 2 && day >= 29 ? monthDayRule(day === 29 ? 29 : 31) : `BYMONTHDAY=${Math.min(day, daysInMonth(2001, month))}`;
      parts.push(`FREQ=YEARLY${interval};BYMONTH=${month};${rule}`);
      break;
    }
    case 6:
      parts.push(`FREQ=YEARLY${interval};BYMONTH=${rec.monthOfYear ?? first.m};${nthRule(rec.dayOfWeek ?? 1 << weekday(first), rec.weekOfMonth ?? 1)}`);
      break;
  }
  if (rec.occurrences && rec.occurrences > 0) parts.push(`COUNT=${rec.occurrences}`);
  else if (rec.until) parts.push(`UNTIL=${icalUtc(rec.until)}`);
  return parts.join(';');
}

/**
 * The EAS recurrence of an RRULE, or undefined when EAS cannot express it (FREQ finer than daily,
 * several months, BYWEEKNO, BYYEARDAY, more than one day-of-month that is not Outlook's "last day"
 * set, ...). `startLocal` is DTSTART in the event's zone. The "last day" forms written by
 * recurrenceToRrule (BYMONTHDAY=-1, 28..n with BYSETPOS=-1) come back as Type 2/5 day n.
 */
export function rruleToRecurrence(rrule: string, startLocal: WallTime): EasRecurrence | undefined {
  let recur: ICAL.Recur;
  try {
    recur = ICAL.Recur.fromString(rrule.replace(/^RRULE:/i, '').trim());
  } catch {
    return undefined;
  }
  const p = recur.parts as Record<string, Array<string | number> | undefined>;
  for (const k of Object.keys(p)) {
    if (!['BYDAY', 'BYMONTHDAY', 'BYMONTH', 'BYSETPOS'].includes(k) && (p[k]?.length ?? 0) > 0) return undefined;
  }
  const out: EasRecurrence = { type: 0 };
  if (recur.interval && recur.interval > 1) out.interval = recur.interval;
  if (recur.count) out.occurrences = recur.count;
  else if (recur.until) out.until = recur.until.toJSDate().toISOString();
  const wkst = /(?:^|;)WKST=([A-Z]{2})/i.exec(rrule);
  if (wkst && recur.freq === 'WEEKLY') out.firstDayOfWeek = RRULE_DAYS.indexOf(wkst[1]!.toUpperCase() as (typeof RRULE_DAYS)[number]);

  const byday = (p['BYDAY'] ?? []).map(String);
  const bymonthday = (p['BYMONTHDAY'] ?? []).map(Number);
  const bymonth = (p['BYMONTH'] ?? []).map(Number);
  const bysetpos = (p['BYSETPOS'] ?? []).map(Number);
  if (bymonth.length > 1 || bysetpos.length > 1) return undefined;
  const plainDays = byday.every((d) => /^[A-Z]{2}$/.test(d));

  /** Day n from Outlook's "last day" forms, or a single positive day. */
  const monthDay = (): number | undefined => {
    if (bymonthday.length === 1 && bysetpos.length === 0) {
      const d = bymonthday[0]!;
      return d === -1 ? 31 : d > 0 ? d : undefined;
    }
    if (bysetpos[0] === -1 && bymonthday.length > 1 && bymonthday[0] === 28 && bymonthday.every((d, i) => d === 28 + i)) return bymonthday.at(-1);
    if (bymonthday.length === 0 && bysetpos.length === 0 && byday.length === 0) return startLocal.day;
    return undefined;
  };
  /** WeekOfMonth and DayOfWeek from "2TU" or "MO,TU;BYSETPOS=n" (nth of a set), or undefined. */
  const nth = (): { weekOfMonth: number; dayOfWeek: number } | undefined => {
    if (bymonthday.length > 0) return undefined;
    if (byday.length === 1 && bysetpos.length === 0) {
      const m = /^([+-]?\d)([A-Z]{2})$/.exec(byday[0]!);
      if (!m) return undefined;
      const n = Number(m[1]);
      if (n === 0 || n < -1 || n > 5) return undefined;
      return { weekOfMonth: n === -1 ? 5 : n, dayOfWeek: daysToMask([m[2]!]) };
    }
    if (byday.length >= 1 && plainDays && bysetpos.length === 1) {
      const n = bysetpos[0]!;
      if (n === 0 || n < -1 || n > 4) return undefined;
      return { weekOfMonth: n === -1 ? 5 : n, dayOfWeek: daysToMask(byday) };
    }
    return undefined;
  };

  switch (recur.freq) {
    case 'DAILY':
      if (bymonthday.length || bymonth.length || bysetpos.length) return undefined;
      if (byday.length) {
        if (!plainDays || (recur.interval ?? 1) > 1) return undefined;
        return { ...out, type: 1, dayOfWeek: daysToMask(byday) };
      }
      return { ...out, type: 0 };
    case 'WEEKLY':
      if (bymonthday.length || bymonth.length || bysetpos.length || !plainDays) return undefined;
      return { ...out, type: 1, dayOfWeek: byday.length ? daysToMask(byday) : 1 << new Date(Date.UTC(startLocal.year, startLocal.month - 1, startLocal.day)).getUTCDay() };
    case 'MONTHLY': {
      if (bymonth.length) return undefined;
      const d = monthDay();
      if (d !== undefined && byday.length === 0) return { ...out, type: 2, dayOfMonth: d };
      const n = nth();
      return n ? { ...out, type: 3, ...n } : undefined;
    }
    case 'YEARLY': {
      const month = bymonth[0] ?? startLocal.month;
      const d = monthDay();
      if (d !== undefined && byday.length === 0) return { ...out, type: 5, monthOfYear: month, dayOfMonth: month === 2 && d === 31 ? 29 : d };
      const n = nth();
      return n ? { ...out, type: 6, monthOfYear: month, ...n } : undefined;
    }
    default:
      return undefined;
  }
}

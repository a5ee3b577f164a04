/**
 * The end of a series between EAS and iCalendar. EAS's Until is read as a date (recurrence.ts:
 * every occurrence on Until's local date is in, whatever the time of day a device wrote);
 * RFC 5545's UNTIL is an inclusive instant, a DATE when DTSTART is one (3.3.10). Both ways the
 * end is written as the start of the last occurrence, which every reading agrees on. Pure.
 */
import type { EasRecurrence } from './recurrence-pattern.ts';
import { recurrenceToRrule } from './recurrence-rrule.ts';
import { patternInstances, type Series } from './recurrence.ts';
import { utcToWall, wallToUtc } from './zone-offsets.ts';

/** An RRULE's UNTIL as ical.js gives it: a DATE, a UTC DATE-TIME or a local one. */
export interface RruleUntil {
  isDate: boolean;
  utc: boolean;
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
}

/** The start of the last pattern instance at or before `limit` (UTC ms), if any. */
function lastStart(series: Series, limit = Number.POSITIVE_INFINITY): Date | undefined {
  let last: Date | undefined;
  for (const inst of patternInstances(series, limit)) last = inst.start;
  return last;
}

/**
 * The recurrence read from an RRULE with UNTIL (`rec.until` set from it), its Until moved to the
 * start of the last occurrence UNTIL admits (a DATE: the whole day in the event's zone).
 */
export function untilFromRrule(rec: EasRecurrence, until: RruleUntil, series: Omit<Series, 'recurrence'>): EasRecurrence {
  const { offsets } = series;
  const limit = until.isDate
    ? wallToUtc({ year: until.year, month: until.month, day: until.day + 1, hour: 0, minute: 0 }, offsets) - 1
    : until.utc
      ? Date.UTC(until.year, until.month - 1, until.day, until.hour, until.minute, until.second)
      : wallToUtc({ year: until.year, month: until.month, day: until.day, hour: until.hour, minute: until.minute, second: until.second }, offsets);
  const last = lastStart({ ...series, recurrence: { ...rec, until: undefined } }, limit);
  return last ? { ...rec, until: last.toISOString() } : rec;
}

const pad = (n: number, w = 2) => String(n).padStart(w, '0');

/**
 * The RRULE value of a stored series for export: an Until becomes the start of the last
 * occurrence (UTC), or its local date for an all-day series.
 */
export function rruleForExport(rec: EasRecurrence, series: Omit<Series, 'recurrence'>): string {
  const startLocal = utcToWall(series.start.getTime(), series.offsets);
  if (!rec.until || (rec.occurrences !== undefined && rec.occurrences > 0)) return recurrenceToRrule(rec, startLocal);
  const last = lastStart({ ...series, recurrence: rec });
  const exported = last ? { ...rec, until: last.toISOString() } : rec;
  const rule = recurrenceToRrule(exported, startLocal);
  if (!series.allDay || !last) return rule;
  const w = utcToWall(last.getTime(), series.offsets);
  return rule.replace(/UNTIL=[0-9TZ]+/, `UNTIL=${pad(w.year, 4)}${pad(w.month)}${pad(w.day)}`);
}


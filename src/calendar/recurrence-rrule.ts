/**
 * EAS Recurrence (MS-ASCAL 2.2.2.39) <-> iCalendar RRULE (RFC 5545 3.3.10), for iTIP and export.
 * Outlook's day 29, 30 or 31 of the month (the month's last day in shorter months, kb-1.10) is
 * written in forms RFC 5545 readers agree on: BYMONTHDAY=-1 for day 31 and
 * "BYMONTHDAY=28,29,30;BYSETPOS=-1" style sets for 29 and 30 (RFC 5545 3.3.10 BYSETPOS; ical.js
 * 2.2 does not apply BYSETPOS to BYMONTHDAY, kewisch/ical.js#960). The other way round an RRULE's
 * BYMONTHDAY=29/30/31 (or a DTSTART on such a day with no BYMONTHDAY) keeps RFC 5545's meaning,
 * months without that day have no occurrence, as `skipShortMonths`, and is written back as it
 * came. Pure.
 */
import ICAL from 'ical.js';

import { daysInMonth, weekday, type EasRecurrence, type LocalDate } from './recurrence-pattern.ts';
import type { WallTime } from './zone-offsets.ts';

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
    case 2: {
      const day = rec.dayOfMonth ?? first.d;
      parts.push(`FREQ=MONTHLY${interval};${rec.skipShortMonths ? `BYMONTHDAY=${day}` : monthDayRule(day)}`);
      break;
    }
    case 3:
      parts.push(`FREQ=MONTHLY${interval};${nthRule(rec.dayOfWeek ?? 1 << weekday(first), rec.weekOfMonth ?? 1)}`);
      break;
    case 5: {
      const month = rec.monthOfYear ?? first.m;
      const day = rec.dayOfMonth ?? first.d;
      // February 29th: the last day of February in other years; other months have fixed lengths.
      // With skipShortMonths (an RFC 5545 organizer's Feb 29th) only leap years have one.
      const rule = rec.skipShortMonths ? `BYMONTHDAY=${day}` : month === 2 && day >= 29 ? monthDayRule(day === 29 ? 29 : 31) : `BYMONTHDAY=${Math.min(day, daysInMonth(2001, month))}`;
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

  /**
   * Day n from Outlook's "last day" forms (`last`), or a single positive day, or DTSTART's day
   * (RFC 5545 3.3.10: a missing BYMONTHDAY comes from DTSTART), which keep RFC 5545's meaning.
   */
  const monthDay = (): { day: number; last: boolean } | undefined => {
    if (bymonthday.length === 1 && bysetpos.length === 0) {
      const d = bymonthday[0]!;
      return d === -1 ? { day: 31, last: true } : d > 0 ? { day: d, last: false } : undefined;
    }
    if (bysetpos[0] === -1 && bymonthday.length > 1 && bymonthday[0] === 28 && bymonthday.every((d, i) => d === 28 + i)) return { day: bymonthday.at(-1)!, last: true };
    if (bymonthday.length === 0 && bysetpos.length === 0 && byday.length === 0) return { day: startLocal.day, last: false };
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
      if (d !== undefined && byday.length === 0) return { ...out, type: 2, dayOfMonth: d.day, ...(!d.last && d.day > 28 ? { skipShortMonths: true } : {}) };
      const n = nth();
      return n ? { ...out, type: 3, ...n } : undefined;
    }
    case 'YEARLY': {
      const month = bymonth[0] ?? startLocal.month;
      const d = monthDay();
      if (d !== undefined && byday.length === 0) {
        if (d.last) return { ...out, type: 5, monthOfYear: month, dayOfMonth: month === 2 && d.day === 31 ? 29 : d.day };
        // RFC 5545: a day the month never has (April 31st, February 30th) makes no occurrence.
        if (d.day > (month === 2 ? 29 : daysInMonth(2001, month))) return undefined;
        return { ...out, type: 5, monthOfYear: month, dayOfMonth: d.day, ...(month === 2 && d.day === 29 ? { skipShortMonths: true } : {}) };
      }
      const n = nth();
      return n ? { ...out, type: 6, monthOfYear: month, ...n } : undefined;
    }
    default:
      return undefined;
  }
}

/**
 * Two independent expansions of a recurring series, for tests that compare what devices get with
 * what the organizer meant (kb-1.10). Neither uses the server's recurrence code.
 *
 * - `expandAsDevice`: the EAS Recurrence and Exceptions of a calendar item's ApplicationData read
 *   as a device reads them, by MS-ASCAL 2.2.2.39 (Type, Interval, Occurrences, Until, DayOfMonth,
 *   WeekOfMonth 5 = last, DayOfWeek 127 = any day, MonthOfYear) with Outlook's rule for a
 *   DayOfMonth past the month's end (MS-OXOCAL 2.2.1.44.1: the month's last day), Occurrences
 *   counting deleted instances, Until a date (every occurrence on its local date is in), and Exceptions with Deleted=1
 *   (MS-ASCAL 2.2.2.21, 2.2.2.16; 16.x names the occurrence by AirSyncBase:InstanceId).
 * - `expandAsOrganizer`: an RRULE by RFC 5545 3.3.10, through ical.js's iterator (the oracle),
 *   with UNTIL applied as an inclusive instant here and BYSETPOS over a BYMONTHDAY set applied
 *   here too, because ical.js 2.2 ignores it there (kewisch/ical.js#960).
 * Wall-clock <-> UTC uses Intl (ICU) directly.
 */
import ICAL from 'ical.js';

import { child, isElement, text, type WbxmlElement } from '../../src/wbxml/tree.ts';

export interface Wall {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
}

const formats = new Map<string, Intl.DateTimeFormat>();
const offsetCache = new Map<string, number>();
/** The zone's UTC offset at an instant; cached per hour (the test zones change on whole hours). */
function offsetMinutes(zone: string, ms: number): number {
  if (zone === 'UTC') return 0;
  const key = `${zone}|${Math.floor(ms / 3_600_000)}`;
  const hit = offsetCache.get(key);
  if (hit !== undefined) return hit;
  const v = computeOffset(zone, ms);
  offsetCache.set(key, v);
  return v;
}

function computeOffset(zone: string, ms: number): number {
  let f = formats.get(zone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', { timeZone: zone, hourCycle: 'h23', year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric', minute: 'numeric', second: 'numeric' });
    formats.set(zone, f);
  }
  const p = Object.fromEntries(f.formatToParts(ms).map((x) => [x.type, x.value]));
  const asUtc = Date.UTC(Number(p['year']), Number(p['month']) - 1, Number(p['day']), Number(p['hour']), Number(p['minute']), Number(p['second']));
  return Math.round((asUtc - Math.floor(ms / 1000) * 1000) / 60_000);
}

export function wallToUtcMs(zone: string, w: Wall): number {
  const guess = Date.UTC(w.year, w.month - 1, w.day, w.hour, w.minute);
  const first = guess - offsetMinutes(zone, guess) * 60_000;
  return guess - offsetMinutes(zone, first) * 60_000;
}

export function utcToWallOf(zone: string, ms: number): Wall {
  const t = new Date(ms + offsetMinutes(zone, ms) * 60_000);
  return { year: t.getUTCFullYear(), month: t.getUTCMonth() + 1, day: t.getUTCDate(), hour: t.getUTCHours(), minute: t.getUTCMinutes() };
}

export const daysIn = (y: number, m: number) => new Date(Date.UTC(y, m, 0)).getUTCDate();

/** "20260131T090000Z" (MS-ASDTYPE compact) or ISO -> ms. */
function easDate(s: string): number {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(s.trim());
  return m ? Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!) : Date.parse(s);
}

const num = (e: WbxmlElement, name: string): number | undefined => {
  const v = text(child(e, name, 'Calendar'));
  return v === undefined ? undefined : Number(v);
};

/**
 * Occurrence starts (UTC ms, sorted) of a calendar item's ApplicationData as a device expands
 * it, in `zone`, up to `limitMs`.
 */
export function expandAsDevice(appData: WbxmlElement, zone: string, limitMs: number): number[] {
  const start = easDate(text(child(appData, 'StartTime', 'Calendar')) ?? '');
  const rec = child(appData, 'Recurrence', 'Calendar');
  if (!rec) return [start];
  const type = num(rec, 'Type')!;
  const interval = num(rec, 'Interval') ?? 1;
  const occurrences = num(rec, 'Occurrences');
  const untilText = text(child(rec, 'Until', 'Calendar'));
  const until = untilText ? easDate(untilText) : undefined;
  const dayOfMonth = num(rec, 'DayOfMonth');
  const weekOfMonth = num(rec, 'WeekOfMonth');
  const dayOfWeek = num(rec, 'DayOfWeek');
  const monthOfYear = num(rec, 'MonthOfYear');
  const deleted = new Set<number>();
  const exceptions = child(appData, 'Exceptions', 'Calendar');
  for (const x of exceptions?.children.filter(isElement) ?? []) {
    if (text(child(x, 'Deleted', 'Calendar')) !== '1') continue;
    const key = text(child(x, 'ExceptionStartTime', 'Calendar')) ?? text(child(x, 'InstanceId', 'AirSyncBase'));
    if (key) deleted.add(easDate(key));
  }
  const s = utcToWallOf(zone, start);
  // Until is a date, as Outlook keeps it (MS-OXOCAL 2.2.1.44.1 EndDate): every occurrence on its
  // local date is in, whatever the time of day the device wrote.
  const u = until === undefined ? undefined : utcToWallOf(zone, until);
  const untilDay = u ? Date.UTC(u.year, u.month - 1, u.day) : undefined;
  const startDay = Date.UTC(s.year, s.month - 1, s.day);
  const nth = (y: number, m: number): number | undefined => {
    const mask = dayOfWeek ?? 127;
    const days: number[] = [];
    for (let d = 1; d <= daysIn(y, m); d++) if (mask & (1 << new Date(Date.UTC(y, m - 1, d)).getUTCDay())) days.push(d);
    return weekOfMonth === 5 ? days.at(-1) : days[(weekOfMonth ?? 1) - 1];
  };
  const out: number[] = [];
  let counted = 0;
  for (let k = 0; k < 5000; k++) {
    let y: number;
    let m: number;
    let d: number | undefined;
    if (type === 2 || type === 3) {
      const i = s.year * 12 + s.month - 1 + k * interval;
      y = Math.floor(i / 12);
      m = (i % 12) + 1;
      d = type === 2 ? Math.min(dayOfMonth ?? s.day, daysIn(y, m)) : nth(y, m);
    } else if (type === 5 || type === 6) {
      y = s.year + k * interval;
      m = monthOfYear ?? s.month;
      d = type === 5 ? Math.min(dayOfMonth ?? s.day, daysIn(y, m)) : nth(y, m);
    } else {
      throw new Error(`expandAsDevice: Type ${type} is not needed by these tests`);
    }
    if (d === undefined || Date.UTC(y, m - 1, d) < startDay) continue;
    counted++;
    if (occurrences !== undefined && counted > occurrences) break;
    const t = wallToUtcMs(zone, { year: y, month: m, day: d, hour: s.hour, minute: s.minute });
    if ((untilDay !== undefined && Date.UTC(y, m - 1, d) > untilDay) || t > limitMs) break;
    if (!deleted.has(t)) out.push(t);
  }
  return out;
}

/**
 * Occurrence starts (UTC ms) of DTSTART (wall time in `zone`) with an RRULE and EXDATEs (UTC ms),
 * by RFC 5545, up to `limitMs`.
 */
export function expandAsOrganizer(rrule: string, dtstart: Wall, zone: string, limitMs: number, exdates: readonly number[] = []): number[] {
  const parts = new Map(rrule.split(';').map((p) => p.split('=') as [string, string]));
  const untilText = parts.get('UNTIL');
  // A DATE UNTIL takes in its whole local day.
  const until = !untilText
    ? undefined
    : untilText.length === 8
      ? wallToUtcMs(zone, { year: +untilText.slice(0, 4), month: +untilText.slice(4, 6), day: +untilText.slice(6, 8) + 1, hour: 0, minute: 0 }) - 1
      : easDate(untilText);
  const count = parts.get('COUNT') ? Number(parts.get('COUNT')) : undefined;
  const setpos = parts.get('BYSETPOS') !== undefined && parts.get('BYMONTHDAY') !== undefined ? Number(parts.get('BYSETPOS')) : undefined;
  parts.delete('UNTIL');
  // COUNT counts the set's instances after BYSETPOS and without invalid dates (RFC 5545 3.3.10),
  // which ical.js counts when it rolls them over (below): counted here.
  parts.delete('COUNT');
  if (setpos !== undefined) parts.delete('BYSETPOS');
  const rule = [...parts].map(([k, v]) => `${k}=${v}`).join(';');
  // ical.js 2.2.1 rolls February 29th of a common year over to March 1st for a BYMONTHDAY set
  // (FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=28,29 gives 03-01); RFC 5545 3.3.10 ignores invalid dates,
  // so anything off the rule's months and days is dropped here.
  // Parts a rule leaves out come from DTSTART (RFC 5545 3.3.10), which ical.js rolls over too
  // (FREQ=YEARLY from 2020-02-29 gives 2021-03-01).
  const freq = parts.get('FREQ');
  const byDay = parts.has('BYDAY');
  const months = parts.get('BYMONTH')?.split(',').map(Number) ?? (freq === 'YEARLY' && !byDay && !parts.has('BYMONTHDAY') && !parts.has('BYWEEKNO') && !parts.has('BYYEARDAY') ? [dtstart.month] : undefined);
  const days = parts.get('BYMONTHDAY')?.split(',').map(Number) ?? ((freq === 'YEARLY' || freq === 'MONTHLY') && !byDay ? [dtstart.day] : undefined);
  const valid = (w: Wall) =>
    (!months || months.includes(w.month)) && (!days || days.some((d) => d === w.day || (d < 0 && daysIn(w.year, w.month) + 1 + d === w.day)));
  const it = ICAL.Recur.fromString(rule).iterator(ICAL.Time.fromData({ year: dtstart.year, month: dtstart.month, day: dtstart.day, hour: dtstart.hour, minute: dtstart.minute }));
  let walls: Wall[] = [];
  for (let t = it.next(), n = 0; t && n < 20_000; t = it.next(), n++) {
    const w = { year: t.year, month: t.month, day: t.day, hour: t.hour, minute: t.minute };
    // Past the limit by two months, so BYSETPOS sees whole months at the limit.
    if (wallToUtcMs(zone, w) > limitMs + 70 * 86_400_000) break;
    if (valid(w)) walls.push(w);
  }
  if (setpos !== undefined) {
    const period = (w: Wall) => (parts.get('FREQ') === 'YEARLY' ? `${w.year}` : `${w.year}-${w.month}`);
    const groups = new Map<string, Wall[]>();
    for (const w of walls) groups.set(period(w), [...(groups.get(period(w)) ?? []), w]);
    walls = [...groups.values()].map((g) => (setpos < 0 ? g.at(setpos) : g[setpos - 1])).filter((w): w is Wall => !!w);
  }
  if (count !== undefined) walls = walls.slice(0, count);
  const ex = new Set(exdates);
  return walls
    .map((w) => wallToUtcMs(zone, w))
    .filter((t) => t <= limitMs && (until === undefined || t <= until))
    .filter((t) => !ex.has(t));
}

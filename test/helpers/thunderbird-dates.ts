/**
 * Dates for the Thunderbird test, laid relative to today: TbSync asks for a calendar window
 * (FilterType 7, six months back, by default: EAS-4-TbSync modules/eas/calendar-sync.mjs
 * calendarFilterType, MS-ASCMD 2.2.3.70.1), so fixed dates would fall out of it as time passes.
 * Times are local Berlin wall-clock times turned into UTC with the zone's offset on that day
 * (Intl), so a series crossing a DST change keeps its local time as RFC 5545 3.3.10 asks.
 */
const DAY = 86_400_000;

function berlinOffsetMinutes(utcMs: number): number {
  const name = new Intl.DateTimeFormat('en-US', { timeZone: 'Europe/Berlin', timeZoneName: 'shortOffset' })
    .formatToParts(new Date(utcMs))
    .find((p) => p.type === 'timeZoneName')?.value ?? 'GMT';
  const m = /GMT([+-])(\d+)(?::(\d+))?/.exec(name);
  return m ? (m[1] === '-' ? -1 : 1) * (Number(m[2]) * 60 + Number(m[3] ?? 0)) : 0;
}

/** The UTC instant of `hour`:00 Berlin time on the UTC calendar day of `dayMs`. */
export function berlinTime(dayMs: number, hour: number): Date {
  const d = new Date(dayMs);
  const wall = Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate(), hour);
  let t = wall - berlinOffsetMinutes(wall) * 60_000;
  t = wall - berlinOffsetMinutes(t) * 60_000;
  return new Date(t);
}

/** Midnight UTC of the first Monday at least `days` days from now. */
export function mondayAfter(days: number, now = Date.now()): number {
  const d = new Date(now + days * DAY);
  const midnight = Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate());
  return midnight + ((8 - new Date(midnight).getUTCDay()) % 7) * DAY;
}

export const addDays = (ms: number, n: number): number => ms + n * DAY;

/** EAS compact UTC form (MS-ASCAL 2.2.2.42 StartTime) and iCalendar UTC form: `20260302T080000Z`. */
export const compact = (d: Date): string => d.toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');

/** An iCalendar DATE (RFC 5545 3.3.4) of the UTC calendar day of `ms`: `20260302`. */
export const icalDate = (ms: number): string => compact(new Date(ms)).slice(0, 8);

/**
 * IANA zone -> TIME_ZONE_INFORMATION (MS-ASDTYPE 2.7.6), for items made on the server: the
 * zone's actual rules for a year, in the recurring form devices read.
 */
import { daysInMonth, encodeTimezone, neg, ZERO_TIME, type SystemTime, type TimeZoneInformation } from './time-zone-information.ts';
import { windowsIdForZone } from './windows-zone-names.ts';
import { ianaOffsets, transitionsInYear } from './zone-offsets.ts';

/** The wall clock (as a UTC-based Date) of an instant at an offset. */
function wallAt(utcMs: number, offset: number): Date {
  return new Date(utcMs + offset * 60_000);
}

/** The recurring "day-in-month" SYSTEMTIME of a wall-clock moment (week 5 when it is the month's last). */
function recurringSystemTime(wall: Date): SystemTime {
  const y = wall.getUTCFullYear();
  const m = wall.getUTCMonth() + 1;
  const d = wall.getUTCDate();
  const week = d + 7 > daysInMonth(y, m) ? 5 : Math.ceil(d / 7);
  return {
    year: 0,
    month: m,
    dayOfWeek: wall.getUTCDay(),
    day: week,
    hour: wall.getUTCHours(),
    minute: wall.getUTCMinutes(),
    second: 0,
    milliseconds: 0,
  };
}

/**
 * TIME_ZONE_INFORMATION of an IANA zone for one year, from the zone's actual rules: the offsets
 * in effect and the two transitions of that year, written in the recurring form. A zone without
 * daylight saving time that year (Asia/Kolkata; America/Sao_Paulo from 2019) has no dates and
 * both extra biases 0. A year with one permanent change of the base offset (not DST) is written
 * with the offset in force at the end of the year. Names are CLDR's Windows id ("W. Europe
 * Standard Time" / "W. Europe Daylight Time") when there is one, else the IANA id.
 */
export function tziForZone(zone: string, year: number): TimeZoneInformation {
  const offsets = ianaOffsets(zone);
  const windows = windowsIdForZone(zone);
  const standardName = windows ?? zone;
  const daylightName = windows ? windows.replace(/Standard Time/, 'Daylight Time') : zone;
  const transitions = transitionsInYear(offsets, year);
  const into = transitions.find((t) => t.to > t.from);
  const out = transitions.find((t) => t.to < t.from);
  if (!into || !out) {
    const off = offsets(Date.UTC(year + 1, 0, 1) - 1);
    return { bias: neg(off), standardName, standardDate: ZERO_TIME, standardBias: 0, daylightName, daylightDate: ZERO_TIME, daylightBias: 0 };
  }
  const std = Math.min(into.from, out.to);
  const dst = Math.max(into.to, out.from);
  return {
    bias: neg(std),
    standardName,
    // Local time before each change: daylight time for the end, standard time for the start.
    standardDate: recurringSystemTime(wallAt(out.at, out.from)),
    standardBias: 0,
    daylightName,
    daylightDate: recurringSystemTime(wallAt(into.at, into.from)),
    daylightBias: neg(dst - std),
  };
}

/** Base64 TIME_ZONE_INFORMATION of an IANA zone for a year. */
export function timezoneBlobForZone(zone: string, year: number): string {
  return encodeTimezone(tziForZone(zone, year));
}

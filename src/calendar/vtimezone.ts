/**
 * iCalendar VTIMEZONE blocks and TZIDs (RFC 5545 3.6.5) -> IANA zones and TIME_ZONE_INFORMATION.
 */
import ICAL from 'ical.js';

import { neg, ZERO_TIME, type SystemTime, type TimeZoneInformation } from './time-zone-information.ts';
import { zoneForTzi } from './tzi-to-zone.ts';
import { zoneForWindowsId } from './windows-zone-names.ts';
import { canonicalZone } from './zone-offsets.ts';

/**
 * The IANA zone a TZID names: an IANA id ("Europe/Berlin"), a Windows id as Outlook and Exchange
 * write them ("W. Europe Standard Time"), or an IANA id behind a vendor prefix
 * ("/mozilla.org/20050126_1/Europe/Berlin", "/freeassociation.sourceforge.net/Tzfile/Europe/Berlin").
 */
export function zoneForTzid(tzid: string): string | undefined {
  const v = tzid.trim().replace(/^"(.*)"$/, '$1');
  if (v === '') return undefined;
  const windows = zoneForWindowsId(v);
  if (windows) return windows;
  if (/^[A-Za-z]+(\/[A-Za-z0-9_+-]+)+$/.test(v) && canonicalZone(v)) return v;
  if (/^(UTC|GMT|Z)$/i.test(v)) return 'Etc/UTC';
  // The last three or two path segments ("America/Indiana/Knox", "Europe/Berlin").
  const parts = v.split('/').filter(Boolean);
  for (const n of [3, 2]) {
    const tail = parts.slice(-n).join('/');
    if (parts.length >= n && /^[A-Za-z]+(\/[A-Za-z0-9_+-]+)+$/.test(tail) && canonicalZone(tail)) return tail;
  }
  return undefined;
}

const ICAL_DAYS = ['SU', 'MO', 'TU', 'WE', 'TH', 'FR', 'SA'];

/**
 * TIME_ZONE_INFORMATION from a VTIMEZONE's STANDARD and DAYLIGHT rules that apply in `year`
 * (the sub-component with the latest DTSTART not after the year; RRULE FREQ=YEARLY with BYMONTH
 * and BYDAY such as "-1SU" or "2SU", as Outlook, Google and Apple write them). Undefined when the
 * block has no usable STANDARD rule.
 */
export function tziFromVTimezone(vtimezone: ICAL.Component, year: number): TimeZoneInformation | undefined {
  const pick = (name: string) => {
    const subs = vtimezone.getAllSubcomponents(name).filter((c) => {
      const start = c.getFirstPropertyValue('dtstart') as ICAL.Time | null;
      return !start || start.year <= year;
    });
    subs.sort((a, b) => ((a.getFirstPropertyValue('dtstart') as ICAL.Time | null)?.year ?? 0) - ((b.getFirstPropertyValue('dtstart') as ICAL.Time | null)?.year ?? 0));
    return subs.at(-1);
  };
  const standard = pick('standard');
  if (!standard) return undefined;
  const daylight = pick('daylight');
  const offsetOf = (c: ICAL.Component) => Math.round((c.getFirstPropertyValue('tzoffsetto') as ICAL.UtcOffset).toSeconds() / 60);
  const tzid = String(vtimezone.getFirstPropertyValue('tzid') ?? '');
  const std = offsetOf(standard);
  const none: TimeZoneInformation = { bias: neg(std), standardName: tzid, standardDate: ZERO_TIME, standardBias: 0, daylightName: tzid, daylightDate: ZERO_TIME, daylightBias: 0 };
  const stdRule = ruleTime(standard);
  const dstRule = daylight ? ruleTime(daylight) : undefined;
  if (!daylight || !stdRule || !dstRule) return none;
  // A DAYLIGHT rule that ended before this year (RRULE UNTIL) means no DST any more.
  const until = (daylight.getFirstPropertyValue('rrule') as ICAL.Recur | null)?.until;
  if (until && until.year < year) return none;
  return { ...none, standardDate: stdRule, daylightDate: dstRule, daylightBias: neg(offsetOf(daylight) - std) };
}

/** The recurring SYSTEMTIME of a STANDARD/DAYLIGHT sub-component (DTSTART time, RRULE month/day). */
function ruleTime(c: ICAL.Component): SystemTime | undefined {
  const start = c.getFirstPropertyValue('dtstart') as ICAL.Time | null;
  const rule = c.getFirstPropertyValue('rrule') as ICAL.Recur | null;
  if (!start || !rule) return undefined;
  const month = rule.parts.BYMONTH?.[0] ?? start.month;
  const byday = String(rule.parts.BYDAY?.[0] ?? '');
  const m = /^([+-]?\d)?([A-Z]{2})$/.exec(byday);
  if (!m) return undefined;
  const n = m[1] ? Number(m[1]) : 1;
  return { year: 0, month, dayOfWeek: ICAL_DAYS.indexOf(m[2]!), day: n < 0 ? 5 : Math.min(n, 5), hour: start.hour, minute: start.minute, second: 0, milliseconds: 0 };
}

/** The IANA zone of a VTIMEZONE: by its TZID when that names a zone, else by its rules for `year`. */
export function zoneForVTimezone(vtimezone: ICAL.Component, year: number): string | undefined {
  const byName = zoneForTzid(String(vtimezone.getFirstPropertyValue('tzid') ?? ''));
  if (byName) return byName;
  const tzi = tziFromVTimezone(vtimezone, year);
  return tzi ? zoneForTzi({ ...tzi, standardName: '', daylightName: '' }, year) : undefined;
}

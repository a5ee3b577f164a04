/**
 * iCalendar (RFC 5545) <-> stored calendar items (the Calendar class's JSON): the pure part of
 * iTIP (RFC 5546) processing and of calendar export. Parsing goes through ical.js; writing is
 * done here (content lines with escaping and 75-octet folding, RFC 5545 3.1, 3.3.11), so the
 * output is exactly what this file says.
 *
 * Mapping (iCalendar <-> stored key):
 *   UID uid, SEQUENCE sequence, DTSTAMP dtStamp, SUMMARY subject, LOCATION location,
 *   DESCRIPTION body.text, CATEGORIES categories, CLASS sensitivity (PUBLIC 0, PRIVATE 2,
 *   CONFIDENTIAL 3; X-MICROSOFT-CDO-... not needed), X-MICROSOFT-CDO-BUSYSTATUS / TRANSP
 *   busyStatus, ORGANIZER organizerName/organizerEmail, ATTENDEE attendees (PARTSTAT ->
 *   attendeeStatus, ROLE/CUTYPE -> attendeeType), VALARM TRIGGER reminder, RRULE recurrence
 *   (recurrence.ts, Outlook semantics), EXDATE and RECURRENCE-ID overrides exceptions.
 * - Time zones: a TZID naming a zone (IANA or Windows, timezone.ts) gives `timeZone`; one that
 *   does not is read from its VTIMEZONE rules, and when no zone has them the rules themselves are
 *   kept as a TIME_ZONE_INFORMATION in `timezone`. UTC times need no zone; floating times are read
 *   in the calendar's only VTIMEZONE, else `defaultZone`, else UTC.
 * - All-day (kb-1.4): DTSTART;VALUE=DATE or X-MICROSOFT-CDO-ALLDAYEVENT:TRUE; the dates become
 *   midnights in the event's zone (as above). Export writes VALUE=DATE and the CDO property.
 * - An RRULE EAS cannot express is kept as text (`rrule`) and the item is its first occurrence.
 */
import ICAL from 'ical.js';
import { contentLinesProblem } from './content-lines.ts';

import type { JsonObject, JsonValue } from '../ports/types.ts';
import type { EasRecurrence } from './recurrence-pattern.ts';
import { rruleToRecurrence } from './recurrence-rrule.ts';
import { rruleForExport, untilFromRrule } from './recurrence-until.ts';
import { anyOmitted, keepFirst, noneOmitted, omitEvent, type OmittedEvents } from './omitted-events.ts';
import { decodeTimezone, encodeTimezone, tziOffsets, type SystemTime } from './time-zone-information.ts';
import { zoneForTzi } from './tzi-to-zone.ts';
import { tziFromVTimezone, zoneForTzid } from './vtimezone.ts';
import { canonicalZone, ianaOffsets, UTC_OFFSETS, utcToWall, wallToUtc, type OffsetFn, type WallTime } from './zone-offsets.ts';
import { tziForZone } from './zone-to-tzi.ts';

/** The text is not an iCalendar object this code can read (RFC 5545 syntax error, no VEVENT). */
export class ICalendarError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ICalendarError';
  }
}

export interface ParsedCalendar {
  /** METHOD (RFC 5546 1.4): REQUEST, CANCEL, REPLY, COUNTER, PUBLISH, ... upper case. */
  method?: string;
  /** One entry per UID: the series (or single event) with its overrides as exceptions. */
  events: ParsedEvent[];
  /** What `maxEvents` / `maxOverrides` left unread: set only when something was. */
  omitted?: OmittedEvents;
}

export interface ParsedEvent {
  data: JsonObject;
  /**
   * Set when the VEVENTs of this UID are only overrides (no master), as in an iTIP message about
   * one occurrence: the RECURRENCE-ID of each, ISO; `data` is then the first override's fields.
   */
  recurrenceIds?: string[];
  /** STATUS (TENTATIVE, CONFIRMED, CANCELLED). */
  status?: string;
}

// ---------------------------------------------------------------------------------------------
// Parsing

interface ZoneInfo {
  offsets: OffsetFn;
  /** Stored form: { timeZone } or { timezone } (blob) or nothing (UTC). */
  stored: JsonObject;
}

const UTC_ZONE: ZoneInfo = { offsets: UTC_OFFSETS, stored: {} };

/**
 * Reads an iCalendar object. Throws ICalendarError when it cannot be parsed or has no VEVENT.
 * `defaultZone` (IANA) is the zone for floating times and dates when the object names none
 * (the receiving user's zone). `maxEvents` reads at most that many events (UIDs, in the order
 * they first appear) and `maxOverrides` at most that many RECURRENCE-ID overrides per event; the
 * rest is counted in `omitted` and never converted, so a hostile object costs little past them.
 */
export function parseICalendar(text: string, opts: { defaultZone?: string; maxEvents?: number; maxOverrides?: number } = {}): ParsedCalendar {
  let root: ICAL.Component;
  const problem = contentLinesProblem(text);
  if (problem) throw new ICalendarError(`not readable iCalendar: ${problem}`);
  try {
    const jcal = ICAL.parse(text) as unknown;
    if (!Array.isArray(jcal) || typeof jcal[0] !== 'string') throw new Error('no component');
    root = new ICAL.Component(jcal as unknown[]);
  } catch (err) {
    throw new ICalendarError(`not iCalendar: ${(err as Error).message}`);
  }
  if (root.name !== 'vcalendar') throw new ICalendarError(`not a VCALENDAR but ${root.name.toUpperCase()}`);
  const vevents = root.getAllSubcomponents('vevent');
  if (vevents.length === 0) throw new ICalendarError('no VEVENT');
  const method = root.getFirstPropertyValue('method');
  const vtimezones = root.getAllSubcomponents('vtimezone');
  const zones = new Map<string, ICAL.Component>();
  for (const z of vtimezones) zones.set(String(z.getFirstPropertyValue('tzid') ?? ''), z);
  const fallbackZone =
    vtimezones.length === 1
      ? String(vtimezones[0]!.getFirstPropertyValue('tzid') ?? '')
      : (opts.defaultZone ?? (root.getFirstPropertyValue('x-wr-timezone') as string | null) ?? undefined);

  const zoneCache = new Map<string, ZoneInfo>();
  const zoneOf = (tzid: string | undefined, year: number): ZoneInfo => {
    const key = `${tzid ?? ''}|${year}`;
    let z = zoneCache.get(key);
    if (!z) {
      z = resolveZone(tzid, year, zones);
      zoneCache.set(key, z);
    }
    return z;
  };

  const byUid = new Map<string, ICAL.Component[]>();
  for (const v of vevents) {
    const uid = String(v.getFirstPropertyValue('uid') ?? '');
    const list = byUid.get(uid) ?? [];
    list.push(v);
    byUid.set(uid, list);
  }
  const events: ParsedEvent[] = [];
  const maxEvents = opts.maxEvents ?? Infinity;
  const omitted = noneOmitted();
  for (const [uid, list] of byUid) {
    if (events.length >= maxEvents) {
      omitEvent(omitted, list[0]!.getFirstPropertyValue('summary'));
      continue;
    }
    const master = list.find((v) => !v.hasProperty('recurrence-id'));
    const overrides = keepFirst(list.filter((v) => v.hasProperty('recurrence-id')), opts.maxOverrides, omitted);
    if (master) {
      const { data, zone } = readVEvent(master, zoneOf, fallbackZone);
      if (uid) data['uid'] = uid;
      const exceptions: JsonObject[] = [];
      for (const ex of master.getAllProperties('exdate')) {
        for (const t of ex.getValues() as ICAL.Time[]) {
          const at = instant(t, String(ex.getParameter('tzid') ?? '') || undefined, zoneOf, fallbackZone, zone);
          if (at !== undefined) exceptions.push({ exceptionStartTime: new Date(at).toISOString(), deleted: true });
        }
      }
      for (const o of overrides) exceptions.push(overrideException(o, zoneOf, fallbackZone, zone));
      if (exceptions.length) data['exceptions'] = dedupeExceptions(exceptions);
      events.push({ data, status: statusOf(master) });
    } else {
      const first = readVEvent(overrides[0]!, zoneOf, fallbackZone);
      if (uid) first.data['uid'] = uid;
      const recurrenceIds = overrides.map((o) => overrideException(o, zoneOf, fallbackZone, first.zone)['exceptionStartTime'] as string);
      events.push({ data: first.data, recurrenceIds, status: statusOf(overrides[0]!) });
    }
  }
  return { method: typeof method === 'string' ? method.toUpperCase() : undefined, events, ...(anyOmitted(omitted) ? { omitted } : {}) };
}

function statusOf(v: ICAL.Component): string | undefined {
  const s = v.getFirstPropertyValue('status');
  return typeof s === 'string' ? s.toUpperCase() : undefined;
}

function resolveZone(tzid: string | undefined, year: number, zones: Map<string, ICAL.Component>): ZoneInfo {
  if (!tzid) return UTC_ZONE;
  const vtz = zones.get(tzid);
  const named = zoneForTzid(tzid);
  if (named) return { offsets: ianaOffsets(named), stored: { timeZone: named } };
  if (vtz) {
    const tzi = tziFromVTimezone(vtz, year);
    if (tzi) {
      const zone = zoneForTzi({ ...tzi, standardName: '', daylightName: '' }, year);
      if (zone) return { offsets: ianaOffsets(zone), stored: { timeZone: zone } };
      return { offsets: tziOffsets(tzi), stored: { timezone: encodeTimezone(tzi) } };
    }
  }
  return UTC_ZONE;
}

type ZoneOf = (tzid: string | undefined, year: number) => ZoneInfo;

/** The UTC instant of a DATE-TIME or DATE value (a DATE: midnight in the zone). */
function instant(t: ICAL.Time, tzid: string | undefined, zoneOf: ZoneOf, fallback: string | undefined, eventZone?: ZoneInfo): number | undefined {
  if (!t || typeof t.year !== 'number') return undefined;
  const wall: WallTime = { year: t.year, month: t.month, day: t.day, hour: t.isDate ? 0 : t.hour, minute: t.isDate ? 0 : t.minute, second: t.isDate ? 0 : t.second };
  if (!t.isDate && t.zone?.tzid === 'UTC') return Date.UTC(wall.year, wall.month - 1, wall.day, wall.hour, wall.minute, wall.second);
  const zone = tzid ? zoneOf(tzid, t.year) : (eventZone ?? zoneOf(fallback, t.year));
  return wallToUtc(wall, zone.offsets);
}

function readVEvent(v: ICAL.Component, zoneOf: ZoneOf, fallback: string | undefined): { data: JsonObject; zone: ZoneInfo } {
  const data: JsonObject = {};
  const startProp = v.getFirstProperty('dtstart');
  if (!startProp) throw new ICalendarError('VEVENT without DTSTART');
  const start = startProp.getFirstValue() as ICAL.Time;
  const startTzid = String(startProp.getParameter('tzid') ?? '') || undefined;
  const utcStart = !start.isDate && start.zone?.tzid === 'UTC';
  const zone = utcStart ? UTC_ZONE : zoneOf(startTzid ?? fallback, start.year);
  Object.assign(data, zone.stored);
  const startMs = instant(start, startTzid, zoneOf, fallback, zone)!;
  data['startTime'] = new Date(startMs).toISOString();
  const allDay = start.isDate || String(v.getFirstPropertyValue('x-microsoft-cdo-alldayevent') ?? '').toUpperCase() === 'TRUE';
  const endProp = v.getFirstProperty('dtend');
  let endMs: number;
  if (endProp) {
    endMs = instant(endProp.getFirstValue() as ICAL.Time, String(endProp.getParameter('tzid') ?? '') || undefined, zoneOf, fallback, zone)!;
  } else {
    const duration = v.getFirstPropertyValue('duration') as ICAL.Duration | null;
    // RFC 5545 3.6.1: without DTEND or DURATION a DATE event lasts one day, a DATE-TIME event none.
    endMs = duration ? startMs + duration.toSeconds() * 1000 : start.isDate ? startMs + 86_400_000 : startMs;
    if (start.isDate && !duration) {
      const w = utcToWall(startMs, zone.offsets);
      endMs = wallToUtc({ year: w.year, month: w.month, day: w.day + 1, hour: 0, minute: 0 }, zone.offsets);
    }
  }
  data['endTime'] = new Date(Math.max(endMs, startMs)).toISOString();
  data['allDayEvent'] = allDay;

  const text = (name: string) => {
    const x = v.getFirstPropertyValue(name);
    return typeof x === 'string' && x !== '' ? x : undefined;
  };
  const put = (key: string, value: JsonValue | undefined) => {
    if (value !== undefined) data[key] = value;
  };
  put('subject', text('summary'));
  put('location', text('location'));
  const description = text('description');
  if (description) data['body'] = { text: description };
  const categories = v.getAllProperties('categories').flatMap((p) => p.getValues().map(String)).filter(Boolean);
  if (categories.length) data['categories'] = categories;
  const cls = text('class')?.toUpperCase();
  if (cls) data['sensitivity'] = cls === 'CONFIDENTIAL' ? 3 : cls === 'PRIVATE' ? 2 : 0;
  const busy = text('x-microsoft-cdo-busystatus')?.toUpperCase();
  const busyMap: Record<string, number> = { FREE: 0, TENTATIVE: 1, BUSY: 2, OOF: 3, WORKINGELSEWHERE: 4 };
  if (busy && busy in busyMap) data['busyStatus'] = busyMap[busy]!;
  else if (text('transp')?.toUpperCase() === 'TRANSPARENT') data['busyStatus'] = 0;
  else data['busyStatus'] = 2;
  const stamp = v.getFirstPropertyValue('dtstamp') as ICAL.Time | null;
  if (stamp) data['dtStamp'] = stamp.toJSDate().toISOString();
  const sequence = v.getFirstPropertyValue('sequence');
  if (typeof sequence === 'number') data['sequence'] = sequence;

  const organizer = v.getFirstProperty('organizer');
  if (organizer) {
    put('organizerEmail', mailto(String(organizer.getFirstValue() ?? '')));
    put('organizerName', paramText(organizer, 'cn'));
  }
  const attendees = v.getAllProperties('attendee').map((p) => {
    const a: JsonObject = { email: mailto(String(p.getFirstValue() ?? '')) ?? '', name: paramText(p, 'cn') ?? mailto(String(p.getFirstValue() ?? '')) ?? '' };
    const partstat = paramText(p, 'partstat')?.toUpperCase();
    const status: Record<string, number> = { ACCEPTED: 3, TENTATIVE: 2, DECLINED: 4, 'NEEDS-ACTION': 5 };
    if (partstat && partstat in status) a['attendeeStatus'] = status[partstat]!;
    const cutype = paramText(p, 'cutype')?.toUpperCase();
    const role = paramText(p, 'role')?.toUpperCase();
    a['attendeeType'] = cutype === 'RESOURCE' || cutype === 'ROOM' ? 3 : role === 'OPT-PARTICIPANT' || role === 'NON-PARTICIPANT' ? 2 : 1;
    // RSVP=FALSE: the organizer expects no answer from this attendee (RFC 5545 3.2.17). Only the
    // explicit FALSE counts: senders that leave RSVP out still read the replies they get.
    if (paramText(p, 'rsvp')?.toUpperCase() === 'FALSE') a['rsvp'] = false;
    return a;
  });
  if (attendees.length) data['attendees'] = attendees;

  const alarm = v.getFirstSubcomponent('valarm');
  const trigger = alarm?.getFirstPropertyValue('trigger');
  if (trigger && typeof (trigger as ICAL.Duration).toSeconds === 'function') {
    const seconds = (trigger as ICAL.Duration).toSeconds();
    if (seconds <= 0) data['reminder'] = Math.round(-seconds / 60);
  }

  const rrule = v.getFirstProperty('rrule');
  if (rrule) {
    // ical.js writes WKST back only when it is not Monday; keep it exactly as the source had it.
    const recur = rrule.getFirstValue() as ICAL.Recur;
    const hadWkst = ((rrule.toJSON() as unknown[])[3] as { wkst?: unknown } | undefined)?.wkst !== undefined;
    let ruleText = recur.toString().replace(/;?WKST=[A-Z]{2}/, '');
    if (hadWkst && recur.wkst) ruleText += `;WKST=${ICAL_DAYS[recur.wkst - 1]}`;
    const wall = utcToWall(startMs, zone.offsets);
    const rec = rruleToRecurrence(ruleText, wall);
    const u = recur.until;
    const series = { start: new Date(startMs), end: new Date(Math.max(endMs, startMs)), offsets: zone.offsets, allDay };
    const stored = rec && u ? untilFromRrule(rec, { isDate: u.isDate, utc: u.zone?.tzid === 'UTC', year: u.year, month: u.month, day: u.day, hour: u.hour, minute: u.minute, second: u.second }, series) : rec;
    if (stored) data['recurrence'] = stored as unknown as JsonObject;
    else data['rrule'] = ruleText;
  }
  return { data, zone };
}

function overrideException(o: ICAL.Component, zoneOf: ZoneOf, fallback: string | undefined, zone: ZoneInfo): JsonObject {
  const rid = o.getFirstProperty('recurrence-id')!;
  const at = instant(rid.getFirstValue() as ICAL.Time, String(rid.getParameter('tzid') ?? '') || undefined, zoneOf, fallback, zone);
  if (at === undefined) throw new ICalendarError('RECURRENCE-ID is not a date');
  const exceptionStartTime = new Date(at).toISOString();
  if (statusOf(o) === 'CANCELLED') return { exceptionStartTime, deleted: true };
  const { data } = readVEvent(o, zoneOf, fallback);
  const out: JsonObject = { exceptionStartTime };
  for (const key of ['subject', 'startTime', 'endTime', 'location', 'body', 'categories', 'sensitivity', 'busyStatus', 'allDayEvent', 'reminder', 'dtStamp', 'attendees']) {
    if (data[key] !== undefined) out[key] = data[key]!;
  }
  return out;
}

function dedupeExceptions(list: JsonObject[]): JsonObject[] {
  const byStart = new Map<string, JsonObject>();
  // An override wins over an EXDATE for the same occurrence only when it is not a deletion.
  for (const e of list) {
    const k = e['exceptionStartTime'] as string;
    const prior = byStart.get(k);
    if (!prior || prior['deleted'] === true) byStart.set(k, e);
  }
  return [...byStart.values()].sort((a, b) => String(a['exceptionStartTime']).localeCompare(String(b['exceptionStartTime'])));
}

function mailto(v: string): string | undefined {
  const s = v.replace(/^mailto:/i, '').trim();
  return s === '' ? undefined : s;
}

function paramText(p: ICAL.Property, name: string): string | undefined {
  const v = p.getParameter(name);
  const s = Array.isArray(v) ? v[0] : v;
  return typeof s === 'string' && s !== '' ? s : undefined;
}

// ---------------------------------------------------------------------------------------------
// Writing

/** RFC 5545 3.3.11 TEXT escaping. */
function esc(s: string): string {
  return s.replace(/\\/g, '\\\\').replace(/;/g, '\\;').replace(/,/g, '\\,').replace(/\r?\n/g, '\\n');
}

/** A parameter value, quoted when it has characters that need it (RFC 5545 3.2). */
function param(s: string): string {
  const clean = s.replace(/"/g, "'");
  return /[;:,]/.test(clean) ? `"${clean}"` : clean;
}

/** Folds a content line at 75 octets (RFC 5545 3.1), never inside a UTF-8 sequence. */
function fold(line: string): string {
  const bytes = Buffer.from(line, 'utf8');
  if (bytes.length <= 75) return line;
  const parts: string[] = [];
  let start = 0;
  let limit = 75;
  while (start < bytes.length) {
    let end = Math.min(start + limit, bytes.length);
    while (end < bytes.length && (bytes[end]! & 0xc0) === 0x80) end--;
    parts.push(bytes.subarray(start, end).toString('utf8'));
    start = end;
    limit = 74; // the continuation's leading space counts
  }
  return parts.join('\r\n ');
}

const pad = (n: number, w = 2) => String(n).padStart(w, '0');
const utcStamp = (ms: number) => new Date(ms).toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');
const localStamp = (w: WallTime) => `${pad(w.year, 4)}${pad(w.month)}${pad(w.day)}T${pad(w.hour)}${pad(w.minute)}${pad(w.second ?? 0)}`;
const dateStamp = (w: WallTime) => `${pad(w.year, 4)}${pad(w.month)}${pad(w.day)}`;

interface ExportZone {
  tzid?: string;
  offsets: OffsetFn;
  vtimezone: string[];
}

/** The zone an item is written in: its IANA zone, else its blob's (as a VTIMEZONE), else UTC. */
function exportZone(data: JsonObject, year: number): ExportZone {
  const iana = typeof data['timeZone'] === 'string' && canonicalZone(data['timeZone']) ? data['timeZone'] : undefined;
  const blob = typeof data['timezone'] === 'string' ? decodeTimezone(data['timezone']) : undefined;
  const zone = iana || (blob ? zoneForTzi(blob, year) : undefined);
  if (zone === 'Etc/UTC' || zone === 'UTC') return { offsets: UTC_OFFSETS, vtimezone: [] };
  if (zone) return { tzid: zone, offsets: ianaOffsets(zone), vtimezone: vtimezoneLines(zone, tziForZone(zone, year)) };
  if (blob && (blob.bias !== 0 || blob.standardDate.month !== 0)) {
    const tzid = blob.standardName || 'Custom';
    return { tzid, offsets: tziOffsets(blob), vtimezone: vtimezoneLines(tzid, blob) };
  }
  return { offsets: UTC_OFFSETS, vtimezone: [] };
}

const ICAL_DAYS = ['SU', 'MO', 'TU', 'WE', 'TH', 'FR', 'SA'];

/** A VTIMEZONE with yearly rules from a TIME_ZONE_INFORMATION (the Outlook form, DTSTART 1601). */
function vtimezoneLines(tzid: string, tzi: { bias: number; standardBias: number; daylightBias: number; standardDate: SystemTime; daylightDate: SystemTime }): string[] {
  const offset = (minutes: number) => `${minutes < 0 ? '-' : '+'}${pad(Math.floor(Math.abs(minutes) / 60))}${pad(Math.abs(minutes) % 60)}`;
  const std = -(tzi.bias + tzi.standardBias);
  const dst = -(tzi.bias + tzi.daylightBias);
  const rule = (t: SystemTime) => `RRULE:FREQ=YEARLY;BYDAY=${t.day >= 5 ? -1 : t.day}${ICAL_DAYS[t.dayOfWeek]};BYMONTH=${t.month}`;
  const start = (t: SystemTime) => `DTSTART:1601${pad(t.month || 1)}01T${pad(t.hour)}${pad(t.minute)}00`;
  const lines = ['BEGIN:VTIMEZONE', `TZID:${tzid}`];
  if (tzi.standardDate.month === 0 || tzi.daylightDate.month === 0) {
    lines.push('BEGIN:STANDARD', 'DTSTART:16010101T000000', `TZOFFSETFROM:${offset(std)}`, `TZOFFSETTO:${offset(std)}`, 'END:STANDARD');
  } else {
    lines.push('BEGIN:STANDARD', start(tzi.standardDate), `TZOFFSETFROM:${offset(dst)}`, `TZOFFSETTO:${offset(std)}`, rule(tzi.standardDate), 'END:STANDARD');
    lines.push('BEGIN:DAYLIGHT', start(tzi.daylightDate), `TZOFFSETFROM:${offset(std)}`, `TZOFFSETTO:${offset(dst)}`, rule(tzi.daylightDate), 'END:DAYLIGHT');
  }
  lines.push('END:VTIMEZONE');
  return lines;
}

const SENSITIVITY_CLASS = ['PUBLIC', 'PRIVATE', 'PRIVATE', 'CONFIDENTIAL'];
const BUSY_CDO = ['FREE', 'TENTATIVE', 'BUSY', 'OOF', 'WORKINGELSEWHERE'];
const PARTSTAT: Record<number, string> = { 2: 'TENTATIVE', 3: 'ACCEPTED', 4: 'DECLINED', 5: 'NEEDS-ACTION', 0: 'NEEDS-ACTION' };

function str(data: JsonObject, key: string): string | undefined {
  const v = data[key];
  return typeof v === 'string' && v !== '' ? v : undefined;
}

/**
 * An item as a VCALENDAR with one VEVENT for the series (and one per changed occurrence, with
 * RECURRENCE-ID), deleted occurrences as EXDATE. `method` adds METHOD (iTIP). The zone is the
 * item's IANA zone (or its blob's), written with a VTIMEZONE whose TZID is the IANA id.
 */
/** An attachment written inline as ATTACH (RFC 5545 3.8.1.1 VALUE=BINARY, ENCODING=BASE64). */
export interface ICalendarAttachment {
  name: string;
  contentType: string;
  data: Buffer;
}

export function eventToICalendar(data: JsonObject, opts: { method?: string; prodId?: string; attachments?: readonly ICalendarAttachment[] } = {}): string {
  const startMs = Date.parse(String(data['startTime'] ?? ''));
  const endMs = Date.parse(String(data['endTime'] ?? data['startTime'] ?? ''));
  if (Number.isNaN(startMs) || Number.isNaN(endMs)) throw new ICalendarError('an event needs StartTime and EndTime');
  const zone = exportZone(data, new Date(startMs).getUTCFullYear());
  const allDay = data['allDayEvent'] === true;
  const dt = (name: string, ms: number, asDate = allDay) => {
    const w = utcToWall(ms, zone.offsets);
    if (asDate) return `${name};VALUE=DATE:${dateStamp(w)}`;
    if (!zone.tzid) return `${name}:${utcStamp(ms)}`;
    return `${name};TZID=${param(zone.tzid)}:${localStamp(w)}`;
  };
  const lines = ['BEGIN:VCALENDAR', `PRODID:${opts.prodId ?? '-//easd//calendar//EN'}`, 'VERSION:2.0'];
  if (opts.method) lines.push(`METHOD:${opts.method.toUpperCase()}`);
  lines.push(...zone.vtimezone);

  const eventLines = (e: JsonObject, master: boolean): string[] => {
    const out = ['BEGIN:VEVENT'];
    const uid = str(data, 'uid');
    if (uid) out.push(`UID:${esc(uid)}`);
    if (!master) {
      const original = Date.parse(String(e['exceptionStartTime']));
      out.push(dt('RECURRENCE-ID', original));
    }
    const s = Date.parse(String(e['startTime'] ?? '')) || (master ? startMs : Date.parse(String(e['exceptionStartTime'])));
    const en = Date.parse(String(e['endTime'] ?? '')) || s + (endMs - startMs);
    const eAllDay = typeof e['allDayEvent'] === 'boolean' ? (e['allDayEvent'] as boolean) : allDay;
    out.push(`DTSTAMP:${utcStamp(Date.parse(String(e['dtStamp'] ?? data['dtStamp'] ?? '')) || startMs)}`);
    out.push(dt('DTSTART', s, eAllDay), dt('DTEND', en, eAllDay));
    if (typeof data['sequence'] === 'number') out.push(`SEQUENCE:${data['sequence']}`);
    const subject = str(e, 'subject') ?? str(data, 'subject');
    if (subject) out.push(`SUMMARY:${esc(subject)}`);
    const location = str(e, 'location') ?? str(data, 'location');
    if (location) out.push(`LOCATION:${esc(location)}`);
    const body = (e['body'] ?? (master ? data['body'] : undefined)) as JsonObject | undefined;
    if (body && typeof body['text'] === 'string' && body['text'] !== '') out.push(`DESCRIPTION:${esc(body['text'])}`);
    const categories = (e['categories'] ?? data['categories']) as string[] | undefined;
    if (Array.isArray(categories) && categories.length) out.push(`CATEGORIES:${categories.map(esc).join(',')}`);
    const sensitivity = (e['sensitivity'] ?? data['sensitivity']) as number | undefined;
    if (typeof sensitivity === 'number' && SENSITIVITY_CLASS[sensitivity]) out.push(`CLASS:${SENSITIVITY_CLASS[sensitivity]}`);
    const busy = (e['busyStatus'] ?? data['busyStatus']) as number | undefined;
    out.push(`TRANSP:${busy === 0 ? 'TRANSPARENT' : 'OPAQUE'}`);
    if (typeof busy === 'number' && BUSY_CDO[busy]) out.push(`X-MICROSOFT-CDO-BUSYSTATUS:${BUSY_CDO[busy]}`);
    out.push(`X-MICROSOFT-CDO-ALLDAYEVENT:${eAllDay ? 'TRUE' : 'FALSE'}`);
    const organizer = str(data, 'organizerEmail');
    if (organizer) out.push(`ORGANIZER${str(data, 'organizerName') ? `;CN=${param(str(data, 'organizerName')!)}` : ''}:mailto:${organizer}`);
    const attendees = (e['attendees'] ?? data['attendees']) as JsonObject[] | undefined;
    for (const a of Array.isArray(attendees) ? attendees : []) {
      const email = str(a, 'email');
      if (!email) continue;
      const type = a['attendeeType'];
      const params = [
        str(a, 'name') ? `CN=${param(str(a, 'name')!)}` : undefined,
        type === 3 ? 'CUTYPE=RESOURCE' : 'CUTYPE=INDIVIDUAL',
        `ROLE=${type === 2 ? 'OPT-PARTICIPANT' : type === 3 ? 'NON-PARTICIPANT' : 'REQ-PARTICIPANT'}`,
        `PARTSTAT=${PARTSTAT[a['attendeeStatus'] as number] ?? 'NEEDS-ACTION'}`,
      ].filter(Boolean);
      out.push(`ATTENDEE;${params.join(';')}:mailto:${email}`);
    }
    // The item's attachments travel with the series (RFC 5545 3.8.1.1; X-FILENAME as Exchange writes it).
    for (const a of master ? (opts.attachments ?? []) : []) {
      out.push(`ATTACH;FMTTYPE=${param(a.contentType)};ENCODING=BASE64;VALUE=BINARY;X-FILENAME=${param(a.name)}:${a.data.toString('base64')}`);
    }
    if (master) {
      const rec = data['recurrence'] as unknown as EasRecurrence | undefined;
      if (rec && typeof rec.type === 'number') out.push(`RRULE:${rruleForExport(rec, { start: new Date(startMs), end: new Date(Math.max(startMs, endMs)), offsets: zone.offsets, allDay })}`);
      else if (str(data, 'rrule')) out.push(`RRULE:${str(data, 'rrule')}`);
      const exceptions = Array.isArray(data['exceptions']) ? (data['exceptions'] as JsonObject[]) : [];
      for (const x of exceptions) if (x['deleted'] === true) out.push(dt('EXDATE', Date.parse(String(x['exceptionStartTime']))));
    }
    const reminder = (e['reminder'] ?? data['reminder']) as number | undefined;
    if (typeof reminder === 'number') out.push('BEGIN:VALARM', 'ACTION:DISPLAY', 'DESCRIPTION:Reminder', `TRIGGER:-PT${reminder}M`, 'END:VALARM');
    out.push('END:VEVENT');
    return out;
  };

  lines.push(...eventLines(data, true));
  const exceptions = Array.isArray(data['exceptions']) ? (data['exceptions'] as JsonObject[]) : [];
  for (const x of exceptions) if (x['deleted'] !== true) lines.push(...eventLines(x, false));
  lines.push('END:VCALENDAR');
  return lines.map(fold).join('\r\n') + '\r\n';
}

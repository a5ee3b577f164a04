/**
 * The Calendar class's ApplicationData (MS-ASCAL) -> stored calendar data: an Add, or a Change
 * of the whole item (a Change of one occurrence is calendar-occurrences.ts's).
 *
 * A user's event is never refused for an informational element. A Timezone that is not a
 * TIME_ZONE_INFORMATION (MS-ASCAL 2.2.2.44, MS-ASDTYPE 2.7.6: base64 of exactly 172 bytes) is
 * left out: iOS has been seen sending empty and truncated blobs (horde/kronolith pull request 68,
 * "invalid timezone data from iOS clients"), and the event's UTC StartTime and EndTime say when
 * it is on their own. An Add then has the user's default zone (easd has no per-user zone: UTC,
 * the zone an item without one is laid out and sent in); a Change keeps the zone the event had.
 * The same for AllDayEvent, BusyStatus, Reminder, Sensitivity, MeetingStatus, DtStamp, the 14.x
 * response fields, an attendee's status, type or proposed times, and a UID longer than 300
 * characters: left out, the event kept, `ctx.dropped` told (the caller logs it). StartTime and
 * EndTime, the recurrence pattern and an exception's start decide where the event is: a malformed
 * one is still Status 6, as is an EndTime before the StartTime.
 */
import { randomBytes } from 'node:crypto';

import { allDayBounds, eventOffsets } from '../calendar/event.ts';
import { decodeTimezone } from '../calendar/time-zone-information.ts';
import type { JsonObject, JsonValue } from '../ports/types.ts';
import { child, children, text, type WbxmlElement } from '../wbxml/tree.ts';
import { applyBodyFromEas, NS as ASB } from './body.ts';
import { isAttendeeCopy, keepOrganizerFields } from './calendar-attendee-copy.ts';
import {
  ALL_DAY,
  BUSY,
  C,
  CAL_CATEGORIES,
  CLIENT_UID,
  DTSTAMP,
  END,
  EXCEPTION_FIELDS_AFTER_LOCATION,
  EXCEPTION_FIELDS_BEFORE_BODY,
  EXCEPTION_TAIL,
  LOCATION,
  LOCATION_DETAILS,
  MEETING_STATUS,
  MR,
  ORGANIZER_EMAIL,
  ORGANIZER_NAME,
  RECURRENCE_FIELDS,
  REMINDER,
  SENSITIVITY,
  setOrDelete,
  START,
  SUBJECT,
  TAIL,
} from './calendar-fields.ts';
import { atLeast, fieldFromEas, parseEasDate, storedDate, str } from './fields.ts';
import { ConversionError, type ConvertContext } from './types.ts';

/** An Add (no `existing`) or a Change of the whole item: the stored data it makes. */
export function calendarFromEas(appData: WbxmlElement, ctx: ConvertContext, existing?: JsonObject): JsonObject {
  const isNew = existing === undefined;
  let out: JsonObject = { ...(existing ?? {}) };

  const tz = child(appData, 'Timezone', C);
  if (tz) {
    const v = (text(tz) ?? '').trim();
    if (v === '') delete out['timezone'];
    else if (!decodeTimezone(v)) {
      // Left out (see the header): the event keeps the zone it had, or has the default one.
      ctx.dropped?.('Calendar:Timezone', timezoneProblem(v));
    } else {
      out['timezone'] = v;
      // The device's zone replaces one the server derived.
      delete out['timeZone'];
    }
  }
  for (const fd of [ALL_DAY, BUSY, ORGANIZER_NAME, ORGANIZER_EMAIL, DTSTAMP, END, REMINDER, SENSITIVITY, SUBJECT, START]) {
    fieldFromEas(fd, appData, out, ctx);
  }
  locationFromEas(appData, out);
  for (const fd of [MEETING_STATUS, CAL_CATEGORIES, CLIENT_UID, ...TAIL]) fieldFromEas(fd, appData, out, ctx);
  applyBodyFromEas(appData, out);
  const attendees = child(appData, 'Attendees', C);
  if (attendees) setOrDelete(out, 'attendees', attendeesFromEas(attendees, ctx));
  const recurrence = child(appData, 'Recurrence', C);
  if (recurrence) setOrDelete(out, 'recurrence', recurrenceFromEas(recurrence));
  const exceptions = child(appData, 'Exceptions', C);
  if (exceptions) setOrDelete(out, 'exceptions', exceptionsFromEas(exceptions, ctx));

  // UID (MS-ASCAL 2.2.2.46).
  if (!atLeast(ctx, '16.0')) {
    const uid = child(appData, 'UID', C);
    if (uid && (text(uid) ?? '').trim() !== '') {
      const v = text(uid)!.trim();
      // MS-ASCAL 2.2.2.46: at most 300 characters. A longer one is left out; the server makes one.
      if (v.length > 300) ctx.dropped?.('Calendar:UID', `${v.length} characters, more than 300`);
      else {
        out['uid'] = v;
        delete out['uidGenerated'];
      }
    }
  }
  if (isNew && str(out, 'uid') === undefined) {
    out['uid'] = (ctx.newUid ?? randomUid)();
    out['uidGenerated'] = true;
  }

  if (existing && !ctx.asSent && isAttendeeCopy(existing, ctx.userEmail)) out = keepOrganizerFields(existing, out, ctx.userEmail);
  else if (existing && atLeast(ctx, '16.0') && existing['recurrence'] !== undefined && !exceptions && seriesMoved(existing, out)) {
    // MS-ASCAL 2.2.2.22: in 16.0 and 16.1 a change of the pattern or of the series' times
    // deletes its exceptions.
    delete out['exceptions'];
  }

  const now = (ctx.now ?? (() => new Date()))();
  if (isNew) {
    fillMissingTimes(out, now);
    if (out['dtStamp'] === undefined) out['dtStamp'] = new Date(Math.floor(now.getTime() / 1000) * 1000).toISOString();
  }
  const start = storedDate(out, 'startTime');
  const end = storedDate(out, 'endTime');
  if (start && end && end < start) throw new ConversionError('Calendar: EndTime is before StartTime');
  if (out['allDayEvent'] === true && start && end) {
    const b = allDayBounds(start, end, eventOffsets(out));
    out['startTime'] = b.start.toISOString();
    out['endTime'] = b.end.toISOString();
  }
  return out;
}

/** 16.0 sends AirSyncBase:Location (DisplayName and details); older versions Calendar:Location. Both are read. */
function locationFromEas(appData: WbxmlElement, out: JsonObject): void {
  const asb = child(appData, 'Location', ASB);
  if (asb) {
    const name = text(child(asb, 'DisplayName', ASB)) ?? '';
    if (name.trim() === '') delete out['location'];
    else out['location'] = name;
    const details: JsonObject = {};
    for (const [key, name] of LOCATION_DETAILS) {
      const v = text(child(asb, name, ASB));
      if (v !== undefined && v !== '') details[key] = v;
    }
    setOrDelete(out, 'locationDetails', Object.keys(details).length ? details : undefined);
    return;
  }
  fieldFromEas(LOCATION, appData, out);
}

function attendeesFromEas(e: WbxmlElement, ctx?: ConvertContext): JsonValue | undefined {
  const list: JsonObject[] = [];
  for (const a of children(e, 'Attendee', C)) {
    const email = (text(child(a, 'Email', C)) ?? '').trim();
    const name = (text(child(a, 'Name', C)) ?? '').trim();
    if (email === '' && name === '') continue;
    const att: JsonObject = { email, name };
    // An attendee is kept whatever its optional parts hold (MS-ASCAL 2.2.2.4, 2.2.2.5).
    const status = smallInt(a, 'AttendeeStatus', C, [0, 2, 3, 4, 5], ctx);
    if (status !== undefined) att['attendeeStatus'] = status;
    const type = smallInt(a, 'AttendeeType', C, [1, 2, 3], ctx);
    if (type !== undefined) att['attendeeType'] = type;
    for (const [key, name] of [['proposedStartTime', 'ProposedStartTime'], ['proposedEndTime', 'ProposedEndTime']] as const) {
      const v = text(child(a, name, MR));
      if (!v) continue;
      const d = parseEasDate(v);
      if (d) att[key] = d.toISOString();
      else ctx?.dropped?.(`MeetingResponse:${name}`, `"${v.slice(0, 40)}" is not a date`);
    }
    list.push(att);
  }
  return list.length ? list : undefined;
}

function recurrenceFromEas(e: WbxmlElement): JsonValue | undefined {
  if (e.children.length === 0) return undefined;
  const rec: JsonObject = {};
  for (const fd of RECURRENCE_FIELDS) {
    const v = text(child(e, fd.name, C));
    if (v === undefined || v.trim() === '') continue;
    if (fd.date) {
      rec[fd.key] = dateValue(v, `Calendar:${fd.name}`);
      continue;
    }
    const t = v.trim();
    if (!/^\d{1,4}$/.test(t)) throw new ConversionError(`Calendar:${fd.name}: "${t.slice(0, 20)}" is not a number`);
    const n = Number(t);
    if (n < fd.min || n > fd.max) throw new ConversionError(`Calendar:${fd.name}: ${n} is out of range`);
    rec[fd.key] = fd.bool ? n === 1 : n;
  }
  if (rec['type'] === undefined) throw new ConversionError('Calendar:Recurrence without Type');
  if (![0, 1, 2, 3, 5, 6].includes(rec['type'] as number)) throw new ConversionError(`Calendar:Recurrence Type ${String(rec['type'])} is not defined`);
  return rec;
}

function exceptionsFromEas(e: WbxmlElement, ctx: ConvertContext): JsonValue | undefined {
  const list: JsonObject[] = [];
  const seen = new Set<string>();
  for (const x of children(e, 'Exception', C)) {
    const started = text(child(x, 'ExceptionStartTime', C)) ?? text(child(x, 'InstanceId', ASB));
    if (!started) throw new ConversionError('Calendar:Exception without ExceptionStartTime');
    const exceptionStartTime = dateValue(started, 'Calendar:ExceptionStartTime');
    if (seen.has(exceptionStartTime)) continue;
    seen.add(exceptionStartTime);
    const out: JsonObject = { exceptionStartTime };
    const deleted = text(child(x, 'Deleted', C));
    if (deleted !== undefined && deleted.trim() === '1') out['deleted'] = true;
    else if (deleted !== undefined && deleted.trim() !== '0' && deleted.trim() !== '') throw new ConversionError('Calendar:Deleted is not 0 or 1');
    if (out['deleted'] !== true) exceptionFieldsFromEas(x, out, ctx);
    const s = storedDate(out, 'startTime');
    const en = storedDate(out, 'endTime');
    if (s && en && en < s) throw new ConversionError('Calendar:Exception EndTime is before StartTime');
    list.push(out);
  }
  return list.length ? list : undefined;
}

/** The fields an Exception (or a 16.0 occurrence Change) carries, into `out`. */
export function exceptionFieldsFromEas(x: WbxmlElement, out: JsonObject, ctx?: ConvertContext): void {
  for (const fd of [...EXCEPTION_FIELDS_BEFORE_BODY, ...EXCEPTION_FIELDS_AFTER_LOCATION, ...EXCEPTION_TAIL]) fieldFromEas(fd, x, out, ctx);
  locationFromEas(x, out);
  applyBodyFromEas(x, out);
  const attendees = child(x, 'Attendees', C);
  if (attendees) setOrDelete(out, 'attendees', attendeesFromEas(attendees, ctx));
}

/** An optional enumeration: undefined when absent, or out of `values` (then `ctx.dropped` is told). */
function smallInt(e: WbxmlElement, name: string, ns: string, values: number[], ctx?: ConvertContext): number | undefined {
  const v = text(child(e, name, ns));
  if (v === undefined || v.trim() === '') return undefined;
  const t = v.trim();
  const n = /^\d{1,3}$/.test(t) ? Number(t) : NaN;
  if (values.includes(n)) return n;
  ctx?.dropped?.(`${ns}:${name}`, `"${t.slice(0, 20)}" is not one of ${values.join(', ')}`);
  return undefined;
}

/** Why a Timezone value is not a TIME_ZONE_INFORMATION, for the log. */
function timezoneProblem(v: string): string {
  if (v.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(v)) return `not base64 (${v.length} characters)`;
  return `${Buffer.from(v, 'base64').length} bytes, not the 172 of a TIME_ZONE_INFORMATION (MS-ASDTYPE 2.7.6)`;
}

/** An EAS date value as ISO; ConversionError naming `what` when it is not a date. */
export function dateValue(v: string, what: string): string {
  const d = parseEasDate(v);
  if (!d) throw new ConversionError(`${what}: "${v.slice(0, 40)}" is not a date`);
  return d.toISOString();
}

function seriesMoved(before: JsonObject, after: JsonObject): boolean {
  return (
    JSON.stringify(before['recurrence']) !== JSON.stringify(after['recurrence']) ||
    before['startTime'] !== after['startTime'] ||
    before['endTime'] !== after['endTime']
  );
}

/** MS-ASCAL 3.2.4.4: a new event without StartTime and/or EndTime. */
function fillMissingTimes(out: JsonObject, now: Date): void {
  const halfHour = 30 * 60_000;
  const rounded = new Date(Math.ceil(now.getTime() / halfHour) * halfHour);
  const start = storedDate(out, 'startTime');
  const end = storedDate(out, 'endTime');
  if (start && end) return;
  if (!start && !end) {
    out['startTime'] = rounded.toISOString();
    out['endTime'] = new Date(rounded.getTime() + halfHour).toISOString();
    return;
  }
  if (!start) {
    // "Absent / In the past": Status 6. "Absent / In the future": start at the rounded current
    // time, unless that is after the end time (Status 6).
    if (end! <= now) throw new ConversionError('Calendar: EndTime in the past without a StartTime');
    if (rounded > end!) throw new ConversionError('Calendar: EndTime before the rounded current time without a StartTime');
    out['startTime'] = rounded.toISOString();
    return;
  }
  // "In the past / Absent": EndTime is the rounded current time plus 30 minutes. "In the future /
  // Absent": Status 6; i.e. whenever that end time would fall before the start.
  const newEnd = new Date(rounded.getTime() + halfHour);
  if (newEnd < start) throw new ConversionError('Calendar: StartTime in the future without an EndTime');
  out['endTime'] = newEnd.toISOString();
}

/** A random UID: 32 uppercase hex digits (MS-ASCAL 2.2.2.46 allows any string up to 300). */
export function randomUid(): string {
  return randomBytes(16).toString('hex').toUpperCase();
}

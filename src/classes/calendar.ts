/**
 * Calendar class (MS-ASCAL), protocol versions 12.0 to 16.1.
 *
 * Stored data:
 *   {
 *     timezone?: string          // base64 TIME_ZONE_INFORMATION (MS-ASDTYPE 2.7.6), kept as sent
 *     timeZone?: string          // IANA zone, for items made on the server (iCalendar); the blob
 *                                // is worked out from it for the start's year when none is kept
 *     allDayEvent?: boolean
 *     busyStatus?: number        // 0 free, 1 tentative, 2 busy, 3 out of office, 4 working elsewhere
 *     organizerName?, organizerEmail?: string
 *     dtStamp?, startTime?, endTime?: string   // ISO 8601 UTC
 *     location?: string          // Calendar:Location before 16.0, AirSyncBase:Location/DisplayName from 16.0
 *     locationDetails?: { annotation?, street?, city?, state?, country?, postalCode?, latitude?,
 *                         longitude?, accuracy?, altitude?, altitudeAccuracy?, locationUri? }
 *                                // the other AirSyncBase:Location children (MS-ASAIRS 2.2.2.27), 16.0+
 *     reminder?: number          // minutes before the start
 *     sensitivity?: number       // 0 normal, 1 personal, 2 private, 3 confidential
 *     subject?: string
 *     uid?: string               // the item's UID (GOID); the store's Item.uid is set from it
 *     uidGenerated?: true        // the server made the UID up (the client sent none)
 *     clientUid?: string         // 16.0+ ClientUid (MS-ASCAL 2.2.2.13), kept for duplicate detection
 *     meetingStatus?: number     // 0, 1, 3, 5, 7, 9, 11, 13, 15 (MS-ASCAL 2.2.2.29)
 *     attendees?: [{ email, name, attendeeStatus?, attendeeType?, proposedStartTime?, proposedEndTime? }]
 *     categories?: string[]
 *     body?: { text?, html?, mime? }         // see body.ts
 *     recurrence?: EasRecurrence             // src/calendar/recurrence.ts
 *     exceptions?: [{ exceptionStartTime, deleted?, subject?, startTime?, endTime?, body?, location?,
 *                     categories?, sensitivity?, busyStatus?, allDayEvent?, reminder?, dtStamp?,
 *                     meetingStatus?, attendees?, appointmentReplyTime?, responseType?,
 *                     onlineMeetingConfLink?, onlineMeetingExternalLink? }]
 *     responseRequested?, disallowNewTimeProposal?: boolean   // 14.0+
 *     responseType?: number      // 0 none, 1 organizer, 2 tentative, 3 accepted, 4 declined, 5 not responded
 *     appointmentReplyTime?: string
 *     onlineMeetingConfLink?, onlineMeetingExternalLink?: string   // 14.1+
 *   }
 *
 * Element order: the top-level Calendar elements in the order of MS-ASCAL 2.2.2's list (Timezone,
 * AllDayEvent, airsyncbase:Body, BusyStatus, OrganizerName, OrganizerEmail, DtStamp, EndTime,
 * Location, Reminder, Sensitivity, Subject, StartTime, UID, MeetingStatus, Attendees, Categories,
 * Recurrence, Exceptions), then the 14.0+ elements in code page order (ResponseRequested,
 * AppointmentReplyTime, ResponseType, DisallowNewTimeProposal, OnlineMeetingConfLink,
 * OnlineMeetingExternalLink). Recurrence children: Type, Occurrences, Interval, WeekOfMonth,
 * DayOfWeek, MonthOfYear, Until, DayOfMonth, CalendarType, IsLeapMonth, FirstDayOfWeek
 * (MS-ASCAL section 6). Dates are Compact DateTime (MS-ASDTYPE 2.7.2).
 *
 * What the server does beyond storing (scenario ids of ../shared/SCENARIOS.md):
 * - kb-1.4: AllDayEvent is kept, and an all-day event's start and end are midnights in its zone.
 * - kb-1.6: all-day is never inferred from a duration; a 30-hour appointment stays timed.
 * - kb-1.2: a Change to a meeting the user does not organise (MeetingStatus 3/7/11/15) changes
 *   only the attendee's own properties (reminder, busy status, categories, response); organizer,
 *   attendees, times and MeetingStatus stay as the server holds them.
 * - kb-1.10: a monthly series on day 31 is sent as the "last day of the month" pattern (Type 3,
 *   WeekOfMonth 5, DayOfWeek 127), which means the same under Outlook's rule and cannot be
 *   misread by devices that follow RFC 5545.
 * - 16.0+: a Change with airsyncbase:InstanceId changes one occurrence (ConvertContext.instanceId)
 *   and a Delete with InstanceId deletes one (deleteInstance); a Change of a series' recurrence or
 *   times drops its exceptions (MS-ASCAL 2.2.2.22). Exceptions carry InstanceId instead of
 *   ExceptionStartTime from 16.0 (MS-ASAIRS 2.2.2.25).
 * - FilterType: the end of the last occurrence (an endless series is always in the window).
 *
 * From a client, as before: a 16.0+ UID is ignored (MS-ASCAL 2.2.2.46) and the server makes one;
 * missing StartTime/EndTime on an Add follow MS-ASCAL 3.2.4.4; malformed values, EndTime before
 * StartTime, a Timezone that is not a TIME_ZONE_INFORMATION, a Recurrence without Type or out of
 * range, an Exception without its start: ConversionError (Sync Status 6).
 */
import { randomBytes } from 'node:crypto';

import { allDayBounds, eventFilterTime, eventOffsets, seriesOf } from '../calendar/event.ts';
import { isPatternInstance, type EasRecurrence } from '../calendar/recurrence.ts';
import { canonicalZone, decodeTimezone, timezoneBlobForZone } from '../calendar/timezone.ts';
import type { JsonObject, JsonValue } from '../ports/types.ts';
import { child, children, el, text, type WbxmlElement } from '../wbxml/tree.ts';
import { applyBodyFromEas, bodyToEas, readBody, NS as ASB } from './body.ts';
import {
  BOOL,
  CATEGORIES,
  COMPACT_KIND,
  STRING,
  atLeast,
  fieldApplies,
  fieldFromEas,
  fieldToEas,
  formatCompact,
  hashKey,
  normalizeText,
  parseEasDate,
  storedDate,
  str,
  uint,
  type FieldDef,
} from './fields.ts';
import { jsonToTree } from './raw.ts';
import { ConversionError, type ConvertContext, type ItemConverter } from './types.ts';

const C = 'Calendar';
const MR = 'MeetingResponse';

/**
 * UTC as a TIME_ZONE_INFORMATION: Bias 0, no names, no daylight-saving transition (all-zero
 * SYSTEMTIMEs), both biases 0; i.e. 172 zero bytes.
 */
export const UTC_TIMEZONE = Buffer.alloc(172).toString('base64');

const f = (key: string, name: string, kind: FieldDef['kind'], since?: FieldDef['since']): FieldDef => ({ key, ns: C, name, kind, since });

const ALL_DAY = f('allDayEvent', 'AllDayEvent', BOOL);
// The current schema (MS-ASCAL section 6) allows 0..5; 4 is "working elsewhere".
const BUSY = f('busyStatus', 'BusyStatus', uint({ min: 0, max: 5 }));
const ORGANIZER_NAME = f('organizerName', 'OrganizerName', STRING);
const ORGANIZER_EMAIL = f('organizerEmail', 'OrganizerEmail', STRING);
const DTSTAMP = f('dtStamp', 'DtStamp', COMPACT_KIND);
const END = f('endTime', 'EndTime', COMPACT_KIND);
const LOCATION = f('location', 'Location', STRING);
const REMINDER = f('reminder', 'Reminder', uint());
const SENSITIVITY = f('sensitivity', 'Sensitivity', uint({ min: 0, max: 3 }));
const SUBJECT = f('subject', 'Subject', STRING);
const START = f('startTime', 'StartTime', COMPACT_KIND);
const UID = f('uid', 'UID', STRING);
const CLIENT_UID = f('clientUid', 'ClientUid', STRING);
const MEETING_STATUS = f('meetingStatus', 'MeetingStatus', uint({ values: [0, 1, 3, 5, 7, 9, 11, 13, 15] }));
const CAL_CATEGORIES = f('categories', 'Categories', CATEGORIES);
// 14.0+ (MS-ASCAL 2.2.2.7, 2.2.2.17, 2.2.2.40, 2.2.2.41), 14.1+ (2.2.2.31, 2.2.2.32).
const RESPONSE_REQUESTED = f('responseRequested', 'ResponseRequested', BOOL, '14.0');
const REPLY_TIME = f('appointmentReplyTime', 'AppointmentReplyTime', COMPACT_KIND, '14.0');
const RESPONSE_TYPE = f('responseType', 'ResponseType', uint({ min: 0, max: 5 }), '14.0');
const DISALLOW_PROPOSAL = f('disallowNewTimeProposal', 'DisallowNewTimeProposal', BOOL, '14.0');
const CONF_LINK = f('onlineMeetingConfLink', 'OnlineMeetingConfLink', STRING, '14.1');
const EXTERNAL_LINK = f('onlineMeetingExternalLink', 'OnlineMeetingExternalLink', STRING, '14.1');

const TAIL = [RESPONSE_REQUESTED, REPLY_TIME, RESPONSE_TYPE, DISALLOW_PROPOSAL, CONF_LINK, EXTERNAL_LINK];

// Exception children (MS-ASCAL 2.2.2.21), in the order they are written.
const EXCEPTION_FIELDS_BEFORE_BODY = [SUBJECT, START, END];
const EXCEPTION_FIELDS_AFTER_LOCATION = [CAL_CATEGORIES, SENSITIVITY, BUSY, ALL_DAY, REMINDER, DTSTAMP, MEETING_STATUS];
const EXCEPTION_TAIL = [REPLY_TIME, RESPONSE_TYPE, CONF_LINK, EXTERNAL_LINK];

/** What an attendee may change on its copy of a meeting (kb-1.2). */
const ATTENDEE_OWN = ['reminder', 'busyStatus', 'categories', 'responseType', 'appointmentReplyTime'];

/** Recurrence children (MS-ASCAL 2.2.2.39), in schema order, with their ranges. */
const RECURRENCE_FIELDS: ReadonlyArray<{ key: keyof EasRecurrence; name: string; min: number; max: number; since?: '14.0' | '14.1'; date?: true; bool?: true }> = [
  { key: 'type', name: 'Type', min: 0, max: 6 },
  { key: 'occurrences', name: 'Occurrences', min: 1, max: 999 },
  { key: 'interval', name: 'Interval', min: 1, max: 999 },
  { key: 'weekOfMonth', name: 'WeekOfMonth', min: 1, max: 5 },
  { key: 'dayOfWeek', name: 'DayOfWeek', min: 1, max: 127 },
  { key: 'monthOfYear', name: 'MonthOfYear', min: 1, max: 12 },
  { key: 'until', name: 'Until', min: 0, max: 0, date: true },
  { key: 'dayOfMonth', name: 'DayOfMonth', min: 1, max: 31 },
  { key: 'calendarType', name: 'CalendarType', min: 0, max: 23, since: '14.0' },
  { key: 'isLeapMonth', name: 'IsLeapMonth', min: 0, max: 1, since: '14.0', bool: true },
  { key: 'firstDayOfWeek', name: 'FirstDayOfWeek', min: 0, max: 6, since: '14.1' },
];

/** AirSyncBase:Location children other than DisplayName (MS-ASAIRS 2.2.2.27), stored key <- element. */
const LOCATION_DETAILS: ReadonlyArray<[key: string, name: string]> = [
  ['annotation', 'Annotation'],
  ['street', 'Street'],
  ['city', 'City'],
  ['state', 'State'],
  ['country', 'Country'],
  ['postalCode', 'PostalCode'],
  ['latitude', 'Latitude'],
  ['longitude', 'Longitude'],
  ['accuracy', 'Accuracy'],
  ['altitude', 'Altitude'],
  ['altitudeAccuracy', 'AltitudeAccuracy'],
  ['locationUri', 'LocationUri'],
];

// ---------------------------------------------------------------------------------------------
// toEas

function toEas(data: JsonObject, ctx: ConvertContext): WbxmlElement[] {
  const out: WbxmlElement[] = [];
  const push = (e: WbxmlElement | undefined) => {
    if (e) out.push(e);
  };
  out.push(el(C, 'Timezone', timezoneOf(data)));
  push(fieldToEas(ALL_DAY, data));
  out.push(bodyToEas(readBody(data), ctx));
  for (const fd of [BUSY, ORGANIZER_NAME, ORGANIZER_EMAIL, DTSTAMP, END]) push(fieldToEas(fd, data));
  push(locationToEas(data, ctx));
  for (const fd of [REMINDER, SENSITIVITY, SUBJECT, START, UID, MEETING_STATUS]) push(fieldToEas(fd, data));
  push(attendeesToEas(data['attendees'], ctx));
  push(fieldToEas(CAL_CATEGORIES, data));
  push(recurrenceToEas(data['recurrence'], ctx));
  push(exceptionsToEas(data['exceptions'], ctx));
  for (const fd of TAIL) if (fieldApplies(fd, ctx)) push(fieldToEas(fd, data));
  return out;
}

/** The blob as a device sent it; else one worked out from the item's IANA zone; else UTC. */
function timezoneOf(data: JsonObject): string {
  const blob = str(data, 'timezone');
  if (blob) return blob;
  const zone = str(data, 'timeZone');
  if (zone && canonicalZone(zone)) return timezoneBlobForZone(zone, (storedDate(data, 'startTime') ?? new Date()).getUTCFullYear());
  return UTC_TIMEZONE;
}

/** Location: Calendar:Location before 16.0; AirSyncBase:Location with DisplayName and details from 16.0. */
function locationToEas(data: JsonObject, ctx: ConvertContext): WbxmlElement | undefined {
  const location = str(data, 'location');
  if (!atLeast(ctx, '16.0')) return location ? el(C, 'Location', location) : undefined;
  const details = objectOf(data['locationDetails']);
  const kids: WbxmlElement[] = [];
  if (location) kids.push(el(ASB, 'DisplayName', location));
  for (const [key, name] of LOCATION_DETAILS) {
    const v = details?.[key];
    if (typeof v === 'string' && v !== '') kids.push(el(ASB, name, v));
  }
  return kids.length ? el(ASB, 'Location', kids) : undefined;
}

function attendeesToEas(v: JsonValue | undefined, ctx: ConvertContext): WbxmlElement | undefined {
  if (isRawTree(v)) return jsonToTree(v);
  if (!Array.isArray(v) || v.length === 0) return undefined;
  const list = v.map(objectOf).filter((a): a is JsonObject => !!a);
  return el(
    C,
    'Attendees',
    list.map((a) =>
      el(
        C,
        'Attendee',
        el(C, 'Email', str(a, 'email') ?? ''),
        el(C, 'Name', str(a, 'name') ?? str(a, 'email') ?? ''),
        typeof a['attendeeStatus'] === 'number' ? el(C, 'AttendeeStatus', String(a['attendeeStatus'])) : null,
        typeof a['attendeeType'] === 'number' ? el(C, 'AttendeeType', String(a['attendeeType'])) : null,
        // MeetingResponse:ProposedStartTime/EndTime in an Attendee: 16.1 (MS-ASCMD 2.2.3.140, 2.2.3.141).
        atLeast(ctx, '16.1') && str(a, 'proposedStartTime') ? el(MR, 'ProposedStartTime', formatCompact(new Date(str(a, 'proposedStartTime')!))) : null,
        atLeast(ctx, '16.1') && str(a, 'proposedEndTime') ? el(MR, 'ProposedEndTime', formatCompact(new Date(str(a, 'proposedEndTime')!))) : null,
      ),
    ),
  );
}

/**
 * The Recurrence element. kb-1.10: a monthly series on day 31 goes out as "the last day of every
 * month" (Type 3, WeekOfMonth 5, DayOfWeek 127), the same series under Outlook's rule and one a
 * device following RFC 5545 cannot read as "skip the short months".
 */
function recurrenceToEas(v: JsonValue | undefined, ctx: ConvertContext): WbxmlElement | undefined {
  if (isRawTree(v)) return jsonToTree(v);
  const rec = objectOf(v) as Partial<EasRecurrence> | undefined;
  if (!rec || typeof rec.type !== 'number') return undefined;
  let out: Partial<EasRecurrence> = rec;
  if (rec.type === 2 && rec.dayOfMonth === 31) {
    const { dayOfMonth: _d, ...rest } = rec;
    out = { ...rest, type: 3, weekOfMonth: 5, dayOfWeek: 127 };
  }
  const kids: WbxmlElement[] = [];
  for (const fd of RECURRENCE_FIELDS) {
    if (fd.since && !atLeast(ctx, fd.since)) continue;
    const value = out[fd.key];
    if (value === undefined || value === null) continue;
    if (fd.date) kids.push(el(C, fd.name, formatCompact(new Date(String(value)))));
    else if (fd.bool) kids.push(el(C, fd.name, value ? '1' : '0'));
    else kids.push(el(C, fd.name, String(value)));
  }
  return el(C, 'Recurrence', kids);
}

function exceptionsToEas(v: JsonValue | undefined, ctx: ConvertContext): WbxmlElement | undefined {
  if (isRawTree(v)) return jsonToTree(v);
  if (!Array.isArray(v) || v.length === 0) return undefined;
  const v16 = atLeast(ctx, '16.0');
  const list = v.map(objectOf).filter((e): e is JsonObject => !!e && typeof e['exceptionStartTime'] === 'string');
  return el(
    C,
    'Exceptions',
    list.map((e) => {
      const kids: WbxmlElement[] = [];
      const push = (x: WbxmlElement | undefined | null) => {
        if (x) kids.push(x);
      };
      if (e['deleted'] === true) kids.push(el(C, 'Deleted', '1'));
      const original = formatCompact(new Date(str(e, 'exceptionStartTime')!));
      // 16.0: InstanceId (MS-ASAIRS 2.2.2.25) in place of ExceptionStartTime (MS-ASCAL 2.2.2.23).
      kids.push(v16 ? el(ASB, 'InstanceId', original) : el(C, 'ExceptionStartTime', original));
      if (e['deleted'] !== true) {
        for (const fd of EXCEPTION_FIELDS_BEFORE_BODY) push(fieldToEas(fd, e));
        if (e['body'] !== undefined) push(bodyToEas(readBody(e), ctx));
        push(locationToEas(e, ctx));
        for (const fd of EXCEPTION_FIELDS_AFTER_LOCATION) push(fieldToEas(fd, e));
        push(attendeesToEas(e['attendees'], ctx));
        for (const fd of EXCEPTION_TAIL) if (fieldApplies(fd, ctx)) push(fieldToEas(fd, e));
      }
      return el(C, 'Exception', kids);
    }),
  );
}

// ---------------------------------------------------------------------------------------------
// fromEas

function fromEas(appData: WbxmlElement, ctx: ConvertContext, existing?: JsonObject): JsonObject {
  if (ctx.instanceId !== undefined) {
    if (!existing) throw new ConversionError('Calendar: an InstanceId names an occurrence of an item that does not exist');
    return changeInstance(existing, ctx.instanceId, appData, ctx);
  }
  const isNew = existing === undefined;
  let out: JsonObject = { ...(existing ?? {}) };

  const tz = child(appData, 'Timezone', C);
  if (tz) {
    const v = (text(tz) ?? '').trim();
    if (v === '') delete out['timezone'];
    else {
      if (!decodeTimezone(v)) throw new ConversionError('Calendar:Timezone is not a base64 TIME_ZONE_INFORMATION');
      out['timezone'] = v;
      // The device's zone replaces one the server derived.
      delete out['timeZone'];
    }
  }
  for (const fd of [ALL_DAY, BUSY, ORGANIZER_NAME, ORGANIZER_EMAIL, DTSTAMP, END, REMINDER, SENSITIVITY, SUBJECT, START]) {
    fieldFromEas(fd, appData, out);
  }
  locationFromEas(appData, out);
  for (const fd of [MEETING_STATUS, CAL_CATEGORIES, CLIENT_UID, ...TAIL]) fieldFromEas(fd, appData, out);
  applyBodyFromEas(appData, out);
  const attendees = child(appData, 'Attendees', C);
  if (attendees) setOrDelete(out, 'attendees', attendeesFromEas(attendees));
  const recurrence = child(appData, 'Recurrence', C);
  if (recurrence) setOrDelete(out, 'recurrence', recurrenceFromEas(recurrence));
  const exceptions = child(appData, 'Exceptions', C);
  if (exceptions) setOrDelete(out, 'exceptions', exceptionsFromEas(exceptions));

  // UID (MS-ASCAL 2.2.2.46).
  if (!atLeast(ctx, '16.0')) {
    const uid = child(appData, 'UID', C);
    if (uid && (text(uid) ?? '').trim() !== '') {
      const v = text(uid)!.trim();
      if (v.length > 300) throw new ConversionError('Calendar:UID is longer than 300 characters');
      out['uid'] = v;
      delete out['uidGenerated'];
    }
  }
  if (isNew && str(out, 'uid') === undefined) {
    out['uid'] = (ctx.newUid ?? randomUid)();
    out['uidGenerated'] = true;
  }

  if (existing && isAttendeeCopy(existing, ctx.userEmail)) out = keepOrganizerFields(existing, out, ctx.userEmail);
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

function setOrDelete(out: JsonObject, key: string, v: JsonValue | undefined): void {
  if (v === undefined) delete out[key];
  else out[key] = v;
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

function attendeesFromEas(e: WbxmlElement): JsonValue | undefined {
  const list: JsonObject[] = [];
  for (const a of children(e, 'Attendee', C)) {
    const email = (text(child(a, 'Email', C)) ?? '').trim();
    const name = (text(child(a, 'Name', C)) ?? '').trim();
    if (email === '' && name === '') continue;
    const att: JsonObject = { email, name };
    const status = smallInt(a, 'AttendeeStatus', C, [0, 2, 3, 4, 5]);
    if (status !== undefined) att['attendeeStatus'] = status;
    const type = smallInt(a, 'AttendeeType', C, [1, 2, 3]);
    if (type !== undefined) att['attendeeType'] = type;
    for (const [key, name] of [['proposedStartTime', 'ProposedStartTime'], ['proposedEndTime', 'ProposedEndTime']] as const) {
      const v = text(child(a, name, MR));
      if (v) att[key] = dateValue(v, `MeetingResponse:${name}`);
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

function exceptionsFromEas(e: WbxmlElement): JsonValue | undefined {
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
    if (out['deleted'] !== true) exceptionFieldsFromEas(x, out);
    const s = storedDate(out, 'startTime');
    const en = storedDate(out, 'endTime');
    if (s && en && en < s) throw new ConversionError('Calendar:Exception EndTime is before StartTime');
    list.push(out);
  }
  return list.length ? list : undefined;
}

/** The fields an Exception (or a 16.0 occurrence Change) carries, into `out`. */
function exceptionFieldsFromEas(x: WbxmlElement, out: JsonObject): void {
  for (const fd of [...EXCEPTION_FIELDS_BEFORE_BODY, ...EXCEPTION_FIELDS_AFTER_LOCATION, ...EXCEPTION_TAIL]) fieldFromEas(fd, x, out);
  locationFromEas(x, out);
  applyBodyFromEas(x, out);
  const attendees = child(x, 'Attendees', C);
  if (attendees) setOrDelete(out, 'attendees', attendeesFromEas(attendees));
}

function smallInt(e: WbxmlElement, name: string, ns: string, values: number[]): number | undefined {
  const v = text(child(e, name, ns));
  if (v === undefined || v.trim() === '') return undefined;
  const n = Number(v.trim());
  if (!values.includes(n)) throw new ConversionError(`${ns}:${name}: "${v.slice(0, 20)}" is out of range`);
  return n;
}

function dateValue(v: string, what: string): string {
  const d = parseEasDate(v);
  if (!d) throw new ConversionError(`${what}: "${v.slice(0, 40)}" is not a date`);
  return d.toISOString();
}

// ---------------------------------------------------------------------------------------------
// Meetings the user attends (kb-1.2)

/**
 * Whether the stored item is the user's copy of someone else's meeting: MeetingStatus 3, 7, 11
 * or 15 ("the user is not the meeting organizer; the meeting was received from someone else",
 * MS-ASCAL 2.2.2.29), or, when the user's address is known, a meeting with attendees whose
 * organizer is another address.
 */
export function isAttendeeCopy(data: JsonObject, userEmail?: string): boolean {
  const ms = data['meetingStatus'];
  if (typeof ms === 'number') return (ms & 2) === 2;
  return organizedByOther(data, userEmail);
}

function organizedByOther(data: JsonObject, userEmail: string | undefined): boolean {
  const organizer = str(data, 'organizerEmail')?.trim().toLowerCase();
  const attendees = data['attendees'];
  return !!userEmail && !!organizer && organizer !== userEmail.trim().toLowerCase() && Array.isArray(attendees) && attendees.length > 0;
}

/**
 * The client's version with everything but the attendee's own properties reset to the stored
 * one; MeetingStatus says "received" (3) when the stored item did not say it yet.
 */
function keepOrganizerFields(existing: JsonObject, changed: JsonObject, userEmail: string | undefined): JsonObject {
  const out: JsonObject = { ...existing };
  if (out['meetingStatus'] === undefined && organizedByOther(existing, userEmail)) out['meetingStatus'] = 3;
  for (const key of ATTENDEE_OWN) {
    if (changed[key] === undefined) delete out[key];
    else out[key] = changed[key]!;
  }
  // Per-occurrence reminders and the like: only the attendee's own properties of each exception,
  // on the occurrences the organizer's data has (or new ones the attendee only annotates).
  const before = new Map<string, JsonObject>();
  for (const e of arrayOfObjects(existing['exceptions'])) before.set(str(e, 'exceptionStartTime')!, e);
  const after = arrayOfObjects(changed['exceptions']);
  if (after.length || before.size) {
    const merged = new Map(before);
    for (const e of after) {
      const key = str(e, 'exceptionStartTime');
      if (!key) continue;
      const base: JsonObject = { ...(before.get(key) ?? { exceptionStartTime: key }) };
      for (const k of ATTENDEE_OWN) {
        if (e[k] === undefined) delete base[k];
        else base[k] = e[k]!;
      }
      merged.set(key, base);
    }
    const list = [...merged.values()];
    setOrDelete(out, 'exceptions', list.length ? list : undefined);
  }
  return out;
}

function seriesMoved(before: JsonObject, after: JsonObject): boolean {
  return (
    JSON.stringify(before['recurrence']) !== JSON.stringify(after['recurrence']) ||
    before['startTime'] !== after['startTime'] ||
    before['endTime'] !== after['endTime']
  );
}

// ---------------------------------------------------------------------------------------------
// 16.0 occurrences: Sync Change/Delete with airsyncbase:InstanceId (MS-ASCMD 2.2.3.24, 2.2.3.42.2)

function instanceKey(existing: JsonObject, instanceId: string): string {
  const series = seriesOf(existing);
  if (!series) throw new ConversionError('Calendar: InstanceId on an item that is not recurring');
  const key = dateValue(instanceId, 'AirSyncBase:InstanceId');
  // The InstanceId is the original start of an occurrence (MS-ASAIRS 2.2.2.25): of the pattern,
  // or of an exception the item already has.
  const known = arrayOfObjects(existing['exceptions']).some((e) => e['exceptionStartTime'] === key);
  if (!known && !isPatternInstance(series, Date.parse(key))) throw new ConversionError(`Calendar: ${instanceId} is not an occurrence of the series`);
  return key;
}

/** A Change of one occurrence: the fields sent become (or update) that occurrence's exception. */
function changeInstance(existing: JsonObject, instanceId: string, appData: WbxmlElement, ctx: ConvertContext): JsonObject {
  const key = instanceKey(existing, instanceId);
  const list = arrayOfObjects(existing['exceptions']);
  const i = list.findIndex((e) => e['exceptionStartTime'] === key);
  const base: JsonObject = i >= 0 ? { ...list[i]! } : { exceptionStartTime: key };
  delete base['deleted'];
  let changed: JsonObject = { ...base };
  exceptionFieldsFromEas(appData, changed);
  if (isAttendeeCopy(existing, ctx.userEmail)) {
    const own: JsonObject = { ...base };
    for (const k of ATTENDEE_OWN) {
      if (changed[k] === undefined) delete own[k];
      else own[k] = changed[k]!;
    }
    changed = own;
  }
  const s = storedDate(changed, 'startTime');
  const e = storedDate(changed, 'endTime');
  if (s && e && e < s) throw new ConversionError('Calendar: occurrence EndTime is before StartTime');
  const next = i >= 0 ? list.map((x, j) => (j === i ? changed : x)) : [...list, changed];
  return { ...existing, exceptions: next };
}

/** A Delete of one occurrence: the series stays, with that occurrence's exception marked Deleted. */
export function deleteInstance(existing: JsonObject, instanceId: string): JsonObject {
  const key = instanceKey(existing, instanceId);
  const list = arrayOfObjects(existing['exceptions']).filter((e) => e['exceptionStartTime'] !== key);
  return { ...existing, exceptions: [...list, { exceptionStartTime: key, deleted: true }] };
}

// ---------------------------------------------------------------------------------------------
// Helpers

function objectOf(v: JsonValue | undefined): JsonObject | undefined {
  return v !== null && typeof v === 'object' && !Array.isArray(v) ? v : undefined;
}

function arrayOfObjects(v: JsonValue | undefined): JsonObject[] {
  return Array.isArray(v) ? v.map(objectOf).filter((x): x is JsonObject => !!x) : [];
}

/** Element trees kept verbatim by an earlier version of this converter (raw.ts form). */
function isRawTree(v: JsonValue | undefined): v is JsonObject {
  const o = objectOf(v);
  return !!o && typeof o['ns'] === 'string' && typeof o['name'] === 'string' && Array.isArray(o['children']);
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

/**
 * kb-2.7 identity: the 16.0 ClientUid when there is one (a client repeats it when re-adding the
 * same event); else the UID, unless the server made it up; else subject and start time.
 */
function matchKey(data: JsonObject): string | undefined {
  const clientUid = str(data, 'clientUid');
  if (clientUid) return hashKey('calendar-cuid', [clientUid.trim().toLowerCase()]);
  const uid = str(data, 'uid');
  if (uid && data['uidGenerated'] !== true) return hashKey('calendar-uid', [uid.trim().toLowerCase()]);
  const subject = normalizeText(str(data, 'subject'));
  const start = storedDate(data, 'startTime')?.toISOString() ?? '';
  if (!subject && !start) return undefined;
  return hashKey('calendar', [subject, start]);
}

/**
 * The end of the item's last occurrence, exceptions applied (src/calendar/event.ts); undefined,
 * i.e. always in the window, for an endless series.
 */
function filterTime(data: JsonObject): Date | undefined {
  return eventFilterTime(data);
}

export const calendarConverter: ItemConverter = {
  itemClass: 'Calendar',
  toEas,
  fromEas,
  matchKey,
  filterTime,
  deleteInstance,
};

/**
 * Calendar class (MS-ASCAL), basic fields.
 *
 * Stored data:
 *   {
 *     timezone?: string          // base64 TIME_ZONE_INFORMATION (MS-ASDTYPE 2.7.6), kept as sent
 *     allDayEvent?: boolean
 *     busyStatus?: number        // 0 free, 1 tentative, 2 busy, 3 out of office, 4 working elsewhere
 *     organizerName?, organizerEmail?: string
 *     dtStamp?, startTime?, endTime?: string   // ISO 8601 UTC
 *     location?: string          // Calendar:Location before 16.0, AirSyncBase:Location/DisplayName from 16.0
 *     reminder?: number          // minutes before the start
 *     sensitivity?: number       // 0 normal, 1 personal, 2 private, 3 confidential
 *     subject?: string
 *     uid?: string               // the item's UID (GOID); the store's Item.uid is set from it
 *     uidGenerated?: true        // the server made the UID up (the client sent none)
 *     clientUid?: string         // 16.0+ ClientUid (MS-ASCAL 2.2.2.13), kept for duplicate detection
 *     meetingStatus?: number     // 0, 1, 3, 5, 7, 9, 11, 13, 15 (MS-ASCAL 2.2.2.28)
 *     categories?: string[]
 *     body?: { text?, html?, mime? }         // see body.ts
 *     attendees?, recurrence?, exceptions?    // element trees kept verbatim (raw.ts) until the
 *                                            // calendar issue models them
 *   }
 *
 * Element order: the list of top-level Calendar class elements in MS-ASCAL 2.2.2 (Timezone,
 * AllDayEvent, airsyncbase:Body, BusyStatus, OrganizerName, OrganizerEmail, DtStamp, EndTime,
 * Location, Reminder, Sensitivity, Subject, StartTime, UID, MeetingStatus, Attendees, Categories,
 * Recurrence, Exceptions). Timezone is always sent (a UTC zone when none is stored); StartTime and
 * EndTime are Compact DateTime (MS-ASCAL 2.2.2.42, 2.2.2.20), as is DtStamp (2.2.2.18).
 *
 * From a client:
 * - 16.0 and later: a UID in a request is ignored (MS-ASCAL 2.2.2.46: "the UID element MUST NOT
 *   be present in a command request"); the server generates one for a new item. Before 16.0 the
 *   client's UID is kept, and one is generated when it sent none (the "server MAY create a value").
 * - A new item without StartTime and/or EndTime gets them per MS-ASCAL 3.2.4.4 (the current time
 *   rounded up to the next half hour, plus 30 minutes); the combinations the spec answers with
 *   Status 6 are ConversionErrors. DtStamp defaults to the current time on a new item.
 * - EndTime before StartTime, a Timezone that is not a base64 TIME_ZONE_INFORMATION (172 bytes),
 *   an AllDayEvent other than 0/1, out-of-range enumerations, unparsable dates: ConversionError.
 */
import { randomBytes } from 'node:crypto';

import type { JsonObject } from '../store/types.ts';
import { child, el, text, type WbxmlElement } from '../wbxml/tree.ts';
import { applyBodyFromEas, bodyToEas, readBody, NS as ASB } from './body.ts';
import {
  BOOL,
  CATEGORIES,
  COMPACT_KIND,
  STRING,
  atLeast,
  fieldFromEas,
  fieldToEas,
  hashKey,
  normalizeText,
  storedDate,
  str,
  uint,
  type FieldDef,
} from './fields.ts';
import { jsonToTree, treeToJson } from './raw.ts';
import { ConversionError, type ConvertContext, type ItemConverter } from './types.ts';

const C = 'Calendar';

/** TIME_ZONE_INFORMATION is 172 bytes (MS-ASDTYPE 2.7.6). */
const TZI_SIZE = 172;

/**
 * UTC as a TIME_ZONE_INFORMATION: Bias 0, no names, no daylight-saving transition (all-zero
 * SYSTEMTIMEs), both biases 0; i.e. 172 zero bytes.
 */
export const UTC_TIMEZONE = Buffer.alloc(TZI_SIZE).toString('base64');

const f = (key: string, name: string, kind: FieldDef['kind']): FieldDef => ({ key, ns: C, name, kind });

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

/** Elements kept verbatim, by stored key. */
const RAW: ReadonlyArray<[key: string, name: string]> = [
  ['attendees', 'Attendees'],
  ['recurrence', 'Recurrence'],
  ['exceptions', 'Exceptions'],
];

function toEas(data: JsonObject, ctx: ConvertContext): WbxmlElement[] {
  const out: WbxmlElement[] = [];
  const push = (e: WbxmlElement | undefined) => {
    if (e) out.push(e);
  };
  out.push(el(C, 'Timezone', str(data, 'timezone') || UTC_TIMEZONE));
  push(fieldToEas(ALL_DAY, data));
  out.push(bodyToEas(readBody(data), ctx));
  for (const fd of [BUSY, ORGANIZER_NAME, ORGANIZER_EMAIL, DTSTAMP, END]) push(fieldToEas(fd, data));
  push(locationToEas(str(data, 'location'), ctx));
  for (const fd of [REMINDER, SENSITIVITY, SUBJECT, START, UID, MEETING_STATUS]) push(fieldToEas(fd, data));
  push(rawToEas(data, 'attendees'));
  push(fieldToEas(CAL_CATEGORIES, data));
  push(rawToEas(data, 'recurrence'));
  push(rawToEas(data, 'exceptions'));
  return out;
}

/** Location: Calendar:Location before 16.0; AirSyncBase:Location with DisplayName from 16.0. */
function locationToEas(location: string | undefined, ctx: ConvertContext): WbxmlElement | undefined {
  if (!location) return undefined;
  if (atLeast(ctx, '16.0')) return el(ASB, 'Location', el(ASB, 'DisplayName', location));
  return el(C, 'Location', location);
}

function rawToEas(data: JsonObject, key: string): WbxmlElement | undefined {
  return jsonToTree(data[key]);
}

function fromEas(appData: WbxmlElement, ctx: ConvertContext, existing?: JsonObject): JsonObject {
  const out: JsonObject = { ...(existing ?? {}) };
  const isNew = existing === undefined;

  const tz = child(appData, 'Timezone', C);
  if (tz) {
    const v = (text(tz) ?? '').trim();
    if (v === '') delete out['timezone'];
    else {
      if (!isTimezoneBlob(v)) throw new ConversionError('Calendar:Timezone is not a base64 TIME_ZONE_INFORMATION');
      out['timezone'] = v;
    }
  }
  for (const fd of [ALL_DAY, BUSY, ORGANIZER_NAME, ORGANIZER_EMAIL, DTSTAMP, END, REMINDER, SENSITIVITY, SUBJECT, START]) {
    fieldFromEas(fd, appData, out);
  }
  locationFromEas(appData, out);
  for (const fd of [MEETING_STATUS, CAL_CATEGORIES, CLIENT_UID]) fieldFromEas(fd, appData, out);
  applyBodyFromEas(appData, out);
  for (const [key, name] of RAW) {
    const e = child(appData, name, C);
    if (e) out[key] = treeToJson(e);
  }

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

  const now = (ctx.now ?? (() => new Date()))();
  if (isNew) {
    fillMissingTimes(out, now);
    if (out['dtStamp'] === undefined) out['dtStamp'] = new Date(Math.floor(now.getTime() / 1000) * 1000).toISOString();
  }
  const start = storedDate(out, 'startTime');
  const end = storedDate(out, 'endTime');
  if (start && end && end < start) throw new ConversionError('Calendar: EndTime is before StartTime');
  return out;
}

/** 16.0 sends AirSyncBase:Location (DisplayName); older versions Calendar:Location. Both are read. */
function locationFromEas(appData: WbxmlElement, out: JsonObject): void {
  const asb = child(appData, 'Location', ASB);
  if (asb) {
    const name = text(child(asb, 'DisplayName', ASB)) ?? '';
    if (name.trim() === '') delete out['location'];
    else out['location'] = name;
    return;
  }
  fieldFromEas(LOCATION, appData, out);
}

function isTimezoneBlob(v: string): boolean {
  if (v.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(v)) return false;
  return Buffer.from(v, 'base64').length === TZI_SIZE;
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

/** The end time; undefined for a recurring item (always in the window until recurrence is modelled). */
function filterTime(data: JsonObject): Date | undefined {
  if (data['recurrence'] !== undefined) return undefined;
  return storedDate(data, 'endTime') ?? storedDate(data, 'startTime');
}

export const calendarConverter: ItemConverter = {
  itemClass: 'Calendar',
  toEas,
  fromEas,
  matchKey,
  filterTime,
};

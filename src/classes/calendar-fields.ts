/**
 * The Calendar class's elements (MS-ASCAL 2.2.2) as field definitions, in the orders they are
 * written (calendar.ts says which), and the JSON helpers its converter shares.
 */
import type { EasRecurrence } from '../calendar/recurrence-pattern.ts';
import type { JsonObject, JsonValue } from '../ports/types.ts';
import { BOOL, CATEGORIES, COMPACT_KIND, STRING, uint, type FieldDef } from './fields.ts';

export const C = 'Calendar';
export const MR = 'MeetingResponse';

/**
 * UTC as a TIME_ZONE_INFORMATION: Bias 0, no names, no daylight-saving transition (all-zero
 * SYSTEMTIMEs), both biases 0; i.e. 172 zero bytes.
 */
export const UTC_TIMEZONE = Buffer.alloc(172).toString('base64');

const f = (key: string, name: string, kind: FieldDef['kind'], since?: FieldDef['since']): FieldDef => ({ key, ns: C, name, kind, since });

export const ALL_DAY = f('allDayEvent', 'AllDayEvent', BOOL);
// The current schema (MS-ASCAL section 6) allows 0..5; 4 is "working elsewhere".
export const BUSY = f('busyStatus', 'BusyStatus', uint({ min: 0, max: 5 }));
export const ORGANIZER_NAME = f('organizerName', 'OrganizerName', STRING);
export const ORGANIZER_EMAIL = f('organizerEmail', 'OrganizerEmail', STRING);
export const DTSTAMP = f('dtStamp', 'DtStamp', COMPACT_KIND);
// StartTime and EndTime place the event: a malformed one refuses it (calendar-from-eas.ts).
export const END: FieldDef = { ...f('endTime', 'EndTime', COMPACT_KIND), strict: true };
export const LOCATION = f('location', 'Location', STRING);
export const REMINDER = f('reminder', 'Reminder', uint());
export const SENSITIVITY = f('sensitivity', 'Sensitivity', uint({ min: 0, max: 3 }));
export const SUBJECT = f('subject', 'Subject', STRING);
export const START: FieldDef = { ...f('startTime', 'StartTime', COMPACT_KIND), strict: true };
export const UID = f('uid', 'UID', STRING);
export const CLIENT_UID = f('clientUid', 'ClientUid', STRING);
export const MEETING_STATUS = f('meetingStatus', 'MeetingStatus', uint({ values: [0, 1, 3, 5, 7, 9, 11, 13, 15] }));
export const CAL_CATEGORIES = f('categories', 'Categories', CATEGORIES);
// 14.0+ (MS-ASCAL 2.2.2.7, 2.2.2.17, 2.2.2.40, 2.2.2.41), 14.1+ (2.2.2.31, 2.2.2.32).
export const RESPONSE_REQUESTED = f('responseRequested', 'ResponseRequested', BOOL, '14.0');
export const REPLY_TIME = f('appointmentReplyTime', 'AppointmentReplyTime', COMPACT_KIND, '14.0');
export const RESPONSE_TYPE = f('responseType', 'ResponseType', uint({ min: 0, max: 5 }), '14.0');
export const DISALLOW_PROPOSAL = f('disallowNewTimeProposal', 'DisallowNewTimeProposal', BOOL, '14.0');
export const CONF_LINK = f('onlineMeetingConfLink', 'OnlineMeetingConfLink', STRING, '14.1');
export const EXTERNAL_LINK = f('onlineMeetingExternalLink', 'OnlineMeetingExternalLink', STRING, '14.1');

export const TAIL = [RESPONSE_REQUESTED, REPLY_TIME, RESPONSE_TYPE, DISALLOW_PROPOSAL, CONF_LINK, EXTERNAL_LINK];

// Exception children (MS-ASCAL 2.2.2.21), in the order they are written.
export const EXCEPTION_FIELDS_BEFORE_BODY = [SUBJECT, START, END];
export const EXCEPTION_FIELDS_AFTER_LOCATION = [CAL_CATEGORIES, SENSITIVITY, BUSY, ALL_DAY, REMINDER, DTSTAMP, MEETING_STATUS];
export const EXCEPTION_TAIL = [REPLY_TIME, RESPONSE_TYPE, CONF_LINK, EXTERNAL_LINK];

/** What an attendee may change on its copy of a meeting (kb-1.2). */
export const ATTENDEE_OWN = ['reminder', 'busyStatus', 'categories', 'responseType', 'appointmentReplyTime'];

/** Recurrence children (MS-ASCAL 2.2.2.39), in schema order, with their ranges. */
export const RECURRENCE_FIELDS: ReadonlyArray<{ key: keyof EasRecurrence; name: string; min: number; max: number; since?: '14.0' | '14.1'; date?: true; bool?: true }> = [
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
export const LOCATION_DETAILS: ReadonlyArray<[key: string, name: string]> = [
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
// Helpers

export function objectOf(v: JsonValue | undefined): JsonObject | undefined {
  return v !== null && typeof v === 'object' && !Array.isArray(v) ? v : undefined;
}

export function arrayOfObjects(v: JsonValue | undefined): JsonObject[] {
  return Array.isArray(v) ? v.map(objectOf).filter((x): x is JsonObject => !!x) : [];
}

/** Element trees kept verbatim by an earlier version of this converter (raw.ts form). */
export function isRawTree(v: JsonValue | undefined): v is JsonObject {
  const o = objectOf(v);
  return !!o && typeof o['ns'] === 'string' && typeof o['name'] === 'string' && Array.isArray(o['children']);
}

export function setOrDelete(out: JsonObject, key: string, v: JsonValue | undefined): void {
  if (v === undefined) delete out[key];
  else out[key] = v;
}

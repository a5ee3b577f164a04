/**
 * Stored calendar data -> the Calendar class's ApplicationData (MS-ASCAL), in the element order
 * calendar.ts describes.
 */
import { itemForDevices } from '../calendar/recurrence-device.ts';
import type { EasRecurrence } from '../calendar/recurrence-pattern.ts';
import { canonicalZone } from '../calendar/zone-offsets.ts';
import { timezoneBlobForZone } from '../calendar/zone-to-tzi.ts';
import type { JsonObject, JsonValue } from '../ports/types.ts';
import { el, type WbxmlElement } from '../wbxml/tree.ts';
import { bodyToEas, readBody, NS as ASB } from './body.ts';
import {
  ALL_DAY,
  BUSY,
  C,
  CAL_CATEGORIES,
  DTSTAMP,
  END,
  EXCEPTION_FIELDS_AFTER_LOCATION,
  EXCEPTION_FIELDS_BEFORE_BODY,
  EXCEPTION_TAIL,
  isRawTree,
  LOCATION_DETAILS,
  MEETING_STATUS,
  MR,
  objectOf,
  ORGANIZER_EMAIL,
  ORGANIZER_NAME,
  RECURRENCE_FIELDS,
  REMINDER,
  SENSITIVITY,
  START,
  SUBJECT,
  TAIL,
  UID,
  UTC_TIMEZONE,
} from './calendar-fields.ts';
import { atLeast, fieldApplies, fieldToEas, formatCompact, storedDate, str } from './fields.ts';
import { jsonToTree } from './raw.ts';
import { attachmentOwner, attachmentsToEas } from './attachments.ts';
import type { ConvertContext } from './types.ts';

/** The item's ApplicationData children. */
export function calendarToEas(stored: JsonObject, ctx: ConvertContext): WbxmlElement[] {
  // kb-1.10: an RFC 5545 organizer's day 29-31 series goes out as Outlook's pattern with the
  // months it skips as deleted occurrences (recurrence-device.ts).
  const data = itemForDevices(stored, (ctx.now ?? (() => new Date()))());
  const out: WbxmlElement[] = [];
  const push = (e: WbxmlElement | undefined) => {
    if (e) out.push(e);
  };
  out.push(el(C, 'Timezone', timezoneOf(data)));
  push(fieldToEas(ALL_DAY, data));
  out.push(bodyToEas(readBody(data), ctx));
  // Attachments of calendar items are 16.0+ (MS-ASCAL 2.2.2.x; attachments.ts).
  if (atLeast(ctx, '16.0')) push(attachmentsToEas(data, attachmentOwner(data, 'event')));
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

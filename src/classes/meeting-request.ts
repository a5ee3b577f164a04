/**
 * The MeetingRequest part of the Email class (MS-ASEMAIL 2.2.2.48): what the delivered
 * invitation or cancellation says about the meeting, so a device can show it and answer with
 * MeetingResponse. Kept in the Email item's data at delivery (src/meetings/meeting-hook.ts) as
 * `meetingRequest`:
 *   { uid, allDayEvent, startTime, endTime, dtStamp, instanceType, recurrenceId?, location?,
 *     organizer?, reminder?, responseRequested, recurrence?, sensitivity?, busyStatus?,
 *     timezone, disallowNewTimeProposal?, meetingMessageType, sequence? }
 * and rendered by meetingRequestToEas.
 *
 * - AllDayEvent from the iCalendar date form (VALUE=DATE or X-MICROSOFT-CDO-ALLDAYEVENT, kb-1.4).
 * - InstanceType (2.2.2.39): 0 single, 1 recurring master, 3 one occurrence (the message carries a
 *   RECURRENCE-ID; RecurrenceId is then that occurrence's original start, kb-1.1).
 * - GlobalObjId (2.2.2.37, before 16.0): derived from the UID as Outlook does (global-obj-id.ts),
 *   with the occurrence's date for one occurrence; from 16.0 calendar:UID instead.
 * - MeetingMessageType (email2, 14.1+, 2.2.2.47): 1 a new request, 2 an update of a meeting the
 *   user has, 4 outdated (an older update than the calendar holds, kb-1.9), 0 otherwise
 *   (cancellations).
 * Element order is the one 2.2.2.48 lists: AllDayEvent, StartTime, DtStamp, EndTime,
 * InstanceType, Location (airsyncbase:Location from 16.0), Organizer, RecurrenceId, Reminder,
 * ResponseRequested, Recurrences, Sensitivity, BusyStatus, TimeZone, GlobalObjId,
 * DisallowNewTimeProposal, email2:MeetingMessageType (then calendar:UID from 16.0).
 */
import { eventOffsets } from '../calendar/event.ts';
import { globalObjIdFromUid } from '../calendar/global-obj-id.ts';
import { answerRequested } from '../calendar/itip.ts';
import type { ParsedEvent } from '../calendar/icalendar.ts';
import type { EasRecurrence } from '../calendar/recurrence-pattern.ts';
import { canonicalZone, utcToWall } from '../calendar/zone-offsets.ts';
import { timezoneBlobForZone } from '../calendar/zone-to-tzi.ts';
import type { JsonObject } from '../ports/types.ts';
import { el, type WbxmlElement } from '../wbxml/tree.ts';
import { NS as ASB } from './body.ts';
import { atLeast, formatCompact, formatDateTime, num, obj, storedDate, str } from './fields.ts';
import type { ConvertContext } from './types.ts';

const E = 'Email';
const E2 = 'Email2';

/** UTC as a TIME_ZONE_INFORMATION (172 zero bytes). */
const UTC_BLOB = Buffer.alloc(172).toString('base64');

export type MeetingMessageType = 0 | 1 | 2 | 3 | 4;

/** MessageClass of a meeting message (MS-ASEMAIL 2.2.2.49) from its METHOD and, for a REPLY, its PARTSTAT. */
export function meetingMessageClass(method: string, event?: ParsedEvent): string | undefined {
  switch (method) {
    case 'REQUEST':
      return 'IPM.Schedule.Meeting.Request';
    case 'CANCEL':
      return 'IPM.Schedule.Meeting.Canceled';
    case 'REPLY': {
      const first = Array.isArray(event?.data['attendees']) ? (event!.data['attendees'][0] as JsonObject | undefined) : undefined;
      const status = first?.['attendeeStatus'];
      return status === 4 ? 'IPM.Schedule.Meeting.Resp.Neg' : status === 2 ? 'IPM.Schedule.Meeting.Resp.Tent' : 'IPM.Schedule.Meeting.Resp.Pos';
    }
    case 'COUNTER':
      // Outlook files a new-time proposal as a tentative answer carrying the proposal.
      return 'IPM.Schedule.Meeting.Resp.Tent';
    default:
      return undefined;
  }
}

/** The stored MeetingRequest of an invitation or cancellation (one VEVENT, with its overrides). */
export function meetingRequestData(method: string, event: ParsedEvent, messageType: MeetingMessageType, userAddresses: readonly string[] = []): JsonObject {
  const d = event.data;
  const out: JsonObject = {};
  const uid = str(d, 'uid');
  if (uid) out['uid'] = uid;
  out['allDayEvent'] = d['allDayEvent'] === true;
  for (const key of ['startTime', 'endTime', 'location', 'reminder', 'sensitivity', 'disallowNewTimeProposal'] as const) {
    if (d[key] !== undefined) out[key] = d[key]!;
  }
  out['dtStamp'] = str(d, 'dtStamp') ?? str(d, 'startTime') ?? new Date(0).toISOString();
  const rid = event.recurrenceIds?.[0];
  if (rid) {
    out['instanceType'] = 3;
    out['recurrenceId'] = rid;
  } else {
    out['instanceType'] = d['recurrence'] ? 1 : 0;
    if (d['recurrence']) out['recurrence'] = d['recurrence']!;
  }
  const email = str(d, 'organizerEmail');
  if (email) out['organizer'] = formatOrganizer(str(d, 'organizerName'), email);
  // An invitation asks for an answer unless the user's ATTENDEE line says RSVP=FALSE.
  out['responseRequested'] = method === 'REQUEST' && answerRequested(d, userAddresses);
  // The busy status the organizer intends (MS-ASEMAIL 2.2.2.10).
  if (typeof d['busyStatus'] === 'number') out['busyStatus'] = d['busyStatus'];
  out['timezone'] = timezoneBlob(d);
  if (typeof d['sequence'] === 'number') out['sequence'] = d['sequence'];
  out['meetingMessageType'] = messageType;
  out['method'] = method;
  return out;
}

function formatOrganizer(name: string | undefined, email: string): string {
  if (!name || name === email) return email;
  return `"${name.replace(/(["\\])/g, '\\$1')}" <${email}>`;
}

function timezoneBlob(d: JsonObject): string {
  const blob = str(d, 'timezone');
  if (blob) return blob;
  const zone = str(d, 'timeZone');
  if (zone && canonicalZone(zone)) return timezoneBlobForZone(zone, (storedDate(d, 'startTime') ?? new Date()).getUTCFullYear());
  return UTC_BLOB;
}

/** The local date of an occurrence's original start, for the instance part of a GlobalObjId. */
function instanceDate(mr: JsonObject, recurrenceId: Date): { year: number; month: number; day: number } {
  const zone = str(mr, 'timezone');
  const w = utcToWall(recurrenceId.getTime(), eventOffsets({ ...(zone ? { timezone: zone } : {}), startTime: recurrenceId.toISOString() }));
  return { year: w.year, month: w.month, day: w.day };
}

/** Email Recurrence children (MS-ASEMAIL 2.2.2.60) in schema order. */
function recurrenceToEas(rec: Partial<EasRecurrence>, ctx: ConvertContext): WbxmlElement | undefined {
  if (typeof rec.type !== 'number') return undefined;
  const kids: WbxmlElement[] = [el(E, 'Type', String(rec.type))];
  const put = (name: string, v: unknown, ns = E) => {
    if (v !== undefined && v !== null) kids.push(el(ns, name, typeof v === 'boolean' ? (v ? '1' : '0') : String(v)));
  };
  put('Interval', rec.interval);
  if (rec.until) kids.push(el(E, 'Until', formatCompact(new Date(String(rec.until)))));
  put('Occurrences', rec.occurrences);
  put('WeekOfMonth', rec.weekOfMonth);
  put('DayOfMonth', rec.dayOfMonth);
  put('DayOfWeek', rec.dayOfWeek);
  put('MonthOfYear', rec.monthOfYear);
  if (atLeast(ctx, '14.0')) {
    put('CalendarType', rec.calendarType, E2);
    put('IsLeapMonth', rec.isLeapMonth, E2);
  }
  if (atLeast(ctx, '14.1')) put('FirstDayOfWeek', rec.firstDayOfWeek, E2);
  return el(E, 'Recurrences', el(E, 'Recurrence', kids));
}

/** The Email:MeetingRequest element of a stored MeetingRequest; undefined when there is none. */
export function meetingRequestToEas(mr: JsonObject | undefined, ctx: ConvertContext): WbxmlElement | undefined {
  if (!mr) return undefined;
  const kids: WbxmlElement[] = [];
  const date = (name: string, key: string) => {
    const d = storedDate(mr, key);
    if (d) kids.push(el(E, name, formatDateTime(d)));
  };
  const n = (name: string, key: string) => {
    const v = mr[key];
    if (typeof v === 'number') kids.push(el(E, name, String(v)));
    else if (typeof v === 'boolean') kids.push(el(E, name, v ? '1' : '0'));
  };
  n('AllDayEvent', 'allDayEvent');
  date('StartTime', 'startTime');
  date('DtStamp', 'dtStamp');
  date('EndTime', 'endTime');
  n('InstanceType', 'instanceType');
  const location = str(mr, 'location');
  if (location) kids.push(atLeast(ctx, '16.0') ? el(ASB, 'Location', el(ASB, 'DisplayName', location)) : el(E, 'Location', location));
  const organizer = str(mr, 'organizer');
  if (organizer) kids.push(el(E, 'Organizer', organizer));
  date('RecurrenceId', 'recurrenceId');
  n('Reminder', 'reminder');
  n('ResponseRequested', 'responseRequested');
  const rec = obj(mr, 'recurrence');
  if (rec) {
    const r = recurrenceToEas(rec as Partial<EasRecurrence>, ctx);
    if (r) kids.push(r);
  }
  n('Sensitivity', 'sensitivity');
  n('BusyStatus', 'busyStatus');
  kids.push(el(E, 'TimeZone', str(mr, 'timezone') ?? UTC_BLOB));
  const uid = str(mr, 'uid');
  if (uid && !atLeast(ctx, '16.0')) {
    const rid = storedDate(mr, 'recurrenceId');
    kids.push(el(E, 'GlobalObjId', globalObjIdFromUid(uid, rid ? instanceDate(mr, rid) : undefined)));
  }
  if (atLeast(ctx, '14.0')) n('DisallowNewTimeProposal', 'disallowNewTimeProposal');
  if (atLeast(ctx, '14.1')) kids.push(el(E2, 'MeetingMessageType', String(num(mr, 'meetingMessageType') ?? 0)));
  if (uid && atLeast(ctx, '16.0')) kids.push(el('Calendar', 'UID', uid));
  return el(E, 'MeetingRequest', kids);
}

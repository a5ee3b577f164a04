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
 *
 * The parts: the field definitions (calendar-fields.ts), toEas (calendar-to-eas.ts), fromEas
 * (calendar-from-eas.ts), meetings the user attends (calendar-attendee-copy.ts) and 16.0
 * occurrences (calendar-occurrences.ts).
 */
import { eventFilterTime } from '../calendar/event.ts';
import type { JsonObject } from '../ports/types.ts';
import type { WbxmlElement } from '../wbxml/tree.ts';
import { calendarFromEas } from './calendar-from-eas.ts';
import { changeInstance, deleteInstance } from './calendar-occurrences.ts';
import { calendarToEas } from './calendar-to-eas.ts';
import { addedAttachmentsAnswer, applyAttachmentsFromEas } from './attachments.ts';
import { hashKey, normalizeText, storedDate, str } from './fields.ts';
import { ConversionError, type ConvertContext, type ItemConverter } from './types.ts';

export { isAttendeeCopy } from './calendar-attendee-copy.ts';
export { UTC_TIMEZONE } from './calendar-fields.ts';
export { randomUid } from './calendar-from-eas.ts';
export { deleteInstance } from './calendar-occurrences.ts';

/** A Change with an InstanceId changes one occurrence (calendar-occurrences.ts); anything else, the item. */
function fromEas(appData: WbxmlElement, ctx: ConvertContext, existing?: JsonObject): JsonObject {
  if (ctx.instanceId !== undefined) {
    if (!existing) throw new ConversionError('Calendar: an InstanceId names an occurrence of an item that does not exist');
    return changeInstance(existing, ctx.instanceId, appData, ctx);
  }
  const out = calendarFromEas(appData, ctx, existing);
  // 16.0+: attachments a device adds to or removes from the event (MS-ASCAL 2.2.2.x
  // Attachments, MS-ASAIRS 2.2.2.2 Add / 2.2.2.21 Delete); FileReferences name the UID.
  applyAttachmentsFromEas(appData, out, ctx, 'event');
  return out;
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
  toEas: calendarToEas,
  fromEas,
  matchKey,
  filterTime,
  deleteInstance,
  clientWriteAnswer: (appData, data) => {
    const e = addedAttachmentsAnswer(appData, data, 'event');
    return e ? [e] : undefined;
  },
};

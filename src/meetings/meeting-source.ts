/**
 * The meeting a SmartForward names (MS-ASCMD 2.2.1.19, 3.1.5.7): a calendar item of the user's,
 * or a meeting request in one of the user's mail folders, whose meeting is the user's calendar
 * item of that UID (src/meetings/meeting-items.ts) or, when the user has none (removed, or the
 * invitation never made one), the invitation the mail holds. Only the user's own mailbox is read.
 *
 * InstanceId (MS-ASCMD 2.2.3.92.2) names one occurrence: it must be an occurrence of the series
 * (a pattern date or a moved occurrence, not a deleted one), else `not_found` (Status 150); on a
 * meeting that does not recur it is `no_recurrence` (Status 146), unless the item is itself that
 * one occurrence (an invitation to one occurrence only).
 */
import { parseICalendar } from '../calendar/icalendar.ts';
import { seriesOf } from '../calendar/event.ts';
import { isPatternInstance } from '../calendar/recurrence.ts';
import { parseMessage } from '../mail/parse.ts';
import type { Mailbox } from '../ports/mailbox.ts';
import type { Item, JsonObject } from '../ports/types.ts';
import { findMeetingItems } from './meeting-items.ts';

export class MeetingSourceError extends Error {
  override readonly name = 'MeetingSourceError';
  constructor(
    readonly code: 'not_found' | 'no_recurrence',
    message: string,
  ) {
    super(message);
  }
}

export interface MeetingSource {
  /** The user's copy of the meeting. */
  event: JsonObject;
  uid: string;
  /** The occurrence forwarded, or undefined for the whole meeting. */
  instance?: string;
}

/** The event a meeting request mail holds (its REQUEST's VEVENT of that UID). */
async function invitationOf(mailbox: Mailbox, mail: Item, uid: string): Promise<JsonObject | undefined> {
  const mime = mail.data['mime'];
  const sha = mime && typeof mime === 'object' && !Array.isArray(mime) ? mime['sha256'] : undefined;
  const raw = typeof sha === 'string' ? await mailbox.getBlob(sha) : null;
  if (!raw) return undefined;
  for (const text of (await parseMessage(raw)).calendarParts) {
    try {
      const cal = parseICalendar(text);
      if (cal.method !== 'REQUEST') continue;
      const event = cal.events.find((e) => e.data['uid'] === uid);
      if (event) return event.recurrenceIds?.length ? { ...event.data, recurrenceId: event.recurrenceIds[0]! } : event.data;
    } catch {
      continue;
    }
  }
  return undefined;
}

export async function meetingOf(mailbox: Mailbox, source: Item, instance: string | undefined): Promise<MeetingSource> {
  let event: JsonObject | undefined;
  let uid: string | undefined;
  if (source.class === 'Calendar') {
    event = source.data;
    uid = source.uid ?? (typeof source.data['uid'] === 'string' ? source.data['uid'] : undefined);
  } else {
    const mr = source.data['meetingRequest'] as JsonObject | undefined;
    uid = typeof mr?.['uid'] === 'string' ? mr['uid'] : undefined;
    if (uid) event = (await findMeetingItems(mailbox, uid)).item?.data ?? (await invitationOf(mailbox, source, uid));
  }
  if (!event || !uid) throw new MeetingSourceError('not_found', 'the meeting of the source item is not found');
  if (!event['uid']) event = { ...event, uid };
  const single = !event['recurrence'] && typeof event['recurrenceId'] === 'string' ? event['recurrenceId'] : undefined;
  if (!instance) return { event, uid, ...(single ? { instance: single } : {}) };
  if (!event['recurrence']) {
    if (single !== undefined && Date.parse(single) === Date.parse(instance)) return { event, uid, instance: single };
    throw new MeetingSourceError('no_recurrence', 'InstanceId names an occurrence of a meeting that does not recur');
  }
  const exceptions = Array.isArray(event['exceptions']) ? (event['exceptions'] as JsonObject[]) : [];
  const ex = exceptions.find((e) => e && Date.parse(String(e['exceptionStartTime'])) === Date.parse(instance));
  if (ex?.['deleted'] === true) throw new MeetingSourceError('not_found', 'the occurrence was deleted');
  if (ex) return { event, uid, instance: String(ex['exceptionStartTime']) };
  const series = seriesOf(event);
  if (!series || !isPatternInstance(series, Date.parse(instance))) throw new MeetingSourceError('not_found', 'InstanceId is not an occurrence of the meeting');
  return { event, uid, instance };
}

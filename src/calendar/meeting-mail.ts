/**
 * iTIP messages the server writes (RFC 5546, iMIP RFC 6047): the REPLY or COUNTER of a
 * MeetingResponse, and the REQUEST and CANCEL of a meeting organised from a 16.0+ device. The
 * iCalendar is written by icalendar.ts; the mail is a multipart/alternative with the text and
 * the text/calendar part carrying METHOD (RFC 6047 2.4), as Outlook and Google send them.
 *
 * The REPLY names exactly one ATTENDEE, the responding mailbox owner, and the mail comes From
 * that owner (kb-1.3): the caller passes the authenticated user, never an address from the
 * request or the stored item.
 */
import { randomBytes } from 'node:crypto';
import MailComposer from 'nodemailer/lib/mail-composer';
import type { JsonObject } from '../ports/types.ts';
import { eventToICalendar, type ICalendarAttachment } from './icalendar.ts';

export interface Party {
  email: string;
  name?: string | null;
}

/** The VEVENT blocks of a VCALENDAR text, and the text around them. */
function dropMasterVEvent(ics: string): string {
  const start = ics.indexOf('BEGIN:VEVENT\r\n');
  const end = ics.indexOf('END:VEVENT\r\n', start);
  if (start < 0 || end < 0) return ics;
  return ics.slice(0, start) + ics.slice(end + 'END:VEVENT\r\n'.length);
}

const PARTSTAT_OF_RESPONSE: Record<1 | 2 | 3, number> = { 1: 3, 2: 2, 3: 4 };

export interface ReplyOptions {
  /** The authenticated user answering. */
  attendee: Party;
  /** MeetingResponse UserResponse: 1 accept, 2 tentative, 3 decline. */
  userResponse: 1 | 2 | 3;
  /** The occurrence answered (its original start, ISO); absent for the whole meeting. */
  instance?: string;
  /** 16.1 ProposedStartTime/EndTime: the answer is then a COUNTER (RFC 5546 3.2.7). */
  proposed?: { start: string; end: string };
  now: Date;
}

/** The iCalendar of an attendee's answer to the stored meeting (the user's copy). */
export function replyICalendar(item: JsonObject, o: ReplyOptions): { method: 'REPLY' | 'COUNTER'; ics: string } {
  const method = o.proposed ? 'COUNTER' : 'REPLY';
  const me: JsonObject = { email: o.attendee.email, name: o.attendee.name || o.attendee.email, attendeeStatus: PARTSTAT_OF_RESPONSE[o.userResponse], attendeeType: 1 };
  const base: JsonObject = { attendees: [me], dtStamp: o.now.toISOString() };
  for (const key of ['uid', 'sequence', 'startTime', 'endTime', 'timeZone', 'timezone', 'allDayEvent', 'subject', 'location', 'organizerEmail', 'organizerName']) {
    if (item[key] !== undefined) base[key] = item[key]!;
  }
  if (o.proposed) {
    base['startTime'] = o.proposed.start;
    base['endTime'] = o.proposed.end;
  }
  if (!o.instance) return { method, ics: eventToICalendar(base, { method }) };
  // One occurrence: a VEVENT with RECURRENCE-ID only (RFC 5546 3.2.3), at the occurrence's times.
  const exceptions = Array.isArray(item['exceptions']) ? (item['exceptions'] as JsonObject[]) : [];
  const ex = exceptions.find((e) => e && e['exceptionStartTime'] === o.instance);
  const duration = Date.parse(String(item['endTime'])) - Date.parse(String(item['startTime']));
  const start = o.proposed?.start ?? (typeof ex?.['startTime'] === 'string' ? ex['startTime'] : o.instance);
  const end = o.proposed?.end ?? (typeof ex?.['endTime'] === 'string' ? ex['endTime'] : new Date(Date.parse(o.instance) + (Number.isNaN(duration) ? 0 : duration)).toISOString());
  const data: JsonObject = { ...base, exceptions: [{ exceptionStartTime: o.instance, startTime: start, endTime: end, attendees: [me] }] };
  return { method, ics: dropMasterVEvent(eventToICalendar(data, { method })) };
}

/** The iCalendar of a REQUEST (invitation or update) or CANCEL sent by the organizer. */
export function organizerICalendar(item: JsonObject, method: 'REQUEST' | 'CANCEL', attachments?: readonly ICalendarAttachment[]): string {
  const ics = eventToICalendar(item, { method, ...(attachments?.length ? { attachments } : {}) });
  return method === 'CANCEL' ? ics.replace(/BEGIN:VEVENT\r\n/g, 'BEGIN:VEVENT\r\nSTATUS:CANCELLED\r\n') : ics;
}

/**
 * The CANCEL of some occurrences only (RFC 5546 3.2.5 with RECURRENCE-ID): one VEVENT per
 * occurrence, no series, so receivers keep the series and drop those days (kb-1.1).
 */
export function occurrenceCancelICalendar(item: JsonObject, recurrenceIds: readonly string[]): string {
  const duration = Date.parse(String(item['endTime'])) - Date.parse(String(item['startTime']));
  const exceptions: JsonObject[] = recurrenceIds.map((rid) => ({
    exceptionStartTime: rid,
    startTime: rid,
    endTime: new Date(Date.parse(rid) + (Number.isNaN(duration) ? 0 : duration)).toISOString(),
  }));
  const { recurrence: _r, rrule: _rr, ...rest } = item;
  let ics = eventToICalendar({ ...rest, exceptions }, { method: 'CANCEL' });
  ics = dropMasterVEvent(ics);
  return ics.replace(/BEGIN:VEVENT\r\n/g, 'BEGIN:VEVENT\r\nSTATUS:CANCELLED\r\n');
}

/**
 * The REQUEST of one occurrence only (RFC 5546 3.2.2 with RECURRENCE-ID): `item` is a series-less
 * event whose one exception is that occurrence (meeting-forward.ts), so receivers make it a
 * meeting of its own, as an invitation to one occurrence.
 */
export function occurrenceRequestICalendar(item: JsonObject): string {
  const { recurrence: _r, rrule: _rr, ...rest } = item;
  return dropMasterVEvent(eventToICalendar(rest, { method: 'REQUEST' }));
}

export interface ItipMail {
  from: Party;
  to: Party[];
  /** Further visible recipients (a forwarded meeting's Cc). */
  cc?: Party[];
  subject: string;
  text: string;
  /** An HTML alternative of `text`. */
  html?: string;
  method: string;
  ics: string;
  now: Date;
  hostname?: string;
}

/** The RFC 5322 message of an iTIP object (iMIP, RFC 6047). */
export async function buildItipMail(m: ItipMail): Promise<Buffer> {
  const composer = new MailComposer({
    from: m.from.name ? { name: m.from.name, address: m.from.email } : m.from.email,
    to: m.to.map((p) => (p.name ? { name: p.name, address: p.email } : p.email)),
    ...(m.cc?.length ? { cc: m.cc.map((p) => (p.name ? { name: p.name, address: p.email } : p.email)) } : {}),
    subject: m.subject,
    text: m.text,
    ...(m.html !== undefined ? { html: m.html } : {}),
    date: m.now,
    messageId: `<itip.${randomBytes(12).toString('hex')}@${m.hostname ?? 'easd.local'}>`,
    icalEvent: { method: m.method, content: m.ics },
  });
  return composer.compile().build();
}

/** Subject prefixes of answers, as Outlook writes them. */
export function replySubject(userResponse: 1 | 2 | 3, subject: string | undefined, counter: boolean): string {
  const prefix = counter ? 'New Time Proposed' : userResponse === 1 ? 'Accepted' : userResponse === 2 ? 'Tentative' : 'Declined';
  return `${prefix}: ${subject ?? ''}`.trim();
}

/**
 * A plain notification the server writes on a user's behalf (the Meeting Forward Notification,
 * MS-OXOCAL 2.2.9): text only, marked Auto-Submitted: auto-generated (RFC 3834 5) so that
 * out-of-office and other automatic replies leave it alone.
 */
export async function buildNotificationMail(m: { from: Party; to: Party[]; subject: string; text: string; now: Date; hostname?: string }): Promise<Buffer> {
  const composer = new MailComposer({
    from: m.from.name ? { name: m.from.name, address: m.from.email } : m.from.email,
    to: m.to.map((p) => (p.name ? { name: p.name, address: p.email } : p.email)),
    subject: m.subject,
    text: m.text,
    date: m.now,
    messageId: `<notice.${randomBytes(12).toString('hex')}@${m.hostname ?? 'easd.local'}>`,
    headers: { 'Auto-Submitted': 'auto-generated' },
  });
  return composer.compile().build();
}

/**
 * Resource mailboxes (rooms and equipment) book themselves: a meeting request to a resource is
 * accepted when the resource is free at every occurrence and declined when any occurrence
 * overlaps another meeting it holds as busy. Pure: the delivery hook (src/meetings/resource-hook.ts,
 * called from meeting-hook.ts) reads the calendar and sends the answer.
 *
 * - The check runs on what the invitation would leave in the resource's calendar (the iTIP
 *   decision of itip.ts), so an update of a meeting (same UID) is checked without itself, and a
 *   REQUEST for one occurrence (RECURRENCE-ID) is checked with the series it changes.
 * - Conflicts are items of other UIDs whose occurrence shows BusyStatus busy (2) or out of
 *   office (3) (MS-ASCAL 2.2.2.9); free, tentative and working-elsewhere time do not block, and a
 *   deleted occurrence (exception) is not there.
 * - Horizon: a single meeting is checked wherever it lies; a series only over the occurrences
 *   from now to BOOKING_HORIZON_DAYS (180 days) ahead, so an endless weekly series can be booked
 *   and its far occurrences are not checked (Exchange's resource booking bounds the window the
 *   same way, by its booking window).
 * - Accepted: the item is the meeting with ResponseType 3 (accepted) and BusyStatus 2 (busy),
 *   and the resource's own ATTENDEE entry accepted; the answer is a REPLY with PARTSTAT=ACCEPTED
 *   (RFC 5546 3.2.3). Declined: nothing of it stays in the calendar (a declined update removes
 *   the meeting the resource held, which frees its old time; a declined occurrence becomes a
 *   deleted exception of the series) and the REPLY says DECLINED.
 * - CANCEL (RFC 5546 3.2.5) needs no check and no answer: the ordinary iTIP processing removes
 *   the meeting or the occurrence, which frees the slot.
 */
import type { JsonObject } from '../ports/types.ts';
import { occurrencesOf, seriesOf } from './event.ts';
import { busyIntervals, FreeBusy } from './free-busy.ts';
import type { ItipDecision } from './itip.ts';

/** How far ahead the occurrences of a series are checked for conflicts. */
export const BOOKING_HORIZON_DAYS = 180;
const DAY = 86_400_000;

/** Another meeting in the resource's calendar. */
export interface BookedItem {
  uid: string | null;
  data: JsonObject;
}

export interface Conflict {
  uid: string | null;
  subject: string | null;
  start: Date;
  end: Date;
}

export type Availability = { free: true } | { free: false; conflict: Conflict };

interface Interval {
  start: Date;
  end: Date;
}

/** The times the meeting would take: every occurrence for a single event, the horizon's for a series. */
export function requestedIntervals(data: JsonObject, now: Date, horizonDays = BOOKING_HORIZON_DAYS): Interval[] {
  const series = seriesOf(data);
  const from = series ? now : new Date(-8.64e15);
  const to = series ? new Date(now.getTime() + horizonDays * DAY) : new Date(8.64e15);
  return occurrencesOf(data, from, to)
    .filter((o) => o.exception?.deleted !== true)
    .map((o) => ({ start: o.start, end: o.end }));
}

/**
 * Whether the resource is free for `data` (the meeting as it would be stored), given the other
 * items of its calendar; items of the meeting's own UID are not conflicts. Busy time comes from
 * free-busy.ts (recurrences expanded in their zone; cancelled, declined and free items left out).
 */
export function availability(data: JsonObject, uid: string, calendar: readonly BookedItem[], now: Date, horizonDays = BOOKING_HORIZON_DAYS): Availability {
  const wanted = requestedIntervals(data, now, horizonDays).filter((w) => w.end > w.start);
  if (wanted.length === 0) return { free: true };
  const from = new Date(Math.min(...wanted.map((w) => w.start.getTime())));
  const to = new Date(Math.max(...wanted.map((w) => w.end.getTime())));
  const others = calendar.filter((c) => c.uid !== uid).map((c) => ({ ...c.data, uid: c.uid ?? c.data['uid'] ?? null }));
  const subjects = new Map(calendar.map((c) => [c.uid, c.data['subject']]));
  for (const busy of busyIntervals(others, from, to)) {
    if (busy.uid === uid || busy.status < FreeBusy.Busy) continue;
    if (wanted.some((w) => w.start < busy.end && busy.start < w.end)) {
      const subject = subjects.get(busy.uid ?? null);
      return { free: false, conflict: { uid: busy.uid ?? null, subject: typeof subject === 'string' ? subject : null, start: busy.start, end: busy.end } };
    }
  }
  return { free: true };
}

export interface BookingContext {
  /** The resource's addresses, lower case. */
  addresses: readonly string[];
  /** The other items of the resource's calendars (any UID; the meeting's own is skipped). */
  calendar: readonly BookedItem[];
  now: Date;
  horizonDays?: number;
}

export interface Booking {
  /** What to write to the resource's calendar instead of the plain iTIP decision. */
  decision: ItipDecision;
  /** The answer to send the organizer: 1 accept, 3 decline (MeetingResponse values); none when nothing is answered. */
  answer?: 1 | 3;
  /** The meeting the answer speaks of (the stored or would-be item). */
  item?: JsonObject;
  /** The occurrence answered, when the request was for one occurrence (RECURRENCE-ID). */
  instance?: string;
  conflict?: Conflict;
}

function withOwnStatus(attendees: unknown, addresses: readonly string[], status: number): JsonObject[] | undefined {
  if (!Array.isArray(attendees)) return undefined;
  return (attendees as JsonObject[]).map((a) => (a && typeof a === 'object' && addresses.includes(String(a['email'] ?? '').toLowerCase()) ? { ...a, attendeeStatus: status } : a));
}

/** The meeting as the resource holds it once accepted: busy, ResponseType accepted. */
export function acceptedItem(data: JsonObject, instance: string | undefined, addresses: readonly string[], now: Date): JsonObject {
  const replyTime = now.toISOString();
  const exceptions = Array.isArray(data['exceptions']) ? (data['exceptions'] as JsonObject[]) : undefined;
  if (instance && data['recurrence'] && exceptions) {
    const list = exceptions.map((e) => {
      if (!e || e['exceptionStartTime'] !== instance || e['deleted'] === true) return e;
      const next: JsonObject = { ...e, responseType: 3, busyStatus: 2, appointmentReplyTime: replyTime };
      const attendees = withOwnStatus(e['attendees'], addresses, 3);
      if (attendees) next['attendees'] = attendees;
      return next;
    });
    return { ...data, exceptions: list };
  }
  const next: JsonObject = { ...data, responseType: 3, busyStatus: 2, appointmentReplyTime: replyTime, answerMailed: true };
  if (typeof next['sequence'] === 'number') next['answeredSequence'] = next['sequence'];
  const attendees = withOwnStatus(data['attendees'], addresses, 3);
  if (attendees) next['attendees'] = attendees;
  return next;
}

/**
 * The resource's booking decision for one VEVENT of an iTIP message, from the plain iTIP decision
 * (itip.ts) for it. `current` is the resource's item of that UID, if any.
 */
export function bookResource(method: string, uid: string, decision: ItipDecision, current: JsonObject | undefined, recurrenceId: string | undefined, ctx: BookingContext): Booking {
  // CANCEL frees the slot through the ordinary processing; duplicates, outdated updates and the
  // resource's own meetings are not answered.
  if (method.toUpperCase() !== 'REQUEST' || (decision.action !== 'create' && decision.action !== 'update')) return { decision };
  const candidate = decision.data;
  const instance = recurrenceId;
  const found = availability(candidate, uid, ctx.calendar, ctx.now, ctx.horizonDays);
  if (found.free) {
    return { decision: { action: decision.action, data: acceptedItem(candidate, instance, ctx.addresses, ctx.now) }, answer: 1, item: candidate, ...(instance ? { instance } : {}) };
  }
  const declined = { answer: 3 as const, item: candidate, conflict: found.conflict, ...(instance ? { instance } : {}) };
  if (!current) return { decision: { action: 'none', reason: 'no_item' }, ...declined };
  if (instance && current['recurrence']) {
    // One occurrence moved onto a conflict: that occurrence goes, the series stays.
    const exceptions = (Array.isArray(current['exceptions']) ? (current['exceptions'] as JsonObject[]) : []).filter((e) => e && e['exceptionStartTime'] !== instance);
    exceptions.push({ exceptionStartTime: instance, deleted: true, responseType: 4, appointmentReplyTime: ctx.now.toISOString() });
    exceptions.sort((a, b) => String(a['exceptionStartTime']).localeCompare(String(b['exceptionStartTime'])));
    return { decision: { action: 'update', data: { ...current, exceptions } }, ...declined };
  }
  // The meeting moved onto a conflict: the resource no longer holds it, its old time is free.
  return { decision: { action: 'delete' }, ...declined };
}

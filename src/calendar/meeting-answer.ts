/**
 * An attendee's answer to a meeting (MeetingResponse, MS-ASCMD 2.2.1.11) applied to the user's
 * calendar item. Pure.
 *
 * - Accept: ResponseType 3 and the organizer's intended busy status (busy unless the request said
 *   otherwise); tentative: ResponseType 2, BusyStatus tentative; decline: ResponseType 4 and the
 *   meeting leaves the calendar (the caller moves it to Deleted Items, recoverable).
 * - One occurrence (InstanceId): the same on that occurrence's exception; a declined occurrence
 *   becomes a deleted exception, the series stays.
 * - The user's own ATTENDEE entry gets the same status, AppointmentReplyTime the answer's time.
 * - Repeating an answer already given to the same version of the meeting (same SEQUENCE) is
 *   recognised (`duplicate`), so it is acknowledged without writing or mailing again (kb-1.8).
 */
import type { JsonObject } from '../ports/types.ts';
import { seriesOf } from './event.ts';
import { isPatternInstance } from './recurrence.ts';

export type UserResponse = 1 | 2 | 3;

/** MeetingResponse UserResponse -> Calendar ResponseType (MS-ASCAL 2.2.2.40). */
export const RESPONSE_TYPE: Record<UserResponse, number> = { 1: 3, 2: 2, 3: 4 };

export type AnswerResult =
  | { kind: 'duplicate' }
  | { kind: 'not_an_occurrence' }
  | { kind: 'update'; data: JsonObject }
  /** Decline of the whole meeting: store `data` (the answer recorded) and take the item out of the calendar. */
  | { kind: 'remove'; data: JsonObject };

function seq(v: unknown): number {
  return typeof v === 'number' && Number.isFinite(v) ? v : 0;
}

function withOwnStatus(attendees: unknown, addresses: readonly string[], status: number): JsonObject[] | undefined {
  if (!Array.isArray(attendees)) return undefined;
  return (attendees as JsonObject[]).map((a) => (a && typeof a === 'object' && addresses.includes(String(a['email'] ?? '').toLowerCase()) ? { ...a, attendeeStatus: status } : a));
}

/**
 * `mailed`: the answer is being mailed to the organizer. A repeat is a duplicate only when the
 * earlier answer was mailed too, or this one is not to be (an answer first given without a reply
 * and then repeated asking for one still sends it).
 */
export function answerMeeting(data: JsonObject, response: UserResponse, instance: string | undefined, addresses: readonly string[], now: Date, opts: { mailed?: boolean } = {}): AnswerResult {
  const responseType = RESPONSE_TYPE[response];
  const mailed = opts.mailed === true;
  const repeatOf = (prior: JsonObject) => prior['answerMailed'] === true || !mailed;
  const sequence = seq(data['sequence']);
  const intended = typeof data['intendedBusyStatus'] === 'number' ? data['intendedBusyStatus'] : 2;
  const busy = response === 1 ? intended : intended === 0 ? 0 : 1;
  const replyTime = now.toISOString();

  if (!instance) {
    if (data['responseType'] === responseType && seq(data['answeredSequence']) === sequence && data['answeredSequence'] !== undefined && repeatOf(data)) return { kind: 'duplicate' };
    const next: JsonObject = { ...data, responseType, appointmentReplyTime: replyTime, answeredSequence: sequence, answerMailed: mailed };
    const attendees = withOwnStatus(data['attendees'], addresses, responseType);
    if (attendees) next['attendees'] = attendees;
    if (response === 3) return { kind: 'remove', data: next };
    next['busyStatus'] = busy;
    return { kind: 'update', data: next };
  }

  const exceptions = Array.isArray(data['exceptions']) ? (data['exceptions'] as JsonObject[]).filter((e) => e && typeof e === 'object') : [];
  const existing = exceptions.find((e) => e['exceptionStartTime'] === instance);
  if (!existing) {
    const series = seriesOf(data);
    if (!series || !isPatternInstance(series, Date.parse(instance))) return { kind: 'not_an_occurrence' };
  }
  const exSeq = seq(existing?.['sequence'] ?? data['sequence']);
  if (existing && existing['responseType'] === responseType && existing['answeredSequence'] !== undefined && seq(existing['answeredSequence']) === exSeq && repeatOf(existing)) return { kind: 'duplicate' };
  if (existing?.['deleted'] === true && (response !== 3 || existing['responseType'] !== 4)) return response === 3 ? { kind: 'duplicate' } : { kind: 'not_an_occurrence' };
  let exception: JsonObject;
  if (response === 3) {
    exception = { exceptionStartTime: instance, deleted: true, responseType, answeredSequence: exSeq, appointmentReplyTime: replyTime, answerMailed: mailed };
  } else {
    exception = { ...(existing ?? { exceptionStartTime: instance }), responseType, busyStatus: busy, appointmentReplyTime: replyTime, answeredSequence: exSeq, answerMailed: mailed };
    const attendees = withOwnStatus(existing?.['attendees'], addresses, responseType);
    if (attendees) exception['attendees'] = attendees;
  }
  const list = exceptions.filter((e) => e['exceptionStartTime'] !== instance);
  list.push(exception);
  list.sort((a, b) => String(a['exceptionStartTime']).localeCompare(String(b['exceptionStartTime'])));
  return { kind: 'update', data: { ...data, exceptions: list } };
}

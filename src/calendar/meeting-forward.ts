/**
 * Forwarding a meeting (MS-ASCMD 2.2.1.19 SmartForward of a calendar item or meeting request,
 * 3.1.5.7; MS-OXOCAL 3.1.4.7 "forwarding a meeting"): what the forwardees receive and what the
 * organizer's meeting becomes. Pure; the I/O is src/meetings/meeting-forward.ts.
 *
 * - The forwardees get the organizer's meeting as an iTIP REQUEST (RFC 5546 3.2.2) with the
 *   ORGANIZER unchanged (MS-ASCMD 3.1.5.7: "the organizer of the meeting remains unchanged") and
 *   themselves added as optional attendees (ROLE=OPT-PARTICIPANT), so their copy asks them for an
 *   answer and their REPLY names an ATTENDEE the organizer knows.
 * - What is the forwarder's own stays out: their answer, reminder, categories, the busy status
 *   their answer set (the organizer's intended one is sent), and the occurrences they declined
 *   (a deleted exception with the forwarder's answer on it); occurrences the organizer cancelled
 *   stay deleted.
 * - The organizer's meeting gets the forwardees as optional attendees not yet answered (MS-OXOCAL
 *   2.2.9, 3.1.4.7.2: the organizer is told with a Meeting Forward Notification, and the
 *   forwardees join the attendee list); never removes anyone, never changes SEQUENCE (adding an
 *   attendee is not a reschedule, RFC 5546 2.1.4).
 */
import type { JsonObject, JsonValue } from '../ports/types.ts';

export interface Forwardee {
  /** Lower case. */
  email: string;
  name?: string | null;
}

/** MS-ASCAL 2.2.2.4 AttendeeType 2 optional; 2.2.2.3 AttendeeStatus 5 not responded. */
const OPTIONAL = 2;
const NOT_RESPONDED = 5;

/** The forwarder's own fields on their copy (src/calendar/itip.ts, meeting-answer.ts). */
const PERSONAL = ['reminder', 'categories', 'responseType', 'appointmentReplyTime', 'answeredSequence', 'answerMailed', 'intendedBusyStatus', 'responseRequested', 'meetingStatus', 'recurrenceId'];

const lower = (v: unknown) => (typeof v === 'string' ? v.trim().toLowerCase() : '');

function objects(v: JsonValue | undefined): JsonObject[] {
  return Array.isArray(v) ? (v.filter((x) => x !== null && typeof x === 'object' && !Array.isArray(x)) as JsonObject[]) : [];
}

/** The attendee list with the forwardees added once each (optional, not responded). */
export function withForwardees(attendees: JsonValue | undefined, forwardees: readonly Forwardee[], organizer?: string): { list: JsonObject[]; added: Forwardee[] } {
  const list = objects(attendees).map((a) => ({ ...a }));
  const added: Forwardee[] = [];
  for (const f of forwardees) {
    if (f.email === lower(organizer) || list.some((a) => lower(a['email']) === f.email)) continue;
    list.push({ email: f.email, name: f.name || f.email, attendeeType: OPTIONAL, attendeeStatus: NOT_RESPONDED });
    added.push(f);
  }
  return { list, added };
}

/** Whether the meeting has an organizer: a plain appointment is forwarded as a copy, not an invitation. */
export function isMeeting(data: JsonObject): boolean {
  return lower(data['organizerEmail']) !== '';
}

/**
 * The event the forwardees are invited to: the forwarder's copy without what is the forwarder's
 * own, the forwardees added. `instance` (ISO original start) forwards that occurrence only, as
 * the one exception of a series-less event (meeting-mail.ts writes it with RECURRENCE-ID only).
 */
export function forwardedEvent(copy: JsonObject, forwardees: readonly Forwardee[], instance?: string): JsonObject {
  const out: JsonObject = { ...copy };
  for (const k of PERSONAL) delete out[k];
  const intended = copy['intendedBusyStatus'];
  out['busyStatus'] = typeof intended === 'number' ? intended : typeof copy['busyStatus'] === 'number' && copy['responseType'] === undefined ? copy['busyStatus'] : 2;
  const organizer = typeof copy['organizerEmail'] === 'string' ? copy['organizerEmail'] : undefined;
  const exceptions = objects(copy['exceptions'])
    // An occurrence the forwarder declined is theirs; one the organizer cancelled carries no answer.
    .filter((e) => !(e['deleted'] === true && e['responseType'] !== undefined))
    .map((e) => {
      const x: JsonObject = { ...e };
      for (const k of ['reminder', 'responseType', 'appointmentReplyTime', 'answeredSequence', 'answerMailed']) delete x[k];
      if (Array.isArray(e['attendees'])) x['attendees'] = withForwardees(e['attendees'], forwardees, organizer).list;
      return x;
    });
  out['attendees'] = withForwardees(copy['attendees'], forwardees, organizer).list;
  if (!instance) {
    if (exceptions.length) out['exceptions'] = exceptions;
    else delete out['exceptions'];
    return out;
  }
  const ex = exceptions.find((e) => e['exceptionStartTime'] === instance);
  const duration = Date.parse(String(copy['endTime'])) - Date.parse(String(copy['startTime']));
  // An item made from an invitation to this one occurrence holds its (possibly moved) times itself.
  const single = copy['recurrenceId'] === instance && typeof copy['startTime'] === 'string' && typeof copy['endTime'] === 'string';
  const start = typeof ex?.['startTime'] === 'string' ? ex['startTime'] : single ? (copy['startTime'] as string) : instance;
  const end = typeof ex?.['endTime'] === 'string' ? ex['endTime'] : single ? (copy['endTime'] as string) : new Date(Date.parse(instance) + (Number.isNaN(duration) ? 0 : duration)).toISOString();
  const only: JsonObject = { ...(ex ?? {}), exceptionStartTime: instance, startTime: start, endTime: end, attendees: ex && Array.isArray(ex['attendees']) ? ex['attendees'] : out['attendees'] };
  return { ...out, exceptions: [only] };
}

/**
 * The organizer's meeting with the forwardees added (to the one occurrence when `instance` is
 * given), or undefined when every forwardee is already invited.
 */
export function organizerWithForwardees(data: JsonObject, forwardees: readonly Forwardee[], instance?: string): JsonObject | undefined {
  const organizer = typeof data['organizerEmail'] === 'string' ? data['organizerEmail'] : undefined;
  if (!instance || !data['recurrence']) {
    const { list, added } = withForwardees(data['attendees'], forwardees, organizer);
    return added.length ? { ...data, attendees: list } : undefined;
  }
  const exceptions = objects(data['exceptions']);
  const existing = exceptions.find((e) => e['exceptionStartTime'] === instance);
  if (existing?.['deleted'] === true) return undefined;
  const base = existing && Array.isArray(existing['attendees']) ? existing['attendees'] : data['attendees'];
  const { list, added } = withForwardees(base, forwardees, organizer);
  if (!added.length) return undefined;
  const next = exceptions.filter((e) => e['exceptionStartTime'] !== instance);
  next.push({ ...(existing ?? { exceptionStartTime: instance }), attendees: list });
  next.sort((a, b) => String(a['exceptionStartTime']).localeCompare(String(b['exceptionStartTime'])));
  return { ...data, exceptions: next };
}

/** Whether one of these addresses is among the meeting's attendees (the series' or any occurrence's). */
export function isAttendee(data: JsonObject, addresses: readonly string[]): boolean {
  const lists = [objects(data['attendees']), ...objects(data['exceptions']).map((e) => objects(e['attendees']))];
  return lists.some((l) => l.some((a) => addresses.includes(lower(a['email']))));
}

/** The text of a Meeting Forward Notification (MS-OXOCAL 2.2.9): who forwarded what to whom. */
export function forwardNotificationText(forwarder: { email: string; name?: string | null }, subject: string, forwardees: readonly Forwardee[], instance?: string): string {
  const who = forwarder.name ? `${forwarder.name} <${forwarder.email}>` : forwarder.email;
  const to = forwardees.map((f) => (f.name ? `${f.name} <${f.email}>` : f.email)).join('\n  ');
  const what = instance ? `the occurrence on ${new Date(instance).toUTCString()} of your meeting` : 'your meeting';
  return `${who} forwarded ${what} "${subject}" to:\n  ${to}\n`;
}

/** Subject prefixes as Exchange writes them (MS-ASCMD test suite: "Meeting Forward Notification: " + subject). */
export const FORWARD_NOTIFICATION_PREFIX = 'Meeting Forward Notification: ';

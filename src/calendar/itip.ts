/**
 * iTIP (RFC 5546) on the server: what one scheduling message (an invitation, update,
 * cancellation, reply or counter-proposal that arrived by mail) does to the user's calendar.
 * Pure: given the parsed VEVENT (src/calendar/icalendar.ts) and the user's current item for that
 * UID, it decides the item's new data; the delivery hook (src/meetings/meeting-hook.ts) does the I/O.
 *
 * - REQUEST (RFC 5546 3.2.2), to an attendee: a new meeting becomes a tentative item
 *   (MeetingStatus 3 "received", ResponseType 5 "not responded", BusyStatus 1 tentative, the
 *   organizer's intended busy status kept for when the user accepts). An update replaces the
 *   organizer's fields and keeps the attendee's own (reminder, categories; the response too when
 *   times and recurrence did not move, RFC 5546 2.1.5). Ordering (kb-1.9): updates are ordered
 *   by (SEQUENCE, DTSTAMP) (RFC 5546 2.1.5); one that is not newer than what the item holds
 *   changes nothing. The same holds per occurrence: a REQUEST carrying only RECURRENCE-ID
 *   overrides is compared with the exception it changes, and an exception's DtStamp is never
 *   moved backwards (a newer SEQUENCE may carry an older DTSTAMP).
 * - CANCEL (RFC 5546 3.2.5): without RECURRENCE-ID the meeting goes; with one only that
 *   occurrence: the series stays with an exception marked deleted (kb-1.1), so devices get a
 *   Change of the series, never a Delete.
 * - REPLY (3.2.3), in the organizer's calendar: the replying attendee's status (PARTSTAT) on the
 *   item, or on the exception a RECURRENCE-ID names. Only from an invited attendee, and only when
 *   the mail's sender is that attendee (a reply cannot speak for someone else, kb-1.3). A reply
 *   stamped no later than the last one taken from that attendee changes nothing.
 * - COUNTER (3.2.7): shown as the attendee's proposal (ProposedStartTime/ProposedEndTime,
 *   MS-ASCAL 2.2.2.3.x, 16.1) with its PARTSTAT; the meeting's own times stay.
 *
 * Kept beside the Calendar class's fields: `sequence` (the organizer's SEQUENCE), per exception
 * `sequence`, `intendedBusyStatus`, per attendee `replyStamp`, `recurrenceId` for an item made
 * from one occurrence only. The Calendar class does not send them.
 */
import type { JsonObject, JsonValue } from '../ports/types.ts';
import type { ParsedEvent } from './icalendar.ts';

export type ItipDecision =
  | { action: 'create'; data: JsonObject }
  | { action: 'update'; data: JsonObject }
  | { action: 'delete' }
  | { action: 'none'; reason: ItipNoneReason };

export type ItipNoneReason =
  | 'outdated'
  | 'duplicate'
  | 'no_item'
  | 'own_meeting'
  | 'not_organizer'
  | 'unknown_attendee'
  | 'sender_mismatch'
  | 'no_attendee'
  | 'unsupported_method';

export interface ItipContext {
  /** The user's own addresses (primary and aliases), lower case. */
  userAddresses: readonly string[];
  /** The address the message came from (From), lower case; REPLY/COUNTER must come from the attendee. */
  sender?: string;
}

/** Version of an iTIP object or stored item: SEQUENCE, then DTSTAMP (RFC 5546 2.1.5). */
export interface ItipVersion {
  sequence: number;
  stamp: number;
}

export function versionOf(data: JsonObject | undefined): ItipVersion {
  const seq = data?.['sequence'];
  const stamp = Date.parse(String(data?.['dtStamp'] ?? ''));
  return { sequence: typeof seq === 'number' && Number.isFinite(seq) ? seq : 0, stamp: Number.isNaN(stamp) ? 0 : stamp };
}

/** Negative when a is older than b, 0 when the same, positive when newer. */
export function compareVersions(a: ItipVersion, b: ItipVersion): number {
  return a.sequence !== b.sequence ? a.sequence - b.sequence : a.stamp - b.stamp;
}

const lower = (s: unknown) => (typeof s === 'string' ? s.trim().toLowerCase() : '');

function objects(v: JsonValue | undefined): JsonObject[] {
  return Array.isArray(v) ? (v.filter((x) => x !== null && typeof x === 'object' && !Array.isArray(x)) as JsonObject[]) : [];
}

function maxStamp(...values: Array<JsonValue | undefined>): string | undefined {
  let best: number | undefined;
  for (const v of values) {
    const t = Date.parse(String(v ?? ''));
    if (!Number.isNaN(t) && (best === undefined || t > best)) best = t;
  }
  return best === undefined ? undefined : new Date(best).toISOString();
}

/** Whether the user organises the meeting (their address is ORGANIZER). */
export function isOrganizer(data: JsonObject, userAddresses: readonly string[]): boolean {
  const organizer = lower(data['organizerEmail']);
  return organizer !== '' && userAddresses.includes(organizer);
}

/**
 * The decision for one VEVENT (with its overrides) of an iTIP message. `current` is the user's
 * calendar item for the UID, if any.
 */
export function applyItip(method: string, event: ParsedEvent, current: JsonObject | undefined, ctx: ItipContext): ItipDecision {
  switch (method.toUpperCase()) {
    case 'REQUEST':
      return applyRequest(event, current, ctx);
    case 'CANCEL':
      return applyCancel(event, current, ctx);
    case 'REPLY':
      return applyReply(event, current, ctx, false);
    case 'COUNTER':
      return applyReply(event, current, ctx, true);
    default:
      return { action: 'none', reason: 'unsupported_method' };
  }
}

// ---------------------------------------------------------------------------------------------
// REQUEST

/** Fields the attendee owns on its copy; an update from the organizer keeps them. */
const ATTENDEE_OWN = ['reminder', 'categories'];
/** Fields whose change means the attendee must answer again (RFC 5546 2.1.5 "rescheduling"). */
const RESCHEDULING = ['startTime', 'endTime', 'recurrence', 'rrule', 'allDayEvent'];

/**
 * Whether the organizer asks this user for an answer: not when the user's ATTENDEE line says
 * RSVP=FALSE (RFC 5545 3.2.17), which MS-ASCAL ResponseRequested (2.2.2.39) then reports as 0.
 */
export function answerRequested(data: JsonObject, userAddresses: readonly string[]): boolean {
  const mine = objects(data['attendees']).find((a) => userAddresses.includes(lower(a['email'])));
  return mine?.['rsvp'] !== false;
}

/** The attendee's copy of the organizer's event: tentative until answered. */
function attendeeCopy(data: JsonObject, userAddresses: readonly string[]): JsonObject {
  const out: JsonObject = { ...data };
  const intended = typeof data['busyStatus'] === 'number' ? data['busyStatus'] : 2;
  out['intendedBusyStatus'] = intended;
  // A free meeting stays free; anything else shows tentative until the user answers.
  out['busyStatus'] = intended === 0 ? 0 : 1;
  out['meetingStatus'] = 3;
  out['responseType'] = 5;
  out['responseRequested'] = answerRequested(data, userAddresses);
  return out;
}

function applyRequest(event: ParsedEvent, current: JsonObject | undefined, ctx: ItipContext): ItipDecision {
  const incoming = event.data;
  if (isOrganizer(incoming, ctx.userAddresses)) return { action: 'none', reason: 'own_meeting' };
  if (event.recurrenceIds?.length) return applyOverrideRequest(event, current, ctx);
  if (!current) return { action: 'create', data: attendeeCopy(incoming, ctx.userAddresses) };
  const order = compareVersions(versionOf(incoming), versionOf(current));
  if (order < 0) return { action: 'none', reason: 'outdated' };
  if (order === 0) return { action: 'none', reason: 'duplicate' };

  const next = attendeeCopy(incoming, ctx.userAddresses);
  for (const key of ATTENDEE_OWN) {
    if (current[key] !== undefined) next[key] = current[key]!;
    else delete next[key];
  }
  const rescheduled = RESCHEDULING.some((k) => JSON.stringify(current[k] ?? null) !== JSON.stringify(incoming[k] ?? null));
  if (!rescheduled && typeof current['responseType'] === 'number' && current['responseType'] !== 5) {
    next['responseType'] = current['responseType'];
    if (current['busyStatus'] !== undefined) next['busyStatus'] = current['busyStatus'];
    if (current['appointmentReplyTime'] !== undefined) next['appointmentReplyTime'] = current['appointmentReplyTime'];
  }
  // Exceptions: the organizer's list, except where the item holds a newer override than this
  // message (an occurrence update that arrived first, kb-1.9).
  const version = versionOf(incoming);
  const byStart = new Map<string, JsonObject>();
  for (const e of objects(incoming['exceptions'])) byStart.set(String(e['exceptionStartTime']), e);
  for (const e of objects(current['exceptions'])) {
    const key = String(e['exceptionStartTime']);
    if (compareVersions(versionOf(e), version) > 0) byStart.set(key, e);
  }
  if (byStart.size) next['exceptions'] = [...byStart.values()].sort((a, b) => String(a['exceptionStartTime']).localeCompare(String(b['exceptionStartTime'])));
  else delete next['exceptions'];
  const stamp = maxStamp(current['dtStamp'], incoming['dtStamp']);
  if (stamp) next['dtStamp'] = stamp;
  return { action: 'update', data: next };
}

/** Fields of an override VEVENT that become the exception's. */
const OVERRIDE_FIELDS = ['subject', 'startTime', 'endTime', 'location', 'body', 'categories', 'sensitivity', 'busyStatus', 'allDayEvent', 'reminder', 'attendees'];

function applyOverrideRequest(event: ParsedEvent, current: JsonObject | undefined, ctx: ItipContext): ItipDecision {
  const incoming = event.data;
  const rid = event.recurrenceIds![0]!;
  // Invited to one occurrence only (or the series is not here): that occurrence as a meeting.
  if (!current) return { action: 'create', data: { ...attendeeCopy(incoming, ctx.userAddresses), recurrenceId: rid } };
  if (!current['recurrence']) {
    // The item is itself that one occurrence: an ordinary update of it.
    if (current['recurrenceId'] !== rid) return { action: 'none', reason: 'no_item' };
    const order = compareVersions(versionOf(incoming), versionOf(current));
    if (order <= 0) return { action: 'none', reason: order < 0 ? 'outdated' : 'duplicate' };
    const next: JsonObject = { ...attendeeCopy(incoming, ctx.userAddresses), recurrenceId: rid };
    for (const key of ATTENDEE_OWN) if (current[key] !== undefined) next[key] = current[key]!;
    const stamp = maxStamp(current['dtStamp'], incoming['dtStamp']);
    if (stamp) next['dtStamp'] = stamp;
    return { action: 'update', data: next };
  }
  const exceptions = objects(current['exceptions']);
  const existing = exceptions.find((e) => e['exceptionStartTime'] === rid);
  const incomingVersion = versionOf(incoming);
  if (existing) {
    const order = compareVersions(incomingVersion, versionOf({ sequence: existing['sequence'] ?? current['sequence'] ?? 0, dtStamp: existing['dtStamp'] ?? null }));
    if (order <= 0) return { action: 'none', reason: order < 0 ? 'outdated' : 'duplicate' };
  } else {
    // No override yet: one made before the series' last update is stale, unless its SEQUENCE
    // says otherwise.
    const master = versionOf(current);
    if (incomingVersion.sequence < master.sequence || (incomingVersion.sequence === master.sequence && incomingVersion.stamp < master.stamp)) {
      return { action: 'none', reason: 'outdated' };
    }
  }
  const exception: JsonObject = { exceptionStartTime: rid };
  for (const key of OVERRIDE_FIELDS) if (incoming[key] !== undefined) exception[key] = incoming[key]!;
  if (existing?.['reminder'] !== undefined) exception['reminder'] = existing['reminder'];
  exception['sequence'] = incomingVersion.sequence;
  const stamp = maxStamp(existing?.['dtStamp'], incoming['dtStamp']);
  if (stamp) exception['dtStamp'] = stamp;
  // The moved occurrence needs an answer again, like a rescheduled meeting.
  exception['responseType'] = 5;
  if (typeof exception['busyStatus'] === 'number' && exception['busyStatus'] !== 0) exception['busyStatus'] = 1;
  const list = exceptions.filter((e) => e['exceptionStartTime'] !== rid);
  list.push(exception);
  list.sort((a, b) => String(a['exceptionStartTime']).localeCompare(String(b['exceptionStartTime'])));
  return { action: 'update', data: { ...current, exceptions: list } };
}

// ---------------------------------------------------------------------------------------------
// CANCEL

function applyCancel(event: ParsedEvent, current: JsonObject | undefined, ctx: ItipContext): ItipDecision {
  if (isOrganizer(event.data, ctx.userAddresses)) return { action: 'none', reason: 'own_meeting' };
  if (!current) return { action: 'none', reason: 'no_item' };
  const incoming = versionOf(event.data);
  // A cancellation older than the item's last update (by SEQUENCE) is stale.
  if (incoming.sequence < versionOf(current).sequence) return { action: 'none', reason: 'outdated' };
  const rids = event.recurrenceIds ?? [];
  if (rids.length === 0) return { action: 'delete' };
  if (!current['recurrence']) {
    return current['recurrenceId'] !== undefined && rids.includes(String(current['recurrenceId'])) ? { action: 'delete' } : { action: 'none', reason: 'no_item' };
  }
  const exceptions = objects(current['exceptions']);
  let changed = false;
  const byStart = new Map(exceptions.map((e) => [String(e['exceptionStartTime']), e]));
  for (const rid of rids) {
    const prior = byStart.get(rid);
    if (prior?.['deleted'] === true) continue;
    const stamp = maxStamp(prior?.['dtStamp'], event.data['dtStamp']);
    byStart.set(rid, { exceptionStartTime: rid, deleted: true, ...(stamp ? { dtStamp: stamp } : {}), sequence: incoming.sequence });
    changed = true;
  }
  if (!changed) return { action: 'none', reason: 'duplicate' };
  const list = [...byStart.values()].sort((a, b) => String(a['exceptionStartTime']).localeCompare(String(b['exceptionStartTime'])));
  return { action: 'update', data: { ...current, exceptions: list } };
}

// ---------------------------------------------------------------------------------------------
// REPLY and COUNTER

const STATUS_OF_REPLY = new Set([2, 3, 4]);

function applyReply(event: ParsedEvent, current: JsonObject | undefined, ctx: ItipContext, counter: boolean): ItipDecision {
  if (!current) return { action: 'none', reason: 'no_item' };
  if (!isOrganizer(current, ctx.userAddresses)) return { action: 'none', reason: 'not_organizer' };
  const replying = objects(event.data['attendees']).find((a) => lower(a['email']) !== '');
  if (!replying) return { action: 'none', reason: 'no_attendee' };
  const email = lower(replying['email']);
  if (ctx.sender !== undefined && lower(ctx.sender) !== email) return { action: 'none', reason: 'sender_mismatch' };
  const status = typeof replying['attendeeStatus'] === 'number' && STATUS_OF_REPLY.has(replying['attendeeStatus']) ? replying['attendeeStatus'] : counter ? 2 : undefined;
  const stamp = String(event.data['dtStamp'] ?? '');

  const update = (attendees: JsonObject[]): JsonObject[] | 'unknown' | 'old' => {
    const i = attendees.findIndex((a) => lower(a['email']) === email);
    if (i < 0) return 'unknown';
    const prior = attendees[i]!;
    const priorStamp = Date.parse(String(prior['replyStamp'] ?? ''));
    const newStamp = Date.parse(stamp);
    if (!Number.isNaN(priorStamp) && !Number.isNaN(newStamp) && newStamp <= priorStamp) return 'old';
    const next: JsonObject = { ...prior };
    if (status !== undefined) next['attendeeStatus'] = status;
    if (!Number.isNaN(newStamp)) next['replyStamp'] = new Date(newStamp).toISOString();
    if (counter) {
      if (event.data['startTime'] !== undefined) next['proposedStartTime'] = event.data['startTime']!;
      if (event.data['endTime'] !== undefined) next['proposedEndTime'] = event.data['endTime']!;
    } else {
      // An answer replaces an earlier proposal of the same attendee.
      delete next['proposedStartTime'];
      delete next['proposedEndTime'];
    }
    const out = [...attendees];
    out[i] = next;
    return out;
  };

  const rid = event.recurrenceIds?.[0];
  const masterAttendees = objects(current['attendees']);
  if (!rid || !current['recurrence']) {
    const r = update(masterAttendees);
    if (r === 'unknown') return { action: 'none', reason: 'unknown_attendee' };
    if (r === 'old') return { action: 'none', reason: 'duplicate' };
    return { action: 'update', data: { ...current, attendees: r } };
  }
  // One occurrence: the exception's own attendee list (made from the series' when it has none).
  const exceptions = objects(current['exceptions']);
  const existing = exceptions.find((e) => e['exceptionStartTime'] === rid);
  if (existing?.['deleted'] === true) return { action: 'none', reason: 'no_item' };
  const base = existing && Array.isArray(existing['attendees']) ? objects(existing['attendees']) : masterAttendees;
  const r = update(base);
  if (r === 'unknown') return { action: 'none', reason: 'unknown_attendee' };
  if (r === 'old') return { action: 'none', reason: 'duplicate' };
  const exception: JsonObject = { ...(existing ?? { exceptionStartTime: rid }), attendees: r };
  const list = exceptions.filter((e) => e['exceptionStartTime'] !== rid);
  list.push(exception);
  list.sort((a, b) => String(a['exceptionStartTime']).localeCompare(String(b['exceptionStartTime'])));
  return { action: 'update', data: { ...current, exceptions: list } };
}

const CDO_BUSY: Record<string, number> = { FREE: 0, TENTATIVE: 1, BUSY: 2, OOF: 3, WORKINGELSEWHERE: 4 };

/**
 * The busy status the organizer intends (X-MICROSOFT-CDO-INTENDEDSTATUS, MS-OXCICAL
 * 2.1.3.1.1.20.32): Exchange and Outlook send invitations with BUSYSTATUS TENTATIVE and the real
 * intent here, which is what accepting the meeting shows. Undefined when the text has none.
 */
export function intendedBusyStatus(icalText: string): number | undefined {
  const m = /^X-MICROSOFT-CDO-INTENDEDSTATUS:([A-Z]+)\s*$/im.exec(icalText);
  return m ? CDO_BUSY[m[1]!.toUpperCase()] : undefined;
}

/**
 * Meetings organised from a device: the invitations, updates and cancellations a device's
 * calendar change calls for, sent by the server to the attendees.
 *
 * - Who sends: before 16.0 the device itself sends them with SendMail, so the server sends
 *   nothing; from 16.0 the server sends them when it stores the change (MS-ASCMD 2.2.1.11 and
 *   2.2.1.17: in 16.x meeting messages are sent by the server, SendMail is not used for them).
 * - What: an Add of a meeting (attendees other than the user) sends a REQUEST to every attendee;
 *   a Change of times, recurrence, occurrences, subject, location, body or attendee list sends a
 *   REQUEST with the next SEQUENCE (RFC 5546 2.1.4) to the attendees and a CANCEL to those taken
 *   off; MeetingStatus "cancelled" (5, 13), or a Delete, sends a CANCEL to every attendee. A change
 *   of the user's own reminder, busy status or categories sends nothing.
 * - Only for the user's own meetings: a copy of someone else's meeting (MeetingStatus 3/7/11/15, or
 *   another ORGANIZER) never makes the user the organizer and never notifies anyone (kb-1.2).
 * - The stored item gets the SEQUENCE and DTSTAMP sent and the user as ORGANIZER, so later
 *   updates and the attendees' REPLYs line up.
 * - Mail goes through services.outbound: local attendees receive it through delivery and its
 *   meeting hook, others through the relay. A failure is logged; the device's Sync has succeeded.
 */
import type { Logger } from 'pino';
import { isAttendeeCopy } from '../classes/calendar.ts';
import { userAddresses } from '../directory/addresses.ts';
import { versionNumber, type EasVersion } from '../eas/versions.ts';
import type { OutboundMail } from '../mail/relay.ts';
import type { Folder, Item, JsonObject, User } from '../ports/types.ts';
import type { Mailbox } from '../ports/mailbox.ts';
import type { AccountsStore } from '../ports/store.ts';
import { loadAttachments } from '../classes/attachments-fetch.ts';
import { buildItipMail, occurrenceCancelICalendar, organizerICalendar, type Party } from '../calendar/meeting-mail.ts';
import { CALENDAR_FOLDER_TYPES } from './meeting-items.ts';

export interface OrganizerMessage {
  method: 'REQUEST' | 'CANCEL';
  to: Party[];
  /** The event as sent (with SEQUENCE, DTSTAMP, ORGANIZER). */
  data: JsonObject;
  /** A CANCEL of these occurrences only (original starts, ISO), not of the meeting. */
  occurrences?: string[];
}

export interface OrganizerPlan {
  /** The item's data to store after sending (SEQUENCE, DTSTAMP, ORGANIZER), when it changes. */
  data?: JsonObject;
  messages: OrganizerMessage[];
}

/** Fields whose change the attendees must hear about. */
const SIGNIFICANT = ['startTime', 'endTime', 'allDayEvent', 'recurrence', 'exceptions', 'subject', 'location', 'body', 'timezone', 'timeZone'];

const lower = (v: unknown) => (typeof v === 'string' ? v.trim().toLowerCase() : '');

function attendeesOf(data: JsonObject | undefined, self: readonly string[]): Party[] {
  const list = Array.isArray(data?.['attendees']) ? (data!['attendees'] as JsonObject[]) : [];
  const out: Party[] = [];
  for (const a of list) {
    const email = lower(a?.['email']);
    if (!email || self.includes(email) || out.some((p) => p.email === email)) continue;
    out.push({ email, name: typeof a['name'] === 'string' ? a['name'] : null });
  }
  return out;
}

const cancelled = (d: JsonObject | undefined) => typeof d?.['meetingStatus'] === 'number' && (d['meetingStatus'] & 4) === 4;

function organisedByUser(d: JsonObject, self: readonly string[]): boolean {
  if (isAttendeeCopy(d, self[0])) return false;
  const organizer = lower(d['organizerEmail']);
  return organizer === '' || self.includes(organizer);
}

/** Pure: what a device's Add (before undefined), Change or Delete (after undefined) calls for. */
export function planOrganizerMessages(before: JsonObject | undefined, after: JsonObject | undefined, user: { addresses: readonly string[]; displayName: string | null }, version: EasVersion, now: Date): OrganizerPlan {
  const none: OrganizerPlan = { messages: [] };
  if (versionNumber(version) < versionNumber('16.0')) return none;
  const self = user.addresses.map(lower);
  if (before && !organisedByUser(before, self)) return none; // kb-1.2
  if (after && !organisedByUser(after, self)) return none;
  const wasTo = attendeesOf(before, self);
  const nowTo = attendeesOf(after, self);
  const stamp = now.toISOString();
  const organizer = { organizerEmail: typeof after?.['organizerEmail'] === 'string' && after['organizerEmail'] ? after['organizerEmail'] : self[0]!, organizerName: typeof after?.['organizerName'] === 'string' && after['organizerName'] ? after['organizerName'] : (user.displayName ?? self[0]!) };

  if (!after) {
    if (!before || cancelled(before) || wasTo.length === 0) return none;
    const seq = (typeof before['sequence'] === 'number' ? before['sequence'] : 0) + 1;
    return { messages: [{ method: 'CANCEL', to: wasTo, data: { ...before, sequence: seq, dtStamp: stamp } }] };
  }
  if (nowTo.length === 0 && wasTo.length === 0) return none;
  const prevSeq = typeof before?.['sequence'] === 'number' ? before['sequence'] : -1;
  const seq = before ? prevSeq + 1 : typeof after['sequence'] === 'number' ? after['sequence'] : 0;
  const sent: JsonObject = { ...after, ...organizer, sequence: seq, dtStamp: stamp };
  if (sent['meetingStatus'] === undefined || sent['meetingStatus'] === 0) sent['meetingStatus'] = 1;

  if (!before) return nowTo.length ? { data: sent, messages: [{ method: 'REQUEST', to: nowTo, data: sent }] } : none;
  if (cancelled(after)) {
    if (cancelled(before)) return none;
    return { data: sent, messages: [{ method: 'CANCEL', to: wasTo.length ? wasTo : nowTo, data: sent }] };
  }
  const removed = wasTo.filter((p) => !nowTo.some((q) => q.email === p.email));
  const changedAttendees = removed.length > 0 || nowTo.some((q) => !wasTo.some((p) => p.email === q.email));
  const changedKeys = SIGNIFICANT.filter((k) => JSON.stringify(before[k] ?? null) !== JSON.stringify(after[k] ?? null));
  if (!changedAttendees && changedKeys.length === 0) return none;
  // Only occurrences deleted (a 16.x Delete with InstanceId, or an Exception marked Deleted):
  // a CANCEL of those occurrences, so the attendees keep the series (kb-1.1).
  const dropped = newlyDeleted(before, after);
  if (!changedAttendees && changedKeys.length === 1 && changedKeys[0] === 'exceptions' && dropped) {
    return nowTo.length ? { data: sent, messages: [{ method: 'CANCEL', to: nowTo, data: sent, occurrences: dropped }] } : none;
  }
  const messages: OrganizerMessage[] = [];
  if (nowTo.length) messages.push({ method: 'REQUEST', to: nowTo, data: sent });
  if (removed.length) messages.push({ method: 'CANCEL', to: removed, data: sent });
  return { data: sent, messages };
}

/** The occurrences deleted by this change, when that is all the change did to the exceptions. */
function newlyDeleted(before: JsonObject, after: JsonObject): string[] | undefined {
  const list = (d: JsonObject) => (Array.isArray(d['exceptions']) ? (d['exceptions'] as JsonObject[]) : []);
  const key = (e: JsonObject) => String(e['exceptionStartTime']);
  const was = new Map(list(before).map((e) => [key(e), JSON.stringify(e)]));
  const out: string[] = [];
  for (const e of list(after)) {
    const prior = was.get(key(e));
    was.delete(key(e));
    if (prior === JSON.stringify(e)) continue;
    if (e['deleted'] !== true) return undefined;
    out.push(key(e));
  }
  return was.size === 0 && out.length ? out : undefined;
}

export interface OrganizerContext {
  /** For the organizer's own addresses (the directory). */
  accounts: Pick<AccountsStore, 'directory'>;
  /** The organizer's mailbox, where the meeting is. */
  mailbox: Mailbox;
  user: User;
  version: EasVersion;
  outbound?: OutboundMail;
  log: Pick<Logger, 'info' | 'warn'>;
  now?: () => Date;
}

/** The sync engine's hook (SyncContext.onClientItemChange) for calendar folders. */
export async function afterClientCalendarChange(ctx: OrganizerContext, folder: Folder, before: Item | undefined, after: Item | undefined): Promise<void> {
  if (!CALENDAR_FOLDER_TYPES.has(folder.type)) return;
  if (versionNumber(ctx.version) < versionNumber('16.0')) return;
  try {
    await notifyAttendees(ctx, before, after);
  } catch (err) {
    // The device's change is stored and answered; a failure here must not fail its Sync.
    ctx.log.warn({ err, uid: after?.uid ?? before?.uid }, 'meeting: attendees not notified');
  }
}

async function notifyAttendees(ctx: OrganizerContext, before: Item | undefined, after: Item | undefined): Promise<void> {
  const addresses = (await userAddresses(ctx.accounts, ctx.user)).map(lower);
  const now = (ctx.now ?? (() => new Date()))();
  const plan = planOrganizerMessages(before?.data, after?.data, { addresses, displayName: ctx.user.displayName }, ctx.version, now);
  if (plan.messages.length === 0) return;
  if (!ctx.outbound) {
    ctx.log.warn({ uid: after?.uid ?? before?.uid }, 'meeting: no outbound mail service, attendees not notified');
    return;
  }
  // Recorded before sending: a local attendee may answer at once (a resource mailbox books itself
  // during delivery, resource-hook.ts), and its REPLY must find the item with ORGANIZER and SEQUENCE.
  if (plan.data && after) {
    try {
      await ctx.mailbox.updateItem(after.id, { data: plan.data, expectedModseq: after.modseq });
    } catch (err) {
      ctx.log.warn({ err, itemId: after.id }, 'meeting: SEQUENCE not recorded (the item changed meanwhile)');
    }
  }
  const from: Party = { email: ctx.user.email, name: ctx.user.displayName };
  for (const m of plan.messages) {
    const subject = typeof m.data['subject'] === 'string' ? m.data['subject'] : '';
    const raw = await buildItipMail({
      from,
      to: m.to,
      subject: m.method === 'CANCEL' ? `Canceled: ${subject}` : subject,
      text: m.method === 'CANCEL' ? 'This meeting has been cancelled.' : '',
      method: m.method,
      // An invitation carries the event's attachments (16.0+ devices add them; attachments.ts).
      ics: m.occurrences ? occurrenceCancelICalendar(m.data, m.occurrences) : organizerICalendar(m.data, m.method, m.method === 'REQUEST' ? await loadAttachments(ctx.mailbox, m.data, ctx.log) : undefined),
      now,
    });
    try {
      await ctx.outbound.send({ from: ctx.user.email, recipients: m.to.map((p) => p.email), raw });
      ctx.log.info({ uid: m.data['uid'], method: m.method, recipients: m.to.length }, 'meeting message sent');
    } catch (err) {
      ctx.log.warn({ err, uid: m.data['uid'], method: m.method }, 'meeting message could not be sent');
    }
  }
}

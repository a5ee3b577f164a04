/**
 * The I/O side of resource booking (decisions in resource-booking.ts), used by the meeting
 * delivery hook (meeting-hook.ts) when the recipient is a resource mailbox (`easd user set
 * --resource room|equipment`): reads the resource's calendars, turns the iTIP decision into the
 * booking decision, and mails the answer to the organizer through services.outbound (a local
 * organizer gets it by local delivery, where the REPLY processing records the resource's status
 * on the organizer's meeting).
 *
 * The REPLY names the resource as its only ATTENDEE and comes From the resource (RFC 5546 3.2.3,
 * kb-1.3), written by meeting-mail.ts like a user's MeetingResponse. A failure to send is logged
 * and never loses the delivered invitation; the calendar keeps the decision.
 */
import type { OutboundMail } from '../mail/relay.ts';
import type { Mailbox } from '../ports/mailbox.ts';
import type { JsonObject, User } from '../ports/types.ts';
import type { AccountsStore } from '../ports/store.ts';
import type { ParsedEvent } from '../calendar/icalendar.ts';
import type { ItipDecision } from '../calendar/itip.ts';
import { buildItipMail, replyICalendar, replySubject } from '../calendar/meeting-mail.ts';
import { CALENDAR_FOLDER_TYPES } from './meeting-items.ts';
import { bookResource, type BookedItem, type Booking } from '../calendar/resource-booking.ts';

interface HookLog {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

export interface ResourceBookingOptions {
  /** Whether the user is a resource (the directory). */
  accounts: Pick<AccountsStore, 'directory'>;
  /** The resource's mailbox, whose calendars a booking may conflict with. */
  mailbox: Mailbox;
  user: User;
  /** The resource's addresses, lower case. */
  addresses: readonly string[];
  outbound?: () => OutboundMail | undefined;
  log?: HookLog;
  now?: () => Date;
}

const PAGE = 500;

/**
 * One booking at a time per resource (in this process): from reading the calendar to writing the
 * decision, so two requests for one slot delivered at once cannot both find it free. A holder
 * that never releases (an error between review and answer) lets go after HOLD_MS.
 */
const HOLD_MS = 30_000;
const queues = new Map<string, Promise<void>>();

async function acquire(key: string): Promise<() => void> {
  const prev = queues.get(key) ?? Promise.resolve();
  let release!: () => void;
  const mine = new Promise<void>((r) => (release = r));
  const tail = prev.then(() => mine);
  queues.set(key, tail);
  await prev;
  const timer = setTimeout(() => release(), HOLD_MS);
  timer.unref();
  return () => {
    clearTimeout(timer);
    release();
    if (queues.get(key) === tail) queues.delete(key);
  };
}

/** Every live item of the user's calendars (the items a booking can conflict with). */
async function calendarItems(mailbox: Mailbox): Promise<BookedItem[]> {
  const out: BookedItem[] = [];
  for (const folder of await mailbox.listFolders()) {
    if (!CALENDAR_FOLDER_TYPES.has(folder.type)) continue;
    for await (const item of mailbox.scan(folder.id, { pageSize: PAGE })) if (item.class === 'Calendar') out.push({ uid: item.uid, data: item.data });
  }
  return out;
}

export interface ResourceBooking {
  /** The booking decision replacing `decision` inside the write (called again on a retry). */
  review(method: string, event: ParsedEvent, decision: ItipDecision, current: JsonObject | undefined): Promise<ItipDecision>;
  /** After the write: lets the next booking of the resource go, logs the outcome and mails the answer of the last review, if any. */
  answer(uid: string): Promise<void>;
}

/** A booking session for one delivered message, or undefined when the user is not a resource. */
export async function resourceBooking(opts: ResourceBookingOptions): Promise<ResourceBooking | undefined> {
  const kind = await opts.accounts.directory.getResource(opts.user.id);
  if (!kind) return undefined;
  const { mailbox, user, addresses, log } = opts;
  const now = opts.now ?? (() => new Date());
  let last: Booking | undefined;
  let release: (() => void) | undefined;
  return {
    async review(method, event, decision, current) {
      const uid = typeof event.data['uid'] === 'string' ? event.data['uid'] : '';
      const request = method.toUpperCase() === 'REQUEST';
      // Held until answer(): a retry of the write reviews again under the same hold.
      if (request && !release) release = await acquire(user.id);
      const calendar = request ? await calendarItems(mailbox) : [];
      last = bookResource(method, uid, decision, current, event.recurrenceIds?.[0], { addresses, calendar, now: now() });
      return last.decision;
    },
    async answer(uid) {
      release?.();
      release = undefined;
      const booking = last;
      last = undefined;
      if (!booking?.answer || !booking.item) return;
      const accepted = booking.answer === 1;
      const c = booking.conflict;
      log?.info({ userId: user.id, resource: kind, uid, accepted, ...(c ? { conflictUid: c.uid, conflictStart: c.start.toISOString() } : {}) }, accepted ? 'resource: meeting accepted' : 'resource: meeting declined, conflict');
      const organizer = typeof booking.item['organizerEmail'] === 'string' ? booking.item['organizerEmail'].trim() : '';
      const outbound = opts.outbound?.();
      if (!organizer || !outbound) {
        log?.warn({ userId: user.id, uid, organizer: organizer || null }, 'resource: answer not sent (no organizer or no outbound mail service)');
        return;
      }
      const at = now();
      const me = { email: user.email, name: user.displayName ?? null };
      const { method, ics } = replyICalendar(booking.item, { attendee: me, userResponse: booking.answer, ...(booking.instance ? { instance: booking.instance } : {}), now: at });
      const subject = typeof booking.item['subject'] === 'string' ? booking.item['subject'] : undefined;
      const name = user.displayName || user.email;
      const text = accepted ? `${name} accepted this meeting.` : `${name} declined this meeting: it is booked at that time${c?.subject ? ` (${c.subject})` : ''}.`;
      try {
        const raw = await buildItipMail({ from: me, to: [{ email: organizer, name: typeof booking.item['organizerName'] === 'string' ? booking.item['organizerName'] : null }], subject: replySubject(booking.answer, subject, false), text, method, ics, now: at });
        await outbound.send({ from: user.email, recipients: [organizer], raw });
      } catch (err) {
        log?.warn({ userId: user.id, uid, err: err instanceof Error ? err.message : String(err) }, 'resource: answer to the organizer failed');
      }
    },
  };
}

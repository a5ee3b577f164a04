/**
 * Meetings through mail: an afterDelivery hook (src/mail/deliver.ts) that processes the
 * text/calendar parts of each delivered message (iTIP, RFC 5546; decisions in itip.ts) against
 * the recipient's calendar, and fills the delivered Email item's meeting fields: MessageClass
 * IPM.Schedule.Meeting.Request / .Canceled / .Resp.Pos|Neg|Tent and, for invitations and
 * cancellations, the MeetingRequest element's data (src/classes/meeting-request.ts).
 *
 * - The calendar item is found by UID among the user's calendar items (meeting-items.ts) and
 *   written with optimistic concurrency, so replies from several attendees delivered at once
 *   all count.
 * - A REPLY or COUNTER is taken only from the attendee it speaks for: the message's From address
 *   must be that ATTENDEE (kb-1.3).
 * - Bad input: a text/calendar part that is not iCalendar is logged and changes no calendar item;
 *   the message stays in the Inbox as ordinary mail (MessageClass IPM.Note), so no device offers
 *   to answer it.
 * - Bounded (meeting-limit.ts): at most `maxEventsPerMessage` meetings per message, and as many
 *   occurrence changes per meeting; the rest is logged at warn and reported to the user once by a
 *   notice in their Inbox.
 * - Runs once per recipient and message; a failure is logged by delivery and never loses the mail.
 */
import { userAddresses } from '../directory/addresses.ts';
import { addressesOf, type ParsedMessage } from '../mail/parse.ts';
import type { MailboxProvider } from '../ports/mailbox.ts';
import type { JsonObject } from '../ports/types.ts';
import type { AccountsStore } from '../ports/store.ts';
import { applyItip, intendedBusyStatus, type ItipDecision } from '../calendar/itip.ts';
import { ICalendarError, parseICalendar } from '../calendar/icalendar.ts';
import { addOmitted, anyOmitted, noneOmitted } from '../calendar/omitted-events.ts';
import { meetingMessageClass, meetingRequestData, type MeetingMessageType } from '../classes/meeting-request.ts';
import { updateWithRetry } from './meeting-items.ts';
import type { OutboundMail } from '../mail/relay.ts';
import { resourceBooking } from './resource-hook.ts';
import { DEFAULT_MAX_EVENTS_PER_MESSAGE, INBOX_TYPE, omittedNoticeData } from './meeting-limit.ts';

interface HookLog {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

export interface MeetingHookOptions {
  /** The recipient and their addresses (aliases), and whether they are a resource. */
  accounts: Pick<AccountsStore, 'getUserById' | 'directory'>;
  /** The recipients' mailboxes: the hook runs for delivery, outside any request of theirs. */
  mailboxes: MailboxProvider;
  log?: HookLog;
  /** Where a resource mailbox's answers go out (resource-hook.ts); none: resources book without answering. */
  outbound?: () => OutboundMail | undefined;
  /** Most meetings one message may create or change, and occurrence changes per meeting (`--max-events-per-message`). */
  maxEventsPerMessage?: number;
}

const HANDLED = new Set(['REQUEST', 'CANCEL', 'REPLY', 'COUNTER']);

export function meetingHook(opts: MeetingHookOptions) {
  const { accounts, log } = opts;
  const limit = opts.maxEventsPerMessage ?? DEFAULT_MAX_EVENTS_PER_MESSAGE;
  return async (userId: string, itemId: string, parsed: ParsedMessage): Promise<void> => {
    if (parsed.calendarParts.length === 0) return;
    const user = await accounts.getUserById(userId);
    if (!user) return;
    const mailbox = opts.mailboxes.open(userId);
    const addresses = (await userAddresses(accounts, user)).map((a) => a.toLowerCase());
    const sender = addressesOf(parsed.mail?.from)[0];
    // Rooms and equipment book themselves (resource-booking.ts).
    const booking = await resourceBooking({ accounts, mailbox, user, addresses, outbound: opts.outbound, ...(log ? { log } : {}) });
    const mailPatch: JsonObject = {};
    // One budget for the whole message, whatever number of text/calendar parts carry it.
    let budget = limit;
    const omitted = noneOmitted();
    for (const text of parsed.calendarParts) {
      let cal;
      try {
        cal = parseICalendar(text, { maxEvents: budget, maxOverrides: limit });
      } catch (err) {
        if (!(err instanceof ICalendarError)) throw err;
        log?.warn({ userId, itemId, err: err.message }, 'meeting: unreadable text/calendar part, delivered as plain mail');
        if (Object.keys(mailPatch).length === 0) mailPatch['messageClass'] = 'IPM.Note';
        continue;
      }
      const method = cal.method ?? '';
      if (!HANDLED.has(method)) continue;
      budget -= cal.events.length;
      if (cal.omitted) addOmitted(omitted, cal.omitted);
      for (const event of cal.events) {
        const uid = typeof event.data['uid'] === 'string' ? event.data['uid'] : '';
        if (!uid) {
          log?.warn({ userId, itemId, method }, 'meeting: VEVENT without UID ignored');
          continue;
        }
        const intended = method === 'REQUEST' ? intendedBusyStatus(text) : undefined;
        if (intended !== undefined) event.data['busyStatus'] = intended;
        let decision: ItipDecision = { action: 'none', reason: 'no_item' };
        let hadItem = false;
        await updateWithRetry(mailbox, uid, async (current) => {
          hadItem = current !== undefined;
          decision = applyItip(method, event, current?.data, { userAddresses: addresses, ...(sender ? { sender } : {}) });
          if (booking) decision = await booking.review(method, event, decision, current?.data);
          if (decision.action === 'create') return { create: decision.data };
          if (decision.action === 'update') return { data: decision.data };
          if (decision.action === 'delete') return { delete: true };
          return undefined;
        });
        const d = decision as ItipDecision;
        await booking?.answer(uid);
        log?.info({ userId, itemId, method, uid, action: d.action, ...(d.action === 'none' ? { reason: d.reason } : {}) }, 'meeting message processed');
        const messageClass = meetingMessageClass(method, event);
        if (messageClass) mailPatch['messageClass'] = messageClass;
        if ((method === 'REQUEST' || method === 'CANCEL') && !(d.action === 'none' && d.reason === 'own_meeting')) {
          mailPatch['meetingRequest'] = meetingRequestData(method, event, messageTypeOf(method, d, hadItem), addresses);
        }
      }
    }
    if (Object.keys(mailPatch).length > 0) {
      const mail = await mailbox.getItem(itemId);
      if (mail) await mailbox.updateItem(itemId, { data: { ...mail.data, ...mailPatch } });
    }
    // Told last, once the message is what it should be; the hook runs once per delivery, so once.
    if (anyOmitted(omitted)) {
      log?.warn({ userId, itemId, limit, omittedEvents: omitted.events, omittedOverrides: omitted.overrides }, 'meeting: the message carries more events than --max-events-per-message allows; the rest is left out');
      const inbox = (await mailbox.listFolders()).find((f) => f.type === INBOX_TYPE);
      const message = { subject: parsed.mail?.subject, from: sender };
      if (inbox) await mailbox.putItem({ folderId: inbox.id, class: 'Email', data: omittedNoticeData(user.email, message, omitted, limit, new Date()) });
    }
  };
}

/** MS-ASEMAIL 2.2.2.47: 1 new, 2 full update, 4 outdated, 0 for cancellations and the rest. */
function messageTypeOf(method: string, d: ItipDecision, hadItem: boolean): MeetingMessageType {
  if (method !== 'REQUEST') return 0;
  if (d.action === 'create') return 1;
  if (d.action === 'update') return 2;
  if (d.action === 'none' && d.reason === 'outdated') return 4;
  return hadItem ? 2 : 1;
}

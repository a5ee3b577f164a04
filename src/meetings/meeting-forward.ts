/**
 * Forwarding a meeting, the I/O side (decisions in src/calendar/meeting-forward.ts): the forwardees'
 * invitation goes out, then the organizer is told (MS-ASCMD 2.2.1.19 SmartForward and 3.1.5.7;
 * MS-OXOCAL 2.2.9 Meeting Forward Notification, 3.1.4.7.2).
 *
 * - The invitation is an iMIP REQUEST (RFC 6047) From the forwarding user, with the organizer's
 *   ORGANIZER: a local forwardee's delivery hook makes it a tentative meeting they can answer, an
 *   outside forwardee's client shows it as an invitation. A plain appointment (no organizer) is
 *   sent as a PUBLISH copy (RFC 5546 3.2.1): nobody is told, nothing is answered.
 * - The organizer, when someone else forwards: a "Meeting Forward Notification: <subject>" mail
 *   (the subject Exchange gives it; Auto-Submitted: auto-generated, RFC 3834, so no automatic
 *   reply answers it) naming the forwardees. When the organizer is a user of this server the
 *   forwardees are also added to the organizer's meeting as optional attendees, so their REPLYs
 *   count (src/calendar/itip.ts takes replies only from invited attendees); only when the
 *   forwarder is an attendee of that meeting (a user cannot add people to a meeting they were not
 *   invited to by forwarding a copy they made up). The organizer forwarding their own meeting:
 *   the forwardees are added to it, and nobody is notified.
 * - The invitation failing is the command's failure (the caller answers with the status); what
 *   follows it (Sent Items copy, notification, the organizer's meeting) is logged when it fails,
 *   the forward itself has been sent.
 */
import type { Logger } from 'pino';
import { userAddresses } from '../directory/addresses.ts';
import { fileMessage } from '../mail/deliver.ts';
import type { OutboundMail } from '../mail/relay.ts';
import type { Mailbox, MailboxProvider } from '../ports/mailbox.ts';
import type { AccountsStore } from '../ports/store.ts';
import type { JsonObject, User } from '../ports/types.ts';
import { eventToICalendar } from '../calendar/icalendar.ts';
import { isOrganizer } from '../calendar/itip.ts';
import { buildItipMail, buildNotificationMail, occurrenceRequestICalendar, organizerICalendar } from '../calendar/meeting-mail.ts';
import {
  FORWARD_NOTIFICATION_PREFIX,
  forwardedEvent,
  forwardNotificationText,
  isAttendee,
  isMeeting,
  organizerWithForwardees,
  type Forwardee,
} from '../calendar/meeting-forward.ts';
import { updateWithRetry } from './meeting-items.ts';

export type { Forwardee } from '../calendar/meeting-forward.ts';

const SENT_ITEMS_TYPE = 5;

export interface ForwardContext {
  /** The users' addresses (aliases) and who has an address, for a local organizer. */
  accounts: Pick<AccountsStore, 'directory' | 'getUserById'>;
  /** Opens a local organizer's mailbox. */
  mailboxes: MailboxProvider;
  /** The forwarding user's mailbox (Sent Items, their own meeting). */
  mailbox: Mailbox;
  user: User;
  outbound: OutboundMail;
  log: Pick<Logger, 'info' | 'warn'>;
  now?: () => Date;
}

export interface MeetingForward {
  /** The forwarder's copy of the meeting (their calendar item, or the invitation they hold). */
  event: JsonObject;
  uid: string;
  /** One occurrence (its original start, ISO), or the whole meeting. */
  instance?: string;
  to: Forwardee[];
  cc?: Forwardee[];
  /** Invisible recipients (a forward written as MIME with Bcc). */
  bcc?: Forwardee[];
  subject: string;
  text: string;
  html?: string;
  saveInSent: boolean;
}

export interface ForwardOutcome {
  recipients: number;
  /** What the organizer got: notified by mail, their meeting updated, or nothing (own meeting, appointment). */
  organizer: 'notified' | 'updated' | 'own' | 'none';
}

const subjectOf = (d: JsonObject) => (typeof d['subject'] === 'string' ? d['subject'] : '');

/** Sends the forwardees' invitation and tells the organizer. Throws what outbound.send throws for the invitation. */
export async function forwardMeeting(ctx: ForwardContext, f: MeetingForward): Promise<ForwardOutcome> {
  const now = (ctx.now ?? (() => new Date()))();
  const all = [...f.to, ...(f.cc ?? []), ...(f.bcc ?? [])];
  const meeting = isMeeting(f.event);
  let method: 'REQUEST' | 'PUBLISH';
  let ics: string;
  if (meeting) {
    const data = forwardedEvent(f.event, all, f.instance);
    method = 'REQUEST';
    ics = f.instance ? occurrenceRequestICalendar(data) : organizerICalendar(data, 'REQUEST');
  } else {
    const { reminder: _r, categories: _c, ...copy } = f.event;
    method = 'PUBLISH';
    ics = eventToICalendar(copy, { method });
  }
  const from = { email: ctx.user.email, name: ctx.user.displayName };
  const raw = await buildItipMail({ from, to: f.to, ...(f.cc?.length ? { cc: f.cc } : {}), subject: f.subject, text: f.text, ...(f.html !== undefined ? { html: f.html } : {}), method, ics, now });
  await ctx.outbound.send({ from: ctx.user.email, recipients: all.map((p) => p.email), raw });
  ctx.log.info({ uid: f.uid, method, recipients: all.length, instance: f.instance ?? null }, 'meeting forwarded');

  if (f.saveInSent) {
    try {
      const res = await fileMessage(ctx.mailbox, ctx.user.email, raw, { folderType: SENT_ITEMS_TYPE, extraData: { read: true } });
      if (res.outcome !== 'delivered') ctx.log.warn({ uid: f.uid }, 'forwarded meeting: the Sent Items copy was not stored (the forward was sent)');
    } catch (err) {
      ctx.log.warn({ err, uid: f.uid }, 'forwarded meeting: the Sent Items copy was not stored (the forward was sent)');
    }
  }
  if (!meeting) return { recipients: all.length, organizer: 'none' };
  try {
    return { recipients: all.length, organizer: await tellOrganizer(ctx, f, all, now) };
  } catch (err) {
    ctx.log.warn({ err, uid: f.uid }, 'forwarded meeting: the organizer was not told (the forward was sent)');
    return { recipients: all.length, organizer: 'none' };
  }
}

async function tellOrganizer(ctx: ForwardContext, f: MeetingForward, forwardees: Forwardee[], now: Date): Promise<ForwardOutcome['organizer']> {
  const mine = (await userAddresses(ctx.accounts, ctx.user)).map((a) => a.toLowerCase());
  const organizer = String(f.event['organizerEmail']).trim().toLowerCase();
  if (mine.includes(organizer)) {
    // The organizer forwards: the forwardees join the meeting; there is nobody to tell.
    await updateWithRetry(ctx.mailbox, f.uid, async (current) => {
      if (!current || !isOrganizer(current.data, mine)) return undefined;
      const next = organizerWithForwardees(current.data, forwardees, f.instance);
      return next ? { data: next } : undefined;
    });
    return 'own';
  }
  let updated = false;
  const organizerId = await ctx.accounts.directory.findUserIdByAddress(organizer);
  const organizerUser = organizerId ? await ctx.accounts.getUserById(organizerId) : null;
  if (organizerUser) {
    const theirs = (await userAddresses(ctx.accounts, organizerUser)).map((a) => a.toLowerCase());
    await updateWithRetry(ctx.mailboxes.open(organizerUser.id), f.uid, async (current) => {
      if (!current || !isOrganizer(current.data, theirs)) return undefined;
      if (!isAttendee(current.data, mine)) {
        ctx.log.warn({ uid: f.uid, organizer: organizerUser.email }, 'forwarded meeting: the forwarder is not an attendee of the organizer\'s meeting; its attendees stay as they are');
        return undefined;
      }
      const next = organizerWithForwardees(current.data, forwardees, f.instance);
      if (!next) return undefined;
      updated = true;
      return { data: next };
    });
  }
  const subject = subjectOf(f.event);
  const raw = await buildNotificationMail({
    from: { email: ctx.user.email, name: ctx.user.displayName },
    to: [{ email: organizer, name: typeof f.event['organizerName'] === 'string' ? f.event['organizerName'] : null }],
    subject: FORWARD_NOTIFICATION_PREFIX + subject,
    text: forwardNotificationText({ email: ctx.user.email, name: ctx.user.displayName }, subject, forwardees, f.instance),
    now,
  });
  await ctx.outbound.send({ from: ctx.user.email, recipients: [organizer], raw });
  ctx.log.info({ uid: f.uid, organizer, local: organizerUser !== null, attendeesAdded: updated }, 'meeting forward notification sent');
  return updated ? 'updated' : 'notified';
}

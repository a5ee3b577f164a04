/**
 * MeetingResponse (MS-ASCMD 2.2.1.11): accept (1), tentatively accept (2) or decline (3) a
 * meeting, named by a request in a mail folder (CollectionId + RequestId, or LongId from Search)
 * or by the meeting's item in a calendar; the whole meeting or one occurrence (InstanceId, 14.1+).
 *
 * - The user's calendar item (matched by UID, src/meetings/meeting-items.ts) takes the answer
 *   (src/calendar/meeting-answer.ts); a declined meeting moves to Deleted Items. When the user
 *   removed the tentative item, it is made again from the invitation the mail holds.
 * - Result: RequestId (as sent), Status, and CalendarId, the calendar item's ServerId, unless
 *   declined (MS-ASCMD 2.2.3.18).
 * - Mail to the organizer: from 16.0 the server sends the iTIP REPLY (COUNTER when 16.1
 *   ProposedStartTime/EndTime are given) only when SendResponse is present (MS-ASCMD 2.2.3.163),
 *   with its Body as the text; before 16.0 the device sends it with SendMail and the server sends
 *   nothing. The REPLY comes from the authenticated mailbox owner, with the owner as the only
 *   ATTENDEE (kb-1.3), through services.outbound (a local organizer's calendar then takes it
 *   through the delivery hook). A meeting that asks for no response gets none.
 * - Repeated identical answers (same answer, same occurrence, same version of the meeting) are
 *   answered with Status 1 and the same CalendarId, without writing or mailing again (kb-1.8).
 * - The answer is mailed before it is stored: when sending fails the device is told (Status 4,
 *   3 without an outbound service) and its retry is processed in full.
 * Statuses (MS-ASCMD 2.2.3.177.10): 1 success; 2 invalid meeting request (no such item in that
 * folder, not a meeting the user is invited to, a cancellation, the user's own meeting, a bad
 * UserResponse or InstanceId); 3 server mailbox error; 4 the mail to the organizer failed.
 * A request that is not MeetingResponse is answered with HTTP 400.
 */
import { userAddresses } from '../directory/addresses.ts';
import { answerMeeting, type UserResponse } from '../calendar/meeting-answer.ts';
import { findMeetingItems, DELETED_ITEMS_TYPE } from '../meetings/meeting-items.ts';
import { buildItipMail, replyICalendar, replySubject } from '../calendar/meeting-mail.ts';
import { applyItip, isOrganizer } from '../calendar/itip.ts';
import { parseICalendar } from '../calendar/icalendar.ts';
import { parseEasDate } from '../classes/fields.ts';
import { versionNumber } from '../eas/versions.ts';
import { OutboundError } from '../mail/relay.ts';
import { parseMessage } from '../mail/parse.ts';
import { resolveLongId } from '../mail/search.ts';
import type { Mailbox } from '../ports/mailbox.ts';
import { isStoreError, type Item, type JsonObject } from '../ports/types.ts';
import { child, childText, children, el, type WbxmlElement } from '../wbxml/tree.ts';
import type { CommandContext, CommandHandler, CommandResult } from './types.ts';

const NS = 'MeetingResponse';
const ASB = 'AirSyncBase';

export const MeetingResponseStatus = {
  Success: 1,
  InvalidRequest: 2,
  MailboxError: 3,
  ExternalError: 4,
} as const;

interface Outcome {
  status: number;
  calendarId?: string;
}

export const meetingResponse: CommandHandler = async (ctx): Promise<CommandResult> => {
  const req = ctx.request;
  if (!req || req.ns !== NS || req.name !== 'MeetingResponse') return { httpStatus: 400, logFields: { reason: 'no MeetingResponse in the request' } };
  const results: WbxmlElement[] = [];
  let sent = 0;
  const addresses = (await userAddresses(ctx.accounts, ctx.user)).map((a) => a.toLowerCase());
  for (const r of children(req, 'Request', NS)) {
    const requestId = childText(r, 'RequestId', NS);
    let outcome: Outcome;
    try {
      outcome = await respond(ctx, r, addresses, () => sent++);
    } catch (err) {
      ctx.log.error({ err }, 'MeetingResponse failed');
      outcome = { status: MeetingResponseStatus.MailboxError };
    }
    results.push(
      el(
        NS,
        'Result',
        requestId !== undefined ? el(NS, 'RequestId', requestId) : null,
        el(NS, 'Status', outcome.status),
        outcome.calendarId !== undefined ? el(NS, 'CalendarId', outcome.calendarId) : null,
      ),
    );
  }
  const first = results[0] ? childText(results[0], 'Status', NS) : undefined;
  return { body: el(NS, 'MeetingResponse', results), easStatus: first ?? '', logFields: { requests: results.length, sent } };
};

async function sourceItem(ctx: CommandContext, r: WbxmlElement): Promise<Item | null> {
  const { mailbox } = ctx;
  const longId = childText(r, 'LongId', 'Search');
  if (longId !== undefined) return resolveLongId(mailbox, longId);
  const collectionId = childText(r, 'CollectionId', NS);
  const requestId = childText(r, 'RequestId', NS);
  if (collectionId === undefined || requestId === undefined) return null;
  const folder = await mailbox.getFolderByServerId(collectionId);
  const item = folder ? await mailbox.getItemByServerId(requestId) : null;
  return item && folder && item.folderId === folder.id ? item : null;
}

async function respond(ctx: CommandContext, r: WbxmlElement, addresses: string[], countSent: () => void): Promise<Outcome> {
  const { mailbox, user } = ctx;
  const invalid = { status: MeetingResponseStatus.InvalidRequest };
  const responseText = childText(r, 'UserResponse', NS);
  if (responseText !== '1' && responseText !== '2' && responseText !== '3') return invalid;
  const response = Number(responseText) as UserResponse;
  const instanceText = childText(r, 'InstanceId', NS);
  let instance: string | undefined;
  if (instanceText !== undefined) {
    const d = parseEasDate(instanceText);
    if (!d) return invalid;
    instance = d.toISOString();
  }
  const source = await sourceItem(ctx, r);
  if (!source) return invalid;

  let uid: string | undefined;
  let request: JsonObject | undefined;
  if (source.class === 'Email') {
    const mr = source.data['meetingRequest'];
    if (!mr || typeof mr !== 'object' || Array.isArray(mr) || mr['method'] === 'CANCEL' || typeof mr['uid'] !== 'string') return invalid;
    request = mr;
    uid = mr['uid'];
    if (!instance && mr['instanceType'] === 3 && typeof mr['recurrenceId'] === 'string') instance = mr['recurrenceId'];
  } else if (source.class === 'Calendar') {
    uid = source.uid ?? (typeof source.data['uid'] === 'string' ? source.data['uid'] : undefined);
  } else {
    return invalid;
  }
  if (!uid) return invalid;

  const found = await findMeetingItems(mailbox, uid);
  let item = source.class === 'Calendar' ? source : found.item;
  if (!item) {
    // Declined before: the item is in Deleted Items with the answer recorded.
    const trashed = found.trashed.find((t) => t.data['responseType'] === 4);
    if (trashed && response === 3 && !instance) {
      const mailNow = versionNumber(ctx.version) >= versionNumber('16.0') && child(r, 'SendResponse', NS) !== undefined;
      if (trashed.data['answerMailed'] === true || !mailNow) return { status: MeetingResponseStatus.Success };
      item = trashed; // declined without a reply before; the reply is asked for now
    } else {
      item = await recreateFromInvitation(mailbox, source, addresses);
    }
    if (!item) return invalid;
  }
  // Only someone else's meeting can be answered: not the user's own, not a plain appointment.
  const organizerOf = typeof item.data['organizerEmail'] === 'string' ? item.data['organizerEmail'].trim() : '';
  if (organizerOf === '' || isOrganizer(item.data, addresses)) return invalid;
  const now = new Date();
  // An item made from an invitation to one occurrence only is that occurrence: answered whole,
  // while the REPLY still names the occurrence (RECURRENCE-ID).
  const onItem = !item.data['recurrence'] && instance !== undefined && item.data['recurrenceId'] === instance ? undefined : instance;
  const sendResponse = child(r, 'SendResponse', NS);
  const wantsMail = versionNumber(ctx.version) >= versionNumber('16.0') && sendResponse !== undefined && item.data['responseRequested'] !== false && request?.['responseRequested'] !== false;
  const organizer = organizerOf;
  const answer = answerMeeting(item.data, response, onItem, addresses, now, { mailed: wantsMail });
  if (answer.kind === 'not_an_occurrence') return invalid;
  const calendarId = response === 3 ? undefined : item.serverId;
  if (answer.kind === 'duplicate') {
    ctx.log.info({ uid, response, instance }, 'MeetingResponse repeated: acknowledged, nothing sent');
    return { status: MeetingResponseStatus.Success, ...(calendarId ? { calendarId } : {}) };
  }

  // Mail first (see the header): a failure leaves the calendar as it was.
  if (wantsMail) {
    const outbound = ctx.services.outbound;
    if (!outbound) {
      ctx.log.warn({ uid }, 'MeetingResponse: no outbound mail service, reply not sent');
      return { status: MeetingResponseStatus.MailboxError };
    }
    const start = childText(sendResponse!, 'ProposedStartTime', NS);
    const end = childText(sendResponse!, 'ProposedEndTime', NS);
    const ps = start !== undefined ? parseEasDate(start) : undefined;
    const pe = end !== undefined ? parseEasDate(end) : undefined;
    if ((start !== undefined && !ps) || (end !== undefined && !pe) || (ps && pe && pe < ps)) return invalid;
    const proposed = ps && response !== 1 ? { start: ps.toISOString(), end: (pe ?? new Date(ps.getTime() + durationOf(item.data))).toISOString() } : undefined;
    const me = { email: user.email, name: user.displayName };
    const { method, ics } = replyICalendar(item.data, { attendee: me, userResponse: response, ...(instance ? { instance } : {}), ...(proposed ? { proposed } : {}), now });
    const bodyText = childText(child(sendResponse!, 'Body', ASB) ?? el(ASB, 'Body'), 'Data', ASB) ?? '';
    const raw = await buildItipMail({
      from: me,
      to: [{ email: organizer, name: typeof item.data['organizerName'] === 'string' ? item.data['organizerName'] : null }],
      subject: replySubject(response, typeof item.data['subject'] === 'string' ? item.data['subject'] : undefined, method === 'COUNTER'),
      text: bodyText,
      method,
      ics,
      now,
    });
    try {
      await outbound.send({ from: user.email, recipients: [organizer], raw });
      countSent();
    } catch (err) {
      ctx.log.warn({ err, uid }, 'MeetingResponse: the reply to the organizer could not be sent');
      return { status: err instanceof OutboundError && (err.code === 'relay_failed' || err.code === 'no_relay' || err.code === 'too_large') ? MeetingResponseStatus.ExternalError : MeetingResponseStatus.MailboxError };
    }
  }

  // Stored against the version read; an update delivered meanwhile is read again and answered too.
  let toStore: { data: JsonObject; kind: 'update' | 'remove' } = answer;
  let current = item;
  let updated: Item;
  for (let attempt = 0; ; attempt++) {
    try {
      updated = await mailbox.updateItem(current.id, { data: toStore.data, uid, expectedModseq: current.modseq });
      break;
    } catch (err) {
      if (attempt >= 3 || !isStoreError(err, 'conflict')) throw err;
      const fresh = await mailbox.getItem(current.id);
      if (!fresh) return { status: MeetingResponseStatus.MailboxError };
      const again = answerMeeting(fresh.data, response, onItem, addresses, now, { mailed: wantsMail });
      if (again.kind === 'duplicate') return { status: MeetingResponseStatus.Success, ...(calendarId ? { calendarId } : {}) };
      if (again.kind === 'not_an_occurrence') return { status: MeetingResponseStatus.InvalidRequest };
      current = fresh;
      toStore = again;
    }
  }
  if (toStore.kind === 'remove') {
    const trash = found.folders.find((f) => f.type === DELETED_ITEMS_TYPE);
    if (!trash) await mailbox.deleteItem(updated.id);
    else if (trash.id !== updated.folderId) await mailbox.moveItem(updated.id, trash.id);
  }
  ctx.log.info({ uid, response, instance }, 'meeting answered');
  return { status: MeetingResponseStatus.Success, ...(calendarId ? { calendarId } : {}) };
}

function durationOf(data: JsonObject): number {
  const d = Date.parse(String(data['endTime'])) - Date.parse(String(data['startTime']));
  return Number.isNaN(d) || d < 0 ? 0 : d;
}

/**
 * The tentative calendar item of an invitation whose item the user removed: made again from the
 * text/calendar part of the message the Email item keeps (as delivery made it first).
 */
async function recreateFromInvitation(mailbox: Mailbox, source: Item, addresses: string[]): Promise<Item | undefined> {
  if (source.class !== 'Email') return undefined;
  const mime = source.data['mime'];
  const sha = mime && typeof mime === 'object' && !Array.isArray(mime) ? mime['sha256'] : undefined;
  if (typeof sha !== 'string') return undefined;
  const raw = await mailbox.getBlob(sha);
  if (!raw) return undefined;
  const parsed = await parseMessage(raw);
  for (const text of parsed.calendarParts) {
    let cal;
    try {
      cal = parseICalendar(text);
    } catch {
      continue;
    }
    if (cal.method !== 'REQUEST') continue;
    for (const event of cal.events) {
      const decision = applyItip('REQUEST', event, undefined, { userAddresses: addresses });
      if (decision.action !== 'create') continue;
      const found = await findMeetingItems(mailbox, String(event.data['uid']));
      if (found.item) return found.item;
      const calendar = found.folders.find((f) => f.type === 8);
      if (!calendar) return undefined;
      return mailbox.putItem({ folderId: calendar.id, class: 'Calendar', data: decision.data, uid: String(event.data['uid']) });
    }
  }
  return undefined;
}

/**
 * SmartForward (MS-ASCMD 2.2.1.19): forwards one of the user's items.
 *
 * - A message (not a meeting): the device's message with the original and its attachments
 *   appended, unless ReplaceMime says the device's MIME is already the whole message; both
 *   request forms and every status: src/mail/send.ts. A 16.x request with Forwardees (and Body)
 *   instead of Mime for a plain message is sent the same way, to the forwardees, with the Body as
 *   the note and "FW: " and the original's subject (2.2.3.169 makes Forwardees a meeting's, but a
 *   forward the user asked for is not dropped for that).
 * - A meeting: the Source is a calendar item, or a meeting request in a mail folder (3.1.5.7).
 *   The recipients (the 16.x Forwardees, or the To, Cc and Bcc of the device's MIME as in 14.x and
 *   12.x) are invited to it by the server (src/meetings/meeting-forward.ts): an iTIP REQUEST with
 *   the organizer unchanged, the device's text (Body, or the MIME's text) as the note; the
 *   organizer gets a Meeting Forward Notification, and a local organizer's meeting gets the
 *   forwardees as optional attendees (MS-OXOCAL 2.2.9, 3.1.4.7.2). InstanceId forwards one
 *   occurrence. The 16.x form keeps a copy in Sent Items (it has no SaveInSentItems); the MIME
 *   form when SaveInSentItems says so.
 *
 * Statuses, beyond those of src/mail/send.ts (2.2.2): 104 an InstanceId that is not a date-time;
 * 146 an InstanceId on a meeting that does not recur; 150 the Source (or the occurrence named) is
 * not one of the user's items, another user's id included; 178 Forwardees or Body with Mime,
 * SaveInSentItems, ReplaceMime or TemplateID; 179 a Forwardee without a usable Email, or a Body
 * that is not text or HTML. Real clients' shapes: Exchange's conformance suite
 * (OfficeDev/Interop-TestSuites, MS-ASCMD S17_SmartForward) forwards calendar items with Source
 * FolderId+ItemId and a MIME body; Forwardees are as 2.2.3.79 lays them out.
 */
import { simpleParser, type AddressObject } from 'mailparser';
import { el } from '../wbxml/tree.ts';
import { htmlToText } from '../classes/body.ts';
import { handleSend, isClientStatus, type SendRequest } from '../mail/send.ts';
import { WbxmlError } from '../wbxml/errors.ts';
import { resolveLongId } from '../mail/search.ts';
import { OutboundError } from '../mail/relay.ts';
import { isTransientStoreError, type Item, type JsonObject } from '../ports/types.ts';
import { forwardMeeting, type Forwardee, type MeetingForward } from '../meetings/meeting-forward.ts';
import { meetingOf, MeetingSourceError } from '../meetings/meeting-source.ts';
import { ForwardFailure, ForwardStatus, readForwardRequest, type ForwardRequest } from './smart-forward-request.ts';
import type { CommandContext, CommandHandler, CommandResult } from './types.ts';

const NS = 'ComposeMail';

export const smartForward: CommandHandler = async (ctx) => {
  let req: ForwardRequest;
  let source: Item | null;
  try {
    req = readForwardRequest(ctx);
    source = await findSource(ctx, req.source);
  } catch (err) {
    if (err instanceof ForwardFailure && !(ctx.request && (err.status === ForwardStatus.InvalidSmartForward || err.status === ForwardStatus.InvalidRecipients || err.status === ForwardStatus.InvalidDateTime))) {
      // Anything else the message path reads and answers the way it always has.
      return handleSend(ctx, 'forward');
    }
    return answer(ctx, err);
  }
  const meetingMail = source?.class === 'Email' && isMeetingRequestMail(source.data);
  if (source?.class === 'Calendar' || meetingMail) return forwardMeetingItem(ctx, req, source!);
  if (req.forwardees && source?.class === 'Email') return handleSend(ctx, 'forward', asMessageForward(req, source));
  if (req.forwardees || req.body) {
    // 2.2.3.169: Forwardees and Body belong to a calendar item's forward.
    return answer(ctx, source ? new ForwardFailure(ForwardStatus.InvalidSmartForward, 'Body without Forwardees on an item that is not a meeting') : new ForwardFailure(ForwardStatus.ItemNotFound, 'the source item is not found'));
  }
  return handleSend(ctx, 'forward');
};

function isMeetingRequestMail(d: JsonObject): boolean {
  const mr = d['meetingRequest'];
  return !!mr && typeof mr === 'object' && !Array.isArray(mr) && mr['method'] !== 'CANCEL' && typeof mr['uid'] === 'string';
}

/** One of the user's items, of any class; never another user's. */
async function findSource(ctx: CommandContext, s: ForwardRequest['source']): Promise<Item | null> {
  const { mailbox } = ctx;
  if (s.longId !== undefined) return resolveLongId(mailbox, s.longId);
  if (s.itemId === undefined) return null;
  const item = await mailbox.getItemByServerId(s.itemId);
  if (item && s.folderId !== undefined) {
    const folder = await mailbox.getFolderByServerId(s.folderId);
    if (!folder || folder.id !== item.folderId) return null;
  }
  return item;
}

/** A plain message forwarded with Forwardees: the MIME a device would have written for it. */
function asMessageForward(req: ForwardRequest, source: Item): SendRequest {
  const subject = typeof source.data['subject'] === 'string' ? source.data['subject'] : '';
  const to = req.forwardees!.map((f) => (f.name ? `"${f.name.replace(/(["\\])/g, '\\$1')}" <${f.email}>` : f.email)).join(', ');
  const html = req.body?.type === 2;
  const mime = Buffer.from(
    [`To: ${to}`, `Subject: =?utf-8?B?${Buffer.from(`FW: ${subject}`).toString('base64')}?=`, 'MIME-Version: 1.0', `Content-Type: text/${html ? 'html' : 'plain'}; charset=utf-8`, 'Content-Transfer-Encoding: base64', '', Buffer.from(req.body?.data ?? '').toString('base64'), ''].join('\r\n'),
  );
  return { mime, clientId: req.clientId, saveInSent: true, replaceMime: false, source: req.source };
}

const addresses = (v: AddressObject | AddressObject[] | undefined): Forwardee[] => {
  const out: Forwardee[] = [];
  for (const o of v === undefined ? [] : Array.isArray(v) ? v : [v]) {
    for (const a of o.value ?? []) for (const x of a.group ?? [a]) if (x.address && x.address.includes('@')) out.push({ email: x.address.trim().toLowerCase(), name: x.name || null });
  }
  return out;
};

async function forwardMeetingItem(ctx: CommandContext, req: ForwardRequest, source: Item): Promise<CommandResult> {
  let claimed: string | undefined;
  try {
    const outbound = ctx.services.outbound;
    if (!outbound) throw new ForwardFailure(ForwardStatus.SubmissionFailed, 'no outbound mail service is configured');
    const { event, uid, instance } = await meetingOf(ctx.mailbox, source, req.instance);
    const subjectOf = typeof event['subject'] === 'string' ? event['subject'] : '';
    let f: MeetingForward;
    if (req.forwardees || req.body) {
      if (!req.forwardees?.length) throw new ForwardFailure(ForwardStatus.NoRecipient, 'no Forwardees');
      const html = req.body?.type === 2 ? req.body.data : undefined;
      // The shared single-scan htmlToText: a regular expression over "<[^>]*>" is quadratic on a
      // body of "<" without ">" (a 1 MB one held the event loop for minutes).
      const text = html !== undefined ? htmlToText(html) : (req.body?.data ?? '');
      f = { event, uid, to: req.forwardees, subject: `FW: ${subjectOf}`, text, ...(html !== undefined ? { html } : {}), saveInSent: true };
    } else {
      let mail;
      try {
        // Not mailparser's html-to-text (about 2.5 ms per KB of tag-dense HTML): the shared
        // linear htmlToText below makes the text of an HTML-only message.
        mail = await simpleParser(req.mime!, { skipImageLinks: true, skipHtmlToText: true });
      } catch {
        throw new ForwardFailure(ForwardStatus.InvalidMime, 'the MIME message cannot be parsed');
      }
      const to = addresses(mail.to);
      const cc = addresses(mail.cc);
      const bcc = addresses(mail.bcc);
      if (to.length + cc.length + bcc.length === 0) throw new ForwardFailure(ForwardStatus.NoRecipient, 'the message names no recipient');
      const text = (typeof mail.text === 'string' && mail.text.trim() !== '' ? mail.text : typeof mail.html === 'string' ? htmlToText(mail.html) : '').trimEnd();
      f = { event, uid, to, cc, bcc, subject: mail.subject || `FW: ${subjectOf}`, text, saveInSent: req.saveInSent };
    }
    if (instance) f.instance = instance;
    if (req.clientId !== undefined) {
      if (!(await ctx.deviceState.sending.claimClientId(ctx.user.id, ctx.device.deviceId, req.clientId))) {
        throw new ForwardFailure(ForwardStatus.PreviouslySent, `ClientId ${req.clientId} was sent before`);
      }
      claimed = req.clientId;
    }
    const outcome = await forwardMeeting({ accounts: ctx.accounts, mailboxes: ctx.services.mailboxes, mailbox: ctx.mailbox, user: ctx.user, outbound, log: ctx.log }, f);
    claimed = undefined;
    if (source.class === 'Email') await markForwarded(ctx, source);
    return { logFields: { recipients: outcome.recipients, organizer: outcome.organizer } };
  } catch (err) {
    if (claimed !== undefined) {
      await ctx.deviceState.sending.releaseClientId(ctx.user.id, ctx.device.deviceId, claimed).catch((e: unknown) => ctx.log.error({ err: e }, 'releasing a ClientId failed'));
    }
    return answer(ctx, err);
  }
}

/** MS-ASEMAIL 2.2.2.45 LastVerbExecuted 3 (forward) on a forwarded meeting request. Best effort. */
async function markForwarded(ctx: CommandContext, item: Item): Promise<void> {
  try {
    await ctx.mailbox.updateItem(item.id, { data: { ...item.data, lastVerbExecuted: 3, lastVerbExecutionTime: new Date().toISOString() } });
  } catch (err) {
    ctx.log.warn({ err, itemId: item.id }, 'the meeting request could not be marked as forwarded');
  }
}

const OUTBOUND_STATUS: Record<OutboundError['code'], number> = {
  no_recipients: ForwardStatus.NoRecipient,
  unknown_recipient: ForwardStatus.RecipientUnresolved,
  no_relay: ForwardStatus.SubmissionFailed,
  relay_failed: ForwardStatus.SubmissionFailed,
  too_large: ForwardStatus.TooLarge,
  local_failed: ForwardStatus.SubmissionFailed,
};

function answer(ctx: CommandContext, err: unknown): CommandResult {
  let status: number;
  let reason: string;
  if (err instanceof ForwardFailure) [status, reason] = [err.status, err.reason];
  else if (err instanceof MeetingSourceError) [status, reason] = [err.code === 'no_recurrence' ? ForwardStatus.NoRecurrence : ForwardStatus.ItemNotFound, err.message];
  else if (err instanceof OutboundError) [status, reason] = [OUTBOUND_STATUS[err.code], err.message];
  else if (isTransientStoreError(err)) [status, reason] = [ForwardStatus.ServerErrorRetryLater, 'store unavailable'];
  // A body that is not WBXML is the client's: the route answers 400 and logs it at warn.
  else if (err instanceof WbxmlError) throw err;
  else {
    ctx.log.error({ err }, 'SmartForward failed');
    [status, reason] = [ForwardStatus.ServerError, 'server error'];
  }
  ctx.log.warn({ status, reason }, 'SmartForward refused');
  if (ctx.request === undefined) {
    // Too large for the relay: 413, the HTTP answer for a body too large to take (RFC 9110 15.5.14).
    const http = status === ForwardStatus.TooLarge ? 413 : status === ForwardStatus.InvalidXml || status === ForwardStatus.InvalidMime || status === ForwardStatus.NoRecipient || status === ForwardStatus.InvalidDateTime ? 400 : 500;
    // A 500 for an unknown item or recipient is still the client's input: its request line is warn.
    return { httpStatus: http, easStatus: status, logFields: { reason }, ...(isClientStatus(status) ? { clientFault: true } : {}) };
  }
  return { body: el(NS, 'SmartForward', el(NS, 'Status', status)), easStatus: status, logFields: { reason } };
}

/**
 * What SendMail, SmartReply and SmartForward share (MS-ASCMD 2.2.1.17-19): reading either
 * request form, finding the original message, replay protection by ClientId, sending through
 * Services.outbound, the Sent Items copy, and the status of each failure.
 *
 * Request forms:
 * - 12.x: the body is the MIME message itself (Content-Type message/rfc822); SaveInSent=T, and
 *   for Smart* ItemId and CollectionId, are query parameters (MS-ASHTTP 2.2.1.1.1.2.4). A
 *   failure is an HTTP status, as 12.x has no ComposeMail response body (500 for a server or
 *   submission failure, 400 for a bad request).
 * - 14.0 and later: ComposeMail WBXML with ClientId, SaveInSentItems, Source (ItemId + FolderId,
 *   or LongId; InstanceId names a meeting occurrence and is accepted), ReplaceMime and Mime. An
 *   empty response means success; a failure is <SendMail|SmartReply|SmartForward><Status>.
 *
 * Status values (MS-ASCMD 2.2.3.177.14-.15 point to the common codes of 2.2.2):
 *   103 InvalidXML: a required element (ClientId, Mime, Source for Smart*) is missing;
 *   107 InvalidMIME: the Mime is not a message;
 *   111 ServerErrorRetryLater: a passing store failure;
 *   110 ServerError: anything else unexpected;
 *   116 MessageRecipientUnresolved: no recipient can get it: each is in this server's domains
 *       and no user has it (with some recipients that can, they get it and the sender gets a
 *       bounce for the others, src/mail/relay.ts);
 *   118 MessagePreviouslySent: the device already sent a message with this ClientId; nothing
 *       is sent again;
 *   119 MessageHasNoRecipient;
 *   120 MailSubmissionFailed: no relay configured for an outside recipient, the relay refused
 *       or was unreachable, or local delivery failed (nothing was sent; the ClientId is given
 *       back so the device may retry);
 *   122 AttachmentIsTooLarge: the message is larger than the SMTP relay takes (its EHLO SIZE, or
 *       552 after DATA); 12.x: HTTP 413;
 *   150 ItemNotFound: the Source item is not one of the user's (another user's id included).
 */
import { el, child, childText, type WbxmlElement } from '../wbxml/tree.ts';
import { WbxmlError } from '../wbxml/errors.ts';
import type { CommandContext as ProtocolContext, CommandResult } from '../protocol/command.ts';
import { isTransientStoreError, type Item, type JsonObject, type JsonValue } from '../ports/types.ts';
import { ComposeError, composeSmartMessage, submissionFromDeviceMime, type OriginalMessage, type Sender, type Submission } from './compose.ts';
import { fileMessage } from './deliver.ts';
import { OutboundError, type OutboundMail } from './relay.ts';
import { resolveLongId } from './search.ts';

/** What sending needs of a command's context: the request, and the outbound service (src/commands/services.ts). */
export type SendContext = ProtocolContext<{ outbound?: OutboundMail }>;

export const NS = 'ComposeMail';
const SENT_ITEMS_TYPE = 5;

export const SendStatus = {
  InvalidXml: 103,
  InvalidMime: 107,
  ServerError: 110,
  ServerErrorRetryLater: 111,
  RecipientUnresolved: 116,
  PreviouslySent: 118,
  NoRecipient: 119,
  SubmissionFailed: 120,
  TooLarge: 122,
  ItemNotFound: 150,
} as const;

export type SendKind = 'send' | 'reply' | 'forward';

const COMMAND_NAME: Record<SendKind, string> = { send: 'SendMail', reply: 'SmartReply', forward: 'SmartForward' };

/** A ComposeMail request as read from either form (or built by SmartForward from Forwardees). */
export interface SendRequest {
  mime: Buffer;
  clientId?: string;
  saveInSent: boolean;
  replaceMime: boolean;
  source?: { itemId?: string; folderId?: string; longId?: string };
}

class SendFailure extends Error {
  constructor(
    readonly status: number,
    readonly reason: string,
  ) {
    super(reason);
  }
}

function bytesOf(e: WbxmlElement | undefined): Buffer | undefined {
  if (!e) return undefined;
  const parts = e.children.map((c) => (typeof c === 'string' ? Buffer.from(c, 'utf8') : c instanceof Uint8Array ? Buffer.from(c) : Buffer.alloc(0)));
  return Buffer.concat(parts);
}

function readRequest(ctx: SendContext, kind: SendKind): SendRequest {
  const name = COMMAND_NAME[kind];
  const req = ctx.request;
  if (req) {
    if (req.ns !== NS || req.name !== name) throw new SendFailure(SendStatus.InvalidXml, `no ${name} in the request`);
    const mime = bytesOf(child(req, 'Mime', NS));
    const clientId = childText(req, 'ClientId', NS);
    if (!mime || mime.length === 0) throw new SendFailure(SendStatus.InvalidXml, 'Mime is missing');
    if (clientId === undefined || clientId === '') throw new SendFailure(SendStatus.InvalidXml, 'ClientId is missing');
    if (clientId.length > 128) throw new SendFailure(SendStatus.InvalidXml, 'ClientId is longer than 128 characters');
    const src = child(req, 'Source', NS);
    const source = src
      ? { itemId: childText(src, 'ItemId', NS), folderId: childText(src, 'FolderId', NS), longId: childText(src, 'LongId', NS) }
      : undefined;
    if (kind !== 'send' && (!source || (source.longId === undefined && source.itemId === undefined))) {
      throw new SendFailure(SendStatus.InvalidXml, 'Source with ItemId or LongId is required');
    }
    return {
      mime,
      clientId,
      saveInSent: child(req, 'SaveInSentItems', NS) !== undefined,
      replaceMime: child(req, 'ReplaceMime', NS) !== undefined,
      source,
    };
  }
  // 12.x: the body is the message; parameters in the query.
  if (ctx.rawBody.length === 0) throw new SendFailure(SendStatus.InvalidMime, 'empty request body');
  const p = ctx.params;
  if (kind !== 'send' && p.itemId === undefined && p.longId === undefined) throw new SendFailure(SendStatus.InvalidXml, 'ItemId is required');
  return {
    mime: ctx.rawBody,
    saveInSent: p.saveInSent,
    replaceMime: false,
    source: kind === 'send' ? undefined : { itemId: p.itemId, folderId: p.collectionId, longId: p.longId },
  };
}

async function senderOf(ctx: SendContext): Promise<Sender> {
  const entry = await ctx.accounts.directory.getEntry(ctx.user.id);
  return {
    email: ctx.user.email,
    displayName: ctx.user.displayName,
    sendAs: new Set([ctx.user.email.toLowerCase(), ...(entry?.aliases ?? []).map((a) => a.toLowerCase())]),
  };
}

async function findSource(ctx: SendContext, source: NonNullable<SendRequest['source']>): Promise<Item> {
  const { mailbox } = ctx;
  let item: Item | null = null;
  if (source.longId !== undefined) item = await resolveLongId(mailbox, source.longId);
  else if (source.itemId !== undefined) {
    item = await mailbox.getItemByServerId(source.itemId);
    if (item && source.folderId !== undefined) {
      const folder = await mailbox.getFolderByServerId(source.folderId);
      if (!folder || folder.id !== item.folderId) item = null;
    }
  }
  if (!item || item.class !== 'Email') throw new SendFailure(SendStatus.ItemNotFound, 'the source item is not found');
  return item;
}

function s(v: JsonValue | undefined): string | undefined {
  return typeof v === 'string' && v !== '' ? v : undefined;
}

/** The original message's text, bodies and attachments (bytes from the blob store). */
export async function originalOf(ctx: SendContext, item: Item): Promise<OriginalMessage> {
  const d = item.data;
  const body = (d.body && typeof d.body === 'object' && !Array.isArray(d.body) ? d.body : {}) as JsonObject;
  const attachments: OriginalMessage['attachments'] = [];
  for (const a of Array.isArray(d.attachments) ? d.attachments : []) {
    if (!a || typeof a !== 'object' || Array.isArray(a)) continue;
    const sha = s(a.sha256);
    const content = sha ? await ctx.mailbox.getBlob(sha) : null;
    if (!content) {
      ctx.log.warn({ itemId: item.id, attachment: s(a.name) }, 'forward: an attachment of the original is missing from the blob store');
      continue;
    }
    attachments.push({
      filename: s(a.name) ?? 'attachment',
      contentType: s(a.contentType) ?? 'application/octet-stream',
      content,
      ...(s(a.contentId) ? { contentId: s(a.contentId)! } : {}),
      inline: a.isInline === true,
    });
  }
  return {
    from: s(d.from),
    to: s(d.to),
    cc: s(d.cc),
    subject: typeof d.subject === 'string' ? d.subject : undefined,
    date: s(d.dateSent) ?? s(d.dateReceived),
    messageId: s(d.messageId),
    references: Array.isArray(d.references) ? d.references.filter((r): r is string => typeof r === 'string') : undefined,
    text: s(body.text),
    html: s(body.html),
    attachments,
  };
}

/**
 * Marks the original as replied to or forwarded (MS-ASEMAIL 2.2.2.45 LastVerbExecuted: 1 reply
 * to sender, 2 reply to all, 3 forward; 2.2.2.46 LastVerbExecutionTime), so every device shows it.
 * A reply to more than one recipient counts as reply to all. Best effort: the mail is sent.
 */
async function markVerb(ctx: SendContext, item: Item, kind: SendKind, recipients: number): Promise<void> {
  const verb = kind === 'forward' ? 3 : recipients > 1 ? 2 : 1;
  try {
    await ctx.mailbox.updateItem(item.id, { data: { ...item.data, lastVerbExecuted: verb, lastVerbExecutionTime: new Date().toISOString() } });
  } catch (err) {
    ctx.log.warn({ err, itemId: item.id }, 'the original could not be marked as replied or forwarded');
  }
}

/**
 * Statuses that are easd's own fault: every other refusal is logged at warn on its request line,
 * even where 12.x answers it with HTTP 500. 120 (no relay configured, the relay refusing or
 * unreachable, local delivery failing) is not among them: src/mail/relay.ts logs its cause where it
 * happens (warn for the relay and its configuration, error for a local store fault), as it does
 * for 14.0+ devices, whose 120 travels in a 200.
 */
const SERVER_SIDE: ReadonlySet<number> = new Set([SendStatus.ServerError, SendStatus.ServerErrorRetryLater]);

/** Whether a ComposeMail status refuses the client's input (for the request line's level). */
export function isClientStatus(status: number): boolean {
  return !SERVER_SIDE.has(status);
}

function failure(ctx: SendContext, kind: SendKind, status: number, reason: string): CommandResult {
  const name = COMMAND_NAME[kind];
  if (ctx.request === undefined) {
    // 12.x: no ComposeMail response; the HTTP status says it. A 500 for an unknown item or
    // recipient is still the client's input, so its request line is warn (clientFault).
    // Too large for the relay: 413, the HTTP answer for a body too large to take (RFC 9110 15.5.14).
    const http = status === SendStatus.TooLarge ? 413 : status === SendStatus.InvalidXml || status === SendStatus.InvalidMime || status === SendStatus.NoRecipient ? 400 : 500;
    return { httpStatus: http, easStatus: status, logFields: { reason }, ...(isClientStatus(status) ? { clientFault: true } : {}) };
  }
  return { body: el(NS, name, el(NS, 'Status', status)), easStatus: status, logFields: { reason } };
}

const OUTBOUND_STATUS: Record<OutboundError['code'], number> = {
  no_recipients: SendStatus.NoRecipient,
  unknown_recipient: SendStatus.RecipientUnresolved,
  no_relay: SendStatus.SubmissionFailed,
  relay_failed: SendStatus.SubmissionFailed,
  too_large: SendStatus.TooLarge,
  local_failed: SendStatus.SubmissionFailed,
};

/**
 * The whole of SendMail, SmartReply or SmartForward. `given`: the request already read by the
 * caller (a 16.x SmartForward with Forwardees of a plain message, src/commands/smart-forward.ts).
 */
export async function handleSend(ctx: SendContext, kind: SendKind, given?: SendRequest): Promise<CommandResult> {
  let claimed: string | undefined;
  try {
    const req = given ?? readRequest(ctx, kind);
    const outbound = ctx.services.outbound;
    if (!outbound) throw new SendFailure(SendStatus.SubmissionFailed, 'no outbound mail service is configured');
    const sender = await senderOf(ctx);
    const host = ctx.user.email.slice(ctx.user.email.lastIndexOf('@') + 1) || 'localhost';

    let submission: Submission;
    let source: Item | undefined;
    if (kind === 'send' || req.replaceMime) {
      // Smart* with ReplaceMime: the device's MIME is the whole message; the source must still
      // be the user's (MS-ASCMD 2.2.3.152 ReplaceMime).
      if (kind !== 'send') source = await findSource(ctx, req.source!);
      submission = await submissionFromDeviceMime(req.mime, sender, host);
    } else {
      source = await findSource(ctx, req.source!);
      submission = await composeSmartMessage(kind, req.mime, await originalOf(ctx, source), sender, host);
    }
    if (submission.fromRewritten) ctx.log.info(`${COMMAND_NAME[kind]}: a From the user may not send as was rewritten to the user's address`);

    if (req.clientId !== undefined) {
      if (!(await ctx.deviceState.sending.claimClientId(ctx.user.id, ctx.device.deviceId, req.clientId))) {
        throw new SendFailure(SendStatus.PreviouslySent, `ClientId ${req.clientId} was sent before`);
      }
      claimed = req.clientId;
    }
    await outbound.send({ from: submission.envelopeFrom, recipients: submission.recipients, raw: submission.raw });
    claimed = undefined; // sent: the ClientId stays used

    if (source) await markVerb(ctx, source, kind, submission.recipients.length);
    if (req.saveInSent) {
      try {
        const res = await fileMessage(ctx.mailbox, ctx.user.email, submission.sentCopy, { folderType: SENT_ITEMS_TYPE, extraData: { read: true, receivedAsBcc: false } });
        if (res.outcome !== 'delivered') ctx.log.error({ results: [res] }, 'the Sent Items copy was not stored (the message was sent)');
      } catch (err) {
        ctx.log.error({ err }, 'the Sent Items copy was not stored (the message was sent)');
      }
    }
    return { logFields: { recipients: submission.recipients.length, bytes: submission.raw.length } };
  } catch (err) {
    if (claimed !== undefined) {
      await ctx.deviceState.sending.releaseClientId(ctx.user.id, ctx.device.deviceId, claimed).catch((e: unknown) => ctx.log.error({ err: e }, 'releasing a ClientId failed'));
    }
    if (err instanceof SendFailure) return failure(ctx, kind, err.status, err.reason);
    if (err instanceof ComposeError) return failure(ctx, kind, err.code === 'no_recipients' ? SendStatus.NoRecipient : SendStatus.InvalidMime, err.message);
    if (err instanceof OutboundError) return failure(ctx, kind, OUTBOUND_STATUS[err.code], err.message);
    if (isTransientStoreError(err)) return failure(ctx, kind, SendStatus.ServerErrorRetryLater, 'store unavailable');
    // A body that is not WBXML is the client's: the route answers 400 and logs it at warn.
    if (err instanceof WbxmlError) throw err;
    ctx.log.error({ err }, `${COMMAND_NAME[kind]} failed`);
    return failure(ctx, kind, SendStatus.ServerError, 'server error');
  }
}

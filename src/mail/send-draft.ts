/**
 * Sending a draft from Sync (protocol 16.0 and later, MS-ASEMAIL 2.2.2.69 Send, 3.1.5.3.1): a
 * device adds or changes a message in Drafts (Email To, Cc, Subject, Importance, body, and
 * Email2 Bcc) and puts an empty email2:Send in the ApplicationData; the server sends the draft
 * and takes it out of Drafts. The draft's fields are already stored by the Sync (the Email
 * class); this hook runs after that write.
 *
 * What is sent is composed with nodemailer's MailComposer from the stored draft (From is always
 * the user, src/mail/compose.ts), with the attachments the device added to it (16.0+ AirSyncBase
 * Add; their bytes from the mailbox's blobs), goes through Services.outbound like SendMail, and a copy is
 * put in Sent Items; then the draft is deleted, so every device syncing Drafts sees it go and
 * the sent message appear in Sent Items. If sending fails the draft stays in Drafts, unchanged,
 * and the failure is logged: Sync has no per-item status for a failed submission, and a draft
 * that stays visible is what lets the user try again.
 */
import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import MailComposer from 'nodemailer/lib/mail-composer';
import type { OutboundMail } from './relay.ts';
import { fileMessage } from './deliver.ts';
import { versionNumber, type EasVersion } from '../eas/versions.ts';
import type { Folder, Item, JsonObject, User } from '../ports/types.ts';
import type { Mailbox } from '../ports/mailbox.ts';
import { child, childText, type WbxmlElement } from '../wbxml/tree.ts';

const DRAFTS_TYPE = 3;
const SENT_ITEMS_TYPE = 5;

export interface DraftContext {
  /** The sender's mailbox, where the draft is and the copy in Sent Items goes (src/mail/deliver.ts fileMessage). */
  mailbox: Mailbox;
  user: User;
  version: EasVersion;
  outbound?: OutboundMail;
  log: Logger;
}

/** Whether a client's ApplicationData asks for the draft to be sent. */
export function asksToSend(folder: Folder, appData: WbxmlElement, version: EasVersion): boolean {
  return folder.type === DRAFTS_TYPE && versionNumber(version) >= 160 && child(appData, 'Send', 'Email2') !== undefined;
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' && v.trim() !== '' ? v : undefined;
}

function addresses(list: string | undefined): string[] {
  if (!list) return [];
  const out: string[] = [];
  for (const m of list.matchAll(/<([^<>@\s]+@[^<>\s]+)>|([^\s,;<>"]+@[^\s,;<>"]+)/g)) out.push((m[1] ?? m[2]!).toLowerCase());
  return out;
}

/** Sends the draft `item` (just written by the device's Sync); returns whether it was sent. */
export async function sendDraft(ctx: DraftContext, item: Item, appData: WbxmlElement): Promise<boolean> {
  const d: JsonObject = item.data;
  const bcc = str(childText(appData, 'Bcc', 'Email2')) ?? str(d.bcc);
  const to = str(d.to);
  const cc = str(d.cc);
  const recipients = [...new Set([...addresses(to), ...addresses(cc), ...addresses(bcc)])];
  if (!ctx.outbound) {
    ctx.log.warn({ itemId: item.id }, 'draft not sent: no outbound mail service');
    return false;
  }
  if (recipients.length === 0) {
    ctx.log.warn({ itemId: item.id }, 'draft not sent: it has no recipient');
    return false;
  }
  const body = (d.body && typeof d.body === 'object' && !Array.isArray(d.body) ? d.body : {}) as JsonObject;
  const attachments = await draftAttachments(ctx, item);
  if (!attachments) return false;
  const host = ctx.user.email.slice(ctx.user.email.lastIndexOf('@') + 1) || 'localhost';
  const importance = d.importance === 2 ? 'high' : d.importance === 0 ? 'low' : undefined;
  const node = new MailComposer({
    from: ctx.user.displayName ? { name: ctx.user.displayName, address: ctx.user.email } : ctx.user.email,
    ...(to ? { to } : {}),
    ...(cc ? { cc } : {}),
    ...(bcc ? { bcc } : {}),
    subject: str(d.subject) ?? '',
    date: new Date(),
    messageId: `<${randomBytes(12).toString('hex')}@${host}>`,
    // MailComposer has no `priority` (that is nodemailer's Mailer): the headers mail clients read.
    ...(importance ? { headers: { Importance: importance === 'high' ? 'High' : 'Low', 'X-Priority': importance === 'high' ? '1 (Highest)' : '5 (Lowest)' } } : {}),
    text: typeof body.text === 'string' ? body.text : '',
    ...(typeof body.html === 'string' ? { html: body.html } : {}),
    ...(attachments.length ? { attachments } : {}),
  }).compile();
  node.keepBcc = true;
  const sentCopy = await node.build();
  node.keepBcc = false;
  const raw = await node.build();
  try {
    await ctx.outbound.send({ from: ctx.user.email, recipients, raw });
  } catch (err) {
    ctx.log.warn({ err, itemId: item.id }, 'draft not sent: submission failed; it stays in Drafts');
    return false;
  }
  try {
    // A Sent Items copy that could not be stored (its result says so) does not keep the draft:
    // it was sent, and a draft left in Drafts invites sending it twice.
    await fileMessage(ctx.mailbox, ctx.user.email, sentCopy, { folderType: SENT_ITEMS_TYPE, extraData: { read: true } });
    await ctx.mailbox.deleteItem(item.id);
  } catch (err) {
    ctx.log.error({ err, itemId: item.id }, 'draft sent, but moving it to Sent Items failed');
  }
  return true;
}

interface ComposedAttachment {
  filename: string;
  contentType: string;
  content: Buffer;
  cid?: string;
  contentDisposition?: 'inline' | 'attachment';
}

/**
 * The draft's attachments (added by a 16.0 device, MS-ASAIRS 2.2.2.2; src/classes/attachments.ts)
 * with their bytes from the blob store, inline ones with their Content-ID so the HTML body's
 * cid: links still resolve. Undefined when one is missing from the blob store: the draft is
 * not sent without it (it stays in Drafts, and the failure is logged).
 */
async function draftAttachments(ctx: DraftContext, item: Item): Promise<ComposedAttachment[] | undefined> {
  const list = Array.isArray(item.data.attachments) ? item.data.attachments : [];
  const out: ComposedAttachment[] = [];
  for (const a of list) {
    if (!a || typeof a !== 'object' || Array.isArray(a)) continue;
    const sha = str(a.sha256);
    const content = sha ? await ctx.mailbox.getBlob(sha) : null;
    if (!content) {
      ctx.log.warn({ itemId: item.id, attachment: str(a.name) }, 'draft not sent: an attachment is missing from the blob store');
      return undefined;
    }
    const cid = str(a.contentId)?.replace(/^<|>$/g, '');
    out.push({
      filename: str(a.name) ?? 'attachment',
      contentType: str(a.contentType) ?? 'application/octet-stream',
      content,
      ...(cid ? { cid } : {}),
      contentDisposition: a.isInline === true ? 'inline' : 'attachment',
    });
  }
  return out;
}

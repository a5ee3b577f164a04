/**
 * Building the message a device asked to send (MS-ASCMD 2.2.1.17 SendMail, 2.2.1.19 SmartReply,
 * 2.2.1.18 SmartForward).
 *
 * - A message sent as the device wrote it (SendMail, or Smart* with ReplaceMime) keeps its MIME
 *   structure and bodies byte for byte (so a signed message stays valid); only top-level header
 *   fields are edited: Bcc removed from the copy that travels (kept in the Sent Items copy),
 *   From checked and Sender removed (`submissionHeaders`), Date and Message-ID added when missing.
 * - SmartReply/SmartForward without ReplaceMime: a new message is composed with nodemailer's
 *   MailComposer from the device's text (and its attachments) plus the original message quoted
 *   below it, as mail clients do ("On <date>, <sender> wrote:" and "> " lines for a reply, an
 *   "Original Message" header block for a forward; the HTML part quotes the original HTML in a
 *   blockquote), and for a forward the original's attachments (MS-ASCMD 2.2.1.18: "the server
 *   ... attaches the original attachments").
 *
 * Who the mail is from: always the authenticated user. A From naming one of the user's own
 * addresses (primary or alias) is kept; any other From is REWRITTEN to the user's primary
 * address and name (logged by the caller), not refused: a phone shows a refused SendMail as a
 * message stuck in the Outbox with a generic error the user cannot act on, while Exchange itself
 * sends as the mailbox owner whatever From the device wrote. The envelope sender is always the
 * user's primary address, and a Sender field from the device is dropped (it could name anyone).
 */
import { randomBytes } from 'node:crypto';
import { simpleParser, type AddressObject, type ParsedMail } from 'mailparser';
import MailComposer from 'nodemailer/lib/mail-composer';
import type Mail from 'nodemailer/lib/mailer';
import { encodeWords } from 'nodemailer/lib/mime-funcs';
import { htmlToText } from '../classes/body.ts';

export interface Sender {
  /** The user's primary address. */
  email: string;
  displayName: string | null;
  /** Every address the user may send as (primary and aliases), lowercased. */
  sendAs: ReadonlySet<string>;
}

export class ComposeError extends Error {
  override readonly name = 'ComposeError';
  constructor(
    readonly code: 'invalid_mime' | 'no_recipients',
    message: string,
  ) {
    super(message);
  }
}

/** A message ready to go: what travels (no Bcc) and what the Sent Items copy keeps (with Bcc). */
export interface Submission {
  envelopeFrom: string;
  recipients: string[];
  raw: Buffer;
  sentCopy: Buffer;
  /** The device's From named someone the user may not send as, and was rewritten. */
  fromRewritten: boolean;
}

/** The original message a SmartReply/SmartForward refers to, as far as the server keeps it. */
export interface OriginalMessage {
  from?: string;
  to?: string;
  cc?: string;
  subject?: string;
  /** ISO 8601. */
  date?: string;
  messageId?: string;
  references?: string[];
  text?: string;
  html?: string;
  attachments: Array<{ filename: string; contentType: string; content: Buffer; contentId?: string; inline: boolean }>;
}

// ---------------------------------------------------------------------------------------------
// Addresses

function addressesOf(v: AddressObject | AddressObject[] | undefined): Array<{ name: string; address: string }> {
  const out: Array<{ name: string; address: string }> = [];
  for (const o of v === undefined ? [] : Array.isArray(v) ? v : [v]) {
    for (const a of o.value ?? []) {
      for (const x of a.group ?? [a]) if (x.address) out.push({ name: x.name ?? '', address: x.address });
    }
  }
  return out;
}

/** Envelope recipients: every To, Cc and Bcc address, lowercased, once each. */
export function recipientsOf(mail: ParsedMail): string[] {
  const all = [...addressesOf(mail.to), ...addressesOf(mail.cc), ...addressesOf(mail.bcc)].map((a) => a.address.trim().toLowerCase());
  return [...new Set(all.filter((a) => a.includes('@')))];
}

/** `Name <addr>` with the name encoded as RFC 2047 words when needed (nodemailer's encoder). */
function formatAddress(name: string | null | undefined, address: string): string {
  if (!name) return address;
  const encoded = encodeWords(name, 'Q', 52);
  const display = encoded === name && /[()<>@,;:\\".[\]]/.test(name) ? `"${name.replace(/(["\\])/g, '\\$1')}"` : encoded;
  return `${display} <${address}>`;
}

/** The From to send with: the device's when the user may send as it, else the user's own. */
export function resolveFrom(mail: ParsedMail | undefined, sender: Sender): { from: string; rewritten: boolean } {
  const from = mail ? addressesOf(mail.from) : [];
  if (from.length === 1 && sender.sendAs.has(from[0]!.address.toLowerCase())) {
    return { from: formatAddress(from[0]!.name || sender.displayName, from[0]!.address), rewritten: false };
  }
  return { from: formatAddress(sender.displayName, sender.email), rewritten: from.length > 0 };
}

// ---------------------------------------------------------------------------------------------
// Header editing of a message sent as written

interface HeaderField {
  name: string;
  /** The field's raw lines, folding kept, with line ends. */
  raw: string;
}

function splitMessage(raw: Buffer): { fields: HeaderField[]; eol: string; body: Buffer } | null {
  const text = raw.toString('latin1');
  const m = /\r?\n\r?\n/.exec(text);
  const headEnd = m ? m.index : text.length;
  const head = text.slice(0, headEnd);
  const eol = head.includes('\r\n') ? '\r\n' : '\n';
  const body = m ? raw.subarray(m.index + m[0].length) : Buffer.alloc(0);
  const fields: HeaderField[] = [];
  for (const line of head.split(/\r?\n/)) {
    if (/^[ \t]/.test(line) && fields.length > 0) fields[fields.length - 1]!.raw += line + eol;
    else {
      const colon = line.indexOf(':');
      if (colon <= 0) return null; // not a header field: not a message
      fields.push({ name: line.slice(0, colon).trim().toLowerCase(), raw: line + eol });
    }
  }
  return { fields, eol, body };
}

/**
 * A device's message as it is submitted: From checked (see the module comment), Sender dropped,
 * Date and Message-ID added when missing; `raw` without Bcc, `sentCopy` with it.
 */
export async function submissionFromDeviceMime(mime: Buffer, sender: Sender, host: string): Promise<Submission> {
  const parts = splitMessage(mime);
  if (!parts || parts.fields.length === 0) throw new ComposeError('invalid_mime', 'the request body is not an RFC 5322 message');
  let mail: ParsedMail;
  try {
    mail = await simpleParser(mime, { skipHtmlToText: true, skipTextToHtml: true, skipImageLinks: true });
  } catch {
    throw new ComposeError('invalid_mime', 'the MIME message cannot be parsed');
  }
  const recipients = recipientsOf(mail);
  if (recipients.length === 0) throw new ComposeError('no_recipients', 'the message names no recipient');
  const { from, rewritten } = resolveFrom(mail, sender);
  const { fields, eol, body } = parts;
  const added: string[] = [`From: ${from}${eol}`];
  if (!fields.some((f) => f.name === 'date')) added.push(`Date: ${new Date().toUTCString().replace('GMT', '+0000')}${eol}`);
  if (!fields.some((f) => f.name === 'message-id')) added.push(`Message-ID: <${randomBytes(12).toString('hex')}@${host}>${eol}`);
  const kept = fields.filter((f) => f.name !== 'from' && f.name !== 'sender');
  const build = (withBcc: boolean) =>
    Buffer.concat([
      Buffer.from(added.join('') + kept.filter((f) => withBcc || f.name !== 'bcc').map((f) => f.raw).join('') + eol, 'latin1'),
      body,
    ]);
  return { envelopeFrom: sender.email, recipients, raw: build(false), sentCopy: build(true), fromRewritten: rewritten };
}

// ---------------------------------------------------------------------------------------------
// SmartReply / SmartForward composition

function escapeHtml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

function textToHtml(s: string): string {
  return escapeHtml(s).replace(/\r?\n/g, '<br>\n');
}

/** The part of an HTML document inside <body>, or all of it. */
function htmlBodyOf(html: string): string {
  const m = /<body[^>]*>([\s\S]*?)<\/body\s*>/i.exec(html);
  return m ? m[1]! : html;
}

function displayDate(iso: string | undefined): string {
  const d = iso ? new Date(iso) : undefined;
  return d && !Number.isNaN(d.getTime()) ? d.toUTCString() : '';
}

function quoteText(kind: 'reply' | 'forward', o: OriginalMessage): string {
  const text = (o.text ?? '').replace(/\r\n/g, '\n');
  if (kind === 'reply') {
    const intro = `On ${displayDate(o.date) || 'an earlier date'}, ${o.from ?? 'the sender'} wrote:`;
    return `\n\n${intro}\n${text.split('\n').map((l) => (l === '' ? '>' : `> ${l}`)).join('\n')}\n`;
  }
  const head = [
    '-------- Original Message --------',
    o.subject !== undefined ? `Subject: ${o.subject}` : null,
    o.date ? `Date: ${displayDate(o.date)}` : null,
    o.from ? `From: ${o.from}` : null,
    o.to ? `To: ${o.to}` : null,
    o.cc ? `Cc: ${o.cc}` : null,
  ].filter((l) => l !== null);
  return `\n\n${head.join('\n')}\n\n${text}\n`;
}

function quoteHtml(kind: 'reply' | 'forward', o: OriginalMessage): string {
  const original = o.html !== undefined ? htmlBodyOf(o.html) : textToHtml(o.text ?? '');
  if (kind === 'reply') {
    const intro = escapeHtml(`On ${displayDate(o.date) || 'an earlier date'}, ${o.from ?? 'the sender'} wrote:`);
    return `<br><div>${intro}</div><blockquote type="cite" style="margin:0 0 0 .8ex;border-left:1px solid #ccc;padding-left:1ex">${original}</blockquote>`;
  }
  const rows = [
    ['Subject', o.subject],
    ['Date', o.date ? displayDate(o.date) : undefined],
    ['From', o.from],
    ['To', o.to],
    ['Cc', o.cc],
  ]
    .filter(([, v]) => v)
    .map(([k, v]) => `<b>${k}:</b> ${escapeHtml(v!)}<br>`)
    .join('\n');
  return `<br><div>-------- Original Message --------<br>\n${rows}</div><br>${original}`;
}

/**
 * SmartReply/SmartForward without ReplaceMime: the device's message with the original appended
 * (and, for a forward, the original's attachments), built by MailComposer.
 */
export async function composeSmartMessage(
  kind: 'reply' | 'forward',
  mime: Buffer,
  original: OriginalMessage,
  sender: Sender,
  host: string,
): Promise<Submission> {
  if (!splitMessage(mime)) throw new ComposeError('invalid_mime', 'the request body is not an RFC 5322 message');
  let mail: ParsedMail;
  try {
    // mailparser's own HTML-to-text (html-to-text) holds the event loop about 2.5 ms per KB of
    // tag-dense HTML, minutes for a body near the request limit; the text form of an HTML-only
    // reply is made below by htmlToText, a single linear scan.
    mail = await simpleParser(mime, { skipImageLinks: true, keepCidLinks: true, skipHtmlToText: true });
  } catch {
    throw new ComposeError('invalid_mime', 'the MIME message cannot be parsed');
  }
  const recipients = recipientsOf(mail);
  if (recipients.length === 0) throw new ComposeError('no_recipients', 'the message names no recipient');
  const { from, rewritten } = resolveFrom(mail, sender);
  const list = (v: AddressObject | AddressObject[] | undefined) => addressesOf(v).map((a) => formatAddress(a.name, a.address));

  const ownText = (typeof mail.text === 'string' && mail.text.trim() !== '' ? mail.text : typeof mail.html === 'string' ? htmlToText(mail.html) : '').trimEnd();
  const ownHtml = typeof mail.html === 'string' ? htmlBodyOf(mail.html) : undefined;
  const withHtml = ownHtml !== undefined || original.html !== undefined;
  const text = ownText + quoteText(kind, original);
  const html = withHtml ? `<html><body>${ownHtml ?? textToHtml(ownText)}${quoteHtml(kind, original)}</body></html>` : undefined;

  const attachments: Mail.Attachment[] = mail.attachments.map((a) => ({
    filename: a.filename,
    content: a.content,
    contentType: a.contentType,
    ...(a.cid ? { cid: a.cid } : {}),
    contentDisposition: a.contentDisposition === 'inline' ? 'inline' : 'attachment',
  }));
  // A forward carries the original's attachments; a reply carries only the inline images its
  // quoted HTML shows.
  for (const a of original.attachments) {
    if (kind === 'reply' && !(a.inline && a.contentId && html)) continue;
    attachments.push({
      filename: a.filename,
      content: a.content,
      contentType: a.contentType,
      ...(a.contentId ? { cid: a.contentId } : {}),
      contentDisposition: a.inline && a.contentId ? 'inline' : 'attachment',
    });
  }

  const refs = [...(original.references ?? []), ...(original.messageId ? [original.messageId] : [])].map((r) => `<${r}>`);
  const node = new MailComposer({
    from,
    to: list(mail.to),
    cc: list(mail.cc),
    bcc: list(mail.bcc),
    subject: mail.subject ?? '',
    date: new Date(),
    messageId: `<${randomBytes(12).toString('hex')}@${host}>`,
    ...(kind === 'reply' && original.messageId ? { inReplyTo: `<${original.messageId}>`, references: refs } : {}),
    ...(kind === 'forward' && refs.length > 0 ? { references: refs } : {}),
    text,
    ...(html !== undefined ? { html } : {}),
    attachments,
  }).compile();
  node.keepBcc = true;
  const sentCopy = await node.build();
  node.keepBcc = false;
  const raw = await node.build();
  return { envelopeFrom: sender.email, recipients, raw, sentCopy, fromRewritten: rewritten };
}

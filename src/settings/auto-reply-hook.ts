/**
 * Out-of-office replies on delivery: an afterDelivery hook (src/mail/deliver.ts) that reads the
 * facts autoReplyFor needs (the user's settings and addresses, whether the sender is local or in
 * the user's contacts, the reply history), and sends the reply through the outbound mail service
 * (src/mail/relay.ts), which delivers to local senders directly and relays the rest.
 *
 * - Cheap when out of office is off: one read of the user's settings per delivered message.
 * - The return path is the envelope sender when delivery passes the envelope (a fourth hook
 *   argument), else the Return-Path header an MTA adds, else From (RFC 3834 §4 asks for the
 *   return path; From is the best left when delivery keeps no envelope).
 * - Once per sender per period is claimed atomically in the store before sending, so two
 *   deliveries at once never both answer. A reply that then fails to send is logged and not
 *   retried within the period (an out-of-office reply is a courtesy, never worth a loop).
 * - The reply's envelope sender is null (MAIL FROM:<>, RFC 3834 §3.3), so whatever answers it
 *   (a bounce, another responder) goes nowhere.
 * - "Known" external senders are those in one of the user's contact folders (Email1-3Address);
 *   the contacts are read only when the known and unknown audiences would answer differently.
 */
import { randomBytes } from 'node:crypto';
import MailComposer from 'nodemailer/lib/mail-composer';
import type { ParsedMessage } from '../mail/parse.ts';
import type { OutboundMail } from '../mail/relay.ts';
import type { MailboxProvider } from '../ports/mailbox.ts';
import type { AccountsStore } from '../ports/store.ts';
import { findUserByAddress, userAddresses } from '../directory/addresses.ts';
import { bare, decideAutoReply, isActive, REPLY_PERIOD_MS, type AutoReply, type InboundForReply } from './auto-reply.ts';

interface HookLog {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

export interface AutoReplyHookOptions {
  /** The user, their addresses and out-of-office settings, and the reply history. */
  accounts: AccountsStore;
  /** Where the user's contacts are read (whether an outside sender is known). */
  mailboxes: Pick<MailboxProvider, 'open'>;
  /** The outbound service, looked up at reply time (the composition root builds it after the hooks). */
  outbound: () => OutboundMail | undefined;
  log?: HookLog;
  now?: () => Date;
  /** Host part of the replies' Message-IDs. Default "easd.local". */
  hostname?: string;
}

/** The envelope, when delivery passes it to its hooks. */
export interface HookEnvelope {
  envelopeFrom: string;
}

/** Contact folder types (MS-ASCMD 2.2.3.186.3): default Contacts and user-created contacts. */
const CONTACT_FOLDER_TYPES = new Set([9, 14]);
const CONTACTS_READ_LIMIT = 100_000;

/** Header fields of the message, names lowercased, values unfolded; repeated fields joined. */
export function headerMap(parsed: ParsedMessage): Map<string, string> {
  const out = new Map<string, string>();
  for (const h of parsed.mail?.headerLines ?? []) {
    const colon = h.line.indexOf(':');
    const value = (colon < 0 ? '' : h.line.slice(colon + 1)).replace(/\r?\n[ \t]+/g, ' ').trim();
    const key = h.key.toLowerCase();
    out.set(key, out.has(key) ? `${out.get(key)}, ${value}` : value);
  }
  return out;
}

function addressesOf(v: unknown): string[] {
  const list = Array.isArray(v) ? v : v ? [v] : [];
  const out: string[] = [];
  const walk = (entries: Array<{ address?: string; group?: unknown[] }>) => {
    for (const e of entries) {
      if (e.address) out.push(e.address);
      if (Array.isArray(e.group)) walk(e.group as Array<{ address?: string; group?: unknown[] }>);
    }
  };
  for (const o of list as Array<{ value?: Array<{ address?: string; group?: unknown[] }> }>) walk(o.value ?? []);
  return out;
}

function angleList(v: string | undefined): string[] {
  return [...(v ?? '').matchAll(/<([^<>\s]+)>/g)].map((m) => m[1]!);
}

async function senderInContacts(mailboxes: Pick<MailboxProvider, 'open'>, userId: string, sender: string): Promise<boolean> {
  const mailbox = mailboxes.open(userId);
  for (const folder of await mailbox.listFolders()) {
    if (!CONTACT_FOLDER_TYPES.has(folder.type)) continue;
    for await (const item of mailbox.scan(folder.id, { limit: CONTACTS_READ_LIMIT })) {
      for (const k of ['email1Address', 'email2Address', 'email3Address']) {
        const v = item.data[k];
        if (typeof v === 'string' && bare(v) === sender) return true;
      }
    }
  }
  return false;
}

/** The RFC 5322 reply. */
export async function buildReplyMessage(reply: AutoReply, displayName: string | null, now: Date, hostname: string): Promise<Buffer> {
  const composer = new MailComposer({
    from: displayName ? { name: displayName, address: reply.from } : reply.from,
    to: reply.to,
    subject: reply.subject,
    text: reply.text,
    ...(reply.html !== undefined ? { html: reply.html } : {}),
    date: now,
    messageId: `<oof.${randomBytes(12).toString('hex')}@${hostname}>`,
    headers: { ...reply.headers },
  });
  return composer.compile().build();
}

export function autoReplyHook(opts: AutoReplyHookOptions) {
  const now = opts.now ?? (() => new Date());
  const hostname = opts.hostname ?? 'easd.local';
  return async (userId: string, _itemId: string, parsed: ParsedMessage, envelope?: HookEnvelope): Promise<void> => {
    const { accounts } = opts;
    const t = now();
    const oof = await accounts.directory.getOof(userId);
    if (isActive(oof, t) !== 'active') return;
    const user = await accounts.getUserById(userId);
    if (!user) return;
    const headers = headerMap(parsed);
    const mail = parsed.mail;
    const fromHeader = addressesOf(mail?.from)[0] ?? '';
    const returnPath = envelope !== undefined ? envelope.envelopeFrom : headers.has('return-path') ? bare(headers.get('return-path')!) : fromHeader;
    const sender = bare(returnPath);
    const senderUser = sender.includes('@') ? await findUserByAddress(accounts, sender) : null;
    const knownMatters = oof!.externalKnown?.enabled === true && senderUser === null && sender.includes('@');
    const message: InboundForReply = {
      returnPath,
      headers,
      subject: mail?.subject ?? '',
      ...(parsed.messageId ? { messageId: parsed.messageId } : {}),
      references: angleList(headers.get('references')),
      toAndCc: [...addressesOf(mail?.to), ...addressesOf(mail?.cc)],
      userAddresses: await userAddresses(accounts, user),
      senderIsLocal: senderUser !== null,
      senderKnown: knownMatters ? await senderInContacts(opts.mailboxes, userId, sender) : false,
    };
    const last = sender ? await accounts.directory.lastAutoReply(userId, sender) : null;
    const decision = decideAutoReply(oof, message, t, new Map(last ? [[sender, last]] : []));
    if ('none' in decision) {
      opts.log?.info({ userId, reason: decision.none }, 'no out-of-office reply');
      return;
    }
    const outbound = opts.outbound();
    if (!outbound) {
      opts.log?.warn({ userId }, 'out-of-office reply not sent: no outbound mail service');
      return;
    }
    const reply = decision.reply;
    if (!(await accounts.directory.claimAutoReply(userId, reply.to, new Date(t.getTime() - REPLY_PERIOD_MS)))) return;
    const raw = await buildReplyMessage(reply, user.displayName, t, hostname);
    try {
      await outbound.send({ from: '', recipients: [reply.to], raw });
      opts.log?.info({ userId, audience: reply.audience }, 'out-of-office reply sent');
    } catch (err) {
      opts.log?.warn({ err, userId }, 'out-of-office reply could not be sent');
    }
  };
}

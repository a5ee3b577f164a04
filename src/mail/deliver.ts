/**
 * Local delivery: one message, many recipients -> one Email item in each recipient's Inbox.
 *
 * - Recipients resolve to users by primary address or alias (the accounts' directory),
 *   case-insensitive.
 * - Accepted domains (kb-2.3) are explicit: the domains of the users' own addresses and aliases
 *   plus the configured ones (`--accepted-domain`). A recipient outside them is refused
 *   ("relaying denied"), as is an unknown address inside them ("no such user"); each refusal is
 *   per recipient, the others still get the message.
 * - The message is parsed once (parse.ts; a large message the listener spooled to a file is
 *   parsed from it, parse-stream.ts, and its bytes reach the store as file sources); each recipient's mailbox (the Mailbox port, opened
 *   from the MailboxProvider) is given its raw bytes and attachments as blobs by content (easd's
 *   own store keeps one copy for every mailbox) and the Email item.
 * - Putting the item notifies the Inbox through the mailbox, which wakes held Pings and Syncs.
 * - `afterDelivery` hooks (out-of-office replies, meeting processing) run after each item is
 *   stored; a failing hook is logged and never fails the delivery.
 *
 * Used by the LMTP/SMTP listener (lmtp-server.ts) and by outbound mail for local recipients
 * (relay.ts); `fileMessage` files the Sent Items copy of what a user sends (send.ts, send-draft.ts).
 */
import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import type { DirectoryStore } from '../ports/directory.ts';
import type { Mailbox, MailboxProvider } from '../ports/mailbox.ts';
import type { AccountsStore } from '../ports/store.ts';
import { isJunkFolder } from '../ports/default-folders.ts';
import type { Item, JsonObject } from '../ports/types.ts';
import { junkVerdict, type JunkRule } from './junk.ts';
import { addressesOf, parseMessage, type ParsedMessage } from './parse.ts';
import { parseSpooled } from './parse-stream.ts';
import type { SpooledMessage } from './spool.ts';

/** What delivery reads of the accounts: users by primary address or alias, and the domains of those addresses. */
export type RecipientAccounts = Pick<AccountsStore, 'getUserByEmail'> & {
  readonly directory: Pick<DirectoryStore, 'findUserIdByAddress' | 'listUserDomains'>;
};

/** Who may receive mail here, and where each recipient's message is written. */
export interface DeliveryTargets {
  readonly accounts: RecipientAccounts;
  /** Opened without credentials: delivery is the server's own work, not a user's request. */
  readonly mailboxes: Pick<MailboxProvider, 'open'>;
}

export interface DeliveryEnvelope {
  /** MAIL FROM (may be empty for bounces). */
  envelopeFrom: string;
  /** RCPT TO addresses. */
  recipients: readonly string[];
  /** The message: in memory, or spooled to a file (spool.ts) by a listener for a large one. */
  raw: Buffer | SpooledMessage;
}

export type AfterDeliveryHook = (userId: string, itemId: string, parsed: ParsedMessage) => Promise<void>;

/** How a message is filed into a mailbox (delivery, and the copies of what a user sent). */
export interface FilingOptions {
  /** Delivery time (DateReceived). Default now. */
  now?: () => Date;
  /** The message, already parsed (SendMail keeps its own parse); parsed again otherwise. */
  parsed?: ParsedMessage;
  /** The Inbox by default; another folder type for copies (e.g. 5 Sent Items). */
  folderType?: number;
  /** Extra item data merged over the parsed fields (e.g. `{ read: true }` for a Sent copy). */
  extraData?: JsonObject;
}

export interface DeliveryOptions extends FilingOptions {
  /** Extra accepted domains besides the users' own (lowercased or not). */
  acceptedDomains?: readonly string[];
  /** The full accepted-domain set, when the caller keeps one (a listener caches it); else read. */
  domainSet?: ReadonlySet<string>;
  afterDelivery?: AfterDeliveryHook | readonly AfterDeliveryHook[];
  /**
   * Headers that mark a message as spam (src/mail/junk.ts): such a message goes to each
   * recipient's Junk E-mail folder, and no hook (out of office, meetings) runs for it. None: the
   * Inbox for everything.
   */
  junkRules?: readonly JunkRule[];
  log?: Pick<Logger, 'info' | 'warn' | 'error'>;
}

export type RecipientOutcome = 'delivered' | 'unknown_user' | 'not_accepted' | 'failed';

export interface RecipientResult {
  recipient: string;
  outcome: RecipientOutcome;
  userId?: string;
  itemId?: string;
  /** SMTP/LMTP reply (RFC 5321 4.2, enhanced codes RFC 3463). */
  code: number;
  message: string;
}

/** What a recipient address resolves to, before the message is read. */
export type Resolution = { kind: 'user'; userId: string } | { kind: 'unknown_user' } | { kind: 'not_accepted' };

/** The address of an envelope path ("<a@b>" -> "a@b"), trimmed and lowercased. */
export function normalizeAddress(address: string): string {
  return address.trim().replace(/^<|>$/g, '').trim().toLowerCase();
}

function domainOf(address: string): string {
  const at = address.lastIndexOf('@');
  return at < 0 ? '' : address.slice(at + 1);
}

/** The set of accepted domains: the users' own plus the configured ones. */
export async function acceptedDomains(accounts: Pick<RecipientAccounts, 'directory'>, configured: readonly string[] = []): Promise<Set<string>> {
  const set = new Set(await accounts.directory.listUserDomains());
  for (const d of configured) if (d.trim()) set.add(d.trim().toLowerCase().replace(/^@/, ''));
  return set;
}

/** Resolves one recipient (kb-2.3). Store errors propagate (the caller answers "try later"). */
export async function resolveRecipient(accounts: RecipientAccounts, address: string, domains: ReadonlySet<string>): Promise<Resolution> {
  const a = normalizeAddress(address);
  const userId = (await accounts.getUserByEmail(a))?.id ?? (await accounts.directory.findUserIdByAddress(a));
  if (userId) return { kind: 'user', userId };
  return domains.has(domainOf(a)) ? { kind: 'unknown_user' } : { kind: 'not_accepted' };
}

/** Whether a store error means "full" (disk or quota): answered 452 rather than 451. */
export function isStoreFull(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return code === 'SQLITE_FULL' || code === '53100' || code === 'ENOSPC' || code === '53200';
}

/** A fresh id for an item's attachments' FileReferences, kept in the item's `uid` (moves keep it). */
export function newMailId(): string {
  return `m${randomBytes(12).toString('hex')}`;
}

export async function deliverMessage(targets: DeliveryTargets, env: DeliveryEnvelope, opts: DeliveryOptions = {}): Promise<RecipientResult[]> {
  const { accounts } = targets;
  const log = opts.log;
  const results: RecipientResult[] = [];
  const byUser = new Map<string, RecipientResult[]>();
  let domains: ReadonlySet<string>;
  try {
    domains = opts.domainSet ?? (await acceptedDomains(accounts, opts.acceptedDomains));
  } catch (err) {
    log?.error({ err }, 'delivery: cannot read accepted domains');
    return env.recipients.map((r) => tempFail(r, err));
  }

  for (const rcpt of env.recipients) {
    const recipient = normalizeAddress(rcpt);
    let res: Resolution;
    try {
      res = await resolveRecipient(accounts, recipient, domains);
    } catch (err) {
      log?.error({ err, recipient }, 'delivery: recipient lookup failed');
      results.push(tempFail(recipient, err));
      continue;
    }
    if (res.kind === 'user') {
      const r: RecipientResult = { recipient, outcome: 'delivered', userId: res.userId, code: 250, message: '2.1.5 OK' };
      results.push(r);
      const list = byUser.get(res.userId) ?? [];
      list.push(r);
      byUser.set(res.userId, list);
    } else if (res.kind === 'unknown_user') {
      results.push({ recipient, outcome: 'unknown_user', code: 550, message: `5.1.1 <${recipient}>: no such user here` });
    } else {
      results.push({ recipient, outcome: 'not_accepted', code: 550, message: `5.7.1 <${recipient}>: relaying denied, domain not accepted here` });
    }
  }
  if (byUser.size === 0) return results;

  const received = (opts.now ?? (() => new Date()))();
  // A spooled message is parsed from its file (parse-stream.ts), so it is never held whole.
  const parsed = opts.parsed ?? (Buffer.isBuffer(env.raw) ? await parseMessage(env.raw, { received }) : await parseSpooled(env.raw, { received }));
  const size = Buffer.isBuffer(env.raw) ? env.raw.length : env.raw.size;
  const fail = (list: RecipientResult[], err: unknown) => {
    for (const r of list) Object.assign(r, tempFail(r.recipient, err), { userId: r.userId });
  };

  const visible = visibleRecipients(parsed);
  // The MTA's spam filter decided (its header); a spam message is filed, never acted on.
  const junk = junkVerdict(parsed, opts.junkRules ?? []);
  for (const [userId, list] of byUser) {
    const mailbox = targets.mailboxes.open(userId);
    try {
      // Every mailbox is given the blobs its item refers to; easd's own store keeps one copy
      // (a blob it has is only marked fresh again).
      await mailbox.putBlobs(parsed.parts);
    } catch (err) {
      log?.error({ err, userId }, 'delivery: storing the message failed');
      fail(list, err);
      continue;
    }
    try {
      // MS-ASEMAIL 2.2.2.58 ReceivedAsBcc: none of this user's addresses is in To or Cc.
      const item = await fileItem(mailbox, parsed, received, !list.some((r) => visible.has(r.recipient)), junk ? { ...opts, junk: true } : opts);
      for (const r of list) r.itemId = item.id;
      log?.info({ userId, itemId: item.id, recipients: list.map((r) => r.recipient), size, ...(junk ? { junk } : {}) }, junk ? 'delivered to Junk E-mail' : 'delivered');
      // No out-of-office reply to spam and no meeting processing of it (Exchange does neither for
      // the Junk Email folder): the user decides by moving the message out.
      if (!junk) await runHooks(opts.afterDelivery, userId, item.id, parsed, log);
    } catch (err) {
      log?.error({ err, userId }, 'delivery: storing the item failed');
      fail(list, err);
    }
  }
  return results;
}

/**
 * Files a copy of a message into this mailbox as delivery would for its user at `address` (the
 * Sent Items copy of what the user sent): no recipient lookup, no hooks. A store failure is the
 * result's outcome (451/452), as in delivery, never thrown.
 */
export async function fileMessage(mailbox: Mailbox, address: string, raw: Buffer, opts: FilingOptions = {}): Promise<RecipientResult> {
  const recipient = normalizeAddress(address);
  const received = (opts.now ?? (() => new Date()))();
  const parsed = opts.parsed ?? (await parseMessage(raw, { received }));
  try {
    await mailbox.putBlobs(parsed.parts);
    const item = await fileItem(mailbox, parsed, received, !visibleRecipients(parsed).has(recipient), opts);
    return { recipient, outcome: 'delivered', userId: mailbox.userId, itemId: item.id, code: 250, message: '2.1.5 OK' };
  } catch (err) {
    return { ...tempFail(recipient, err), userId: mailbox.userId };
  }
}

/** The addresses in the message's To and Cc. */
function visibleRecipients(parsed: ParsedMessage): Set<string> {
  return new Set([...addressesOf(parsed.mail?.to), ...addressesOf(parsed.mail?.cc)]);
}

/** The message's Email item, in the mailbox's folder of `opts.folderType` (the Inbox by default). */
async function fileItem(mailbox: Mailbox, parsed: ParsedMessage, received: Date, receivedAsBcc: boolean, opts: FilingOptions & { junk?: boolean }): Promise<Item> {
  const folders = await mailbox.ensureDefaultFolders();
  const folderType = opts.folderType ?? 2;
  const folder = opts.junk ? folders.find(isJunkFolder) : folders.find((f) => f.type === folderType);
  if (!folder) throw new Error(`user ${mailbox.userId} has no ${opts.junk ? 'Junk E-mail folder' : `folder of type ${folderType}`}`);
  const mailId = newMailId();
  const data: JsonObject = {
    ...parsed.data,
    dateReceived: received.toISOString(),
    receivedAsBcc,
    mailId,
    ...(opts.extraData ?? {}),
  };
  return mailbox.putItem({ folderId: folder.id, class: 'Email', data, uid: mailId });
}

function tempFail(recipient: string, err: unknown): RecipientResult {
  return isStoreFull(err)
    ? { recipient, outcome: 'failed', code: 452, message: '4.3.1 insufficient system storage, try again later' }
    : { recipient, outcome: 'failed', code: 451, message: '4.3.0 temporary failure storing the message, try again later' };
}

async function runHooks(
  hooks: AfterDeliveryHook | readonly AfterDeliveryHook[] | undefined,
  userId: string,
  itemId: string,
  parsed: ParsedMessage,
  log: DeliveryOptions['log'],
): Promise<void> {
  const list = hooks === undefined ? [] : typeof hooks === 'function' ? [hooks] : hooks;
  for (const hook of list) {
    try {
      await hook(userId, itemId, parsed);
    } catch (err) {
      log?.warn({ err, userId, itemId }, 'delivery: afterDelivery hook failed (message delivered)');
    }
  }
}

/**
 * Local delivery: one message, many recipients -> one Email item in each recipient's Inbox.
 *
 * - Recipients resolve to users by primary address or alias (store.directory), case-insensitive.
 * - Accepted domains (kb-2.3) are explicit: the domains of the users' own addresses and aliases
 *   plus the configured ones (`--accepted-domain`). A recipient outside them is refused
 *   ("relaying denied"), as is an unknown address inside them ("no such user"); each refusal is
 *   per recipient, the others still get the message.
 * - The message is parsed once (parse.ts) and its raw bytes and attachments are stored once by
 *   content (store.mail), shared by every recipient's item.
 * - Putting the item notifies the Inbox through the store, which wakes held Pings and Syncs.
 * - `afterDelivery` hooks (out-of-office replies, meeting processing) run after each item is
 *   stored; a failing hook is logged and never fails the delivery.
 *
 * Used by the LMTP/SMTP listener (lmtp-server.ts) and by SendMail for local recipients.
 */
import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import { ensureDefaultFolders } from '../mailbox/default-folders.ts';
import type { JsonObject } from '../ports/types.ts';
import type { Store } from '../ports/store.ts';
import { addressesOf, parseMessage, type ParsedMessage } from './parse.ts';

export interface DeliveryEnvelope {
  /** MAIL FROM (may be empty for bounces). */
  envelopeFrom: string;
  /** RCPT TO addresses. */
  recipients: readonly string[];
  raw: Buffer;
}

export type AfterDeliveryHook = (userId: string, itemId: string, parsed: ParsedMessage) => Promise<void>;

export interface DeliveryOptions {
  /** Extra accepted domains besides the users' own (lowercased or not). */
  acceptedDomains?: readonly string[];
  /** The full accepted-domain set, when the caller keeps one (a listener caches it); else read. */
  domainSet?: ReadonlySet<string>;
  afterDelivery?: AfterDeliveryHook | readonly AfterDeliveryHook[];
  log?: Pick<Logger, 'info' | 'warn' | 'error'>;
  /** Delivery time (DateReceived). Default now. */
  now?: () => Date;
  /** The message, already parsed (SendMail keeps its own parse); parsed again otherwise. */
  parsed?: ParsedMessage;
  /** The Inbox by default; another folder type for copies (e.g. 5 Sent Items). */
  folderType?: number;
  /** Extra item data merged over the parsed fields (e.g. `{ read: true }` for a Sent copy). */
  extraData?: JsonObject;
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
export async function acceptedDomains(store: Store, configured: readonly string[] = []): Promise<Set<string>> {
  const set = new Set(await store.mail.listUserDomains());
  for (const d of configured) if (d.trim()) set.add(d.trim().toLowerCase().replace(/^@/, ''));
  return set;
}

/** Resolves one recipient (kb-2.3). Store errors propagate (the caller answers "try later"). */
export async function resolveRecipient(store: Store, address: string, domains: ReadonlySet<string>): Promise<Resolution> {
  const a = normalizeAddress(address);
  const userId = (await store.getUserByEmail(a))?.id ?? (await store.directory.findUserIdByAddress(a));
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

export async function deliverMessage(store: Store, env: DeliveryEnvelope, opts: DeliveryOptions = {}): Promise<RecipientResult[]> {
  const log = opts.log;
  const results: RecipientResult[] = [];
  const byUser = new Map<string, RecipientResult[]>();
  let domains: ReadonlySet<string>;
  try {
    domains = opts.domainSet ?? (await acceptedDomains(store, opts.acceptedDomains));
  } catch (err) {
    log?.error({ err }, 'delivery: cannot read accepted domains');
    return env.recipients.map((r) => tempFail(r, err));
  }

  for (const rcpt of env.recipients) {
    const recipient = normalizeAddress(rcpt);
    let res: Resolution;
    try {
      res = await resolveRecipient(store, recipient, domains);
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
  const parsed = opts.parsed ?? (await parseMessage(env.raw, { received }));
  const fail = (list: RecipientResult[], err: unknown) => {
    for (const r of list) Object.assign(r, tempFail(r.recipient, err), { userId: r.userId });
  };
  try {
    await store.mail.putBlobs(parsed.parts);
  } catch (err) {
    log?.error({ err }, 'delivery: storing the message failed');
    for (const list of byUser.values()) fail(list, err);
    return results;
  }

  const visible = new Set([...addressesOf(parsed.mail?.to), ...addressesOf(parsed.mail?.cc)]);
  for (const [userId, list] of byUser) {
    try {
      const folders = await ensureDefaultFolders(store, userId);
      const folderType = opts.folderType ?? 2;
      const folder = folders.find((f) => f.type === folderType);
      if (!folder) throw new Error(`user ${userId} has no folder of type ${folderType}`);
      const mailId = newMailId();
      const data: JsonObject = {
        ...parsed.data,
        dateReceived: received.toISOString(),
        // MS-ASEMAIL 2.2.2.58 ReceivedAsBcc: none of this user's addresses is in To or Cc.
        receivedAsBcc: !list.some((r) => visible.has(r.recipient)),
        mailId,
        ...(opts.extraData ?? {}),
      };
      const item = await store.putItem({ userId, folderId: folder.id, class: 'Email', data, uid: mailId });
      for (const r of list) r.itemId = item.id;
      log?.info({ userId, itemId: item.id, recipients: list.map((r) => r.recipient), size: env.raw.length }, 'delivered');
      await runHooks(opts.afterDelivery, userId, item.id, parsed, log);
    } catch (err) {
      log?.error({ err, userId }, 'delivery: storing the item failed');
      fail(list, err);
    }
  }
  return results;
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

/**
 * Automatic replies while the user is out of office: whether a delivered message gets one, and what
 * it says. A pure decision (RFC 3834 "Recommendations for Automatic Responses to Electronic
 * Mail"); the delivery hook (auto-reply-hook.ts) reads the facts and sends the reply.
 *
 * No reply (each reason is named in the decision, for logs and tests):
 * - out of office is off, or scheduled and `now` is outside [start, end);
 * - the message has no return path: the envelope sender is empty ("<>", a bounce) (RFC 3834 §2);
 * - it is automatic itself: Auto-Submitted other than "no" (RFC 3834 §5), or Microsoft's
 *   X-Auto-Response-Suppress naming OOF or All;
 * - it comes from a list or is bulk: any List-* field (RFC 2369, RFC 2919 List-Id), or Precedence
 *   bulk, list or junk (RFC 3834 §2);
 * - the sender is a mailer or list robot (MAILER-DAEMON, LISTSERV, majordomo, owner-*, *-request;
 *   RFC 3834 §2);
 * - the sender is the user (any of their addresses), so nobody answers themselves;
 * - none of the user's addresses is in To or Cc (RFC 3834 §2: only explicitly addressed mail;
 *   this excludes Bcc copies and lists that hide their recipients);
 * - the audience's message is off or empty;
 * - this sender had a reply within REPLY_PERIOD_MS (RFC 3834 §2 suggests 7 days): once per sender
 *   per period. Saving new out-of-office settings starts a new period for everyone.
 *
 * Audience: internal when the sender is a user of this server or shares a domain with one of the
 * user's addresses; otherwise external-known when the sender is in the user's contacts (the hook
 * looks), else external-unknown.
 *
 * The reply goes to the return path (RFC 3834 §4), from the user's primary address, with
 * Auto-Submitted: auto-replied (§5), In-Reply-To and References (§3.1.x), and the subject
 * "Automatic reply: <original subject>" as Exchange writes it.
 */
import type { OofMessage, OofSettings } from '../ports/directory.ts';
import { convertBody } from './oof.ts';

/** Once per sender per this period. */
export const REPLY_PERIOD_MS = 7 * 24 * 60 * 60 * 1000;

/** What the decision needs to know about the delivered message and its recipient. */
export interface InboundForReply {
  /** Envelope sender (MAIL FROM / Return-Path); '' or '<>' for none. */
  returnPath: string;
  /** Header fields, names lowercased; a repeated field joined (only presence and values matter). */
  headers: ReadonlyMap<string, string>;
  subject: string;
  /** Message-ID of the message, without angle brackets. */
  messageId?: string;
  /** References of the message, without angle brackets. */
  references?: readonly string[];
  /** Addresses in To and Cc (bare, any case). */
  toAndCc: readonly string[];
  /** The recipient user's addresses: primary first, then aliases (lowercased). */
  userAddresses: readonly string[];
  /** The sender is a user of this server. */
  senderIsLocal: boolean;
  /** The sender is in the user's contacts. */
  senderKnown: boolean;
}

/** When a reply last went to each sender (lowercased address). */
export type AutoReplyHistory = ReadonlyMap<string, Date>;

export interface AutoReply {
  /** The user's primary address. */
  from: string;
  /** The return path of the message, bare. */
  to: string;
  subject: string;
  audience: 'internal' | 'externalKnown' | 'externalUnknown';
  text: string;
  /** Present when the message was written as HTML. */
  html?: string;
  headers: { 'Auto-Submitted': 'auto-replied'; 'In-Reply-To'?: string; References?: string; 'X-Auto-Response-Suppress': 'All' };
}

export type NoReplyReason =
  | 'oof_off'
  | 'outside_schedule'
  | 'no_return_path'
  | 'auto_submitted'
  | 'list_or_bulk'
  | 'robot_sender'
  | 'own_address'
  | 'not_addressed'
  | 'message_off'
  | 'already_replied';

export type AutoReplyDecision = { reply: AutoReply } | { none: NoReplyReason };

export function bare(address: string): string {
  const m = /<([^<>]*)>\s*$/.exec(address);
  return (m ? m[1]! : address).trim().toLowerCase();
}

function domain(address: string): string {
  const at = address.lastIndexOf('@');
  return at < 0 ? '' : address.slice(at + 1);
}

const ROBOT = /^(mailer-daemon|listserv|majordomo|owner-.*|.*-request)$/i;

export function isActive(oof: OofSettings | null, now: Date): 'active' | 'oof_off' | 'outside_schedule' {
  if (!oof || oof.state === 'disabled') return 'oof_off';
  if (oof.state === 'scheduled') {
    const t = now.toISOString();
    if (!oof.start || !oof.end || t < oof.start || t >= oof.end) return 'outside_schedule';
  }
  return 'active';
}

export function decideAutoReply(oof: OofSettings | null, message: InboundForReply, now: Date, history: AutoReplyHistory): AutoReplyDecision {
  const active = isActive(oof, now);
  if (active !== 'active') return { none: active };
  const sender = bare(message.returnPath);
  if (sender === '' || !sender.includes('@')) return { none: 'no_return_path' };
  const h = message.headers;
  const autoSubmitted = h.get('auto-submitted');
  if (autoSubmitted !== undefined && autoSubmitted.trim().split(/[\s;(]/)[0]!.toLowerCase() !== 'no') return { none: 'auto_submitted' };
  const suppress = h.get('x-auto-response-suppress');
  if (suppress !== undefined && /\b(all|oof)\b/i.test(suppress)) return { none: 'auto_submitted' };
  if ([...h.keys()].some((k) => k.startsWith('list-'))) return { none: 'list_or_bulk' };
  const precedence = h.get('precedence')?.trim().toLowerCase();
  if (precedence === 'bulk' || precedence === 'list' || precedence === 'junk') return { none: 'list_or_bulk' };
  if (ROBOT.test(sender.slice(0, sender.lastIndexOf('@')))) return { none: 'robot_sender' };
  const own = new Set(message.userAddresses.map(bare));
  if (own.has(sender)) return { none: 'own_address' };
  if (!message.toAndCc.some((a) => own.has(bare(a)))) return { none: 'not_addressed' };

  const ownDomains = new Set([...own].map(domain));
  const audience = message.senderIsLocal || ownDomains.has(domain(sender)) ? 'internal' : message.senderKnown ? 'externalKnown' : 'externalUnknown';
  const msg: OofMessage | null = oof![audience];
  if (!msg || !msg.enabled || msg.message.trim() === '') return { none: 'message_off' };
  const last = history.get(sender);
  if (last && now.getTime() - last.getTime() < REPLY_PERIOD_MS) return { none: 'already_replied' };

  const refs = [...(message.references ?? []), ...(message.messageId ? [message.messageId] : [])];
  return {
    reply: {
      from: message.userAddresses[0]!,
      to: sender,
      subject: `Automatic reply: ${message.subject}`.trim(),
      audience,
      text: convertBody(msg.message, msg.bodyType, 'text'),
      ...(msg.bodyType === 'html' ? { html: msg.message } : {}),
      headers: {
        'Auto-Submitted': 'auto-replied',
        ...(message.messageId ? { 'In-Reply-To': `<${message.messageId}>` } : {}),
        ...(refs.length > 0 ? { References: refs.map((r) => `<${r}>`).join(' ') } : {}),
        'X-Auto-Response-Suppress': 'All',
      },
    },
  };
}

/** The reply to send, or null (decideAutoReply says why). */
export function autoReplyFor(oof: OofSettings | null, message: InboundForReply, now: Date, history: AutoReplyHistory): AutoReply | null {
  const d = decideAutoReply(oof, message, now, history);
  return 'reply' in d ? d.reply : null;
}

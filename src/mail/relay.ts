/**
 * Outbound mail: the one way easd sends a message, for SendMail/SmartReply/SmartForward and for
 * whatever else the server sends on a user's behalf (automatic replies, meeting messages).
 *
 * Recipients who are users of this server (by primary address or alias, the accounts'
 * directory) are delivered directly into their mailboxes through local delivery; everyone else
 * goes through the configured SMTP relay (nodemailer's SMTP transport, `--smtp-relay
 * smtp://host:port`). The relay is tried first: if it refuses or cannot be reached nothing has
 * been delivered anywhere,
 * so the device can send the same message again without duplicating it for local recipients.
 * With no relay configured, a message for an outside recipient is refused as a whole before
 * anything is delivered (OutboundError 'no_relay').
 *
 * A recipient that cannot get the message while others can (an unknown address in a domain of this
 * server, or one the relay refuses at RCPT) does not fail the whole message: the others get it and
 * the sender gets a bounce (dsn.ts) naming the recipients that did not, as Exchange does. Only when
 * no recipient at all can get it is the message refused ('unknown_recipient', Status 116).
 *
 * The relay's size limit (its EHLO SIZE, RFC 1870) is checked before DATA: the envelope carries the
 * message size, so a relay that advertises a smaller limit refuses the message before it is sent,
 * and a relay that refuses it after DATA (552, RFC 5321 4.5.3.1.10) is read the same way:
 * OutboundError 'too_large'.
 */
import { hostname } from 'node:os';
import nodemailer from 'nodemailer';
import type { Logger } from 'pino';
import { acceptedDomains, resolveRecipient, type RecipientAccounts, type RecipientResult } from './deliver.ts';
import { buildDsn, type FailedRecipient } from './dsn.ts';
import { headerField } from './raw-headers.ts';

export type StartTlsMode = 'require' | 'opportunistic' | 'off';

export interface RelayConfig {
  /** smtp://host:port (STARTTLS per `starttls`) or smtps://host:port (TLS from the start). */
  url: string;
  user?: string;
  password?: string;
  /** Default 'opportunistic': STARTTLS when the relay offers it. */
  starttls?: StartTlsMode;
  /** Test hook: accept a relay's self-signed certificate. Never set by `easd serve`. */
  tlsRejectUnauthorized?: boolean;
}

export interface OutboundMessage {
  /** Envelope sender (MAIL FROM). */
  from: string;
  /** Envelope recipients (RCPT TO), bare addresses. */
  recipients: readonly string[];
  /** The whole RFC 5322 message, as it is to be delivered (no Bcc header). */
  raw: Buffer;
}

export interface SendOutcome {
  /** Recipients delivered into a local mailbox. */
  local: string[];
  /** Recipients the relay accepted. */
  relayed: string[];
  /** Recipients that did not get it (unknown here, or refused by the relay); the sender was sent a bounce. */
  bounced: string[];
}

export type OutboundErrorCode = 'no_recipients' | 'unknown_recipient' | 'no_relay' | 'relay_failed' | 'too_large' | 'local_failed';

export class OutboundError extends Error {
  override readonly name = 'OutboundError';
  constructor(
    readonly code: OutboundErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** The service commands and other areas send mail through (Services.outbound). */
export interface OutboundMail {
  /** Throws OutboundError when the message could not be sent to every recipient. */
  send(msg: OutboundMessage): Promise<SendOutcome>;
  /** Closes the relay connection pool. */
  close(): void;
}

/**
 * Local delivery as the inbound side offers it: `(m) => deliverMessage(targets, m, deliveryOptions)`
 * (src/mail/deliver.ts), built by the composition root with the same hooks (out of office,
 * meetings) as LMTP delivery.
 */
export type LocalDelivery = (msg: { envelopeFrom: string; recipients: string[]; raw: Buffer }) => Promise<RecipientResult[]>;

export interface OutboundOptions {
  /** Who is local: users by address and the domains of their addresses. */
  accounts: RecipientAccounts;
  deliverLocal: LocalDelivery;
  /** Accepted domains beyond the users' own (`--accepted-domain`): addresses there are local. */
  acceptedDomains?: readonly string[];
  relay?: RelayConfig;
  log: Logger;
  /** The name bounces give as their Reporting-MTA; default the machine's host name. */
  hostname?: string;
  /** Told of every message handed to the relay, for metrics. */
  onRelayResult?: (result: 'sent' | 'failed' | 'too_large') => void;
}

export function parseStartTls(value: string): StartTlsMode {
  if (value === 'require' || value === 'opportunistic' || value === 'off') return value;
  throw new Error(`--smtp-relay-starttls must be require, opportunistic or off, not "${value}"`);
}

/** nodemailer SMTP transport options for a relay URL; throws on a URL that is not smtp(s)://host[:port]. */
export function relayTransportOptions(cfg: RelayConfig) {
  let url: URL;
  try {
    url = new URL(cfg.url);
  } catch {
    throw new Error(`--smtp-relay must be smtp://host:port or smtps://host:port, not "${cfg.url}"`);
  }
  if ((url.protocol !== 'smtp:' && url.protocol !== 'smtps:') || url.hostname === '') {
    throw new Error(`--smtp-relay must be smtp://host:port or smtps://host:port, not "${cfg.url}"`);
  }
  const secure = url.protocol === 'smtps:';
  const mode = cfg.starttls ?? 'opportunistic';
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  return {
    host,
    port: url.port !== '' ? Number(url.port) : secure ? 465 : 25,
    secure,
    requireTLS: !secure && mode === 'require',
    ignoreTLS: !secure && mode === 'off',
    ...(cfg.user !== undefined ? { auth: { user: cfg.user, pass: cfg.password ?? '' } } : {}),
    ...(cfg.tlsRejectUnauthorized === false ? { tls: { rejectUnauthorized: false } } : {}),
    pool: true,
    maxConnections: 4,
    connectionTimeout: 30_000,
    greetingTimeout: 30_000,
    socketTimeout: 60_000,
  };
}

function bare(address: string): string {
  return address.trim().toLowerCase();
}

export function createOutboundMail(opts: OutboundOptions): OutboundMail {
  const transport = opts.relay ? nodemailer.createTransport(relayTransportOptions(opts.relay)) : undefined;
  const relayName = opts.relay ? new URL(opts.relay.url).host : undefined;
  const reportingHost = opts.hostname ?? hostname();

  /** Tells the sender which recipients did not get the message; a failure here is only logged (the message went). */
  const bounce = async (msg: OutboundMessage, failed: FailedRecipient[], domains: ReadonlySet<string>): Promise<void> => {
    const sender = bare(msg.from);
    opts.log.warn({ from: sender, bounced: failed.map((f) => `${f.recipient} ${f.status}`) }, 'outbound mail: some recipients did not get it; the sender gets a bounce');
    if ((await resolveRecipient(opts.accounts, sender, domains)).kind !== 'user') {
      opts.log.warn({ from: sender }, 'outbound mail: no bounce, the sender is not a user of this server');
      return;
    }
    const domain = sender.includes('@') ? sender.slice(sender.lastIndexOf('@') + 1) : reportingHost;
    const raw = buildDsn({ reportingHost, fromDomain: domain, to: sender, original: msg.raw, failed, now: new Date() });
    try {
      // An empty return path: nothing may answer a bounce (RFC 5321 4.5.5).
      const results = await opts.deliverLocal({ envelopeFrom: '', recipients: [sender], raw });
      const lost = results.filter((r) => r.outcome !== 'delivered');
      if (lost.length > 0) opts.log.error({ from: sender, results: lost.map((r) => `${r.recipient} ${r.code}`) }, 'outbound mail: the bounce was not stored');
    } catch (err) {
      opts.log.error({ err, from: sender }, 'outbound mail: the bounce was not stored');
    }
  };

  return {
    async send(msg) {
      const recipients = [...new Set(msg.recipients.map(bare).filter((r) => r !== ''))];
      if (recipients.length === 0) throw new OutboundError('no_recipients', 'the message has no recipients');
      const local: string[] = [];
      const remote: string[] = [];
      const failed: FailedRecipient[] = [];
      // For the log lines: which message, and the relay's id for it (to follow it in the relay's log).
      const messageId = headerField(msg.raw, 'message-id');
      let queueId: string | undefined;
      const domains = await acceptedDomains(opts.accounts, opts.acceptedDomains);
      for (const r of recipients) {
        const res = await resolveRecipient(opts.accounts, r, domains);
        // An unknown address in a domain of this server would only come back here through the
        // relay and bounce: it is bounced at once, and the others still get the message.
        if (res.kind === 'unknown_user') failed.push({ recipient: r, status: '5.1.1', diagnostic: '550 5.1.1 no such user here' });
        else (res.kind === 'user' ? local : remote).push(r);
      }
      // Nobody can get it: the device is told at once (MS-ASCMD 2.2.2 status 116), nothing is sent.
      if (local.length + remote.length === 0) throw new OutboundError('unknown_recipient', `no user ${failed[0]!.recipient} on this server`);

      if (remote.length > 0) {
        if (!transport) {
          opts.log.warn({ from: msg.from, remote: remote.length }, 'outbound mail refused: no --smtp-relay configured for outside recipients');
          throw new OutboundError('no_relay', 'no SMTP relay is configured for outside recipients');
        }
        let info: { accepted: Array<string | { address: string }>; rejected: Array<string | { address: string }>; rejectedErrors?: Array<{ recipient?: string; response?: string }>; response?: string };
        try {
          // The size lets the relay's EHLO SIZE refuse the message before DATA (RFC 1870 6).
          info = await transport.sendMail({ envelope: { from: msg.from, to: remote, size: msg.raw.length } as { from: string; to: string[] }, raw: msg.raw });
        } catch (err) {
          const tooLarge = isTooLarge(err);
          opts.onRelayResult?.(tooLarge ? 'too_large' : 'failed');
          if (tooLarge) {
            opts.log.warn({ relay: relayName, messageId, from: msg.from, to: remote, bytes: msg.raw.length, response: smtpResponse(err) }, 'outbound mail refused: larger than the relay takes');
            throw new OutboundError('too_large', `the message (${msg.raw.length} bytes) is larger than the SMTP relay takes`, { cause: err });
          }
          // The relay's answer, not a stack: a refusal is the relay's decision, not an easd fault.
          opts.log.warn({ relay: relayName, messageId, from: msg.from, to: remote, code: (err as { code?: string }).code, response: smtpResponse(err) }, 'outbound mail: the relay did not take the message');
          throw new OutboundError('relay_failed', `the SMTP relay did not take the message: ${(err as Error).message}`, { cause: err });
        }
        opts.onRelayResult?.('sent');
        queueId = queueIdOf(info.response);
        if (info.rejected.length > 0) {
          // Some recipients refused: the others already have it, so it is not retried; the
          // sender is told by a bounce.
          opts.log.warn({ relay: relayName, messageId, from: msg.from, rejected: info.rejected.map((r) => (typeof r === 'string' ? r : r.address)) }, 'outbound mail: the relay refused some recipients');
          for (const rejected of info.rejected) {
            const address = typeof rejected === 'string' ? rejected : rejected.address;
            const why = info.rejectedErrors?.find((e) => e.recipient === address)?.response ?? '550 5.1.1 refused by the relay';
            failed.push({ recipient: address, status: enhancedStatus(why), diagnostic: why });
          }
        }
      }
      if (local.length > 0) {
        let results: RecipientResult[];
        try {
          results = await opts.deliverLocal({ envelopeFrom: msg.from, recipients: local, raw: msg.raw });
        } catch (err) {
          opts.log.error({ err, from: msg.from }, 'outbound mail: local delivery failed');
          throw new OutboundError('local_failed', 'local delivery failed', { cause: err });
        }
        const notDelivered = results.filter((r) => r.outcome !== 'delivered');
        if (notDelivered.length > 0) {
          opts.log.error({ from: msg.from, failed: notDelivered.map((r) => `${r.recipient} ${r.code}`) }, 'outbound mail: local delivery failed');
          throw new OutboundError('local_failed', 'local delivery failed');
        }
      }
      if (failed.length > 0) await bounce(msg, failed, domains);
      opts.log.info({ messageId, from: msg.from, local: local.length, relayed: remote.length, bytes: msg.raw.length, ...(queueId ? { relay: relayName, queueId } : {}) }, 'outbound mail sent');
      return { local, relayed: remote, bounced: failed.map((f) => f.recipient) };
    },
    close() {
      transport?.close();
    },
  };
}

/** Whether the relay refused the message for its size: over its EHLO SIZE, or 552 (RFC 5321 4.5.3.1.10) or 5.3.4 (RFC 3463). */
function isTooLarge(err: unknown): boolean {
  const e = err as { responseCode?: number; response?: string; message?: string };
  if (e.responseCode === 552) return true;
  const text = `${e.response ?? ''} ${e.message ?? ''}`;
  return /\b5\.3\.4\b/.test(text) || /size larger than allowed/i.test(text);
}

/** The enhanced status code in an SMTP reply ("550 5.1.1 ..."), or 5.0.0. */
function enhancedStatus(response: string): string {
  return /\b([245]\.\d{1,3}\.\d{1,3})\b/.exec(response)?.[1] ?? '5.0.0';
}

/** The SMTP reply of a relay error (nodemailer's `response`), else its message. */
function smtpResponse(err: unknown): string {
  return (err as { response?: string }).response ?? (err as Error).message;
}

/** The relay's queue id in its 250 reply to DATA ("250 2.0.0 Ok: queued as 4Zx1", Postfix; "id=..." elsewhere). */
export function queueIdOf(response: string | undefined): string | undefined {
  if (!response) return undefined;
  return /queued as ([A-Za-z0-9._-]+)/i.exec(response)?.[1] ?? /\bid=([A-Za-z0-9._-]+)/.exec(response)?.[1];
}

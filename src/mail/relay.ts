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
 */
import nodemailer from 'nodemailer';
import type { Logger } from 'pino';
import { acceptedDomains, resolveRecipient, type RecipientAccounts, type RecipientResult } from './deliver.ts';

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
}

export type OutboundErrorCode = 'no_recipients' | 'unknown_recipient' | 'no_relay' | 'relay_failed' | 'local_failed';

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
  return {
    async send(msg) {
      const recipients = [...new Set(msg.recipients.map(bare).filter((r) => r !== ''))];
      if (recipients.length === 0) throw new OutboundError('no_recipients', 'the message has no recipients');
      const local: string[] = [];
      const remote: string[] = [];
      const domains = await acceptedDomains(opts.accounts, opts.acceptedDomains);
      for (const r of recipients) {
        const res = await resolveRecipient(opts.accounts, r, domains);
        // An unknown address in a domain of this server would only come back here through the
        // relay and bounce: refused before anything is sent (MS-ASCMD 2.2.2 status 116).
        if (res.kind === 'unknown_user') throw new OutboundError('unknown_recipient', `no user ${r} on this server`);
        (res.kind === 'user' ? local : remote).push(r);
      }

      if (remote.length > 0) {
        if (!transport) {
          opts.log.warn({ from: msg.from, remote: remote.length }, 'outbound mail refused: no --smtp-relay configured for outside recipients');
          throw new OutboundError('no_relay', 'no SMTP relay is configured for outside recipients');
        }
        let info: { accepted: Array<string | { address: string }>; rejected: Array<string | { address: string }> };
        try {
          info = await transport.sendMail({ envelope: { from: msg.from, to: remote }, raw: msg.raw });
        } catch (err) {
          opts.log.warn({ err, relay: relayName, from: msg.from }, 'outbound mail: the relay did not take the message');
          throw new OutboundError('relay_failed', `the SMTP relay did not take the message: ${(err as Error).message}`, { cause: err });
        }
        if (info.rejected.length > 0) {
          // Some recipients refused: the others already have it, so this is reported, not retried.
          opts.log.warn({ relay: relayName, rejected: info.rejected.length }, 'outbound mail: the relay refused some recipients');
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
        const failed = results.filter((r) => r.outcome !== 'delivered');
        if (failed.length > 0) {
          opts.log.error({ from: msg.from, failed: failed.map((r) => `${r.recipient} ${r.code}`) }, 'outbound mail: local delivery failed');
          throw new OutboundError('local_failed', 'local delivery failed');
        }
      }
      opts.log.info({ from: msg.from, local: local.length, relayed: remote.length, bytes: msg.raw.length }, 'outbound mail sent');
      return { local, relayed: remote };
    },
    close() {
      transport?.close();
    },
  };
}

/**
 * Mail in over LMTP (RFC 2033) and, optionally, SMTP (RFC 5321) from the organisation's MTA
 * (Postfix, Exim, Dovecot's LMTP proxy), with smtp-server.
 *
 * - RCPT TO: each recipient is resolved at once (deliver.ts, kb-2.3): an unknown user in an
 *   accepted domain gets 550 5.1.1, an address outside the accepted domains 550 5.7.1, a store
 *   that cannot answer 451 4.3.0 (the MTA keeps the message and retries).
 * - DATA: the message is read up to the size limit; over it, every recipient gets 552 5.3.4
 *   (the message is dropped, never half-stored). A message over 1 MB (`spoolThresholdBytes`) is
 *   spooled to a file as it arrives and parsed and stored from it (spool.ts, parse-stream.ts), so
 *   the memory a delivery takes does not grow with the message's size. Otherwise it is delivered once and, in LMTP, each
 *   accepted recipient gets its own reply after the final dot (RFC 2033 4.2): 250 when its item is
 *   stored, 452 4.3.1 when the store is full, 451 4.3.0 for another store failure. In SMTP mode
 *   one reply covers the transaction: a temporary failure for any recipient is that 4xx (the MTA
 *   retries the whole message; a duplicate is better than a lost message), else 250.
 * - No authentication: the listener is for a trusted MTA on a private address. Bind it to
 *   loopback or a private network only.
 */
import type { Logger } from 'pino';
import { SMTPServer, type SMTPServerSession } from 'smtp-server';
import { acceptedDomains, deliverMessage, isStoreFull, resolveRecipient, type AfterDeliveryHook, type DeliveryTargets, type RecipientResult } from './deliver.ts';
import { headerField } from './raw-headers.ts';
import type { JunkRule } from './junk.ts';
import { DEFAULT_SPOOL_THRESHOLD_BYTES, readMessageStream, removeSpoolDir, type SpooledMessage } from './spool.ts';

/** Default largest message accepted: 50 MB, above Exchange Online's default 35 MB receive limit. */
export const DEFAULT_MAX_MESSAGE_BYTES = 50 * 1024 * 1024;
/** How long the accepted-domain set is reused before it is read from the store again. */
const DOMAIN_CACHE_MS = 30_000;

export interface MailListenerOptions extends DeliveryTargets {
  log: Logger;
  /** 'lmtp' (default) or 'smtp'. */
  protocol?: 'lmtp' | 'smtp';
  /** Configured accepted domains besides the users' own. */
  acceptedDomains?: readonly string[];
  maxMessageBytes?: number;
  afterDelivery?: AfterDeliveryHook | readonly AfterDeliveryHook[];
  /** Headers that send a message to the Junk E-mail folder (src/mail/junk.ts). */
  junkRules?: readonly JunkRule[];
  /** Name in the greeting; default the OS host name. */
  hostname?: string;
  /** Where large messages are spooled while delivered (spool.ts); default the OS temp directory. */
  spoolDir?: string;
  /** Messages over this many bytes are spooled to a file rather than held in memory. */
  spoolThresholdBytes?: number;
  /**
   * Told of each recipient's outcome, for metrics: accepted (delivered), refused (a 5xx at RCPT or
   * after DATA) or deferred (a 4xx: the MTA retries).
   */
  onRecipientResult?: (result: 'accepted' | 'refused' | 'deferred') => void;
}

export interface MailListener {
  readonly protocol: 'lmtp' | 'smtp';
  /** Starts listening; resolves with the bound port. */
  listen(host: string, port: number): Promise<number>;
  close(): Promise<void>;
}

/** What smtp-server's DATA callback takes: an error, or null and the reply text(s). */
type Reply = [err: Error | null, message?: string | Array<string | Error>];

class SmtpReplyError extends Error {
  constructor(
    readonly responseCode: number,
    message: string,
  ) {
    super(message);
  }
}

export function createMailListener(opts: MailListenerOptions): MailListener {
  const protocol = opts.protocol ?? 'lmtp';
  const maxBytes = opts.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
  const spoolBytes = opts.spoolThresholdBytes ?? DEFAULT_SPOOL_THRESHOLD_BYTES;
  // `listener`, not `svc`: the server's base fields already name svc, and a key written twice loses one.
  const log = opts.log.child({ listener: protocol });
  let domains: { set: Set<string>; at: number } | undefined;
  const domainSet = async () => {
    if (!domains || Date.now() - domains.at > DOMAIN_CACHE_MS) domains = { set: await acceptedDomains(opts.accounts, opts.acceptedDomains), at: Date.now() };
    return domains.set;
  };

  const server = new SMTPServer({
    lmtp: protocol === 'lmtp',
    name: opts.hostname,
    banner: 'easd',
    size: maxBytes,
    disabledCommands: ['AUTH', 'STARTTLS'],
    authOptional: true,
    logger: false,
    closeTimeout: 5000,
    onRcptTo(address, session, callback) {
      const from = session.envelope.mailFrom ? session.envelope.mailFrom.address : '';
      // A refusal is the sender's or the MTA's matter, not easd's fault: warn, with the envelope.
      const refuse = (reason: string, reply: SmtpReplyError) => {
        opts.onRecipientResult?.('refused');
        log.warn({ from, recipient: address.address, reply: `${reply.responseCode} ${reply.message}` }, `recipient refused: ${reason}`);
        callback(reply);
      };
      void (async () => {
        try {
          const res = await resolveRecipient(opts.accounts, address.address, await domainSet());
          if (res.kind === 'user') return callback();
          if (res.kind === 'unknown_user') return refuse('no such user', new SmtpReplyError(550, `5.1.1 <${address.address}>: no such user here`));
          return refuse('domain not accepted', new SmtpReplyError(550, `5.7.1 <${address.address}>: relaying denied, domain not accepted here`));
        } catch (err) {
          log.error({ err, recipient: address.address }, 'recipient lookup failed');
          opts.onRecipientResult?.('deferred');
          callback(isStoreFull(err) ? new SmtpReplyError(452, '4.3.1 insufficient system storage') : new SmtpReplyError(451, '4.3.0 temporary failure, try again later'));
        }
      })();
    },
    onData(stream, session, callback) {
      const recipients = session.envelope.rcptTo.map((r) => r.address);
      void readMessageStream(stream, { maxBytes, memoryBytes: spoolBytes, ...(opts.spoolDir !== undefined ? { dir: opts.spoolDir } : {}) }).then(async (read) => {
        if (read.kind === 'over') {
          recipients.forEach(() => opts.onRecipientResult?.('refused'));
          log.warn({ from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '', recipients, limit: maxBytes }, 'message over the size limit refused');
          return callback(new SmtpReplyError(552, `5.3.4 message exceeds the maximum size of ${maxBytes} bytes`));
        }
        let reply: Reply;
        try {
          reply = await deliverRead(read.kind === 'memory' ? read.raw : read, session, recipients);
        } catch (err) {
          log.error({ err }, 'delivery failed');
          reply = [new SmtpReplyError(451, '4.3.0 temporary failure, try again later')];
        } finally {
          // Removed before the reply: once the MTA has its answer, nothing of the message is left over.
          if (read.kind === 'spooled') await removeSpoolDir(read.dir);
        }
        callback(...reply);
      }, (err: unknown) => {
        log.error({ err }, 'reading the message failed');
        callback(new SmtpReplyError(451, '4.3.0 temporary failure reading the message'));
      });
    },
  });

  /** Delivers the message; the arguments of the DATA callback. */
  async function deliverRead(raw: Buffer | SpooledMessage, session: SMTPServerSession, recipients: string[]): Promise<Reply> {
    const answer = (...args: Reply): Reply => args;
    const envelopeFrom = session.envelope.mailFrom ? session.envelope.mailFrom.address : '';
    let results: RecipientResult[];
    try {
      results = await deliverMessage(
        { accounts: opts.accounts, mailboxes: opts.mailboxes },
        { envelopeFrom, recipients, raw },
        { domainSet: await domainSet(), ...(opts.afterDelivery ? { afterDelivery: opts.afterDelivery } : {}), ...(opts.junkRules ? { junkRules: opts.junkRules } : {}), log },
      );
    } catch (err) {
      log.error({ err }, 'delivery failed');
      return answer(isStoreFull(err) ? new SmtpReplyError(452, '4.3.1 insufficient system storage') : new SmtpReplyError(451, '4.3.0 temporary failure, try again later'));
    }
    for (const r of results) opts.onRecipientResult?.(r.code === 250 ? 'accepted' : r.code >= 500 ? 'refused' : 'deferred');
    const notDelivered = results.filter((r) => r.code !== 250);
    if (notDelivered.length > 0) {
      const messageId = headerField(Buffer.isBuffer(raw) ? raw : raw.head, 'message-id');
      log.warn({ messageId, from: envelopeFrom, refused: notDelivered.map((r) => `${r.recipient} ${r.code} ${r.message}`) }, 'message not delivered to some recipients');
    }
    const replies = results.map((r) => (r.code === 250 ? `${r.message} delivered to ${r.recipient}` : new SmtpReplyError(r.code, r.message)));
    if (protocol === 'lmtp') return answer(null, replies);
    // SMTP has one reply for all recipients: a temporary failure for any of them asks the MTA
    // to retry the whole message (a recipient already served may get it twice; none loses it).
    const temp = results.find((r) => r.code >= 400 && r.code < 500);
    if (temp) return answer(new SmtpReplyError(temp.code, temp.message));
    const ok = results.find((r) => r.code === 250);
    if (ok) return answer(null, `2.0.0 OK: delivered to ${results.filter((r) => r.code === 250).length} recipient(s)`);
    const first = results[0];
    return answer(new SmtpReplyError(first?.code ?? 451, first?.message ?? '4.3.0 temporary failure'));
  }
  server.on('error', (err) => log.error({ err }, `${protocol} listener error`));

  return {
    protocol,
    listen(host, port) {
      return new Promise((resolve, reject) => {
        const onError = (err: Error) => reject(err);
        server.server.once('error', onError);
        server.listen(port, host, () => {
          server.server.off('error', onError);
          const addr = server.server.address();
          const bound = typeof addr === 'object' && addr ? addr.port : port;
          log.info({ host, port: bound }, `${protocol.toUpperCase()} listening`);
          resolve(bound);
        });
      });
    },
    close() {
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

export type { SMTPServerSession };

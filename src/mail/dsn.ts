/**
 * A delivery status notification (a bounce) for recipients a sent message could not reach: the
 * RFC 3464 message/delivery-status report inside an RFC 6522 multipart/report, with a readable
 * first part and the original's header fields (text/rfc822-headers), as Exchange gives a sender
 * for an unknown recipient while the message still goes to the others.
 *
 * Pure: the caller delivers it to the sender with an empty return path (RFC 5321 4.5.5), so that
 * nothing answers it (automatic replies skip mail without one, RFC 3834 2).
 */
import { randomBytes } from 'node:crypto';
import { headerBlock, headerValue } from './raw-headers.ts';

export interface FailedRecipient {
  /** The address as it was given (bare). */
  recipient: string;
  /** RFC 3463 enhanced status code, e.g. 5.1.1 (bad destination mailbox address). */
  status: string;
  /** What the refusing system said, e.g. "550 5.1.1 no such user here". */
  diagnostic: string;
}

export interface DsnInput {
  /** The host that writes the report (Reporting-MTA). */
  reportingHost: string;
  /** The domain of the MAILER-DAEMON address the report comes from. */
  fromDomain: string;
  /** Who gets the report: the envelope sender of the original. */
  to: string;
  /** The original message as it was sent. */
  original: Buffer;
  failed: readonly FailedRecipient[];
  now: Date;
}

/** The whole report as an RFC 5322 message. */
export function buildDsn(input: DsnInput): Buffer {
  const headers = headerBlock(input.original);
  const subject = headerValue(headers, 'subject');
  const messageId = headerValue(headers, 'message-id');
  const boundary = `=_dsn_${randomBytes(12).toString('hex')}`;
  const list = input.failed.map((f) => `  ${f.recipient}\r\n    ${f.diagnostic}`).join('\r\n');
  const perRecipient = input.failed
    .map((f) => [`Final-Recipient: rfc822; ${f.recipient}`, 'Action: failed', `Status: ${f.status}`, `Diagnostic-Code: smtp; ${f.diagnostic}`].join('\r\n'))
    .join('\r\n\r\n');
  const lines = [
    `From: Mail Delivery System <MAILER-DAEMON@${input.fromDomain}>`,
    `To: <${input.to}>`,
    // The original subject's encoded words stay valid after a plain prefix (RFC 2047 5).
    `Subject: Undeliverable: ${subject ?? '(no subject)'}`,
    `Date: ${input.now.toUTCString().replace('GMT', '+0000')}`,
    `Message-ID: <${randomBytes(16).toString('hex')}@${input.reportingHost}>`,
    ...(messageId ? [`In-Reply-To: ${messageId}`, `References: ${messageId}`] : []),
    'Auto-Submitted: auto-replied',
    'MIME-Version: 1.0',
    `Content-Type: multipart/report; report-type=delivery-status; boundary="${boundary}"`,
    '',
    `--${boundary}`,
    'Content-Type: text/plain; charset=utf-8',
    'Content-Transfer-Encoding: 8bit',
    '',
    'Your message could not be delivered to these recipients:',
    '',
    list,
    '',
    'It was delivered to the other recipients.',
    '',
    `--${boundary}`,
    'Content-Type: message/delivery-status',
    '',
    `Reporting-MTA: dns; ${input.reportingHost}`,
    `Arrival-Date: ${input.now.toUTCString().replace('GMT', '+0000')}`,
    '',
    perRecipient,
    '',
    `--${boundary}`,
    'Content-Type: text/rfc822-headers',
    '',
    headers.trimEnd(),
    '',
    `--${boundary}--`,
    '',
  ];
  return Buffer.from(lines.join('\r\n'), 'utf8');
}

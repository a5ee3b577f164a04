/**
 * Answers the fuzzer must not count as findings, and known findings excluded narrowly (by command,
 * protocol version, answer and log line), counted apart in the report so that the fuzz test stays
 * a test of everything else. Remove an entry when its item is fixed.
 */
import type { Operation } from './generate.ts';
import type { Outcome } from './send.ts';

const MAIL_OUT = new Set(['SendMail', 'SmartReply', 'SmartForward']);
const MIME_FORM_REFUSAL = 'HTTP 500 of a refused SendMail/SmartReply/SmartForward without a WBXML body (the protocol answer before 14.0)';

/** A 5xx answer that is expected or a known item's, or undefined. */
export function knownIssue(op: Operation, out: Outcome): string | undefined {
  if (op.type !== 'http' || out.kind !== 'answer') return undefined;
  // The MIME form of SendMail/SmartReply/SmartForward (protocol 12.x, or a body that is not WBXML
  // under any version) has no response body, so a refusal (no relay for an outside recipient, source
  // item not found) is HTTP 500 (MS-ASCMD 2.2.1.17-19); its log line is at warn (clientFault).
  const mimeForm = /^12\./.test(op.version ?? '') || !/wbxml/i.test(String(op.req.headers['Content-Type'] ?? ''));
  if (out.status === 500 && op.cmd !== undefined && MAIL_OUT.has(op.cmd) && mimeForm && out.body.length === 0) return MIME_FORM_REFUSAL;
  return undefined;
}

/** An error-level log line that is a known item's, or undefined. None today: every error line is a finding. */
export function knownErrorLine(_line: string): string | undefined {
  return undefined;
}

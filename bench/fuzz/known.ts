/**
 * Known findings that belong to open items of issue 15, fixed elsewhere: excluded narrowly (by
 * command, protocol version, answer and log line), counted apart in the report, so that the fuzz
 * test stays a test of everything else. Remove an entry when its item is fixed.
 */
import type { Operation } from './generate.ts';
import type { Outcome } from './send.ts';

const MAIL_OUT = new Set(['SendMail', 'SmartReply', 'SmartForward']);
const ITEM_7 = 'issue 15 item 7 (SendMail/Smart* bad input logged as error)';

/** A 5xx answer that is a known item's, or undefined. */
export function knownIssue(op: Operation, out: Outcome): string | undefined {
  if (op.type !== 'http' || out.kind !== 'answer') return undefined;
  // Item 7: protocol 12.x has no WBXML status for SendMail/SmartReply/SmartForward, so a refusal
  // (no relay for an outside recipient, source item not found) is HTTP 500, and logged as error.
  if (out.status === 500 && op.cmd !== undefined && MAIL_OUT.has(op.cmd) && /^12\./.test(op.version ?? '') && out.body.length === 0) return ITEM_7;
  return undefined;
}

/** An error-level log line that is a known item's, or undefined. */
export function knownErrorLine(line: string): string | undefined {
  let l: Record<string, unknown>;
  try {
    l = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return undefined;
  }
  if (typeof l.cmd !== 'string' || !MAIL_OUT.has(l.cmd)) return undefined;
  // Item 7: a malformed body (WBXML that does not decode) logged with its stack.
  const err = l.err as { type?: string } | undefined;
  if (err?.type === 'WbxmlError') return ITEM_7;
  // Item 7: the 12.x refusals above, whose request line is at error (110/111 are server errors: not excluded).
  if (l.msg === 'request' && l.httpStatus === 500 && /^12\./.test(String(l.protocolVersion)) && typeof l.easStatus === 'number' && l.easStatus !== 110 && l.easStatus !== 111) return ITEM_7;
  return undefined;
}

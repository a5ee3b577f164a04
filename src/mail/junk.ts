/**
 * Junk mail: which delivered messages go to the user's "Junk E-mail" folder.
 *
 * easd does no spam scoring of its own; the MTA's filter (SpamAssassin, rspamd, ...) does, and
 * says so in a header that easd reads at delivery. A message is junk when any of its headers
 * matches a rule. The defaults cover the common filters:
 *   - `X-Spam-Flag: YES` (SpamAssassin, Amavis),
 *   - `X-Spam-Status: Yes, score=...` (SpamAssassin),
 *   - `X-Spam: Yes` (rspamd's milter).
 * `--junk-header "Name: pattern"` adds a rule (pattern: a case-insensitive regular expression
 * matched against the header's value). A sender who forges such a header only sends their own
 * message to the junk folder, so any matching occurrence counts.
 */
import type { ParsedMessage } from './parse.ts';

export interface JunkRule {
  /** Header name, lowercased. */
  readonly header: string;
  /** Matched against the unfolded value. */
  readonly pattern: RegExp;
}

export const DEFAULT_JUNK_RULES: readonly JunkRule[] = [
  { header: 'x-spam-flag', pattern: /^\s*yes\b/i },
  { header: 'x-spam-status', pattern: /^\s*yes\b/i },
  { header: 'x-spam', pattern: /^\s*yes\b/i },
];

/** RFC 5322 3.6.8 field names: printable ASCII but colon. */
const FIELD_NAME = /^[\x21-\x39\x3b-\x7e]+$/;

/**
 * A rule from its text form "Header-Name: pattern" (pattern defaults to "^\s*yes\b" when only a
 * name is given). Throws an Error that names the setting for anything else.
 */
export function parseJunkRule(text: string, what = '--junk-header'): JunkRule {
  const colon = text.indexOf(':');
  const name = (colon < 0 ? text : text.slice(0, colon)).trim();
  const source = colon < 0 ? '' : text.slice(colon + 1).trim();
  if (!FIELD_NAME.test(name)) throw new Error(`${what} must be "Header-Name: pattern" (e.g. "X-Spam-Flag: ^yes"), not "${text}"`);
  let pattern: RegExp;
  try {
    pattern = source === '' ? /^\s*yes\b/i : new RegExp(source, 'i');
  } catch (err) {
    throw new Error(`${what} "${text}": the pattern is not a regular expression (${(err as Error).message})`);
  }
  return { header: name.toLowerCase(), pattern };
}

/** The rule's text form, for the start-up log line. */
export function junkRuleText(rule: JunkRule): string {
  return `${rule.header}: ${rule.pattern.source}`;
}

/**
 * The header that makes this message junk ("name: value", for the log), or undefined. Reads
 * every occurrence of each header from the raw header lines (mailparser keeps only one value per
 * name in `headers`).
 */
export function junkVerdict(parsed: Pick<ParsedMessage, 'mail'>, rules: readonly JunkRule[]): string | undefined {
  if (rules.length === 0) return undefined;
  for (const { key, line } of parsed.mail?.headerLines ?? []) {
    const name = key.toLowerCase();
    const matching = rules.filter((r) => r.header === name);
    if (matching.length === 0) continue;
    // "Name: value" with folded continuation lines (RFC 5322 2.2.3).
    const colon = line.indexOf(':');
    const value = line.slice(colon + 1).replace(/\r?\n[ \t]+/g, ' ').trim();
    // The name as the message spells it (mailparser lowercases `key`).
    if (matching.some((r) => r.pattern.test(value))) return `${line.slice(0, colon).trim()}: ${value.slice(0, 100)}`;
  }
  return undefined;
}

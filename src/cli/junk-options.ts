/**
 * `easd serve` settings for junk mail (src/mail/junk.ts): which headers of the MTA's spam filter
 * send a delivered message to the user's Junk E-mail folder.
 *
 *   --junk-header "Name: pattern"   adds a rule to the defaults (repeatable; EASD_JUNK_HEADER
 *                                   may hold several, one per line)
 *   --no-junk-filing                every message goes to the Inbox (EASD_NO_JUNK_FILING)
 */
import { Option, type Command } from 'commander';
import { DEFAULT_JUNK_RULES, parseJunkRule, type JunkRule } from '../mail/junk.ts';

export interface JunkCliOptions {
  junkHeader: JunkRule[];
  junkFiling: boolean;
}

function collectRules(value: string, previous: JunkRule[] = []): JunkRule[] {
  const lines = value.split(/\r?\n/).map((l) => l.trim()).filter((l) => l !== '');
  return [...previous, ...lines.map((l) => parseJunkRule(l))];
}

export function addJunkOptions(cmd: Command): Command {
  return cmd
    .addOption(
      new Option('--junk-header <rule>', 'a header that marks spam, "Name: pattern" (case-insensitive regex; repeatable), besides X-Spam-Flag/X-Spam-Status/X-Spam: yes')
        .env('EASD_JUNK_HEADER')
        .argParser(collectRules)
        .default([]),
    )
    .addOption(new Option('--no-junk-filing', 'deliver spam-marked messages to the Inbox too, not to Junk E-mail').env('EASD_NO_JUNK_FILING'));
}

/** The rules delivery applies: none when filing is off. */
export function junkRulesFrom(opts: JunkCliOptions): readonly JunkRule[] {
  return opts.junkFiling === false ? [] : [...DEFAULT_JUNK_RULES, ...opts.junkHeader];
}

/**
 * Junk rules (src/mail/junk.ts) and their settings (src/cli/junk-options.ts): which headers of an
 * MTA's spam filter mark a message as junk. Header shapes as SpamAssassin writes them
 * (X-Spam-Flag, X-Spam-Status folded over lines) and rspamd's milter (X-Spam: Yes).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Command } from 'commander';
import { addJunkOptions, junkRulesFrom, type JunkCliOptions } from '../../src/cli/junk-options.ts';
import { DEFAULT_JUNK_RULES, junkVerdict, parseJunkRule } from '../../src/mail/junk.ts';
import { parseMessage } from '../../src/mail/parse.ts';

async function verdict(headers: string[], rules = DEFAULT_JUNK_RULES): Promise<string | undefined> {
  const raw = Buffer.from([...headers, 'From: a@outside.example', 'To: b@example.com', 'Subject: s', '', 'body', ''].join('\r\n'));
  return junkVerdict(await parseMessage(raw), rules);
}

describe('junk rules', () => {
  it('the defaults catch SpamAssassin and rspamd verdicts, whatever the case, and nothing else', async () => {
    assert.equal(await verdict(['X-Spam-Flag: YES']), 'X-Spam-Flag: YES');
    assert.equal(await verdict(['x-spam-flag: yes']), 'x-spam-flag: yes');
    assert.match((await verdict(['X-Spam-Status: Yes, score=7.9 required=5.0 tests=BAYES_99,', '\tHTML_MESSAGE autolearn=no'])) ?? '', /^X-Spam-Status: Yes, score=7\.9 .* HTML_MESSAGE autolearn=no$/);
    assert.equal(await verdict(['X-Spam: Yes']), 'X-Spam: Yes');
    assert.equal(await verdict(['X-Spam-Flag: NO', 'X-Spam-Status: No, score=-0.1 required=5.0']), undefined);
    assert.equal(await verdict(['X-Spam-Score: 12.5', 'X-Spam-Level: ************']), undefined, 'a score alone is no verdict');
    assert.equal(await verdict(['Subject-Note: X-Spam-Flag: YES']), undefined);
    assert.equal(await verdict(['X-Spam-Flag: YESTERDAY']), undefined, 'a word, not a prefix');
  });

  it('any occurrence of a header that says yes counts', async () => {
    assert.equal(await verdict(['X-Spam-Flag: NO', 'X-Spam-Flag: YES']), 'X-Spam-Flag: YES');
  });

  it('no rules: nothing is junk', async () => {
    assert.equal(await verdict(['X-Spam-Flag: YES'], []), undefined);
  });

  it('a configured rule: "Name: pattern", case-insensitive; a bare name means "yes"', async () => {
    const rule = parseJunkRule('X-Barracuda-Spam-Status: ^yes,');
    assert.equal(rule.header, 'x-barracuda-spam-status');
    assert.equal(await verdict(['X-Barracuda-Spam-Status: Yes, SCORE=9.1'], [rule]), 'X-Barracuda-Spam-Status: Yes, SCORE=9.1');
    assert.equal(await verdict(['X-Barracuda-Spam-Status: No, SCORE=0.1'], [rule]), undefined);
    const bare = parseJunkRule('X-Junk');
    assert.equal(await verdict(['X-Junk: yes'], [bare]), 'X-Junk: yes');
    assert.equal(await verdict(['X-Junk: no'], [bare]), undefined);
  });

  it('a malformed rule is refused with a message that names the setting', () => {
    assert.throws(() => parseJunkRule(': yes'), /--junk-header must be "Header-Name: pattern"/);
    assert.throws(() => parseJunkRule('X Spam: yes'), /--junk-header must be/);
    assert.throws(() => parseJunkRule('X-Spam: (yes'), /--junk-header "X-Spam: \(yes": the pattern is not a regular expression/);
  });

  it('easd serve settings: --junk-header adds to the defaults (repeatable, or lines of EASD_JUNK_HEADER); --no-junk-filing turns filing off', () => {
    const parse = (argv: string[], env: Record<string, string> = {}) => {
      const saved = { ...process.env };
      Object.assign(process.env, env);
      try {
        const cmd = addJunkOptions(new Command('serve').exitOverride());
        cmd.parse(argv, { from: 'user' });
        return junkRulesFrom(cmd.opts<JunkCliOptions>());
      } finally {
        for (const k of Object.keys(env)) if (!(k in saved)) delete process.env[k];
      }
    };
    assert.deepEqual(parse([]), DEFAULT_JUNK_RULES);
    const two = parse(['--junk-header', 'X-A: ^1$', '--junk-header', 'X-B']);
    assert.deepEqual(two.slice(DEFAULT_JUNK_RULES.length).map((r) => r.header), ['x-a', 'x-b']);
    assert.deepEqual(parse([], { EASD_JUNK_HEADER: 'X-A: ^1$\nX-B: ^2$' }).slice(DEFAULT_JUNK_RULES.length).map((r) => r.header), ['x-a', 'x-b']);
    assert.deepEqual(parse(['--no-junk-filing']), []);
    assert.throws(() => parse(['--junk-header', 'not a header: x']), /--junk-header must be/);
  });
});

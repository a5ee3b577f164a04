/**
 * The one matcher of Search and Find (src/mail/search-match.ts): fields, phrases, NOT; that
 * plain words match exactly as easd's index always matched them (every word the start of a word
 * of the item); that leaving out covered terms changes no answer; and that the index's word
 * query never leaves a match out, and is the whole answer when it says it is exact.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { parseKql, type KqlNode } from '../../src/mail/kql.ts';
import { indexQueryOf, matchDocOf, matches, simplifyQuery, type MatchDoc } from '../../src/mail/search-match.ts';
import type { SearchFields } from '../../src/mail/search-index.ts';
import type { IndexExpr } from '../../src/ports/search.ts';

const fields = (f: Partial<SearchFields>): SearchFields => ({ subject: '', from: '', to: '', cc: '', bcc: '', other: '', body: '', attachments: '', ...f });
const doc = matchDocOf(
  fields({
    subject: 'Budget review for Q3',
    from: 'Carol Test <carol@outside.test>',
    to: 'Alice <alice@example.com>',
    cc: 'ann@example.com',
    body: 'Numbers for the quarterly presentation',
    attachments: 'report.pdf',
  }),
);
const q = (s: string) => matches(parseKql(s)!, doc);

/** The index's meaning of a word query: every word the start of a word somewhere in the item. */
function indexMatches(e: IndexExpr, d: MatchDoc): boolean {
  const all = Object.values(d).flat();
  switch (e.kind) {
    case 'all':
      return true;
    case 'word':
      return all.some((w) => w.startsWith(e.word));
    case 'and':
      return e.children.every((c) => indexMatches(c, d));
    case 'or':
      return e.children.some((c) => indexMatches(c, d));
  }
}

describe('search matcher', () => {
  it('the iOS query finds the item by any of the fields it names', () => {
    assert.equal(q('to:"alice" OR cc:"alice" OR from:"alice" OR subject:"alice" OR "alice" OR "alice"'), true);
    assert.equal(q('to:"quarterly" OR cc:"quarterly" OR from:"quarterly" OR subject:"quarterly" OR "quarterly" OR "quarterly"'), true, 'the unfielded terms look in the body');
    assert.equal(q('to:"zebra" OR cc:"zebra" OR from:"zebra" OR subject:"zebra" OR "zebra" OR "zebra"'), false);
  });

  it('a field looks only in its field; participants in from, to, cc and bcc', () => {
    assert.equal(q('subject:budget'), true);
    assert.equal(q('from:budget'), false);
    assert.equal(q('from:carol'), true);
    assert.equal(q('to:carol'), false);
    assert.equal(q('cc:ann'), true);
    assert.equal(q('participants:ann'), true);
    assert.equal(q('participants:numbers'), false);
    assert.equal(q('body:quarter'), true, 'a prefix');
    assert.equal(q('attachment:report'), true);
    assert.equal(q('subject:report'), false);
  });

  it('phrases: words one after the other, the last a prefix', () => {
    assert.equal(q('"budget review"'), true);
    assert.equal(q('"budget rev"'), true);
    assert.equal(q('"review budget"'), false);
    assert.equal(q('"budg review"'), false, 'only the last word is a prefix');
    assert.equal(q('from:carol@outside.test'), true);
    assert.equal(q('from:alice@example.com'), false);
    assert.equal(q('"review numbers"'), false, 'a phrase does not run from one field into the next');
  });

  it('AND, OR, NOT, -', () => {
    assert.equal(q('budget AND zebra'), false);
    assert.equal(q('budget OR zebra'), true);
    assert.equal(q('budget -zebra'), true);
    assert.equal(q('budget NOT review'), false);
    assert.equal(q('NOT zebra'), true);
    assert.equal(q('(zebra OR lion) OR (subject:q3 AND NOT from:ann)'), true);
  });

  it('plain words match as the index always matched them (property)', () => {
    const word = fc.stringMatching(/^[a-zé0-9]{1,5}$/);
    fc.assert(
      fc.property(fc.array(word, { minLength: 1, maxLength: 4 }), fc.array(fc.array(word, { maxLength: 6 }), { minLength: 8, maxLength: 8 }), (qw, texts) => {
        const d = matchDocOf(fields({ subject: texts[0]!.join(' '), from: texts[1]!.join(' '), to: texts[2]!.join(' '), cc: texts[3]!.join(' '), bcc: texts[4]!.join(' '), other: texts[5]!.join(' '), body: texts[6]!.join(' '), attachments: texts[7]!.join(' ') }));
        const all = Object.values(d).flat();
        const old = qw.every((w) => all.some((x) => x.startsWith(w.normalize('NFKD').replace(/\p{M}+/gu, ''))));
        const node = parseKql(qw.join(' '))!;
        assert.equal(matches(node, d), old);
        const iq = indexQueryOf(simplifyQuery(node));
        assert.equal(iq.exact, true, 'plain words are answered by the index alone');
      }),
      { numRuns: 300 },
    );
  });

  it('simplifying changes no answer; the index query never leaves a match out, and is the answer when exact (property)', () => {
    const word = fc.constantFrom('a', 'ab', 'abc', 'b', 'bc', 'x');
    const text = fc.array(word, { maxLength: 5 }).map((ws) => ws.join(' '));
    const field = fc.constantFrom('', 'subject:', 'from:', 'to:', 'cc:', 'participants:', 'body:');
    const term = fc.tuple(fc.constantFrom('', '-', 'NOT '), field, fc.boolean(), fc.array(word, { minLength: 1, maxLength: 2 })).map(([neg, f, quoted, ws]) => `${neg}${f}${quoted ? `"${ws.join(' ')}"` : ws.join('.')}`);
    const query = fc.array(fc.tuple(term, fc.constantFrom(' ', ' OR ', ' AND ', ' ( ', ' ) ')), { minLength: 1, maxLength: 6 }).map((parts) => parts.map(([a, b]) => a + b).join(''));
    fc.assert(
      fc.property(query, fc.array(text, { minLength: 8, maxLength: 8 }), (qs, texts) => {
        const d = matchDocOf(fields({ subject: texts[0]!, from: texts[1]!, to: texts[2]!, cc: texts[3]!, bcc: texts[4]!, other: texts[5]!, body: texts[6]!, attachments: texts[7]! }));
        const node = parseKql(qs);
        if (node === null) return;
        const simple: KqlNode = simplifyQuery(node);
        const m = matches(node, d);
        assert.equal(matches(simple, d), m, qs);
        const iq = indexQueryOf(simple);
        if (m) assert.equal(indexMatches(iq.expr, d), true, `index leaves out a match of ${qs}`);
        if (iq.exact) assert.equal(indexMatches(iq.expr, d), m, `exact index query differs for ${qs}`);
      }),
      { numRuns: 1000 },
    );
  });

  it('the iOS query becomes one word the index answers exactly', () => {
    const simple = simplifyQuery(parseKql('to:"Test" OR cc:"Test" OR from:"Test" OR subject:"Test" OR "Test" OR "Test"')!);
    assert.deepEqual(simple, { kind: 'term', field: null, words: ['test'] });
    assert.deepEqual(indexQueryOf(simple), { expr: { kind: 'word', word: 'test' }, exact: true });
    assert.equal(indexQueryOf(parseKql('subject:test')!).exact, false);
  });
});

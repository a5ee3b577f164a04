/**
 * The FreeText parser (src/mail/kql.ts). The iOS shape is the FreeText of an iOS 18.4.1 Find
 * traced in Z-Hub/Z-Push pull request #147 (WBXML debug data in the log there); grommunio-sync's
 * lib/grommunio/grommunio.php getFindRestriction takes the same `field:"x" OR ...` shape apart.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { MAX_TERMS, parseKql, type KqlNode } from '../../src/mail/kql.ts';

const t = (words: string[], field: string | null = null): KqlNode => ({ kind: 'term', field: field as never, words });

describe('parseKql', () => {
  it('reads the FreeText iOS Mail sends with Find: fields, quoted values, OR', () => {
    assert.deepEqual(parseKql('to:"Test" OR cc:"Test" OR from:"Test" OR subject:"Test" OR "Test" OR "Test"'), {
      kind: 'or',
      children: [t(['test'], 'to'), t(['test'], 'cc'), t(['test'], 'from'), t(['test'], 'subject'), t(['test']), t(['test'])],
    });
  });

  it('plain words are each a required term anywhere, as before; lower-case and/or/not are words', () => {
    assert.deepEqual(parseKql('budget review'), { kind: 'and', children: [t(['budget']), t(['review'])] });
    assert.deepEqual(parseKql('bob@example.com'), { kind: 'and', children: [t(['bob']), t(['example']), t(['com'])] });
    assert.deepEqual(parseKql('salt or pepper'), { kind: 'and', children: [t(['salt']), t(['or']), t(['pepper'])] });
    assert.deepEqual(parseKql('Café'), t(['cafe']));
    assert.deepEqual(parseKql('10:30'), { kind: 'and', children: [t(['10']), t(['30'])] }, 'an unknown name before a colon is text');
  });

  it('phrases, fields with phrases and groups, AND, NOT and -', () => {
    assert.deepEqual(parseKql('"budget review" from:bob@example.com'), {
      kind: 'and',
      children: [t(['budget', 'review']), t(['bob', 'example', 'com'], 'from')],
    });
    assert.deepEqual(parseKql('Subject:(lunch OR dinner) AND NOT cc:ann'), {
      kind: 'and',
      children: [{ kind: 'or', children: [t(['lunch'], 'subject'), t(['dinner'], 'subject')] }, { kind: 'not', child: t(['ann'], 'cc') }],
    });
    assert.deepEqual(parseKql('budget -draft'), { kind: 'and', children: [t(['budget']), { kind: 'not', child: t(['draft']) }] });
    assert.deepEqual(parseKql('a OR b c'), { kind: 'or', children: [t(['a']), { kind: 'and', children: [t(['b']), t(['c'])] }] }, 'AND binds tighter');
    assert.deepEqual(parseKql('participants:ann attachment:report.pdf body:"x y"'), {
      kind: 'and',
      children: [t(['ann'], 'participants'), t(['report', 'pdf'], 'attachment'), t(['x', 'y'], 'body')],
    });
  });

  it('tolerates what is odd: stray operators and parentheses, open quotes, only operators', () => {
    assert.deepEqual(parseKql('OR budget AND'), t(['budget']));
    assert.deepEqual(parseKql('budget)) ((review'), { kind: 'and', children: [t(['budget']), t(['review'])] });
    assert.deepEqual(parseKql('subject:"open quote'), t(['open', 'quote'], 'subject'));
    assert.deepEqual(parseKql('NOT'), t(['not']), 'nothing but operators: the plain words');
    assert.deepEqual(parseKql('OR'), t(['or']));
    assert.equal(parseKql('  "" () !!! '), null, 'no word at all');
    assert.deepEqual(parseKql('subject: lunch'), { kind: 'and', children: [t(['subject']), t(['lunch'])] }, 'a field with a space after it is text');
    const deep = '('.repeat(1500) + 'x' + ')'.repeat(1500);
    assert.deepEqual(parseKql(deep), t(['x']), 'nesting past the bound is read on as text');
    assert.equal(parseKql('NOT '.repeat(1000) + 'x')?.kind, 'not');
    assert.deepEqual(parseKql('a'.repeat(4096) + ' tail'), t(['a'.repeat(4096)]), 'text past MAX_QUERY_CHARS is not read');
  });

  it('bounds the number of terms', () => {
    const q = Array.from({ length: 500 }, (_, i) => `w${i}`).join(' ');
    const n = parseKql(q)!;
    assert.equal(n.kind, 'and');
    assert.equal((n as { children: readonly KqlNode[] }).children.length, MAX_TERMS);
  });

  it('never throws, whatever the text (property)', () => {
    const piece = fc.oneof(
      fc.constantFrom('OR', 'AND', 'NOT', '(', ')', '"', '-', '+', ':', 'subject:', 'from:', 'to:', 'cc:', 'x:', ' ', 'é', '\u0000', '\uD800'),
      fc.string({ maxLength: 6 }),
    );
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 40 }), fc.string({ maxLength: 200, unit: 'binary' }), (pieces, raw) => {
        for (const q of [pieces.join(''), pieces.join(' '), raw]) {
          const n = parseKql(q);
          assert.ok(n === null || ['term', 'and', 'or', 'not'].includes(n.kind));
        }
      }),
      { numRuns: 500 },
    );
  });
});

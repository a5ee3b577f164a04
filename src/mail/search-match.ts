/**
 * The one matcher of mailbox Search (MS-ASCMD 2.2.1.16) and Find (2.2.1.2): whether an item
 * answers a query tree (kql.ts), and the word query (IndexExpr) the full-text index answers for
 * it, either exactly or as a pre-filter that never leaves a match out.
 *
 * Matching, per term: a single word matches a word of the field that starts with it ("pres"
 * finds "Presentation"); several words match when they stand one after the other in one field,
 * the last as a prefix and the others whole. A term without a field looks in every field. Words
 * are split and folded by `searchWords` (ports/search.ts) for items and queries alike, the same
 * tokenizer the index uses, so an unfielded one-word term means the same in both.
 */
import { MAX_FIELD_CHARS, searchWords, type IndexExpr } from '../ports/search.ts';
import type { Item } from '../ports/types.ts';
import type { KqlField, KqlNode } from './kql.ts';
import { searchFields, type SearchFields } from './search-index.ts';

/** An item's words, field by field. */
export type MatchDoc = Readonly<Record<keyof SearchFields, readonly string[]>>;

const FIELD_KEYS: Readonly<Record<KqlField, readonly (keyof SearchFields)[]>> = {
  subject: ['subject'],
  from: ['from'],
  to: ['to'],
  cc: ['cc'],
  bcc: ['bcc'],
  body: ['body'],
  participants: ['from', 'to', 'cc', 'bcc'],
  attachment: ['attachments'],
};
const ALL_KEYS: readonly (keyof SearchFields)[] = ['subject', 'from', 'to', 'cc', 'bcc', 'other', 'body', 'attachments'];

export function matchDocOf(fields: SearchFields): MatchDoc {
  const words = (s: string) => searchWords(s.length > MAX_FIELD_CHARS ? s.slice(0, MAX_FIELD_CHARS) : s);
  return {
    subject: words(fields.subject),
    from: words(fields.from),
    to: words(fields.to),
    cc: words(fields.cc),
    bcc: words(fields.bcc),
    other: words(fields.other),
    body: words(fields.body),
    attachments: words(fields.attachments),
  };
}

export function itemMatchDoc(item: Item): MatchDoc {
  return matchDocOf(searchFields(item));
}

/** `words` one after the other in `field`, the last as a prefix. */
function hasRun(field: readonly string[], words: readonly string[]): boolean {
  const n = words.length;
  const last = words[n - 1]!;
  for (let i = 0; i + n <= field.length; i++) {
    let k = 0;
    while (k < n - 1 && field[i + k] === words[k]) k++;
    if (k === n - 1 && field[i + k]!.startsWith(last)) return true;
  }
  return false;
}

/** Whether the document answers the query. */
export function matches(node: KqlNode, doc: MatchDoc): boolean {
  switch (node.kind) {
    case 'term':
      return (node.field === null ? ALL_KEYS : FIELD_KEYS[node.field]).some((k) => hasRun(doc[k], node.words));
    case 'and':
      return node.children.every((c) => matches(c, doc));
    case 'or':
      return node.children.some((c) => matches(c, doc));
    case 'not':
      return !matches(node.child, doc);
  }
}

/**
 * The query with terms that another term of the same Or already covers left out, and repeats
 * dropped. A term is covered by an unfielded one-word term w when one of its words starts with w
 * (each of its words is, or starts, a word of the item). iOS's `to:"x" OR cc:"x" OR ... OR "x"`
 * becomes the one term x, which the index answers exactly.
 */
export function simplifyQuery(node: KqlNode): KqlNode {
  if (node.kind === 'term') return node;
  if (node.kind === 'not') return { kind: 'not', child: simplifyQuery(node.child) };
  const children = node.children.map(simplifyQuery);
  if (node.kind === 'and') return { kind: 'and', children };
  const cover = children.filter((c): c is Extract<KqlNode, { kind: 'term' }> => c.kind === 'term' && c.field === null && c.words.length === 1).map((c) => c.words[0]!);
  const kept: KqlNode[] = [];
  const seen = new Set<string>();
  for (const c of children) {
    const key = JSON.stringify(c);
    if (seen.has(key)) continue;
    seen.add(key);
    if (c.kind === 'term' && !(c.field === null && c.words.length === 1) && c.words.some((w) => cover.some((x) => w.startsWith(x)))) continue;
    kept.push(c);
  }
  return kept.length === 1 ? kept[0]! : { kind: 'or', children: kept };
}

/**
 * What the index can answer for the query: `expr` matches every item the query matches, and
 * `exact` says it matches no other (only unfielded one-word terms, under And and Or).
 */
export function indexQueryOf(node: KqlNode): { expr: IndexExpr; exact: boolean } {
  switch (node.kind) {
    case 'term': {
      const exact = node.field === null && node.words.length === 1;
      const words: IndexExpr[] = node.words.map((word) => ({ kind: 'word', word }));
      return { expr: words.length === 1 ? words[0]! : { kind: 'and', children: words }, exact };
    }
    case 'not':
      return { expr: { kind: 'all' }, exact: false };
    default: {
      const parts = node.children.map(indexQueryOf);
      return { expr: { kind: node.kind, children: parts.map((p) => p.expr) }, exact: parts.every((p) => p.exact) };
    }
  }
}

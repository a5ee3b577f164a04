/**
 * The FreeText of a mailbox Find (MS-ASCMD 2.2.3.72.1, "the text to search for, in Keyword Query
 * Language") and of a mailbox Search (2.2.3.73.2), parsed into a query tree.
 *
 * What iOS Mail sends (iOS 18, a Find traced in Z-Hub/Z-Push pull request #147, and the shape
 * grommunio-sync's getFindRestriction in lib/grommunio/grommunio.php takes apart):
 *   to:"Test" OR cc:"Test" OR from:"Test" OR subject:"Test" OR "Test" OR "Test"
 * so a field prefix, quoted values and OR between them. The parser takes the KQL subset a mail
 * client can mean (KQL syntax reference: property restrictions `name:value`, phrases in double
 * quotes, AND, OR and NOT in upper case, `-` and `+` before a term, parentheses, implicit AND):
 *
 *   fields  subject, from, to, cc, bcc, body, participants (from, to, cc and bcc),
 *           attachment / attachments / attachmentnames (attachment file names); any case.
 *           `field:value`, `field:"a phrase"`, `field:(a OR b)`; an unknown name before a
 *           colon is not a field, the token is plain text ("10:30" stays the words 10 and 30).
 *   phrase  "a b c": the words one after the other in one field (the last one as a prefix,
 *           as every search word is: "pres" finds "Presentation").
 *   words   outside quotes and fields, each word of a token is its own required term, exactly
 *           as easd searched before it read KQL: "bob@example.com" is bob, example and com.
 *           With a field, a token is a phrase: from:bob@example.com.
 *
 * Tolerance: the parser never throws. Stray or dangling operators and parentheses are dropped,
 * an unclosed quote or parenthesis runs to the end, nesting deeper than MAX_DEPTH and terms past
 * MAX_TERMS are dropped, and a query left with nothing (say "OR") is searched as its plain
 * words. Lower-case and/or/not are words.
 */
import { searchWords } from '../ports/search.ts';

export type KqlField = 'subject' | 'from' | 'to' | 'cc' | 'bcc' | 'body' | 'participants' | 'attachment';

export type KqlNode =
  /** Words one after the other (one word: a word of the document starting with it). */
  | { kind: 'term'; field: KqlField | null; words: readonly string[] }
  | { kind: 'and'; children: readonly KqlNode[] }
  | { kind: 'or'; children: readonly KqlNode[] }
  | { kind: 'not'; child: KqlNode };

/** Parentheses nested deeper than this are read as plain text. */
export const MAX_DEPTH = 16;
/** Terms past this many are dropped (a FreeText longer than any client sends). */
export const MAX_TERMS = 64;
/** Characters of FreeText read. */
export const MAX_QUERY_CHARS = 4096;

const FIELDS: Readonly<Record<string, KqlField>> = {
  subject: 'subject',
  from: 'from',
  to: 'to',
  cc: 'cc',
  bcc: 'bcc',
  body: 'body',
  participants: 'participants',
  attachment: 'attachment',
  attachments: 'attachment',
  attachmentnames: 'attachment',
};

type Token =
  | { t: 'open'; field: KqlField | null }
  | { t: 'close' }
  | { t: 'op'; op: 'AND' | 'OR' | 'NOT' }
  | { t: 'text'; field: KqlField | null; text: string; quoted: boolean; sign: '' | '-' | '+' };

/** The tokens of a query: parentheses, upper-case operators, and (possibly signed, fielded) text. */
function tokenize(input: string): Token[] {
  const s = input.slice(0, MAX_QUERY_CHARS);
  const out: Token[] = [];
  let i = 0;
  while (i < s.length) {
    const c = s[i]!;
    if (/\s/u.test(c)) {
      i++;
      continue;
    }
    if (c === '(') {
      out.push({ t: 'open', field: null });
      i++;
      continue;
    }
    if (c === ')') {
      out.push({ t: 'close' });
      i++;
      continue;
    }
    if (c === '-' && s[i + 1] === '(') {
      out.push({ t: 'op', op: 'NOT' });
      i++;
      continue;
    }
    let sign: '' | '-' | '+' = '';
    if ((c === '-' || c === '+') && i + 1 < s.length && !/[\s()]/u.test(s[i + 1]!)) {
      sign = c;
      i++;
    }
    let field: KqlField | null = null;
    const m = /^([A-Za-z]+):/.exec(s.slice(i, i + 20));
    if (m && FIELDS[m[1]!.toLowerCase()] !== undefined && i + m[0].length < s.length && !/\s/u.test(s[i + m[0].length]!)) {
      field = FIELDS[m[1]!.toLowerCase()]!;
      i += m[0].length;
      if (s[i] === '(') {
        out.push({ t: 'open', field });
        i++;
        continue;
      }
    }
    if (s[i] === '"') {
      const end = s.indexOf('"', i + 1);
      const stop = end === -1 ? s.length : end;
      out.push({ t: 'text', field, text: s.slice(i + 1, stop), quoted: true, sign });
      i = stop + 1;
      continue;
    }
    let j = i;
    while (j < s.length && !/[\s()"]/u.test(s[j]!)) j++;
    const word = s.slice(i, j);
    i = j;
    if (field === null && sign === '' && (word === 'AND' || word === 'OR' || word === 'NOT')) out.push({ t: 'op', op: word });
    else if (word !== '') out.push({ t: 'text', field, text: word, quoted: false, sign });
  }
  return out;
}

/** Recursive descent over the tokens; every malformed spot is skipped rather than refused. */
class Parser {
  #pos = 0;
  #terms = 0;
  constructor(private readonly tokens: readonly Token[]) {}

  /** The whole query: groups until the tokens run out, stray closing parentheses skipped. */
  query(): KqlNode | null {
    const parts: KqlNode[] = [];
    while (this.#pos < this.tokens.length) {
      const n = this.or(null, 0);
      if (n) parts.push(n);
      if (this.tokens[this.#pos]?.t === 'close') this.#pos++;
    }
    return combine('and', parts);
  }

  or(field: KqlField | null, depth: number): KqlNode | null {
    const parts: KqlNode[] = [];
    for (;;) {
      const n = this.and(field, depth);
      if (n) parts.push(n);
      const t = this.tokens[this.#pos];
      if (t?.t === 'op' && t.op === 'OR') {
        this.#pos++;
        continue;
      }
      return combine('or', parts);
    }
  }

  and(field: KqlField | null, depth: number): KqlNode | null {
    const parts: KqlNode[] = [];
    for (;;) {
      const t = this.tokens[this.#pos];
      if (t === undefined || t.t === 'close' || (t.t === 'op' && t.op === 'OR')) return combine('and', parts);
      if (t.t === 'op' && t.op === 'AND') {
        this.#pos++;
        continue;
      }
      const n = this.unary(field, depth);
      if (n) parts.push(n);
    }
  }

  unary(field: KqlField | null, depth: number): KqlNode | null {
    const t = this.tokens[this.#pos]!;
    if (t.t === 'op' && t.op === 'NOT') {
      this.#pos++;
      const next = this.tokens[this.#pos];
      if (next === undefined || next.t === 'close' || next.t === 'op') return null; // NOT with nothing to negate
      if (depth >= MAX_DEPTH) return this.unary(field, depth); // NOT NOT NOT ...: the excess ones dropped
      const n = this.unary(field, depth + 1);
      return n ? { kind: 'not', child: n } : null;
    }
    this.#pos++;
    if (t.t === 'open') {
      if (depth >= MAX_DEPTH) return null; // too deep: the parenthesis is dropped, its contents read on
      const n = this.or(t.field ?? field, depth + 1);
      if (this.tokens[this.#pos]?.t === 'close') this.#pos++;
      return n;
    }
    if (t.t !== 'text') return null;
    const n = this.term(t.field ?? field, t.text, t.quoted);
    return n && t.sign === '-' ? { kind: 'not', child: n } : n;
  }

  /** A field's token or any quoted text is one phrase; plain text outside a field is one term per word. */
  term(field: KqlField | null, text: string, quoted: boolean): KqlNode | null {
    const words = searchWords(text);
    if (words.length === 0 || this.#terms >= MAX_TERMS) return null;
    if (quoted || field !== null || words.length === 1) {
      this.#terms++;
      return { kind: 'term', field, words };
    }
    const terms = words.slice(0, MAX_TERMS - this.#terms).map((w): KqlNode => ({ kind: 'term', field: null, words: [w] }));
    this.#terms += terms.length;
    return combine('and', terms);
  }
}

function combine(kind: 'and' | 'or', parts: KqlNode[]): KqlNode | null {
  if (parts.length === 0) return null;
  if (parts.length === 1) return parts[0]!;
  return { kind, children: parts.flatMap((p) => (p.kind === kind ? p.children : [p])) };
}

/** The query as plain words: every word a required term anywhere (how easd searched before KQL). */
export function plainWords(text: string): KqlNode | null {
  const words = searchWords(text.slice(0, MAX_QUERY_CHARS)).slice(0, MAX_TERMS);
  return combine(
    'and',
    words.map((w) => ({ kind: 'term', field: null, words: [w] })),
  );
}

/**
 * The query tree of a FreeText, or null when it holds no word at all. Never throws: a query the
 * parser makes nothing of (only operators, say) is its plain words.
 */
export function parseKql(text: string): KqlNode | null {
  try {
    return new Parser(tokenize(text)).query() ?? plainWords(text);
  } catch {
    return plainWords(text); // a bug in the parser must not cost the user the search
  }
}

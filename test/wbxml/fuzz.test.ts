/**
 * Robustness of the WBXML codec, with deterministic pseudo-random inputs.
 *
 * - Hostile input: mutated encodings of the oracle vectors (bit flips, truncation, insertion,
 *   deletion, wrong code pages, huge mb_u_int32 lengths, unterminated strings, spliced tokens),
 *   random byte strings and hand-made pathological documents (100,000 nested elements, ...).
 *   decodeWbxml must either return a tree or throw a WbxmlError whose offset is an integer within
 *   [0, input length] — never any other exception — and every case must finish quickly.
 * - Random trees built from the code page tables (random pages and tags, non-ASCII and astral
 *   text, opaque bytes of every length class) must survive encodeWbxml -> decodeWbxml (strings less
 *   the characters XML 1.0 forbids, which the encoder drops or replaces), and,
 *   within what the XML text form can express, toXml -> parseXml.
 *
 * The seed is printed in each test name; set EASD_FUZZ_SEED (decimal or 0x-hex) to replay or to
 * explore another seed. A failure message carries the case number and the input bytes in hex.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { CODE_PAGES } from '../../src/wbxml/codepages.ts';
import { decodeWbxml, encodeWbxml, parseXml, toXml, WbxmlError, type WbxmlElement, type WbxmlNode } from '../../src/wbxml/index.ts';
import { xmlClean } from './xml-char-rule.ts';
import { concat, hex, mbUint, MUTATOR_NAMES, MUTATORS, rng, type Rng } from './fuzz-mutators.ts';

const SEED = (() => {
  const raw = process.env.EASD_FUZZ_SEED;
  const n = raw === undefined ? 0x5eed_2025 : Number(raw);
  if (!Number.isSafeInteger(n)) throw new Error(`EASD_FUZZ_SEED must be an integer, got ${raw}`);
  return n >>> 0;
})();
const SEED_HEX = `0x${SEED.toString(16).padStart(8, '0')}`;

/** Number of cases per test; the totals stay around 20,000 decodes plus 3,000 round trips. */
const MUTATION_CASES = 14_000;
const RANDOM_BYTE_CASES = 4_000;
const TREE_CASES = 2_000;
const XML_TREE_CASES = 1_000;
/** A single decode of a small (mutated) document may take at most this long. */
const MAX_CASE_MS = 500;

/** A plain copy of a tree: exactly ns/name/children, opaque data as plain Uint8Array. */
type Plain = { ns: string; name: string; children: Array<Plain | string | Uint8Array> };
function plain(node: WbxmlElement): Plain;
function plain(node: WbxmlNode): Plain | string | Uint8Array;
function plain(node: WbxmlNode): Plain | string | Uint8Array {
  if (typeof node === 'string') return node;
  if (node instanceof Uint8Array) return new Uint8Array(node);
  return { ns: node.ns, name: node.name, children: node.children.map((c) => plain(c)) };
}

/**
 * Runs decodeWbxml on hostile input and checks the contract: a tree, or a WbxmlError with an
 * integer offset in [0, length]. Returns the elapsed milliseconds.
 */
function decodeChecked(input: Uint8Array, label: string): { ms: number; tree?: WbxmlElement } {
  const t0 = performance.now();
  let tree: WbxmlElement | undefined;
  try {
    tree = decodeWbxml(input);
  } catch (e) {
    const ms = performance.now() - t0;
    if (!(e instanceof WbxmlError)) {
      assert.fail(`${label}: decodeWbxml threw ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)} (not a WbxmlError)\ninput: ${hex(input)}`);
    }
    assert.ok(
      Number.isInteger(e.offset) && e.offset >= 0 && e.offset <= input.length,
      `${label}: WbxmlError offset ${e.offset} outside [0, ${input.length}] (${e.message})\ninput: ${hex(input)}`,
    );
    return { ms };
  }
  const ms = performance.now() - t0;
  assert.ok(tree && typeof tree.ns === 'string' && typeof tree.name === 'string' && Array.isArray(tree.children), `${label}: not a tree`);
  return { ms, tree };
}

// ---------------------------------------------------------------------------------------------
// Seeds for mutation: the oracle vectors, encoded by our own encoder.
// ---------------------------------------------------------------------------------------------

const VECTORS = join(dirname(fileURLToPath(import.meta.url)), 'vectors');
function loadSeeds(): Buffer[] {
  const seeds: Buffer[] = [];
  for (const dir of [VECTORS, join(VECTORS, 'spec-only')]) {
    for (const f of readdirSync(dir).filter((n) => n.endsWith('.xml')).sort()) {
      try {
        seeds.push(encodeWbxml(parseXml(readFileSync(join(dir, f), 'utf8'))));
      } catch {
        // A vector the codec cannot read yet fails in oracle.test.ts; it is simply no seed here.
      }
    }
  }
  // Keep mutation cheap: the large-content vector is represented by its first 4 KiB as well.
  return seeds.map((s) => (s.length > 4096 ? s.subarray(0, 4096) : s));
}


// ---------------------------------------------------------------------------------------------
// Random trees from the code page tables.
// ---------------------------------------------------------------------------------------------

const PAGES_WITH_TAGS = CODE_PAGES.filter((p) => p.tags.length > 0);

/** Pieces of text: ASCII, Latin-1, Greek, CJK, RTL, combining marks, astral emoji, XML specials. */
const TEXT_PIECES = [
  'a', 'Z', '0', '9', ' ', '-', '.', '@', ':', '/', '&', '<', '>', '"', "'", ']]>', '&amp;', '\t', '\n', '\r\n',
  'é', 'ñ', 'ß', 'Å', '€', 'Ω', 'λ', 'Ж', '中', '文', '日本', '한', 'ע', 'ب', 'ह', 'ไ', '\u0301', '\u200d',
  '\u00a0x', '😀', '👩‍👩‍👧', '🇸🇪', '𝄞', '𠜎', '\uffff', '\ufffd', '\u2028',
];

function randomText(r: Rng, { xmlSafe }: { xmlSafe: boolean }): string {
  let s = '';
  const n = r.bool(0.05) ? r.range(200, 3000) : r.range(1, 24);
  for (let i = 0; i < n; i++) {
    let piece = r.pick(TEXT_PIECES);
    if (xmlSafe && piece === '\uffff') piece = '\ufffd'; // U+FFFF is not an XML character
    if (!xmlSafe && r.bool(0.02)) piece = String.fromCharCode(r.range(1, 0x1f)); // control characters (not NUL)
    s += piece;
  }
  if (xmlSafe && s.trim() === '') s += 'x'; // the text form drops whitespace-only text by design
  return s;
}

function randomOpaque(r: Rng): Uint8Array {
  const lengthClass = r.int(10);
  // 0 bytes; up to 127 (1-byte length); up to 16383 (2-byte length); 16384+ (3-byte length).
  const n = lengthClass === 0 ? 0 : lengthClass < 7 ? r.range(1, 127) : lengthClass < 9 ? r.range(128, 16383) : r.range(16384, 20000);
  return r.bytes(n);
}

interface TreeOptions {
  /** Only shapes the XML text form can carry (see the toXml/parseXml test). */
  xml: boolean;
}

function randomElement(r: Rng, depth: number, budget: { nodes: number }, opts: TreeOptions): WbxmlElement {
  const page = r.pick(PAGES_WITH_TAGS);
  const tag = r.pick(page.tags);
  const element: WbxmlElement = { ns: page.name, name: tag.name, children: [] };
  budget.nodes--;
  if (budget.nodes <= 0 || depth >= 12 || r.bool(0.25)) return element; // leaf without content
  const kind = r.int(10);
  if (kind < 3) {
    element.children.push(randomText(r, { xmlSafe: opts.xml }));
  } else if (kind < 4) {
    element.children.push(randomOpaque(r));
  } else {
    const n = r.range(1, 6);
    for (let i = 0; i < n && budget.nodes > 0; i++) {
      const c = r.int(10);
      const prev = element.children[element.children.length - 1];
      if (c < 7 || (opts.xml && typeof prev === 'string')) element.children.push(randomElement(r, depth + 1, budget, opts));
      else if (c < 9) element.children.push(randomText(r, { xmlSafe: opts.xml })); // may follow text: the decoder merges
      else if (!opts.xml) element.children.push(randomOpaque(r));
      else element.children.push(randomElement(r, depth + 1, budget, opts));
    }
  }
  return element;
}

const isPlainElement = (c: Plain['children'][number]): c is Plain => typeof c === 'object' && !(c instanceof Uint8Array);
function hasMixedContent(e: Plain): boolean {
  const mixed = e.children.some((c) => typeof c === 'string') && e.children.some(isPlainElement);
  return mixed || e.children.some((c) => isPlainElement(c) && hasMixedContent(c));
}

/** What a tree looks like after a WBXML round trip: adjacent text nodes become one. */
function mergeText(node: WbxmlElement): Plain {
  const children: Plain['children'] = [];
  for (const c of node.children) {
    const last = children[children.length - 1];
    if (typeof c === 'string' && typeof last === 'string') children[children.length - 1] = last + c;
    else if (typeof c === 'string') children.push(c);
    else if (c instanceof Uint8Array) children.push(new Uint8Array(c));
    else children.push(mergeText(c));
  }
  return { ns: node.ns, name: node.name, children };
}

// ---------------------------------------------------------------------------------------------

describe('WBXML fuzz', () => {
  it(`decodeWbxml survives ${MUTATION_CASES} mutated vectors (seed ${SEED_HEX})`, () => {
    const seeds = loadSeeds();
    assert.ok(seeds.length >= 10, 'expected the oracle vectors as mutation seeds');
    const r = rng(SEED);
    let maxMs = 0;
    let decoded = 0;
    for (let n = 0; n < MUTATION_CASES; n++) {
      const seed = r.pick(seeds);
      const name = r.pick(MUTATOR_NAMES);
      let doc = MUTATORS[name]!(r, seed);
      if (r.bool(0.2)) doc = MUTATORS[r.pick(MUTATOR_NAMES)]!(r, doc); // stack a second mutation
      const { ms, tree } = decodeChecked(doc, `seed ${SEED_HEX} case ${n} (${name})`);
      if (tree) decoded++;
      maxMs = Math.max(maxMs, ms);
      assert.ok(ms < MAX_CASE_MS, `seed ${SEED_HEX} case ${n} (${name}) took ${ms.toFixed(1)} ms\ninput: ${hex(doc)}`);
    }
    assert.ok(decoded > 0 && decoded < MUTATION_CASES, `mutations should sometimes still decode (${decoded} did)`);
  });

  it(`decodeWbxml survives ${RANDOM_BYTE_CASES} random byte strings (seed ${SEED_HEX})`, () => {
    const r = rng(SEED ^ 0x9e3779b9);
    for (let n = 0; n < RANDOM_BYTE_CASES; n++) {
      const body = r.bytes(r.bool(0.1) ? r.range(0, 4096) : r.range(0, 64));
      // Half of them get a valid header, so that the token stream itself is exercised.
      const doc = r.bool() ? concat([0x03, 0x01, 0x6a, 0x00], body) : Buffer.from(body);
      const { ms } = decodeChecked(doc, `seed ${SEED_HEX} random case ${n}`);
      assert.ok(ms < MAX_CASE_MS, `seed ${SEED_HEX} random case ${n} took ${ms.toFixed(1)} ms`);
    }
  });

  it('decodeWbxml handles pathological documents quickly', () => {
    const H = [0x03, 0x01, 0x6a, 0x00];
    const N = 100_000;
    const cases: Record<string, Buffer> = {
      'empty input': Buffer.alloc(0),
      'header only': Buffer.from(H),
      'header cut in the public id': Buffer.from([0x03, 0x81]),
      'string table length 0xFFFFFFFF': concat([0x03, 0x01, 0x6a, ...mbUint(0xffffffff)], [0x45, 0x01]),
      'mb_u_int32 of 6 bytes in the header': concat([0x03, 0x81, 0x80, 0x80, 0x80, 0x80, 0x01, 0x6a, 0x00, 0x45, 0x01]),
      'opaque length 0xFFFFFFFF': concat(H, [0x45, 0xc3, ...mbUint(0xffffffff), 0x01]),
      'opaque length 2^35 (more than 32 bits)': concat(H, [0x45, 0xc3, ...mbUint(2 ** 35), 0x01]),
      'opaque length one past the end': concat(H, [0x45, 0xc3, 0x03, 0x61, 0x62]),
      'STR_T index 0xFFFFFFFF': concat(H, [0x45, 0x83, ...mbUint(0xffffffff), 0x01]),
      'ENTITY beyond Unicode': concat(H, [0x45, 0x02, ...mbUint(0x110000), 0x01]),
      'ENTITY surrogate': concat(H, [0x45, 0x02, ...mbUint(0xd800), 0x01]),
      'unterminated STR_I': concat(H, [0x45, 0x03], Buffer.alloc(N, 0x61)),
      'invalid UTF-8 in STR_I': concat(H, [0x45, 0x03, 0xff, 0xfe, 0xc3, 0x28, 0xed, 0xa0, 0x80, 0x00, 0x01]),
      'SWITCH_PAGE to 255': concat(H, [0x00, 0xff, 0x45, 0x01]),
      'SWITCH_PAGE at the end': concat(H, [0x45, 0x00]),
      'retired page 3 (AirNotify)': concat(H, [0x00, 0x03, 0x45, 0x01]),
      'unknown token in page 0': concat(H, [0x45, 0x51, 0x01, 0x01]), // 0x11 is unassigned in AirSync
      'attribute bit set': concat(H, [0xc5, 0x01, 0x01]),
      'LITERAL tag': concat(H, [0x04, 0x00, 0x01]),
      'END without element': concat(H, [0x01]),
      'two roots': concat(H, [0x45, 0x01, 0x45, 0x01]),
      'text before the root': concat(H, [0x03, 0x61, 0x00, 0x45, 0x01]),
      [`${N} nested elements`]: concat(H, Buffer.alloc(N, 0x45)),
      [`${N} nested elements, closed`]: concat(H, Buffer.alloc(N, 0x45), Buffer.alloc(N, 0x01)),
      [`${N} nested elements alternating pages`]: concat(H, Buffer.from(Array.from({ length: N }, (_, i) => (i % 2 ? [0x00, 0x11, 0x4a] : [0x00, 0x00, 0x45])).flat())),
      [`${N} empty siblings under one root`]: concat(H, [0x45], Buffer.alloc(N, 0x0b), [0x01]),
      [`${N} END tokens`]: concat(H, [0x45], Buffer.alloc(N, 0x01)),
      [`${N} SWITCH_PAGE tokens`]: concat(H, Buffer.from(Array.from({ length: N }, () => [0x00, 0x07]).flat()), [0x45, 0x01]),
      [`${N} one-character STR_I in one element`]: concat(H, [0x45], Buffer.from(Array.from({ length: N }, () => [0x03, 0x61, 0x00]).flat()), [0x01]),
      [`${N} zero-length OPAQUE`]: concat(H, [0x45], Buffer.from(Array.from({ length: N }, () => [0xc3, 0x00]).flat()), [0x01]),
    };
    for (const [label, doc] of Object.entries(cases)) {
      const { ms, tree } = decodeChecked(doc, label);
      assert.ok(ms < 2_000, `${label} took ${ms.toFixed(1)} ms`);
      if (label.startsWith(`${N} empty siblings`)) assert.equal(tree?.children.length, N);
      if (['END without element', 'two roots', 'text before the root', 'empty input', 'header only'].includes(label)) {
        assert.equal(tree, undefined, `${label} should be refused`);
      }
    }
  });

  it(`decodeWbxml output re-encodes to the same tree (mutated vectors, seed ${SEED_HEX})`, () => {
    const seeds = loadSeeds();
    const r = rng(SEED ^ 0x85ebca6b);
    // Fixed edge cases first: ENTITY of U+0000 and of an ordinary character, an empty STR_I,
    // invalid UTF-8 (decoded to U+FFFD), a string-table string.
    const edges = [
      '03 01 6a 00 45 02 00 01',
      '03 01 6a 00 45 02 81 69 03 62 00 01',
      '03 01 6a 00 45 03 00 01',
      '03 01 6a 00 45 03 ff c3 28 00 01',
      '03 01 6a 03 61 62 00 45 83 00 01',
    ].map((h) => Buffer.from(h.replace(/ /g, ''), 'hex'));
    let checked = 0;
    for (let n = 0; n < edges.length + 4_000; n++) {
      const name = n < edges.length ? 'edge' : r.pick(MUTATOR_NAMES);
      const doc = n < edges.length ? edges[n]! : MUTATORS[name]!(r, r.pick(seeds));
      const { tree } = decodeChecked(doc, `seed ${SEED_HEX} re-encode case ${n} (${name})`);
      if (!tree) continue;
      checked++;
      let again: WbxmlElement;
      try {
        again = decodeWbxml(encodeWbxml(tree));
      } catch (e) {
        assert.fail(`seed ${SEED_HEX} re-encode case ${n} (${name}): a decoded tree did not re-encode: ${String(e)}\ninput: ${hex(doc)}`);
      }
      assert.deepEqual(plain(again), plain(xmlClean(tree)), `seed ${SEED_HEX} re-encode case ${n} (${name})\ninput: ${hex(doc)}`);
    }
    assert.ok(checked > 0);
  });

  it(`random trees round-trip encodeWbxml -> decodeWbxml (${TREE_CASES} trees, seed ${SEED_HEX})`, () => {
    const r = rng(SEED ^ 0xc2b2ae35);
    for (let n = 0; n < TREE_CASES; n++) {
      const tree = randomElement(r, 0, { nodes: r.range(1, 80) }, { xml: false });
      let bytes: Buffer;
      try {
        bytes = encodeWbxml(tree);
      } catch (e) {
        assert.fail(`seed ${SEED_HEX} tree ${n}: encodeWbxml threw ${String(e)}\ntree: ${JSON.stringify(plain(tree)).slice(0, 2000)}`);
      }
      assert.deepEqual(plain(decodeWbxml(bytes)), mergeText(xmlClean(tree)), `seed ${SEED_HEX} tree ${n}\nbytes: ${hex(bytes)}`);
    }
  });

  it(`random trees round-trip toXml -> parseXml (${XML_TREE_CASES} trees, seed ${SEED_HEX})`, () => {
    const r = rng(SEED ^ 0x27d4eb2f);
    for (let n = 0; n < XML_TREE_CASES; n++) {
      const tree = randomElement(r, 0, { nodes: r.range(1, 60) }, { xml: true });
      const expected = mergeText(tree);
      for (const indent of [false, true]) {
        // Indentation adds whitespace around text that sits between elements (mixed content), so
        // indented output is compared only for trees without mixed content.
        if (indent && hasMixedContent(expected)) continue;
        const xml = toXml(tree, { indent });
        let back: WbxmlElement;
        try {
          back = parseXml(xml);
        } catch (e) {
          assert.fail(`seed ${SEED_HEX} xml tree ${n} (indent ${indent}): parseXml(toXml(tree)) threw ${String(e)}\nxml: ${xml.slice(0, 2000)}`);
        }
        assert.deepEqual(plain(back), expected, `seed ${SEED_HEX} xml tree ${n} (indent ${indent})\nxml: ${xml.slice(0, 2000)}`);
      }
    }
  });
});

/**
 * Mutations: what a broken client or an attacker does to a valid request. Tree mutations keep
 * the WBXML well formed and damage its meaning (wrong values, tags of the wrong code page,
 * repeated or missing elements, another user's ids); byte mutations damage the encoding (bit
 * flips, truncation, token swaps, code page switches, lying lengths, deep nesting); text
 * mutations damage MIME, iCalendar, vCard and Autodiscover XML/JSON line by line.
 */
import { CODE_PAGES, isElement, type WbxmlElement, type WbxmlNode } from '../../src/wbxml/index.ts';
import type { Rng } from './rng.ts';

/** Values that have broken parsers before: numbers at the edges, odd text, markup, control characters. */
export const ODD_STRINGS: readonly string[] = [
  '', ' ', '0', '-1', '1', '4294967295', '4294967296', '9007199254740993', '18446744073709551616', '1e308', 'NaN', 'Infinity',
  '0x10', '00000000000000000001', '1.5', '-0', '%00', '\u0000', '\u0000abc', '\u0001\u0002\u001f', '\uFFFE', '\uD800', '😀'.repeat(3),
  "'; drop table users; --", '" or 1=1 --', '../../../../etc/passwd', '..\\..\\windows', '%s%s%s%n', '${jndi:x}', '<x>&amp;</x>', ']]>', '&#0;',
  '2026-13-45T25:61:61.000Z', '0000-00-00T00:00:00.000Z', '9999-12-31T23:59:59.999Z', '20261208T100000Z', '1970-01-01',
  '1:1', '0:0', ':', '1:', ':1', '-1:-1', '1:1:1', '1:99999999999', 'a:b', '/', '\\', '*', '%', '_', '[', '?',
  'T', 'F', 'true', 'Email', 'Calendar', 'Contacts', 'MIME', 'x@', '@x', 'a@b@c', '<a@b>', 'Basic', 'a'.repeat(256),
];

const ALL_TAGS: ReadonlyArray<readonly [string, string]> = CODE_PAGES.flatMap((p) => p.tags.map((t) => [p.name, t.name] as const));

/** Mutates a request tree in place (a deep copy is taken first); `pool` holds ids and keys worth trying. */
export function mutateTree(r: Rng, tree: WbxmlElement, pool: readonly string[], hugeMax: number): WbxmlElement {
  const root = structuredClone(tree);
  const all: WbxmlElement[] = [];
  const walk = (e: WbxmlElement) => {
    all.push(e);
    for (const c of e.children) if (isElement(c)) walk(c);
  };
  walk(root);
  const n = r.range(1, 4);
  for (let i = 0; i < n; i++) {
    try {
      mutateOne(r, r.pick(all), all, pool, hugeMax);
    } catch (err) {
      // A copy of a deeply nested element can exhaust the stack: that mutation is skipped.
      if (!(err instanceof RangeError)) throw err;
    }
  }
  return root;
}

function mutateOne(r: Rng, e: WbxmlElement, all: WbxmlElement[], pool: readonly string[], hugeMax: number): void {
  {
    const op = r.int(11);
    switch (op) {
      case 0: // another value: an odd string or an id from the pool (the other user's among them)
      case 1:
        e.children = [r.chance(0.5) && pool.length > 0 ? r.pick(pool) : r.pick(ODD_STRINGS)];
        break;
      case 2: // drop a child
        if (e.children.length > 0) e.children.splice(r.int(e.children.length), 1);
        break;
      case 3: { // repeat a child
        if (e.children.length === 0) break;
        const c = r.pick(e.children);
        // Bounded in bytes too: a repeated huge string would make gigabytes.
        const times = Math.min(r.chance(0.9) ? r.range(2, 5) : r.range(50, 2000), Math.max(1, Math.floor(hugeMax / sizeOf(c, hugeMax))));
        for (let k = 0; k < times; k++) e.children.push(structuredClone(c));
        break;
      }
      case 4: { // a tag of any code page, valid WBXML in the wrong place
        const [ns, name] = r.pick(ALL_TAGS);
        e.children.splice(r.int(e.children.length + 1), 0, { ns, name, children: r.chance(0.5) ? [r.pick(ODD_STRINGS)] : [] });
        break;
      }
      case 5: { // rename the element
        const [ns, name] = r.pick(ALL_TAGS);
        e.ns = ns;
        e.name = name;
        break;
      }
      case 6: // opaque where text is expected, and the reverse
        e.children = [r.chance(0.5) ? new Uint8Array(r.bytes(r.range(0, 64))) : r.bytes(r.range(0, 64)).toString('latin1')];
        break;
      case 7: // a huge string
        e.children = [hugeString(r, hugeMax)];
        break;
      case 8: { // moved under another element (maybe its own descendant's parent: cycles are avoided by copying)
        const target = r.pick(all);
        target.children.push(structuredClone(e));
        break;
      }
      case 9: // emptied
        e.children = [];
        break;
      default: { // nested deeply
        let inner: WbxmlElement = { ns: e.ns, name: e.name, children: e.children };
        const depth = r.chance(0.8) ? r.range(5, 60) : r.range(100, 3000);
        for (let d = 0; d < depth; d++) inner = { ns: e.ns, name: e.name, children: [inner] };
        e.children = [inner];
      }
    }
  }
}

/** Bytes of a node's text, counted up to `limit`. */
function sizeOf(n: WbxmlNode, limit: number): number {
  if (typeof n === 'string' || n instanceof Uint8Array) return n.length + 2;
  let total = 2;
  for (const c of n.children) {
    total += sizeOf(c, limit);
    if (total >= limit) return limit;
  }
  return total;
}

export function hugeString(r: Rng, max: number): string {
  const len = r.chance(0.9) ? r.range(1000, 70_000) : r.range(70_000, max);
  return r.pick(['a', 'é', '%', '\u0000', '1', 'ab:']).repeat(Math.ceil(len / 2)).slice(0, len);
}

const INTERESTING_BYTES = [0x00, 0x01, 0x02, 0x03, 0x04, 0x40, 0x41, 0x43, 0x7f, 0x80, 0x83, 0xc0, 0xc3, 0xff];

/** Damages encoded bytes (WBXML or any other body). */
export function mutateBytes(r: Rng, input: Buffer, hugeMax: number): Buffer {
  let b = Buffer.from(input);
  const n = r.range(1, 3);
  for (let i = 0; i < n; i++) {
    const op = r.int(10);
    const at = b.length > 0 ? r.int(b.length) : 0;
    switch (op) {
      case 0: // bit flips
        for (let k = r.range(1, 8); k > 0 && b.length > 0; k--) b[r.int(b.length)]! ^= 1 << r.int(8);
        break;
      case 1: // an interesting byte (END, STR_I, OPAQUE, SWITCH_PAGE, continuation bits)
        if (b.length > 0) b[at] = r.pick(INTERESTING_BYTES);
        break;
      case 2: // truncation
        b = b.subarray(0, at);
        break;
      case 3: // a range removed
        b = Buffer.concat([b.subarray(0, at), b.subarray(Math.min(b.length, at + r.range(1, 16)))]);
        break;
      case 4: { // a range repeated
        const len = r.range(1, 32);
        const chunk = b.subarray(at, at + len);
        const times = r.chance(0.9) ? r.range(2, 8) : r.range(100, 5000);
        b = Buffer.concat([b.subarray(0, at), ...Array.from({ length: times }, () => chunk), b.subarray(at)]);
        break;
      }
      case 5: // random bytes inserted
        b = Buffer.concat([b.subarray(0, at), r.bytes(r.range(1, 16)), b.subarray(at)]);
        break;
      case 6: // a switch to a code page that does not exist, or another one (MS-ASWBXML 2.1.2.1)
        b = Buffer.concat([b.subarray(0, at), Buffer.from([0x00, r.chance(0.5) ? r.int(256) : r.int(26)]), b.subarray(at)]);
        break;
      case 7: // a lying length: OPAQUE or string table with a huge or overflowing mb_u_int32
        b = Buffer.concat([b.subarray(0, at), Buffer.from([0xc3]), Buffer.from(r.pick([[0x8f, 0xff, 0xff, 0xff, 0x7f], [0x80, 0x80, 0x80, 0x80, 0x80, 0x01], [0x81, 0x00], [0xff]])), b.subarray(at)]);
        break;
      case 8: // a token swapped: a tag id replaced, content/attribute bits kept or set
        if (b.length > 6) {
          const p = r.range(4, b.length - 1);
          b[p] = (b[p]! & 0xc0) | r.range(0x05, 0x3f) | (r.chance(0.1) ? 0x80 : 0);
        }
        break;
      default: { // a huge inline string
        const s = Buffer.from(hugeString(r, hugeMax));
        b = Buffer.concat([b.subarray(0, at), Buffer.from([0x03]), s, Buffer.from([0x00]), b.subarray(at)]);
      }
    }
  }
  return b;
}

/** WBXML nested `depth` deep: header, a code page, then one tag with content again and again. */
export function deepWbxml(r: Rng, depth: number): Buffer {
  const head = Buffer.from([0x03, 0x01, 0x6a, 0x00, 0x00, r.int(26)]);
  const open = Buffer.alloc(depth, 0x40 | r.range(0x05, 0x1f));
  const close = r.chance(0.5) ? Buffer.alloc(depth, 0x01) : Buffer.alloc(0);
  return Buffer.concat([head, open, close]);
}

/** Damages a text (MIME, iCalendar, vCard, XML, JSON) by lines, values and bytes. */
export function mutateText(r: Rng, text: string, hugeMax: number): Buffer {
  let lines = text.split(/\r?\n/);
  const n = r.range(1, 4);
  for (let i = 0; i < n; i++) {
    const at = r.int(Math.max(1, lines.length));
    switch (r.int(10)) {
      case 0:
        lines.splice(at, 1);
        break;
      case 1: { // a line repeated (many times: many VEVENT properties, many headers)
        const line = lines[at] ?? '';
        const times = Math.min(r.chance(0.9) ? r.range(2, 10) : r.range(100, 3000), Math.max(1, Math.floor(hugeMax / (line.length + 2))));
        lines.splice(at, 0, ...Array.from({ length: times }, () => line));
        break;
      }
      case 2: { // a value replaced
        const line = lines[at] ?? '';
        const colon = line.indexOf(':');
        lines[at] = (colon >= 0 ? line.slice(0, colon + 1) : line + ':') + r.pick(ODD_STRINGS);
        break;
      }
      case 3: // a huge line
        lines[at] = (lines[at] ?? '') + hugeString(r, hugeMax);
        break;
      case 4: // truncated
        lines = lines.slice(0, at);
        break;
      case 5: { // a block repeated (BEGIN..END nesting, MIME parts)
        const len = r.range(1, 20);
        const block = lines.slice(at, at + len);
        const blockLen = block.reduce((n, l) => n + l.length + 2, 0);
        const times = Math.min(r.chance(0.9) ? r.range(2, 6) : r.range(50, 500), Math.max(1, Math.floor(hugeMax / (blockLen + 1))));
        lines.splice(at, 0, ...Array.from({ length: times }, () => block).flat());
        break;
      }
      case 6: // lines swapped
        if (lines.length > 1) {
          const j = r.int(lines.length);
          [lines[at], lines[j]] = [lines[j] ?? '', lines[at] ?? ''];
        }
        break;
      case 7: // an odd header or property
        lines.splice(at, 0, r.pick(['Content-Type: multipart/mixed; boundary=""', 'Content-Transfer-Encoding: base64', 'Content-Type: text/plain; charset=x-unknown', 'BEGIN:VEVENT', 'END:VCALENDAR', 'RRULE:FREQ=SECONDLY;COUNT=100000', 'RRULE:FREQ=MINUTELY;UNTIL=99991231T000000Z', 'DTSTART:abc', 'TZID:Nowhere/Else', '<!DOCTYPE x [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">]>', '<?xml version="1.0" encoding="utf-16"?>', '{"a":', 'BEGIN:VCARD', '=?UTF-8?B?////?=', ' folded continuation']));
        break;
      case 8: // deep nesting of markup (bounded: Autodiscover's stall is issue 15 item 1)
        lines.splice(at, 0, '<a>'.repeat(r.range(10, 2000)));
        break;
      default:
        lines[at] = (lines[at] ?? '') + r.bytes(r.range(1, 8)).toString('latin1');
    }
  }
  const out = Buffer.from(lines.join(r.chance(0.9) ? '\r\n' : '\n'), r.chance(0.95) ? 'utf8' : 'latin1');
  return r.chance(0.2) ? mutateBytes(r, out, hugeMax) : out;
}

/** Every node of a tree (for checks on the request's shape). */
export function hasElement(tree: WbxmlNode, names: ReadonlySet<string>): boolean {
  // Iterative: a mutated tree can be nested deeper than the stack.
  const stack: WbxmlNode[] = [tree];
  while (stack.length > 0) {
    const n = stack.pop()!;
    if (!isElement(n)) continue;
    if (names.has(n.name)) return true;
    stack.push(...n.children);
  }
  return false;
}

/**
 * The WBXML fuzz test's tools (test/wbxml/fuzz.test.ts): a seeded PRNG, byte helpers and the
 * mutators that turn a valid document into hostile input.
 */

/** mulberry32: a small, fast, deterministic PRNG. */
export function rng(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (n: number) => Math.floor(next() * n); // 0 <= int(n) < n
  return {
    next,
    int,
    range: (lo: number, hi: number) => lo + int(hi - lo + 1),
    bool: (p = 0.5) => next() < p,
    pick: <T>(xs: readonly T[]): T => xs[int(xs.length)]!,
    bytes: (n: number) => {
      const b = new Uint8Array(n);
      for (let i = 0; i < n; i++) b[i] = int(256);
      return b;
    },
  };
}
export type Rng = ReturnType<typeof rng>;

export const hex = (b: Uint8Array, max = 256) => {
  const s = Buffer.from(b.subarray(0, max)).toString('hex').replace(/(..)/g, '$1 ').trim();
  return b.length > max ? `${s} ... (${b.length} bytes)` : s;
};

export const concat = (...parts: Array<Uint8Array | number[]>) => Buffer.concat(parts.map((p) => (p instanceof Uint8Array ? p : Uint8Array.from(p))));

/** mb_u_int32 encoding of n (WBXML 5.1), without range checks: callers make it oversized on purpose. */
export function mbUint(n: number): number[] {
  const out = [n % 128];
  n = Math.floor(n / 128);
  while (n > 0) {
    out.unshift((n % 128) | 0x80);
    n = Math.floor(n / 128);
  }
  return out;
}

/** Byte offsets where a token starts in our own encoding (header 03 01 6A 00, no string table). */
function tokenStarts(doc: Uint8Array): number[] {
  const starts: number[] = [];
  let i = 4;
  while (i < doc.length) {
    starts.push(i);
    const b = doc[i]!;
    if (b === 0x00) i += 2;
    else if (b === 0x03) i = doc.indexOf(0, i + 1) + 1 || doc.length;
    else if (b === 0xc3) {
      let j = i + 1;
      let n = 0;
      while (j < doc.length) {
        const c = doc[j++]!;
        n = n * 128 + (c & 0x7f);
        if (!(c & 0x80)) break;
      }
      i = j + n;
    } else i += 1;
  }
  return starts;
}

type Mutator = (r: Rng, doc: Buffer) => Buffer;

export const MUTATORS: Record<string, Mutator> = {
  flipBit(r, doc) {
    const out = Buffer.from(doc);
    for (let k = r.range(1, 4); k > 0; k--) out[r.int(out.length)]! ^= 1 << r.int(8);
    return out;
  },
  randomByte(r, doc) {
    const out = Buffer.from(doc);
    for (let k = r.range(1, 4); k > 0; k--) out[r.int(out.length)] = r.int(256);
    return out;
  },
  truncate(r, doc) {
    return doc.subarray(0, r.int(doc.length));
  },
  insertBytes(r, doc) {
    const at = r.int(doc.length + 1);
    return concat(doc.subarray(0, at), r.bytes(r.range(1, 8)), doc.subarray(at));
  },
  deleteBytes(r, doc) {
    const at = r.int(doc.length);
    return concat(doc.subarray(0, at), doc.subarray(Math.min(doc.length, at + r.range(1, 8))));
  },
  duplicateSlice(r, doc) {
    const a = r.int(doc.length);
    const b = Math.min(doc.length, a + r.range(1, 32));
    const at = r.int(doc.length + 1);
    return concat(doc.subarray(0, at), doc.subarray(a, b), doc.subarray(at));
  },
  /** SWITCH_PAGE to a random page (valid, retired page 3, or beyond 25) at a token boundary. */
  wrongPage(r, doc) {
    const starts = tokenStarts(doc);
    const at = r.pick(starts.length ? starts : [4]);
    const page = r.pick([0, 3, 25, 26, 27, 0x3f, 0x7f, 0x80, 0xff, r.int(256), r.int(26)]);
    return concat(doc.subarray(0, at), [0x00, page], doc.subarray(at));
  },
  /** Changes the page number of an existing SWITCH_PAGE (or of the implicit page 0). */
  changePage(r, doc) {
    const out = Buffer.from(doc);
    const switches = tokenStarts(doc).filter((i) => doc[i] === 0x00);
    if (!switches.length) return concat(doc.subarray(0, 4), [0x00, r.int(256)], doc.subarray(4));
    out[r.pick(switches) + 1] = r.int(256);
    return out;
  },
  /** OPAQUE (or a string-table reference) with an enormous or malformed mb_u_int32. */
  hugeLength(r, doc) {
    const at = r.pick(tokenStarts(doc).length ? tokenStarts(doc) : [4]);
    const len = r.pick([
      mbUint(0xffffffff), // the largest 32-bit value
      mbUint(0x7fffffff),
      mbUint(doc.length + 1), // just past the end
      mbUint(2 ** 35), // more than 32 bits in 5 bytes
      [0x8f, 0xff, 0xff, 0xff, 0xff, 0x7f], // six bytes
      [0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00], // overlong zero
      [0xff, 0xff], // unterminated
      [0xff],
    ]);
    const token = r.pick([0xc3, 0x83, 0x02, 0x04, 0x44, 0x80, 0xc0, 0x43]); // OPAQUE, STR_T, ENTITY, LITERALs, EXT_T_0, EXT_0, PI
    return concat(doc.subarray(0, at), [token, ...len], r.bool() ? doc.subarray(at) : []);
  },
  /** Removes the terminating NUL of an inline string, or ends the document inside one. */
  unterminatedString(r, doc) {
    const strs = tokenStarts(doc).filter((i) => doc[i] === 0x03);
    if (!strs.length || r.bool(0.3)) return concat(doc, [0x03, ...Buffer.from('no end to this string', 'utf8')]);
    const s = r.pick(strs);
    const nul = doc.indexOf(0, s + 1);
    if (r.bool()) return doc.subarray(0, nul); // cut right before the NUL
    return concat(doc.subarray(0, nul), doc.subarray(nul + 1)); // drop the NUL: the string swallows what follows
  },
  /** Inserts a random global token (LITERAL, EXT, PI, ENTITY, STR_T, END) at a token boundary. */
  globalToken(r, doc) {
    const starts = tokenStarts(doc);
    const at = r.pick(starts.length ? starts : [4]);
    const token = r.pick([0x01, 0x02, 0x04, 0x40, 0x41, 0x42, 0x43, 0x44, 0x80, 0x81, 0x82, 0x83, 0x84, 0xc0, 0xc1, 0xc2, 0xc3, 0xc4]);
    return concat(doc.subarray(0, at), [token, r.int(256), r.int(256)], doc.subarray(at));
  },
  /** Sets the attribute bit, clears or sets the content bit of a tag, or swaps its token. */
  tagBits(r, doc) {
    const out = Buffer.from(doc);
    const tags = tokenStarts(doc).filter((i) => (doc[i]! & 0x3f) >= 0x05);
    if (!tags.length) return out;
    const i = r.pick(tags);
    const op = r.int(3);
    if (op === 0) out[i] = out[i]! | 0x80;
    else if (op === 1) out[i] = out[i]! ^ 0x40;
    else out[i] = (out[i]! & 0xc0) | r.range(0x05, 0x3f);
    return out;
  },
  /** Drops or adds END tokens. */
  ends(r, doc) {
    const starts = tokenStarts(doc);
    const ends = starts.filter((i) => doc[i] === 0x01);
    if (ends.length && r.bool()) {
      const i = r.pick(ends);
      return concat(doc.subarray(0, i), doc.subarray(i + 1));
    }
    const at = r.pick(starts.length ? starts : [4]);
    return concat(doc.subarray(0, at), Array(r.range(1, 3)).fill(0x01), doc.subarray(at));
  },
  /** Replaces the header: other versions, public ids, charsets, string table lengths. */
  header(r, doc) {
    const version = r.pick([0x00, 0x01, 0x02, 0x03, 0x04, 0xff]);
    const publicId = r.pick([[0x01], [0x00, 0x00], [0x00, 0x7f], [0x00, ...mbUint(0xffffffff)], [0x81, 0x80, 0x80, 0x80, 0x80, 0x01], [0x9f, 0x53]]);
    const charset = r.pick([[0x6a], [0x00], [0x04], [0x81, 0x6a], [0xff]]);
    const table = r.pick([[0x00], [0x05, 0x61, 0x62, 0x00, 0x63, 0x00], mbUint(0xffffffff), mbUint(doc.length), [0x8f]]);
    return concat([version, ...publicId, ...charset, ...table], doc.subarray(4));
  },
  /** Splices the front of one seed onto the back of another. */
  splice(r, doc) {
    const cut = r.int(doc.length);
    return concat(doc.subarray(0, cut), r.bytes(r.int(4)), doc.subarray(r.int(doc.length)));
  },
};
export const MUTATOR_NAMES = Object.keys(MUTATORS);

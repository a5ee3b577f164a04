/**
 * The charset of a message's first text part and its Windows code page (MS-ASEMAIL 2.2.2.43
 * InternetCPID), read from the raw message with a linear scan (src/mail/parse.ts uses it).
 */
const TEXT_TYPE = /\s*text\/(?:plain|html)/iy;
const CHARSET_VALUE = /charset\s*=\s*"?([\w.:-]+)/iy;

/**
 * The charset of the first text part (a cheap scan of the first 64 KiB of the raw message),
 * lowercased: the last "charset=" of the first Content-Type: text/plain or text/html field (its
 * folded lines included) that has one. Read with indexOf rather than
 * the one regular expression it replaces (same answers), which tried every occurrence against the
 * rest of its field: quadratic, 3-5 s on 64 KiB of repeated Content-Type lines.
 */
export function bodyCharset(raw: Buffer): string | undefined {
  const s = raw.subarray(0, 64 * 1024).toString('latin1');
  const lower = s.toLowerCase();
  // Every "charset" with a value and every line end that ends a field, found once each.
  const charsets: number[] = [];
  for (let c = lower.indexOf('charset'); c >= 0; c = lower.indexOf('charset', c + 1)) {
    CHARSET_VALUE.lastIndex = c;
    if (CHARSET_VALUE.test(s)) charsets.push(c);
  }
  if (charsets.length === 0) return undefined;
  const fieldEnds: number[] = [];
  for (let nl = s.indexOf('\n'); nl >= 0; nl = s.indexOf('\n', nl + 1)) {
    const next = s.charCodeAt(nl + 1);
    if (next !== 0x20 && next !== 0x09) fieldEnds.push(nl);
  }
  for (let at = lower.indexOf('content-type:'); at >= 0; at = lower.indexOf('content-type:', at + 1)) {
    TEXT_TYPE.lastIndex = at + 'content-type:'.length;
    if (!TEXT_TYPE.test(s)) continue;
    const start = TEXT_TYPE.lastIndex;
    const e = firstAtOrAfter(fieldEnds, start);
    const end = e < fieldEnds.length ? fieldEnds[e]! : s.length;
    // The last "charset" of the field wins (the expression's greedy [^\n]* went through every
    // folded line before it backtracked).
    const i = firstAtOrAfter(charsets, end) - 1;
    if (i >= 0 && charsets[i]! >= start) {
      CHARSET_VALUE.lastIndex = charsets[i]!;
      return CHARSET_VALUE.exec(s)![1]!.toLowerCase();
    }
  }
  return undefined;
}

/** Index of the first element of the sorted `list` that is >= `value` (list.length if none). */
function firstAtOrAfter(list: readonly number[], value: number): number {
  let lo = 0;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (list[mid]! < value) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Windows code page numbers (MS-ASEMAIL 2.2.2.43 InternetCPID) of common MIME charsets. */
const CODE_PAGES: Record<string, number> = {
  'utf-8': 65001,
  utf8: 65001,
  'us-ascii': 20127,
  ascii: 20127,
  'iso-8859-1': 28591,
  'iso-8859-2': 28592,
  'iso-8859-5': 28595,
  'iso-8859-7': 28597,
  'iso-8859-15': 28605,
  'windows-1250': 1250,
  'windows-1251': 1251,
  'windows-1252': 1252,
  'windows-1253': 1253,
  'windows-1254': 1254,
  'windows-1255': 1255,
  'windows-1256': 1256,
  'iso-2022-jp': 50220,
  'shift_jis': 932,
  'euc-jp': 51932,
  'koi8-r': 20866,
  'koi8-u': 21866,
  gb2312: 936,
  gbk: 936,
  big5: 950,
  'euc-kr': 51949,
  'ks_c_5601-1987': 949,
};

export function codePageOf(charset: string | undefined): number {
  return (charset && CODE_PAGES[charset]) || 65001;
}

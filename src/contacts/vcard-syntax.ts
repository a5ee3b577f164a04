/**
 * A vCard file's syntax: its text (UTF-8 only), its BEGIN/END balance and its properties as
 * ical.js reads them. Pure functions.
 *
 * Reading goes through ical.js (`ICAL.parse` reads vCards into jCal, RFC 7095): line unfolding,
 * parameter and value escaping, groups ("item1.EMAIL"), multi-valued TYPE ("TYPE=WORK,VOICE"
 * and repeated TYPE=), structured N/ADR/ORG. What this module relies on from it is pinned by
 * test/contacts/vcard.test.ts. One quirk is handled here: ical.js leaves "\;" escaped inside
 * single text values (NOTE:a\;b), so text values have it undone.
 *
 * The input must be UTF-8 (both versions say so): anything else is refused with the line of the
 * first bad byte, never guessed. vCard 2.1 (quoted-printable, CHARSET=) is refused too.
 */

/** A vCard file that cannot be read: the message says what and where. */
export class VCardError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'VCardError';
  }
}

export type VCardVersion = '3.0' | '4.0';

/** The file as text: UTF-8 only (a BOM is dropped); the line of the first invalid byte otherwise. */
export function decodeVCardFile(input: Buffer | string): string {
  if (typeof input === 'string') return input.replace(/^\uFEFF/, '');
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(input).replace(/^\uFEFF/, '');
  } catch {
    const bad = firstInvalidUtf8(input);
    const line = input.subarray(0, bad).toString('latin1').split('\n').length;
    throw new VCardError(`not UTF-8: byte 0x${input[bad]?.toString(16).padStart(2, '0')} on line ${line} (vCard 3.0 and 4.0 files are UTF-8; convert the file first, e.g. with iconv -f WINDOWS-1252 -t UTF-8)`);
  }
}

function firstInvalidUtf8(b: Buffer): number {
  let i = 0;
  while (i < b.length) {
    const c = b[i]!;
    const n = c < 0x80 ? 0 : c >= 0xc2 && c <= 0xdf ? 1 : c >= 0xe0 && c <= 0xef ? 2 : c >= 0xf0 && c <= 0xf4 ? 3 : -1;
    if (n < 0) return i;
    for (let k = 1; k <= n; k++) if (((b[i + k] ?? 0) & 0xc0) !== 0x80) return i;
    i += n + 1;
  }
  return i;
}

export type JCalProperty = [string, Record<string, unknown>, string, ...unknown[]];

export interface Prop {
  name: string;
  group: string | undefined;
  types: string[];
  params: Record<string, unknown>;
  valueType: string;
  values: unknown[];
}

export function readProps(jcal: unknown[], version: string): Prop[] {
  const props = (jcal[1] as JCalProperty[]) ?? [];
  return props.map(([name, params, valueType, ...values]) => {
    const rawTypes = params['type'];
    const types = (Array.isArray(rawTypes) ? rawTypes : rawTypes === undefined ? [] : [rawTypes])
      .flatMap((t) => String(t).split(','))
      .map((t) => t.trim().toLowerCase())
      .filter(Boolean);
    // ical.js keeps "\;" escaped in single text values (see the header).
    const fixed = values.map((v) => (typeof v === 'string' ? v.replace(/\\;/g, ';') : v));
    const group = typeof params['group'] === 'string' ? params['group'].toLowerCase() : undefined;
    return { name: name.toLowerCase(), group, types, params, valueType, values: fixed };
  });
}

/** Every BEGIN:VCARD has its END:VCARD before the next one: the line of the first that does not. */
export function checkBalanced(text: string): void {
  let open = 0;
  text.split(/\r\n|\r|\n/).forEach((line, i) => {
    if (/^BEGIN:VCARD\s*$/i.test(line)) {
      if (open) throw new VCardError(`the card that begins on line ${open} has no END:VCARD before line ${i + 1}`);
      open = i + 1;
    } else if (/^END:VCARD\s*$/i.test(line)) {
      if (!open) throw new VCardError(`END:VCARD on line ${i + 1} ends no card`);
      open = 0;
    }
  });
  if (open) throw new VCardError(`the card that begins on line ${open} has no END:VCARD`);
}

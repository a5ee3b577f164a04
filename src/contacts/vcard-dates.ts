/**
 * vCard dates (BDAY, ANNIVERSARY, ...): read as "YYYY-MM-DD", written in each version's form. A
 * date without a year gets Apple's year 1604 and is written back without one. Pure functions.
 */
import type { VCardVersion } from './vcard-syntax.ts';

/** Apple's year for a date without one (X-APPLE-OMIT-YEAR=1604). */
export const NO_YEAR = '1604';

/** A date value as "YYYY-MM-DD" (time and zone dropped; no year -> 1604), or undefined. */
export function vcardDate(raw: string): string | undefined {
  const v = raw.trim();
  let m = /^(\d{4})-?(\d{2})-?(\d{2})(?:[T ].*)?$/.exec(v);
  if (m) return validDay(m[1]!, m[2]!, m[3]!);
  m = /^--(\d{2})-?(\d{2})$/.exec(v);
  if (m) return validDay(NO_YEAR, m[1]!, m[2]!);
  return undefined;
}

function validDay(y: string, mo: string, d: string): string | undefined {
  const t = new Date(Date.UTC(Number(y), Number(mo) - 1, Number(d)));
  if (t.getUTCFullYear() !== Number(y) || t.getUTCMonth() !== Number(mo) - 1 || t.getUTCDate() !== Number(d)) return undefined;
  return `${y}-${mo}-${d}`;
}

/** A day for BDAY/ANNIVERSARY: 4.0 basic ("19800512", "--0512" without a year), 3.0 extended. */
export function writeDay(day: string, version: VCardVersion): string | undefined {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(day);
  if (!m) return undefined;
  if (version === '4.0') return m[1] === NO_YEAR ? `--${m[2]}${m[3]}` : `${m[1]}${m[2]}${m[3]}`;
  return day;
}

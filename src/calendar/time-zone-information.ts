/**
 * The TIME_ZONE_INFORMATION structure EAS devices send (MS-ASDTYPE 2.7.6, base64 in
 * Calendar:Timezone, MS-ASCAL 2.2.2.44): decoding, encoding, and the offsets its rules describe.
 * Pure: no WBXML, no SQL.
 *
 * Conventions (as in timezone.ts): an "offset" is minutes EAST of UTC (local = UTC + offset,
 * Berlin in winter +60); a TIME_ZONE_INFORMATION "bias" is minutes WEST (UTC = local + bias,
 * Berlin -60), as in Windows.
 */
import type { OffsetFn } from './zone-offsets.ts';

// ---------------------------------------------------------------------------------------------
// The structure

/** SYSTEMTIME (MS-DTYP 2.3.13) as used in TIME_ZONE_INFORMATION. */
export interface SystemTime {
  /** 0: the "day-in-month" recurring form (day = week of the month 1-5, 5 = last); else absolute. */
  year: number;
  /** 1-12; 0 in StandardDate means "no daylight saving time". */
  month: number;
  /** 0 Sunday .. 6 Saturday. */
  dayOfWeek: number;
  /** Recurring form: the occurrence of dayOfWeek in the month, 1-5 (5 = last). Absolute: day of month. */
  day: number;
  hour: number;
  minute: number;
  second: number;
  milliseconds: number;
}

/** TIME_ZONE_INFORMATION (MS-ASDTYPE 2.7.6, 172 bytes). Biases are minutes, UTC = local + bias. */
export interface TimeZoneInformation {
  bias: number;
  standardName: string;
  /** When daylight time ends, in local daylight time. */
  standardDate: SystemTime;
  standardBias: number;
  daylightName: string;
  /** When daylight time starts, in local standard time. */
  daylightDate: SystemTime;
  daylightBias: number;
}

export const TZI_SIZE = 172;
const NAME_CHARS = 32;


export const ZERO_TIME: SystemTime = { year: 0, month: 0, dayOfWeek: 0, day: 0, hour: 0, minute: 0, second: 0, milliseconds: 0 };

function readSystemTime(b: Buffer, at: number): SystemTime {
  const w = (i: number) => b.readUInt16LE(at + 2 * i);
  return { year: w(0), month: w(1), dayOfWeek: w(2), day: w(3), hour: w(4), minute: w(5), second: w(6), milliseconds: w(7) };
}

function writeSystemTime(b: Buffer, at: number, t: SystemTime): void {
  [t.year, t.month, t.dayOfWeek, t.day, t.hour, t.minute, t.second, t.milliseconds].forEach((v, i) => b.writeUInt16LE(v & 0xffff, at + 2 * i));
}

function readName(b: Buffer, at: number): string {
  const s = b.subarray(at, at + NAME_CHARS * 2).toString('utf16le');
  const nul = s.indexOf('\0');
  return (nul < 0 ? s : s.slice(0, nul)).trim();
}

function writeName(b: Buffer, at: number, name: string): void {
  // 32 WCHARs including the terminating NUL.
  b.write(name.slice(0, NAME_CHARS - 1), at, (NAME_CHARS - 1) * 2, 'utf16le');
}

/**
 * Decodes a base64 TIME_ZONE_INFORMATION; undefined when it is not base64 of exactly 172 bytes.
 * Layout (MS-ASDTYPE 2.7.6): Bias LONG @0, StandardName WCHAR[32] @4, StandardDate SYSTEMTIME @68,
 * StandardBias LONG @84, DaylightName WCHAR[32] @88, DaylightDate SYSTEMTIME @152, DaylightBias
 * LONG @168.
 */
export function decodeTimezone(base64: string): TimeZoneInformation | undefined {
  const v = base64.trim();
  if (v.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(v)) return undefined;
  const b = Buffer.from(v, 'base64');
  if (b.length !== TZI_SIZE) return undefined;
  return {
    bias: b.readInt32LE(0),
    standardName: readName(b, 4),
    standardDate: readSystemTime(b, 68),
    standardBias: b.readInt32LE(84),
    daylightName: readName(b, 88),
    daylightDate: readSystemTime(b, 152),
    daylightBias: b.readInt32LE(168),
  };
}

export function encodeTimezone(tzi: TimeZoneInformation): string {
  const b = Buffer.alloc(TZI_SIZE);
  b.writeInt32LE(tzi.bias, 0);
  writeName(b, 4, tzi.standardName);
  writeSystemTime(b, 68, tzi.standardDate);
  b.writeInt32LE(tzi.standardBias, 84);
  writeName(b, 88, tzi.daylightName);
  writeSystemTime(b, 152, tzi.daylightDate);
  b.writeInt32LE(tzi.daylightBias, 168);
  return b.toString('base64');
}

/** Whether the structure has a daylight-saving period (StandardDate.wMonth 0 means none). */
export function hasDaylight(tzi: TimeZoneInformation): boolean {
  return tzi.standardDate.month !== 0 && tzi.daylightDate.month !== 0;
}

/** Negation without -0 (so offsets and biases compare equal with deepEqual). */
export const neg = (n: number) => (n === 0 ? 0 : -n);

/** Days in a month (1-12) of a year. */
export function daysInMonth(year: number, month1: number): number {
  return new Date(Date.UTC(year, month1, 0)).getUTCDate();
}

// ---------------------------------------------------------------------------------------------
// TIME_ZONE_INFORMATION rules

/** The wall-clock moment (UTC-based ms) a SYSTEMTIME rule names in a year. */
function ruleWall(t: SystemTime, year: number): number {
  const month0 = t.month - 1;
  let day: number;
  if (t.year !== 0) {
    day = t.day;
  } else {
    const first = new Date(Date.UTC(year, month0, 1)).getUTCDay();
    day = 1 + ((t.dayOfWeek - first + 7) % 7) + (Math.min(Math.max(t.day, 1), 5) - 1) * 7;
    const last = daysInMonth(year, t.month);
    while (day > last) day -= 7;
  }
  // Windows writes some changes as 23:59:59.999 of the day before; that is the next midnight.
  return Math.round(Date.UTC(year, month0, day, t.hour, t.minute, t.second, t.milliseconds) / 60_000) * 60_000;
}

/** The offsets (minutes east) a TIME_ZONE_INFORMATION describes, year by year. */
export function tziOffsets(tzi: TimeZoneInformation): OffsetFn {
  const stdOff = neg(tzi.bias + tzi.standardBias);
  if (!hasDaylight(tzi)) return () => stdOff;
  const dstOff = neg(tzi.bias + tzi.daylightBias);
  return (ms) => {
    const year = new Date(ms + stdOff * 60_000).getUTCFullYear();
    const start = ruleWall(tzi.daylightDate, year) - stdOff * 60_000;
    const end = ruleWall(tzi.standardDate, year) - dstOff * 60_000;
    const inDst = start < end ? ms >= start && ms < end : ms >= start || ms < end;
    return inDst ? dstOff : stdOff;
  };
}

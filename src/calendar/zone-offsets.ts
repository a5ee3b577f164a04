/**
 * Offsets of IANA zones and the wall clock in any zone. Pure: no WBXML, no SQL.
 *
 * Offsets come from the runtime's ICU (Node 20 ships full ICU): Intl.DateTimeFormat with a
 * timeZone gives the wall clock of any instant; transitions are found by search. An "offset" is
 * minutes EAST of UTC (local = UTC + offset, Berlin in winter +60).
 */

// ---------------------------------------------------------------------------------------------
// IANA zones through ICU

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(zone: string): Intl.DateTimeFormat {
  let f = formatters.get(zone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone: zone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    formatters.set(zone, f);
  }
  return f;
}

/** The runtime's canonical id of an IANA zone ("Asia/Kolkata" -> "Asia/Calcutta" on ICU), or undefined. */
export function canonicalZone(zone: string): string | undefined {
  // Building an Intl.DateTimeFormat costs tens of microseconds and callers ask for the same few
  // zones again and again (every event of a free/busy answer): remember the answers. Bounded by
  // the zone ids ever asked about; unknown ones are remembered too, up to a limit.
  const known = canonicalZones.get(zone);
  if (known !== undefined || canonicalZones.has(zone)) return known;
  let out: string | undefined;
  try {
    out = new Intl.DateTimeFormat('en-US', { timeZone: zone }).resolvedOptions().timeZone;
  } catch {
    out = undefined;
  }
  if (canonicalZones.size >= 4096) canonicalZones.clear();
  canonicalZones.set(zone, out);
  return out;
}

const canonicalZones = new Map<string, string | undefined>();

/** Whether two zone ids name the same IANA zone (aliases included). */
export function sameZone(a: string, b: string): boolean {
  const ca = canonicalZone(a);
  return ca !== undefined && ca === canonicalZone(b);
}

/** Offset (minutes east of UTC) of an IANA zone at an instant. */
export function zoneOffset(zone: string, utcMs: number): number {
  const parts = formatter(zone).formatToParts(new Date(utcMs));
  const get = (t: string) => Number(parts.find((p) => p.type === t)?.value ?? 0);
  const wall = Date.UTC(get('year'), get('month') - 1, get('day'), get('hour'), get('minute'), get('second'));
  const whole = Math.floor(utcMs / 1000) * 1000;
  return Math.round((wall - whole) / 60_000);
}

/** A function giving the offset (minutes east of UTC) at an instant. */
export type OffsetFn = (utcMs: number) => number;

/**
 * The offsets of an IANA zone, from a per-zone, per-year table of its transitions (built once per
 * process, a weekly scan refined to the minute), so expanding a long series does not ask ICU for
 * every occurrence. Two offset changes less than a week apart would be missed; tzdb has none in
 * the years calendars use.
 */
export function ianaOffsets(zone: string): OffsetFn {
  let years = offsetTables.get(zone);
  if (!years) {
    years = new Map();
    offsetTables.set(zone, years);
  }
  const table = years;
  return (ms) => {
    const year = new Date(ms).getUTCFullYear();
    let t = table.get(year);
    if (!t) {
      const start = Date.UTC(year, 0, 1);
      t = { base: zoneOffset(zone, start), transitions: transitionsBetween((x) => zoneOffset(zone, x), start, Date.UTC(year + 1, 0, 1), 7 * DAY) };
      table.set(year, t);
    }
    let off = t.base;
    for (const tr of t.transitions) {
      if (tr.at > ms) break;
      off = tr.to;
    }
    return off;
  };
}

const offsetTables = new Map<string, Map<number, { base: number; transitions: Transition[] }>>();

export const UTC_OFFSETS: OffsetFn = () => 0;

/** One offset change: at `at` (UTC ms) the offset goes from `from` to `to`. */
export interface Transition {
  at: number;
  from: number;
  to: number;
}

const DAY = 86_400_000;

/** Offset changes of a zone whose instant falls in [startMs, endMs), found by search (to the minute). */
export function transitionsBetween(offsets: OffsetFn, startMs: number, endMs: number, step = DAY): Transition[] {
  const out: Transition[] = [];
  let t = startMs;
  let off = offsets(t);
  while (t < endMs) {
    const next = Math.min(t + step, endMs);
    const nextOff = offsets(next);
    if (nextOff !== off) {
      // Binary search for the first minute with the new offset.
      let lo = t;
      let hi = next;
      while (hi - lo > 60_000) {
        const mid = lo + Math.floor((hi - lo) / 120_000) * 60_000;
        if (offsets(mid) === off) lo = mid;
        else hi = mid;
      }
      out.push({ at: hi, from: off, to: offsets(hi) });
      off = offsets(hi);
      // An offset can change twice within a day only in pathological data; re-scan from the change.
      t = hi;
      continue;
    }
    t = next;
  }
  return out;
}

/** Transitions of a zone during a (UTC) calendar year. */
export function transitionsInYear(offsets: OffsetFn, year: number): Transition[] {
  return transitionsBetween(offsets, Date.UTC(year, 0, 1), Date.UTC(year + 1, 0, 1));
}

// ---------------------------------------------------------------------------------------------
// Wall clock <-> UTC

const pad = (n: number) => String(n).padStart(2, '0');

export interface WallTime {
  year: number;
  /** 1-12 */
  month: number;
  day: number;
  hour: number;
  minute: number;
  second?: number;
}

/**
 * The instant of a wall-clock time in a zone. A time that does not exist (the hour skipped when
 * daylight time starts) moves forward by the gap, as Outlook and RFC 5545 3.3.5 do; a time that
 * exists twice (the repeated hour) is the later, standard-time instant.
 */
export function wallToUtc(w: WallTime, offsets: OffsetFn): number {
  const naive = Date.UTC(w.year, w.month - 1, w.day, w.hour, w.minute, w.second ?? 0);
  const first = offsets(naive);
  const guess = naive - first * 60_000;
  const second = offsets(guess);
  if (second === first) return guess;
  const retry = naive - second * 60_000;
  if (offsets(retry) === second) return retry;
  // In the gap: the wall time read with the offset before the change.
  return naive - Math.min(first, second) * 60_000;
}

/** The wall clock of an instant in a zone. */
export function utcToWall(utcMs: number, offsets: OffsetFn): WallTime {
  const d = new Date(utcMs + offsets(utcMs) * 60_000);
  return { year: d.getUTCFullYear(), month: d.getUTCMonth() + 1, day: d.getUTCDate(), hour: d.getUTCHours(), minute: d.getUTCMinutes(), second: d.getUTCSeconds() };
}

/** "2026-03-29T02:00" form of a wall time, for messages and tests. */
export function formatWall(w: WallTime): string {
  return `${w.year}-${pad(w.month)}-${pad(w.day)}T${pad(w.hour)}:${pad(w.minute)}`;
}

/**
 * The EAS Recurrence pattern (MS-ASCAL 2.2.2.39) and the local dates it names, in order, with
 * Outlook's semantics (MS-OXOCAL 2.2.1.44.1 RecurrencePattern; recurrence.ts says where they
 * differ from RFC 5545): day 29, 30 or 31 of the month falls on the month's last day in shorter
 * months (kb-1.10), unless the series came from an RFC 5545 organizer (`skipShortMonths`);
 * CalendarType other than Gregorian is expanded as Gregorian. Pure.
 */

/** MS-ASCAL 2.2.2.39 Type: 0 daily, 1 weekly, 2 monthly, 3 monthly on the nth day, 5 yearly, 6 yearly on the nth day. */
export type RecurrenceType = 0 | 1 | 2 | 3 | 5 | 6;

/** The EAS Recurrence element as data; dates are ISO strings. */
export interface EasRecurrence {
  type: RecurrenceType;
  interval?: number;
  occurrences?: number;
  until?: string;
  /** Bitmask: 1 Sunday, 2 Monday, 4 Tuesday, 8 Wednesday, 16 Thursday, 32 Friday, 64 Saturday; 127 with Type 3/6 = "day". */
  dayOfWeek?: number;
  dayOfMonth?: number;
  /** 1-4, 5 = last. */
  weekOfMonth?: number;
  monthOfYear?: number;
  calendarType?: number;
  isLeapMonth?: boolean;
  /** 0 Sunday .. 6 Saturday (14.1+). */
  firstDayOfWeek?: number;
  /**
   * Server-side only, never an EAS element: DayOfMonth has RFC 5545's meaning (3.3.10: "invalid"
   * dates such as February 30th are ignored, the month has no occurrence) instead of Outlook's
   * (the month's last day). Set for Type 2/5 series on day 29-31 read from an RFC 5545
   * organizer's RRULE, so the organizer's dates are kept (kb-1.10); devices get the Outlook
   * pattern with the skipped months as deleted occurrences (recurrence-device.ts).
   */
  skipShortMonths?: boolean;
}

export const DAY = 86_400_000;
/** Upper bound on generated pattern instances, so a pathological series cannot spin. */
export const MAX_INSTANCES = 100_000;

// ---------------------------------------------------------------------------------------------
// Calendar arithmetic on local dates (UTC-based Date objects hold wall-clock dates)

export interface LocalDate {
  y: number;
  /** 1-12 */
  m: number;
  d: number;
}

export const dateMs = (x: LocalDate) => Date.UTC(x.y, x.m - 1, x.d);
export const fromMs = (ms: number): LocalDate => {
  const t = new Date(ms);
  return { y: t.getUTCFullYear(), m: t.getUTCMonth() + 1, d: t.getUTCDate() };
};
export const weekday = (x: LocalDate) => new Date(dateMs(x)).getUTCDay();
export const daysInMonth = (y: number, m: number) => new Date(Date.UTC(y, m, 0)).getUTCDate();
const addMonths = (y: number, m: number, n: number) => {
  const i = y * 12 + (m - 1) + n;
  return { y: Math.floor(i / 12), m: (i % 12) + 1 };
};

/** Days of the month whose weekday is in the mask, in order. */
function daysMatching(y: number, m: number, mask: number): number[] {
  const out: number[] = [];
  const first = weekday({ y, m, d: 1 });
  const n = daysInMonth(y, m);
  for (let d = 1; d <= n; d++) if (mask & (1 << ((first + d - 1) % 7))) out.push(d);
  return out;
}

/** The nth (1-4, 5 = last) day of the month whose weekday is in the mask (127: any day). */
function nthDay(y: number, m: number, mask: number, week: number): number | undefined {
  const days = daysMatching(y, m, mask & 127 || 127);
  if (days.length === 0) return undefined;
  return week >= 5 ? days.at(-1) : days[week - 1];
}

/**
 * Day-of-month under Outlook's rule: past the month's end means the last day (kb-1.10); under
 * RFC 5545's (`skip`) that month has no such day (RFC 5545 3.3.10).
 */
function monthDay(y: number, m: number, d: number, skip: boolean | undefined): number | undefined {
  const n = daysInMonth(y, m);
  return d <= n ? d : skip ? undefined : n;
}

// ---------------------------------------------------------------------------------------------
// The pattern's local dates

/**
 * The local dates of the pattern, in order, from the series' first local date on. Unbounded
 * (the caller stops); at most MAX_INSTANCES.
 */
export function* patternDates(rec: EasRecurrence, first: LocalDate): Generator<LocalDate> {
  const interval = Math.max(1, rec.interval ?? 1);
  const startMs = dateMs(first);
  const startMask = 1 << weekday(first);
  let produced = 0;
  const emit = function* (x: LocalDate): Generator<LocalDate> {
    if (dateMs(x) < startMs) return;
    produced++;
    yield x;
  };
  const guard = () => produced < MAX_INSTANCES;

  switch (rec.type) {
    case 0: {
      if (rec.dayOfWeek) {
        // "Every weekday" sent as Type 0 with a DayOfWeek mask: those days every week.
        yield* patternDates({ ...rec, type: 1, interval: 1 }, first);
        return;
      }
      for (let k = 0; guard() && k < MAX_INSTANCES; k++) yield* emit(fromMs(startMs + k * interval * DAY));
      return;
    }
    case 1: {
      const mask = rec.dayOfWeek || startMask;
      const fdow = rec.firstDayOfWeek ?? 0;
      const weekStart = startMs - ((weekday(first) - fdow + 7) % 7) * DAY;
      for (let k = 0; guard() && k < MAX_INSTANCES; k++) {
        const ws = weekStart + k * interval * 7 * DAY;
        for (let i = 0; i < 7; i++) {
          const day = fromMs(ws + i * DAY);
          if (mask & (1 << weekday(day))) yield* emit(day);
        }
      }
      return;
    }
    case 2:
    case 3: {
      for (let k = 0; guard() && k < MAX_INSTANCES; k++) {
        const { y, m } = addMonths(first.y, first.m, k * interval);
        const d = rec.type === 2 ? monthDay(y, m, rec.dayOfMonth ?? first.d, rec.skipShortMonths) : nthDay(y, m, rec.dayOfWeek ?? startMask, rec.weekOfMonth ?? 1);
        if (d !== undefined) yield* emit({ y, m, d });
      }
      return;
    }
    case 5:
    case 6: {
      const month = rec.monthOfYear ?? first.m;
      for (let k = 0; guard() && k < MAX_INSTANCES; k++) {
        const y = first.y + k * interval;
        const d = rec.type === 5 ? monthDay(y, month, rec.dayOfMonth ?? first.d, rec.skipShortMonths) : nthDay(y, month, rec.dayOfWeek ?? startMask, rec.weekOfMonth ?? 1);
        if (d !== undefined) yield* emit({ y, m: month, d });
      }
      return;
    }
  }
}

/** Whether the series has an end (Occurrences or Until). */
export function isBounded(rec: EasRecurrence): boolean {
  return (rec.occurrences !== undefined && rec.occurrences > 0) || rec.until !== undefined;
}

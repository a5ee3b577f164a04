/**
 * A series as devices are given it (kb-1.10). EAS carries Outlook's recurrence semantics
 * (MS-ASCAL 2.2.2.39 DayOfMonth; MS-OXOCAL 2.2.1.44.1: a day past the month's end is its last
 * day), so a series from an RFC 5545 organizer whose BYMONTHDAY=29/30/31 skips the months without
 * that day (RFC 5545 3.3.10, stored as `skipShortMonths`) cannot be sent as it is. Devices get
 * the same dates as:
 * - the Outlook pattern on that day (the month-end form for day 31, calendar-to-eas.ts),
 * - a Deleted exception (MS-ASCAL 2.2.2.21, 2.2.2.16) for each month-end date Outlook's rule adds
 *   that the organizer's rule skips,
 * - COUNT (and UNTIL) as Until, the start of the last real occurrence: Outlook's Occurrences
 *   counts deleted instances too, and the start instant is inside the series whether a device
 *   compares Until as a date or as an instant.
 * An endless series gets its deleted occurrences up to HORIZON_YEARS after the later of its start
 * and now (a device holds a bounded list; the server's own expansion stays exact).
 * Pure.
 */
import type { JsonObject } from '../ports/types.ts';
import { seriesOf } from './event.ts';
import type { EasRecurrence } from './recurrence-pattern.ts';
import { patternInstances, type Series } from './recurrence.ts';

/** How far ahead an endless series' skipped months are listed as deleted occurrences. */
export const HORIZON_YEARS = 10;

export interface DeviceRecurrence {
  /** The pattern in Outlook's semantics (no skipShortMonths). */
  recurrence: EasRecurrence;
  /** Original starts (ISO) of the pattern's instances the organizer's rule does not have. */
  deleted: string[];
}

/** The device form of a series' recurrence; the recurrence itself when it needs none. */
export function deviceRecurrence(series: Series, now: Date): DeviceRecurrence {
  const rec = series.recurrence;
  if (!rec.skipShortMonths) return { recurrence: rec, deleted: [] };
  const { skipShortMonths: _skip, ...outlook } = rec;
  const bounded = (rec.occurrences !== undefined && rec.occurrences > 0) || rec.until !== undefined;
  const later = Math.max(now.getTime(), series.start.getTime());
  const horizon = bounded ? Number.POSITIVE_INFINITY : Date.UTC(new Date(later).getUTCFullYear() + HORIZON_YEARS, 11, 31);
  const real = new Set<number>();
  let last: number | undefined;
  for (const inst of patternInstances(series, horizon)) {
    real.add(inst.start.getTime());
    last = inst.start.getTime();
  }
  if (bounded && last !== undefined) {
    delete outlook.occurrences;
    outlook.until = new Date(last).toISOString();
  }
  const deleted: string[] = [];
  const outlookSeries: Series = { ...series, recurrence: outlook };
  for (const inst of patternInstances(outlookSeries, horizon)) {
    if (!real.has(inst.start.getTime())) deleted.push(inst.start.toISOString());
  }
  return { recurrence: outlook, deleted };
}

/**
 * A stored calendar item with its recurrence and exceptions in the form devices get: the item
 * itself unless its series keeps RFC 5545 month days. The skipped dates join the item's own
 * exceptions as Deleted ones. They are no occurrences of the organizer's series, so an exception
 * stored at one of them (a device that sent the whole series back, its deleted occurrences
 * included, leaves an attendee's annotation there, calendar-attendee-copy.ts) goes out deleted
 * too, never as an occurrence.
 */
export function itemForDevices(data: JsonObject, now: Date): JsonObject {
  const series = seriesOf(data);
  if (!series?.recurrence.skipShortMonths) return data;
  const view = deviceRecurrence(series, now);
  const skipped = new Set(view.deleted.map((iso) => Date.parse(iso)));
  const own = (Array.isArray(data['exceptions']) ? (data['exceptions'] as JsonObject[]) : []).filter((e) => !skipped.has(Date.parse(String(e?.['exceptionStartTime']))));
  const added = view.deleted.map((iso): JsonObject => ({ exceptionStartTime: iso, deleted: true }));
  const exceptions = [...own, ...added].sort((a, b) => Date.parse(String(a['exceptionStartTime'])) - Date.parse(String(b['exceptionStartTime'])));
  return { ...data, recurrence: view.recurrence as unknown as JsonObject, exceptions };
}

/**
 * What a bound on one iCalendar object left out (parseICalendar's maxEvents and maxOverrides,
 * src/calendar/icalendar.ts; the delivery limit is src/meetings/meeting-limit.ts): counted, with
 * the first few subjects, so the user can be told what is missing.
 */

export interface OmittedEvents {
  /** Events (UIDs) past maxEvents, not read. */
  events: number;
  /** Overrides (RECURRENCE-ID VEVENTs) of a read event past maxOverrides, not read. */
  overrides: number;
  /** SUMMARY of the first few events left out. */
  subjects: string[];
}

/** How many left-out events' subjects are named. */
const SUBJECTS = 10;

export function noneOmitted(): OmittedEvents {
  return { events: 0, overrides: 0, subjects: [] };
}

export function anyOmitted(o: OmittedEvents): boolean {
  return o.events + o.overrides > 0;
}

/** Counts one event left out, by its SUMMARY. */
export function omitEvent(o: OmittedEvents, summary: unknown): void {
  o.events++;
  if (o.subjects.length < SUBJECTS) o.subjects.push(typeof summary === 'string' && summary.trim() !== '' ? summary.trim() : '(no subject)');
}

/** The first `max` overrides of an event; the rest counted as left out. */
export function keepFirst<T>(overrides: T[], max: number | undefined, o: OmittedEvents): T[] {
  if (max === undefined || overrides.length <= max) return overrides;
  o.overrides += overrides.length - max;
  return overrides.slice(0, max);
}

/** Adds what another object (another calendar part of the same message) left out. */
export function addOmitted(into: OmittedEvents, more: OmittedEvents): void {
  into.events += more.events;
  into.overrides += more.overrides;
  for (const s of more.subjects) if (into.subjects.length < SUBJECTS) into.subjects.push(s);
}

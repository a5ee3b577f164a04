/**
 * Tasks class (MS-ASTASK), every element.
 *
 * Stored data:
 *   {
 *     subject?: string
 *     importance?: 0 | 1 | 2                 // low, normal, high
 *     utcStartDate?, startDate?: string      // ISO; StartDate is the local date written as UTC
 *     utcDueDate?, dueDate?: string          //   (MS-ASTASK 2.2.2.26/2.2.2.12), kept as sent
 *     categories?: string[]
 *     recurrence?: {                         // MS-ASTASK 2.2.2.20
 *       type: 0 | 1 | 2 | 3 | 5 | 6, start: string (ISO), until?: string (ISO),
 *       occurrences?, interval?, dayOfWeek?, dayOfMonth?, weekOfMonth?, monthOfYear?: number,
 *       regenerate?, deadOccur?: boolean, calendarType?: number, isLeapMonth?: boolean,
 *       firstDayOfWeek?: number
 *     }
 *     complete?: boolean
 *     dateCompleted?: string                 // ISO; set when complete
 *     sensitivity?: 0 | 1 | 2 | 3
 *     reminderTime?: string                  // ISO
 *     reminderSet?: boolean
 *     ordinalDate?: string, subOrdinalDate?: string   // 12.0+, sort keys kept as sent
 *     body?: { text?, html? }                 // see body.ts
 *   }
 *
 * Element order: Tasks.xsd (MS-ASTASK section 6), airsyncbase:Body where the 2.5 Body stood:
 * Subject, Body, Importance, UtcStartDate, StartDate, UtcDueDate, DueDate, Categories,
 * Recurrence (Type, Start, Until, Occurrences, Interval, DayOfWeek, DayOfMonth, WeekOfMonth,
 * MonthOfYear, Regenerate, DeadOccur, CalendarType, IsLeapMonth, FirstDayOfWeek), Complete,
 * DateCompleted, Sensitivity, ReminderTime, ReminderSet, OrdinalDate, SubOrdinalDate. All dates
 * are MS-ASDTYPE dateTime. Complete is always sent (required, MS-ASTASK 2.2.2.7). CalendarType
 * and IsLeapMonth exist from 14.0, FirstDayOfWeek from 14.1 (MS-ASWBXML code page 9); a weekly
 * recurrence gets FirstDayOfWeek (0, Sunday, when none is stored) because a server's response
 * requires it (MS-ASTASK 2.2.2.20).
 *
 * A Change is the whole task: Supported and ghosting are for contacts and calendar items only
 * (MS-ASCMD 2.2.3.179), so a Tasks element the client leaves out is cleared, as a removed due
 * date or reminder has no other way to reach the server. The body is the exception: a client
 * that was sent a truncated body does not send it back, so an omitted Body is kept.
 *
 * From a client: DueDate before StartDate, or UtcDueDate before UtcStartDate, is a
 * ConversionError (Status 6), as is a malformed Complete (required, MS-ASTASK 2.2.2.7) or a
 * malformed Recurrence child (the pattern decides the task's dates). A malformed optional element
 * (Importance, Sensitivity, ReminderSet, a date) is left out and the task kept: on a Change the
 * stored value stays; `ctx.dropped` is told (the caller logs it). A task marked complete without a DateCompleted gets the current
 * time (a response MUST carry DateCompleted when Complete is 1); un-completing drops it.
 *
 * Completing one occurrence of a recurring task (`completeOccurrence`, run on a client Change
 * through `afterClientChange`): the server does what MS-OXOTASK 3.1.4.6 has an Exchange client
 * do, since an EAS client only sends Complete. The completed occurrence becomes a task of its
 * own (a copy, complete, reminder off, its Recurrence kept with DeadOccur 1, the form Exchange
 * gives it: MS-OXOTASK 2.2.2.2.8 sets PidLidTaskDeadOccurrence on the completed copy, and
 * Exchange 2010 answers such copies with DeadOccur 1 and the series' Start, as reported in
 * jobisoft/EAS-4-TbSync issue 15), and the recurring task moves on to its
 * next occurrence, incomplete: new start = the next occurrence date, new due = new start + (old
 * due - old start) (a task without a start: new due = the next date; MS-OXOTASK 3.1.4.6.2);
 * with Regenerate the next date counts from the completion date (a sliding pattern), otherwise
 * from the pattern after the current due date. The reminder keeps its distance to the due date
 * (MS-OXORMDR 3.1.4.8). Occurrences counts down; past Until, or at the last occurrence, there
 * is no next one: the task itself stays complete with DeadOccur set (MS-ASTASK 2.2.2.11). A
 * non-Gregorian CalendarType (MS-ASTASK 2.2.2.4, other than 0 and 1) is kept and sent back, but
 * easd computes no next occurrence for it: completing such a task completes the series.
 *
 * FilterType on a Tasks collection is 0 (all) or 8 (incomplete tasks only), not a time window
 * (MS-ASCMD 2.2.3.68.2): see `withinFilter` in index.ts.
 */
import type { JsonObject } from '../ports/types.ts';
import { child, el, type WbxmlElement } from '../wbxml/tree.ts';
import { applyBodyFromEas, bodyToEas, readBody } from './body.ts';
import {
  BOOL,
  CATEGORIES,
  DATE_TIME_KIND,
  STRING,
  bool,
  fieldApplies,
  fieldFromEas,
  fieldToEas,
  hashKey,
  normalizeText,
  obj,
  storedDate,
  str,
  uint,
  type FieldDef,
} from './fields.ts';
import { ConversionError, type ConvertContext, type ItemConverter } from './types.ts';

const T = 'Tasks';
const f = (key: string, name: string, kind: FieldDef['kind'], since?: FieldDef['since']): FieldDef => ({ key, ns: T, name, kind, since });

const SUBJECT = f('subject', 'Subject', STRING);
/** Between Body and Recurrence. */
const BEFORE_RECURRENCE: readonly FieldDef[] = [
  f('importance', 'Importance', uint({ values: [0, 1, 2] })),
  f('utcStartDate', 'UtcStartDate', DATE_TIME_KIND),
  f('startDate', 'StartDate', DATE_TIME_KIND),
  f('utcDueDate', 'UtcDueDate', DATE_TIME_KIND),
  f('dueDate', 'DueDate', DATE_TIME_KIND),
  f('categories', 'Categories', CATEGORIES),
];
const AFTER_RECURRENCE: readonly FieldDef[] = [
  { ...f('complete', 'Complete', BOOL), strict: true },
  f('dateCompleted', 'DateCompleted', DATE_TIME_KIND),
  f('sensitivity', 'Sensitivity', uint({ min: 0, max: 3 })),
  f('reminderTime', 'ReminderTime', DATE_TIME_KIND),
  f('reminderSet', 'ReminderSet', BOOL),
  f('ordinalDate', 'OrdinalDate', DATE_TIME_KIND, '12.0'),
  f('subOrdinalDate', 'SubOrdinalDate', STRING, '12.0'),
];
/** Children of Recurrence, in schema order (MS-ASTASK 2.2.2.20). */
const RECURRENCE: readonly FieldDef[] = ([
  f('type', 'Type', uint({ values: [0, 1, 2, 3, 5, 6] })),
  f('start', 'Start', DATE_TIME_KIND),
  f('until', 'Until', DATE_TIME_KIND),
  f('occurrences', 'Occurrences', uint({ min: 1, max: 999 })),
  f('interval', 'Interval', uint({ min: 1, max: 999 })),
  f('dayOfWeek', 'DayOfWeek', uint({ min: 1, max: 127 })),
  f('dayOfMonth', 'DayOfMonth', uint({ min: 1, max: 31 })),
  f('weekOfMonth', 'WeekOfMonth', uint({ min: 1, max: 5 })),
  f('monthOfYear', 'MonthOfYear', uint({ min: 1, max: 12 })),
  f('regenerate', 'Regenerate', BOOL),
  f('deadOccur', 'DeadOccur', { type: 'uint', min: 0, max: 255 }),
  f('calendarType', 'CalendarType', uint({ values: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 20] }), '14.0'),
  f('isLeapMonth', 'IsLeapMonth', BOOL, '14.0'),
  f('firstDayOfWeek', 'FirstDayOfWeek', uint({ min: 0, max: 6 }), '14.1'),
] satisfies FieldDef[]).map((fd): FieldDef => ({ ...fd, strict: true }));

function push(out: WbxmlElement[], fd: FieldDef, data: JsonObject, ctx: ConvertContext): void {
  if (!fieldApplies(fd, ctx)) return;
  const e = fieldToEas(fd, data);
  if (e) out.push(e);
}

function recurrenceToEas(r: JsonObject, ctx: ConvertContext): WbxmlElement {
  const kids: WbxmlElement[] = [];
  const data: JsonObject = { ...r };
  // DeadOccur is stored as a flag; on the wire it is an unsignedByte (non-zero: dead).
  if (typeof r['deadOccur'] === 'boolean') data['deadOccur'] = r['deadOccur'] ? 1 : 0;
  if (r['type'] === 1 && data['firstDayOfWeek'] === undefined) data['firstDayOfWeek'] = 0;
  for (const fd of RECURRENCE) push(kids, fd, data, ctx);
  return el(T, 'Recurrence', kids);
}

function toEas(data: JsonObject, ctx: ConvertContext): WbxmlElement[] {
  const out: WbxmlElement[] = [];
  push(out, SUBJECT, data, ctx);
  out.push(bodyToEas(readBody(data), ctx));
  for (const fd of BEFORE_RECURRENCE) push(out, fd, data, ctx);
  const r = obj(data, 'recurrence');
  if (r) out.push(recurrenceToEas(r, ctx));
  for (const fd of AFTER_RECURRENCE) {
    if (fd.key === 'complete') push(out, fd, { complete: bool(data, 'complete') ?? false }, ctx);
    else push(out, fd, data, ctx);
  }
  return out;
}

function recurrenceFromEas(e: WbxmlElement): JsonObject | undefined {
  if (e.children.length === 0) return undefined; // an empty Recurrence: no longer recurring
  const r: JsonObject = {};
  for (const fd of RECURRENCE) fieldFromEas(fd, e, r);
  if (r['type'] === undefined) throw new ConversionError('Tasks:Recurrence without Type');
  if (r['start'] === undefined) throw new ConversionError('Tasks:Recurrence without Start');
  if (typeof r['deadOccur'] === 'number') r['deadOccur'] = r['deadOccur'] !== 0;
  const until = storedDate(r, 'until');
  if (until && until < storedDate(r, 'start')!) throw new ConversionError('Tasks:Recurrence Until is before Start');
  return r;
}

function fromEas(appData: WbxmlElement, ctx: ConvertContext, existing?: JsonObject): JsonObject {
  // The whole task: only the body survives from the stored one (see the header).
  const out: JsonObject = {};
  if (existing?.['body'] !== undefined) out['body'] = existing['body'];
  for (const fd of [SUBJECT, ...BEFORE_RECURRENCE, ...AFTER_RECURRENCE]) fieldFromEas(fd, appData, out, ctx, existing ?? {});
  const r = child(appData, 'Recurrence', T);
  if (r) {
    const rec = recurrenceFromEas(r);
    if (rec) out['recurrence'] = rec;
  }
  applyBodyFromEas(appData, out);

  const before = (a: string, b: string) => {
    const x = storedDate(out, a);
    const y = storedDate(out, b);
    return x !== undefined && y !== undefined && y < x;
  };
  if (before('startDate', 'dueDate')) throw new ConversionError('Tasks: DueDate is before StartDate');
  if (before('utcStartDate', 'utcDueDate')) throw new ConversionError('Tasks: UtcDueDate is before UtcStartDate');

  if (out['complete'] === true && out['dateCompleted'] === undefined) {
    out['dateCompleted'] = (ctx.now ?? (() => new Date()))().toISOString();
  }
  if (out['complete'] !== true) delete out['dateCompleted'];
  return out;
}

// ---------------------------------------------------------------------------------------------
// Recurring tasks: the next occurrence

const DAY_MS = 86_400_000;

function utcDay(d: Date): Date {
  return new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate()));
}

function daysInMonth(y: number, m: number): number {
  return new Date(Date.UTC(y, m + 1, 0)).getUTCDate();
}

/** The `week`th (1-4, 5 = last) day of the month matching the DayOfWeek mask, or undefined. */
function nthWeekday(y: number, m: number, week: number, mask: number): Date | undefined {
  const days: number[] = [];
  for (let d = 1; d <= daysInMonth(y, m); d++) {
    const wd = new Date(Date.UTC(y, m, d)).getUTCDay();
    if (mask & (1 << wd)) days.push(d);
  }
  if (days.length === 0) return undefined;
  const day = week >= 5 ? days[days.length - 1] : days[week - 1];
  return day === undefined ? undefined : new Date(Date.UTC(y, m, day));
}

/**
 * The first occurrence date strictly after `after` (a UTC day), by the pattern of MS-ASTASK
 * 2.2.2.20 counted from `anchor` (the series start, for the interval). Undefined when the
 * pattern gives none (a broken pattern, or a non-Gregorian calendar).
 */
export function nextOccurrence(r: JsonObject, anchor: Date, after: Date): Date | undefined {
  const calendarType = typeof r['calendarType'] === 'number' ? r['calendarType'] : 0;
  if (calendarType !== 0 && calendarType !== 1) return undefined;
  const interval = typeof r['interval'] === 'number' && r['interval'] > 0 ? r['interval'] : 1;
  const a = utcDay(anchor);
  const base = utcDay(after);
  const dayOfWeek = typeof r['dayOfWeek'] === 'number' ? r['dayOfWeek'] : 0;
  const dayOfMonth = typeof r['dayOfMonth'] === 'number' ? r['dayOfMonth'] : a.getUTCDate();
  const weekOfMonth = typeof r['weekOfMonth'] === 'number' ? r['weekOfMonth'] : 1;
  const monthOfYear = typeof r['monthOfYear'] === 'number' ? r['monthOfYear'] - 1 : a.getUTCMonth();
  switch (r['type']) {
    case 0: {
      // Daily; with a DayOfWeek mask, every matching weekday ("every weekday").
      if (dayOfWeek) {
        for (let i = 1; i <= 7; i++) {
          const d = new Date(base.getTime() + i * DAY_MS);
          if (dayOfWeek & (1 << d.getUTCDay())) return d;
        }
        return undefined;
      }
      const since = Math.floor((base.getTime() - a.getTime()) / DAY_MS);
      const steps = since < 0 ? 0 : Math.floor(since / interval) + 1;
      return new Date(a.getTime() + steps * interval * DAY_MS);
    }
    case 1: {
      const mask = dayOfWeek || 1 << a.getUTCDay();
      const weekStart = (d: Date) => new Date(d.getTime() - d.getUTCDay() * DAY_MS);
      const anchorWeek = weekStart(a).getTime();
      for (let i = 1; i <= 7 * interval + 7; i++) {
        const d = new Date(base.getTime() + i * DAY_MS);
        const weeks = Math.round((weekStart(d).getTime() - anchorWeek) / (7 * DAY_MS));
        if (weeks >= 0 && weeks % interval === 0 && mask & (1 << d.getUTCDay())) return d;
      }
      return undefined;
    }
    case 2:
    case 3: {
      for (let i = 0; i <= 12 * interval * 4; i++) {
        const months = a.getUTCFullYear() * 12 + a.getUTCMonth() + i;
        if (i % interval !== 0) continue;
        const y = Math.floor(months / 12);
        const m = months % 12;
        const d = r['type'] === 2 ? new Date(Date.UTC(y, m, Math.min(dayOfMonth, daysInMonth(y, m)))) : nthWeekday(y, m, weekOfMonth, dayOfWeek || 1 << a.getUTCDay());
        if (d && d > base && d >= a) return d;
      }
      return undefined;
    }
    case 5:
    case 6: {
      for (let i = 0; i <= 8 * interval; i++) {
        if (i % interval !== 0) continue;
        const y = a.getUTCFullYear() + i;
        const d = r['type'] === 5 ? new Date(Date.UTC(y, monthOfYear, Math.min(dayOfMonth, daysInMonth(y, monthOfYear)))) : nthWeekday(y, monthOfYear, weekOfMonth, dayOfWeek || 1 << a.getUTCDay());
        if (d && d > base && d >= a) return d;
      }
      return undefined;
    }
    default:
      return undefined;
  }
}

/** The time of day of `t` moved onto the UTC day `day`. */
function onDay(t: Date, day: Date): Date {
  return new Date(day.getTime() + (t.getTime() - utcDay(t).getTime()));
}

/**
 * Completing one occurrence of a recurring task (see the header): `series` (the recurring task
 * moved to its next occurrence) and `completed` (the occurrence as a task of its own); `last`
 * when the completed occurrence was the last one (the task, complete, marked DeadOccur); or
 * undefined when there is nothing to do (not recurring, not newly complete, or a series that
 * was already dead). A client's own DeadOccur does not decide: MS-ASTASK 2.2.2.11 has clients
 * set it whenever they mark a task complete.
 */
export function completeOccurrence(data: JsonObject, existing: JsonObject | undefined, now: Date): { series: JsonObject; completed: JsonObject } | { last: JsonObject } | undefined {
  const r = obj(data, 'recurrence');
  if (!r || data['complete'] !== true || existing?.['complete'] === true) return undefined;
  if (existing && obj(existing, 'recurrence')?.['deadOccur'] === true) return undefined;
  const start = storedDate(data, 'startDate');
  const due = storedDate(data, 'dueDate');
  const current = due ?? start ?? storedDate(r, 'start')!;
  const seriesStart = storedDate(r, 'start') ?? current;
  const completedAt = storedDate(data, 'dateCompleted') ?? now;
  const occurrences = typeof r['occurrences'] === 'number' ? r['occurrences'] : undefined;
  const next = occurrences === 1 ? undefined : nextOccurrence(r, seriesStart, r['regenerate'] === true ? completedAt : current);
  const until = storedDate(r, 'until');
  if (!next || (until && next > until)) {
    return { last: { ...data, recurrence: { ...r, deadOccur: true } } };
  }

  // New dates: start on the next occurrence (keeping times of day), due keeps its distance.
  const series: JsonObject = { ...data, complete: false };
  delete series['dateCompleted'];
  const newStart = start ? onDay(start, next) : undefined;
  const newDue = due ? (start && newStart ? new Date(newStart.getTime() + (due.getTime() - start.getTime())) : onDay(due, next)) : undefined;
  const shift = (newDue ?? newStart)!.getTime() - (due ?? start ?? current).getTime();
  const moved = (key: string) => {
    const d = storedDate(data, key);
    if (d) series[key] = new Date(d.getTime() + shift).toISOString();
  };
  if (newStart) series['startDate'] = newStart.toISOString();
  if (newDue) series['dueDate'] = newDue.toISOString();
  if (!start && !due) series['startDate'] = next.toISOString();
  moved('utcStartDate');
  moved('utcDueDate');
  const reminder = storedDate(data, 'reminderTime');
  if (reminder) {
    const nextReminder = new Date(reminder.getTime() + shift);
    series['reminderTime'] = nextReminder.toISOString();
    // MS-OXOTASK 3.1.4.6.2: the new instance reminds when the prior one did and it is not past.
    series['reminderSet'] = data['reminderSet'] === true && nextReminder > now;
  }
  series['recurrence'] = { ...r, deadOccur: false, ...(occurrences !== undefined ? { occurrences: occurrences - 1 } : {}) };

  // The copy keeps the pattern marked dead (DeadOccur 1: an instance of a recurring task that
  // generates nothing more), as Exchange stores it.
  const completed: JsonObject = { ...data, complete: true, dateCompleted: completedAt.toISOString(), reminderSet: false, recurrence: { ...r, deadOccur: true } };
  if (completed['reminderTime'] === undefined) delete completed['reminderSet'];
  return { series, completed };
}

function afterClientChange(data: JsonObject, existing: JsonObject, ctx: ConvertContext): { data: JsonObject; created: JsonObject[] } | undefined {
  const split = completeOccurrence(data, existing, (ctx.now ?? (() => new Date()))());
  if (!split) return undefined;
  if ('last' in split) return { data: split.last, created: [] };
  return { data: split.series, created: [split.completed] };
}

/** kb-2.7 identity: normalised subject and due date. */
function matchKey(data: JsonObject): string | undefined {
  const subject = normalizeText(str(data, 'subject'));
  if (!subject) return undefined;
  const due = (storedDate(data, 'utcDueDate') ?? storedDate(data, 'dueDate'))?.toISOString() ?? '';
  return hashKey('task', [subject, due]);
}

/**
 * Incomplete tasks are always in the window (undefined); a completed task is placed at its due
 * date (or completion date). Tasks collections filter by completion, not by time: see
 * `withinFilter` in index.ts.
 */
function filterTime(data: JsonObject): Date | undefined {
  if (data['complete'] !== true) return undefined;
  return storedDate(data, 'utcDueDate') ?? storedDate(data, 'dueDate') ?? storedDate(data, 'dateCompleted');
}

export const tasksConverter: ItemConverter = {
  itemClass: 'Tasks',
  toEas,
  fromEas,
  matchKey,
  filterTime,
  afterClientChange,
};

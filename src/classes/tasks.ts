/**
 * Tasks class (MS-ASTASK), basic fields.
 *
 * Stored data:
 *   {
 *     subject?: string
 *     importance?: 0 | 1 | 2                 // low, normal, high
 *     utcStartDate?, startDate?: string      // ISO; StartDate is the local date written as UTC
 *     utcDueDate?, dueDate?: string          //   (MS-ASTASK 2.2.2.25/2.2.2.9), kept as sent
 *     complete?: boolean
 *     dateCompleted?: string                 // ISO; set when complete
 *     sensitivity?: 0 | 1 | 2 | 3
 *     reminderSet?: boolean
 *     reminderTime?: string                  // ISO
 *     categories?: string[]
 *     body?: { text?, html?, mime? }          // see body.ts
 *   }
 *
 * Element order: the Tasks AllProps group of MS-ASTASK section 6 (Tasks.xsd), airsyncbase:Body
 * where that group lists the (2.5) Body: Subject, Body, Importance, UtcStartDate, StartDate,
 * UtcDueDate, DueDate, Categories, Complete, DateCompleted, Sensitivity, ReminderTime,
 * ReminderSet. All dates are MS-ASDTYPE dateTime. Complete is always sent (0 when not stored):
 * it is a required element (MS-ASTASK 2.2.2.7).
 *
 * From a client: DueDate before StartDate, or UtcDueDate before UtcStartDate, is a
 * ConversionError (as for a flag, MS-ASEMAIL 2.2.2.31: Status 6). A task marked complete without
 * a DateCompleted gets the current time, since a response MUST carry DateCompleted when Complete
 * is 1 (MS-ASTASK DateCompleted); un-completing a task drops DateCompleted.
 *
 * FilterType on a Tasks collection is 0 (all) or 8 (incomplete tasks only), not a time window
 * (MS-ASCMD 2.2.3.68.2): see `withinFilter` in index.ts.
 */
import type { JsonObject } from '../store/types.ts';
import type { WbxmlElement } from '../wbxml/tree.ts';
import { applyBodyFromEas, bodyToEas, readBody } from './body.ts';
import {
  BOOL,
  CATEGORIES,
  DATE_TIME_KIND,
  STRING,
  bool,
  fieldFromEas,
  fieldToEas,
  hashKey,
  normalizeText,
  storedDate,
  str,
  uint,
  type FieldDef,
} from './fields.ts';
import { ConversionError, type ConvertContext, type ItemConverter } from './types.ts';

const T = 'Tasks';
const f = (key: string, name: string, kind: FieldDef['kind']): FieldDef => ({ key, ns: T, name, kind });

const SUBJECT = f('subject', 'Subject', STRING);
const REST: readonly FieldDef[] = [
  f('importance', 'Importance', uint({ values: [0, 1, 2] })),
  f('utcStartDate', 'UtcStartDate', DATE_TIME_KIND),
  f('startDate', 'StartDate', DATE_TIME_KIND),
  f('utcDueDate', 'UtcDueDate', DATE_TIME_KIND),
  f('dueDate', 'DueDate', DATE_TIME_KIND),
  f('categories', 'Categories', CATEGORIES),
  f('complete', 'Complete', BOOL),
  f('dateCompleted', 'DateCompleted', DATE_TIME_KIND),
  f('sensitivity', 'Sensitivity', uint({ min: 0, max: 3 })),
  f('reminderTime', 'ReminderTime', DATE_TIME_KIND),
  f('reminderSet', 'ReminderSet', BOOL),
];

function toEas(data: JsonObject, ctx: ConvertContext): WbxmlElement[] {
  const out: WbxmlElement[] = [];
  const s = fieldToEas(SUBJECT, data);
  if (s) out.push(s);
  out.push(bodyToEas(readBody(data), ctx));
  for (const fd of REST) {
    const e = fd.key === 'complete' ? fieldToEas(fd, { complete: bool(data, 'complete') ?? false }) : fieldToEas(fd, data);
    if (e) out.push(e);
  }
  return out;
}

function fromEas(appData: WbxmlElement, ctx: ConvertContext, existing?: JsonObject): JsonObject {
  const out: JsonObject = { ...(existing ?? {}) };
  fieldFromEas(SUBJECT, appData, out);
  for (const fd of REST) fieldFromEas(fd, appData, out);
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
};

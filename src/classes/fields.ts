/**
 * Shared pieces of the class converters: value formats of MS-ASDTYPE, a small declarative field
 * map (element <-> stored key, kind, protocol versions) in the spirit of Z-Push's per-class maps,
 * and the normalisation used by the duplicate-detection keys (kb-2.7).
 *
 * Conventions of the stored JSON (every class):
 * - keys are camelCase, dates are ISO 8601 UTC strings with milliseconds (`Date#toISOString`),
 *   booleans are booleans, enumerations are numbers, Categories are arrays of strings;
 * - an absent key means "not set"; empty strings are not stored (an empty element from a client
 *   clears the field).
 */
import { createHash } from 'node:crypto';

import { versionNumber, type EasVersion } from '../eas/versions.ts';
import type { JsonObject, JsonValue } from '../ports/types.ts';
import { child, children, el, text, type WbxmlElement } from '../wbxml/tree.ts';
import { ConversionError, type ConvertContext } from './types.ts';

// ---------------------------------------------------------------------------------------------
// Versions

/** True when the context's protocol version is at least `v` (e.g. "14.0"). */
export function atLeast(ctx: ConvertContext, v: EasVersion): boolean {
  return versionNumber(ctx.version) >= versionNumber(v);
}

// ---------------------------------------------------------------------------------------------
// Dates (MS-ASDTYPE 2.3 dateTime, 2.7.2 Compact DateTime)

const DATE_TIME = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:\d{2})$/;
const COMPACT = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/;

/**
 * Parses a date a client sent, in either form of MS-ASDTYPE: dateTime (2.3,
 * "2009-11-12T00:00:00.000Z", milliseconds optional; a numeric offset is accepted too) or
 * Compact DateTime (2.7.2, "20091112T000000Z"). Clients are not consistent about which form an
 * element takes, so both are accepted everywhere; the server always answers in the element's own
 * form. Returns undefined for anything else, including impossible dates (February 30th).
 */
export function parseEasDate(s: string): Date | undefined {
  const v = s.trim();
  let m = DATE_TIME.exec(v);
  let parts: string[];
  let ms = 0;
  let offsetMinutes = 0;
  if (m) {
    parts = m.slice(1, 7) as string[];
    if (m[7]) ms = Number(m[7].slice(0, 3).padEnd(3, '0'));
    const zone = m[8]!;
    if (zone !== 'Z') {
      const sign = zone[0] === '-' ? -1 : 1;
      const oh = Number(zone.slice(1, 3));
      const om = Number(zone.slice(4, 6));
      if (oh > 14 || om > 59) return undefined;
      offsetMinutes = sign * (oh * 60 + om);
    }
  } else {
    m = COMPACT.exec(v);
    if (!m) return undefined;
    parts = m.slice(1, 7) as string[];
  }
  const [y, mo, d, h, mi, se] = parts.map(Number) as [number, number, number, number, number, number];
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || mi > 59 || se > 59) return undefined;
  // MS-ASDTYPE 2.3 allows hour 24 (end of day), only as 24:00:00.
  if (h > 24 || (h === 24 && (mi !== 0 || se !== 0 || ms !== 0))) return undefined;
  const t = Date.UTC(y, mo - 1, d, h, mi, se, ms);
  const check = new Date(Date.UTC(y, mo - 1, d));
  if (check.getUTCFullYear() !== y || check.getUTCMonth() !== mo - 1 || check.getUTCDate() !== d) return undefined;
  return new Date(t - offsetMinutes * 60_000);
}

/** MS-ASDTYPE 2.3 dateTime: "2009-11-12T00:00:00.000Z". */
export function formatDateTime(d: Date): string {
  return d.toISOString();
}

/** MS-ASDTYPE 2.7.2 Compact DateTime: "20091112T000000Z" (seconds precision). */
export function formatCompact(d: Date): string {
  return d.toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');
}

/** A stored ISO string as a Date; undefined when absent or not a date. */
export function storedDate(data: JsonObject, key: string): Date | undefined {
  const v = data[key];
  if (typeof v !== 'string') return undefined;
  const d = new Date(v);
  return Number.isNaN(d.getTime()) ? undefined : d;
}

// ---------------------------------------------------------------------------------------------
// Stored-value accessors

export function str(data: JsonObject, key: string): string | undefined {
  const v = data[key];
  return typeof v === 'string' ? v : undefined;
}

export function num(data: JsonObject, key: string): number | undefined {
  const v = data[key];
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
}

export function bool(data: JsonObject, key: string): boolean | undefined {
  const v = data[key];
  return typeof v === 'boolean' ? v : undefined;
}

export function strings(data: JsonObject, key: string): string[] | undefined {
  const v = data[key];
  return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : undefined;
}

export function obj(data: JsonObject, key: string): JsonObject | undefined {
  const v = data[key];
  return v !== null && typeof v === 'object' && !Array.isArray(v) ? v : undefined;
}

// ---------------------------------------------------------------------------------------------
// Declarative field maps

/** How a simple field's value is written and read. */
export type FieldKind =
  /** A string (MS-ASDTYPE 2.7). */
  | { type: 'string' }
  /** MS-ASDTYPE 2.3 dateTime; stored as an ISO string. */
  | { type: 'dateTime' }
  /** MS-ASDTYPE 2.7.2 Compact DateTime; stored as an ISO string. */
  | { type: 'compact' }
  /** 0 or 1 (MS-ASDTYPE 2.1 boolean, or an unsignedByte restricted to 0/1); stored as a boolean. */
  | { type: 'bool' }
  /** An unsigned integer, restricted to `values` or to [min, max]; stored as a number. */
  | { type: 'uint'; values?: readonly number[]; min?: number; max?: number }
  /** A Categories container of Category strings (same code page); stored as string[]. */
  | { type: 'categories' };

export interface FieldDef {
  /** Stored key (camelCase). */
  key: string;
  /** Code page and tag of the element, as MS-ASWBXML spells it. */
  ns: string;
  name: string;
  kind: FieldKind;
  /** First protocol version that has the element (default: all versions easd speaks). */
  since?: EasVersion;
  /** First protocol version that no longer has it. */
  until?: EasVersion;
  /**
   * A malformed value refuses the item (ConversionError, Sync Status 6) instead of being left
   * out: for elements a class requires (Tasks:Complete, MS-ASTASK 2.2.2.7) or that decide the
   * item's dates (StartTime, EndTime, a recurrence pattern), where a guess would misplace it.
   */
  strict?: true;
}

export const STRING: FieldKind = { type: 'string' };
export const DATE_TIME_KIND: FieldKind = { type: 'dateTime' };
export const COMPACT_KIND: FieldKind = { type: 'compact' };
export const BOOL: FieldKind = { type: 'bool' };
export const CATEGORIES: FieldKind = { type: 'categories' };
export function uint(opts: { values?: readonly number[]; min?: number; max?: number } = {}): FieldKind {
  return { type: 'uint', ...opts };
}

export function fieldApplies(f: { since?: EasVersion; until?: EasVersion }, ctx: ConvertContext): boolean {
  if (f.since && !atLeast(ctx, f.since)) return false;
  if (f.until && atLeast(ctx, f.until)) return false;
  return true;
}

/** The element for a stored field value, or undefined when the field is not set. */
export function fieldToEas(f: FieldDef, data: JsonObject): WbxmlElement | undefined {
  const v = data[f.key];
  if (v === undefined || v === null) return undefined;
  switch (f.kind.type) {
    case 'string':
      return typeof v === 'string' && v !== '' ? el(f.ns, f.name, v) : undefined;
    case 'dateTime':
    case 'compact': {
      const d = storedDate(data, f.key);
      if (!d) return undefined;
      return el(f.ns, f.name, f.kind.type === 'compact' ? formatCompact(d) : formatDateTime(d));
    }
    case 'bool':
      return typeof v === 'boolean' ? el(f.ns, f.name, v ? '1' : '0') : undefined;
    case 'uint':
      return typeof v === 'number' && Number.isFinite(v) ? el(f.ns, f.name, String(v)) : undefined;
    case 'categories': {
      const list = strings(data, f.key);
      if (!list) return undefined;
      return el(f.ns, f.name, list.map((c) => el(f.ns, 'Category', c)));
    }
  }
}

/**
 * Reads one field from a client's ApplicationData into `out`. Absent element: `out` is left as it
 * is (the existing value is kept). Empty element: the field is cleared. Malformed value of an
 * optional element: left out, and `ctx.dropped` is told; a user's item is never refused for an
 * informational field (a date, an enumeration, a number out of range). The field then keeps what
 * `out` holds (a copy of the stored item, for classes that start from it), or, when `existing` is
 * given (classes whose Change is the whole item and starts empty: tasks, notes), the stored
 * item's value. Malformed value of a `strict` element: ConversionError (Status 6).
 */
export function fieldFromEas(f: FieldDef, appData: WbxmlElement, out: JsonObject, ctx?: ConvertContext, existing?: JsonObject): void {
  const e = child(appData, f.name, f.ns);
  if (!e) return;
  if (f.kind.type === 'categories') {
    // An empty Categories container clears them, as an empty element clears any field.
    out[f.key] = children(e, 'Category', f.ns).map((c) => text(c) ?? '');
    return;
  }
  const raw = text(e) ?? '';
  if (raw === '') {
    delete out[f.key];
    return;
  }
  try {
    out[f.key] = parseValue(f, raw);
  } catch (err) {
    if (f.strict || !(err instanceof ConversionError)) throw err;
    if (existing) keepExisting(out, f.key, existing);
    ctx?.dropped?.(`${f.ns}:${f.name}`, err.message);
  }
}

/** A dropped field: the stored item's value stays (a Change), else the field is absent (an Add). */
export function keepExisting(out: JsonObject, key: string, existing: JsonObject | undefined): void {
  const v = existing?.[key];
  if (v !== undefined) out[key] = v;
  else delete out[key];
}

function parseValue(f: FieldDef, raw: string): JsonValue {
  switch (f.kind.type) {
    case 'string':
      return raw;
    case 'dateTime':
    case 'compact': {
      const d = parseEasDate(raw);
      if (!d) throw new ConversionError(`${f.ns}:${f.name}: "${clip(raw)}" is not a date`);
      return d.toISOString();
    }
    case 'bool': {
      const t = raw.trim();
      if (t === '1') return true;
      if (t === '0') return false;
      throw new ConversionError(`${f.ns}:${f.name}: "${clip(raw)}" is not 0 or 1`);
    }
    case 'uint': {
      const t = raw.trim();
      if (!/^\d{1,10}$/.test(t)) throw new ConversionError(`${f.ns}:${f.name}: "${clip(raw)}" is not an unsigned integer`);
      const n = Number(t);
      const { values, min, max } = f.kind;
      if ((values && !values.includes(n)) || (min !== undefined && n < min) || (max !== undefined && n > max)) {
        throw new ConversionError(`${f.ns}:${f.name}: ${n} is out of range`);
      }
      return n;
    }
    case 'categories':
      return raw;
  }
}

function clip(s: string): string {
  return s.length > 40 ? `${s.slice(0, 40)}…` : s;
}

// ---------------------------------------------------------------------------------------------
// Duplicate-detection keys (kb-2.7)

/** Case-, width- and whitespace-insensitive form of a string for matching. */
export function normalizeText(s: string | undefined): string {
  if (!s) return '';
  return s.normalize('NFKC').toLowerCase().replace(/\s+/g, ' ').trim();
}

/** A phone number's digits (and a leading +), so "+1 (555) 010-0100" matches "+15550100100". */
export function normalizePhone(s: string | undefined): string {
  if (!s) return '';
  const t = s.normalize('NFKC').trim();
  return (t.startsWith('+') ? '+' : '') + t.replace(/\D/g, '');
}

/** Bounded, opaque key over the normalised parts (bodies can be long). */
export function hashKey(kind: string, parts: readonly string[]): string {
  return `${kind}:${createHash('sha256').update(JSON.stringify(parts)).digest('base64url')}`;
}

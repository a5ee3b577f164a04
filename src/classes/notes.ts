/**
 * Notes class (MS-ASNOTE), 14.0 and later.
 *
 * Stored data:
 *   {
 *     subject?: string
 *     messageClass?: string                  // "IPN.StickyNote" when absent (MS-ASNOTE 2.2.2.5)
 *     lastModifiedDate?: string              // ISO 8601 UTC; Compact DateTime on the wire (2.2.2.4)
 *     categories?: string[]
 *     body?: { text?, html?, mime? }          // see body.ts
 *   }
 *
 * Element order: the AirSync Sync schema lists, for ApplicationData, airsyncbase:Body before the
 * class elements and the Notes elements as notes:Subject, notes:MessageClass,
 * notes:LastModifiedDate, notes:Categories (MS-ASCMD section 6, Sync response schema); that order
 * is used. MessageClass is sent with its default when not stored.
 *
 * A Change is the whole note (Supported and ghosting are for contacts and calendar items,
 * MS-ASCMD 2.2.3.179): Subject, MessageClass and Categories left out are cleared; an omitted
 * Body is kept (a client sent a truncated body does not send it back). LastModifiedDate is the
 * client's when it sends one, else the time of the write (MS-ASNOTE 2.2.2.4: when the note was
 * last changed), to the second as Compact DateTime carries it.
 *
 * Versions: the Notes class and its code page exist from 14.0 (MS-ASNOTE 2.2.2, MS-ASWBXML
 * code page 23). A 12.x client is never offered a Notes collection (`minVersion`); should one
 * reach the converter anyway, it refuses with a ConversionError (Sync Status 6 for an Add or
 * Change) rather than sending tags the client's code pages do not have.
 */
import type { JsonObject } from '../ports/types.ts';
import { el, type WbxmlElement } from '../wbxml/tree.ts';
import { applyBodyFromEas, bodyPlainText, bodyToEas, readBody } from './body.ts';
import {
  CATEGORIES,
  COMPACT_KIND,
  STRING,
  atLeast,
  fieldFromEas,
  fieldToEas,
  hashKey,
  normalizeText,
  str,
  type FieldDef,
} from './fields.ts';
import { ConversionError, type ConvertContext, type ItemConverter } from './types.ts';

const N = 'Notes';
const SUBJECT: FieldDef = { key: 'subject', ns: N, name: 'Subject', kind: STRING };
const MESSAGE_CLASS: FieldDef = { key: 'messageClass', ns: N, name: 'MessageClass', kind: STRING };
const LAST_MODIFIED: FieldDef = { key: 'lastModifiedDate', ns: N, name: 'LastModifiedDate', kind: COMPACT_KIND };
const NOTE_CATEGORIES: FieldDef = { key: 'categories', ns: N, name: 'Categories', kind: CATEGORIES };

function requireVersion(ctx: ConvertContext): void {
  if (!atLeast(ctx, '14.0')) throw new ConversionError(`the Notes class needs protocol 14.0 or later, not ${ctx.version}`);
}

function toEas(data: JsonObject, ctx: ConvertContext): WbxmlElement[] {
  requireVersion(ctx);
  const out: WbxmlElement[] = [bodyToEas(readBody(data), ctx)];
  const s = fieldToEas(SUBJECT, data);
  if (s) out.push(s);
  out.push(fieldToEas(MESSAGE_CLASS, data) ?? el(N, 'MessageClass', 'IPN.StickyNote'));
  for (const fd of [LAST_MODIFIED, NOTE_CATEGORIES]) {
    const e = fieldToEas(fd, data);
    if (e) out.push(e);
  }
  return out;
}

function fromEas(appData: WbxmlElement, ctx: ConvertContext, existing?: JsonObject): JsonObject {
  requireVersion(ctx);
  // The whole note: only the body survives from the stored one (see the header).
  const out: JsonObject = {};
  if (existing?.['body'] !== undefined) out['body'] = existing['body'];
  // A malformed LastModifiedDate is left out (fields.ts), the note kept: the time of the write.
  for (const fd of [SUBJECT, MESSAGE_CLASS, LAST_MODIFIED, NOTE_CATEGORIES]) fieldFromEas(fd, appData, out, ctx);
  applyBodyFromEas(appData, out);
  if (out['lastModifiedDate'] === undefined) out['lastModifiedDate'] = (ctx.now ?? (() => new Date()))().toISOString().replace(/\.\d{3}Z$/, '.000Z');
  return out;
}

/** kb-2.7 identity: normalised subject and body text. */
function matchKey(data: JsonObject): string | undefined {
  const subject = normalizeText(str(data, 'subject'));
  const body = normalizeText(bodyPlainText(readBody(data)));
  if (!subject && !body) return undefined;
  return hashKey('note', [subject, body]);
}

export const notesConverter: ItemConverter = {
  itemClass: 'Notes',
  minVersion: '14.0',
  toEas,
  fromEas,
  matchKey,
};

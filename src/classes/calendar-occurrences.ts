/**
 * 16.0 occurrences: Sync Change/Delete with airsyncbase:InstanceId (MS-ASCMD 2.2.3.24,
 * 2.2.3.42.2) change or delete one occurrence of a series, as its exception.
 */
import { seriesOf } from '../calendar/event.ts';
import { isPatternInstance } from '../calendar/recurrence.ts';
import type { JsonObject } from '../ports/types.ts';
import type { WbxmlElement } from '../wbxml/tree.ts';
import { isAttendeeCopy } from './calendar-attendee-copy.ts';
import { arrayOfObjects, ATTENDEE_OWN } from './calendar-fields.ts';
import { dateValue, exceptionFieldsFromEas } from './calendar-from-eas.ts';
import { storedDate } from './fields.ts';
import { ConversionError, type ConvertContext } from './types.ts';

function instanceKey(existing: JsonObject, instanceId: string): string {
  const series = seriesOf(existing);
  if (!series) throw new ConversionError('Calendar: InstanceId on an item that is not recurring');
  const key = dateValue(instanceId, 'AirSyncBase:InstanceId');
  // The InstanceId is the original start of an occurrence (MS-ASAIRS 2.2.2.25): of the pattern,
  // or of an exception the item already has.
  const known = arrayOfObjects(existing['exceptions']).some((e) => e['exceptionStartTime'] === key);
  if (!known && !isPatternInstance(series, Date.parse(key))) throw new ConversionError(`Calendar: ${instanceId} is not an occurrence of the series`);
  return key;
}

/** A Change of one occurrence: the fields sent become (or update) that occurrence's exception. */
export function changeInstance(existing: JsonObject, instanceId: string, appData: WbxmlElement, ctx: ConvertContext): JsonObject {
  const key = instanceKey(existing, instanceId);
  const list = arrayOfObjects(existing['exceptions']);
  const i = list.findIndex((e) => e['exceptionStartTime'] === key);
  const base: JsonObject = i >= 0 ? { ...list[i]! } : { exceptionStartTime: key };
  delete base['deleted'];
  let changed: JsonObject = { ...base };
  exceptionFieldsFromEas(appData, changed, ctx);
  if (!ctx.asSent && isAttendeeCopy(existing, ctx.userEmail)) {
    const own: JsonObject = { ...base };
    for (const k of ATTENDEE_OWN) {
      if (changed[k] === undefined) delete own[k];
      else own[k] = changed[k]!;
    }
    changed = own;
  }
  const s = storedDate(changed, 'startTime');
  const e = storedDate(changed, 'endTime');
  if (s && e && e < s) throw new ConversionError('Calendar: occurrence EndTime is before StartTime');
  const next = i >= 0 ? list.map((x, j) => (j === i ? changed : x)) : [...list, changed];
  return { ...existing, exceptions: next };
}

/** A Delete of one occurrence: the series stays, with that occurrence's exception marked Deleted. */
export function deleteInstance(existing: JsonObject, instanceId: string): JsonObject {
  const key = instanceKey(existing, instanceId);
  const list = arrayOfObjects(existing['exceptions']).filter((e) => e['exceptionStartTime'] !== key);
  return { ...existing, exceptions: [...list, { exceptionStartTime: key, deleted: true }] };
}

/**
 * Meetings the user attends (kb-1.2): which stored items are the user's copy of someone else's
 * meeting, and what a Change from the attendee may change on them.
 */
import type { JsonObject } from '../ports/types.ts';
import { arrayOfObjects, ATTENDEE_OWN, setOrDelete } from './calendar-fields.ts';
import { str } from './fields.ts';

/**
 * Whether the stored item is the user's copy of someone else's meeting: MeetingStatus 3, 7, 11
 * or 15 ("the user is not the meeting organizer; the meeting was received from someone else",
 * MS-ASCAL 2.2.2.29), or, when the user's address is known, a meeting with attendees whose
 * organizer is another address.
 */
export function isAttendeeCopy(data: JsonObject, userEmail?: string): boolean {
  const ms = data['meetingStatus'];
  if (typeof ms === 'number') return (ms & 2) === 2;
  return organizedByOther(data, userEmail);
}

function organizedByOther(data: JsonObject, userEmail: string | undefined): boolean {
  const organizer = str(data, 'organizerEmail')?.trim().toLowerCase();
  const attendees = data['attendees'];
  return !!userEmail && !!organizer && organizer !== userEmail.trim().toLowerCase() && Array.isArray(attendees) && attendees.length > 0;
}

/**
 * The client's version with everything but the attendee's own properties reset to the stored
 * one; MeetingStatus says "received" (3) when the stored item did not say it yet.
 */
export function keepOrganizerFields(existing: JsonObject, changed: JsonObject, userEmail: string | undefined): JsonObject {
  const out: JsonObject = { ...existing };
  if (out['meetingStatus'] === undefined && organizedByOther(existing, userEmail)) out['meetingStatus'] = 3;
  for (const key of ATTENDEE_OWN) {
    if (changed[key] === undefined) delete out[key];
    else out[key] = changed[key]!;
  }
  // Per-occurrence reminders and the like: only the attendee's own properties of each exception,
  // on the occurrences the organizer's data has (or new ones the attendee only annotates).
  const before = new Map<string, JsonObject>();
  for (const e of arrayOfObjects(existing['exceptions'])) before.set(str(e, 'exceptionStartTime')!, e);
  const after = arrayOfObjects(changed['exceptions']);
  if (after.length || before.size) {
    const merged = new Map(before);
    for (const e of after) {
      const key = str(e, 'exceptionStartTime');
      if (!key) continue;
      const base: JsonObject = { ...(before.get(key) ?? { exceptionStartTime: key }) };
      for (const k of ATTENDEE_OWN) {
        if (e[k] === undefined) delete base[k];
        else base[k] = e[k]!;
      }
      merged.set(key, base);
    }
    const list = [...merged.values()];
    setOrDelete(out, 'exceptions', list.length ? list : undefined);
  }
  return out;
}

/**
 * What a device's change to a meeting calls for (src/meetings/meeting-organizer.ts,
 * planOrganizerMessages): pure decisions, no mail.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { parseICalendar } from '../../src/calendar/icalendar.ts';
import { applyItip } from '../../src/calendar/itip.ts';
import { occurrenceCancelICalendar } from '../../src/calendar/meeting-mail.ts';
import { planOrganizerMessages } from '../../src/meetings/meeting-organizer.ts';
import type { JsonObject } from '../../src/store/types.ts';

const OLIVIA = { addresses: ['olivia@example.com'], displayName: 'Olivia Organiser' };
const NOW = new Date('2026-03-01T08:00:00Z');
const meeting = (extra: JsonObject = {}): JsonObject => ({
  uid: 'm-1',
  subject: 'Kick-off',
  startTime: '2026-03-10T13:00:00.000Z',
  endTime: '2026-03-10T14:00:00.000Z',
  meetingStatus: 1,
  attendees: [
    { email: 'ann@example.com', name: 'Ann' },
    { email: 'bob@example.com', name: 'Bob' },
    { email: 'olivia@example.com', name: 'Olivia' },
  ],
  ...extra,
});
const summary = (p: ReturnType<typeof planOrganizerMessages>) => p.messages.map((m) => [m.method, m.to.map((t) => t.email), m.data['sequence']]);

describe('planOrganizerMessages', () => {
  it('an Add invites every attendee but the organizer, SEQUENCE 0, the user as ORGANIZER', () => {
    const p = planOrganizerMessages(undefined, meeting(), OLIVIA, '16.1', NOW);
    assert.deepEqual(summary(p), [['REQUEST', ['ann@example.com', 'bob@example.com'], 0]]);
    assert.equal(p.data!['organizerEmail'], 'olivia@example.com');
    assert.equal(p.data!['organizerName'], 'Olivia Organiser');
    assert.equal(p.data!['dtStamp'], NOW.toISOString());
  });

  it('before 16.0 the device sends its own invitations', () => {
    for (const v of ['12.1', '14.0', '14.1'] as const) assert.deepEqual(planOrganizerMessages(undefined, meeting(), OLIVIA, v, NOW).messages, []);
  });

  it('an own-property edit sends nothing; a new time is an update with the next SEQUENCE; a removed attendee gets a CANCEL', () => {
    const stored = meeting({ sequence: 0, organizerEmail: 'olivia@example.com' });
    assert.deepEqual(planOrganizerMessages(stored, { ...stored, reminder: 5, busyStatus: 3, categories: ['x'] }, OLIVIA, '16.1', NOW).messages, []);
    assert.deepEqual(summary(planOrganizerMessages(stored, { ...stored, startTime: '2026-03-10T15:00:00.000Z', endTime: '2026-03-10T16:00:00.000Z' }, OLIVIA, '16.1', NOW)), [['REQUEST', ['ann@example.com', 'bob@example.com'], 1]]);
    const withoutBob = { ...stored, attendees: [{ email: 'ann@example.com', name: 'Ann' }] };
    assert.deepEqual(summary(planOrganizerMessages(stored, withoutBob, OLIVIA, '16.1', NOW)), [['REQUEST', ['ann@example.com'], 1], ['CANCEL', ['bob@example.com'], 1]]);
  });

  it('MeetingStatus cancelled or a Delete cancels for everyone', () => {
    const stored = meeting({ sequence: 2, organizerEmail: 'olivia@example.com' });
    assert.deepEqual(summary(planOrganizerMessages(stored, { ...stored, meetingStatus: 5 }, OLIVIA, '16.0', NOW)), [['CANCEL', ['ann@example.com', 'bob@example.com'], 3]]);
    assert.deepEqual(summary(planOrganizerMessages(stored, undefined, OLIVIA, '16.0', NOW)), [['CANCEL', ['ann@example.com', 'bob@example.com'], 3]]);
    assert.deepEqual(planOrganizerMessages({ ...stored, meetingStatus: 5 }, undefined, OLIVIA, '16.0', NOW).messages, [], 'already cancelled');
  });

  it('kb-1.2: an attendee copy never notifies anyone, whatever the device sends', () => {
    const copy = meeting({ organizerEmail: 'carol@outside.example', meetingStatus: 3 });
    assert.deepEqual(planOrganizerMessages(copy, { ...copy, subject: 'Mine', organizerEmail: 'olivia@example.com', meetingStatus: 1 }, OLIVIA, '16.1', NOW).messages, []);
    assert.deepEqual(planOrganizerMessages(copy, undefined, OLIVIA, '16.1', NOW).messages, []);
    const unmarked = meeting({ organizerEmail: 'carol@outside.example' });
    delete unmarked['meetingStatus'];
    assert.deepEqual(planOrganizerMessages(undefined, unmarked, OLIVIA, '16.1', NOW).messages, [], 'an Add of someone else\'s meeting');
  });

  it('kb-1.1: deleting one occurrence of a series sends a CANCEL of that occurrence only, which keeps the attendee\'s series', () => {
    const stored = meeting({ sequence: 0, organizerEmail: 'olivia@example.com', timeZone: 'Europe/Berlin', recurrence: { type: 1, interval: 1, dayOfWeek: 4, occurrences: 5 } });
    const after = { ...stored, exceptions: [{ exceptionStartTime: '2026-03-17T13:00:00.000Z', deleted: true }] };
    const p = planOrganizerMessages(stored, after, OLIVIA, '16.1', NOW);
    assert.deepEqual(summary(p), [['CANCEL', ['ann@example.com', 'bob@example.com'], 1]]);
    assert.deepEqual(p.messages[0]!.occurrences, ['2026-03-17T13:00:00.000Z']);
    const cal = parseICalendar(occurrenceCancelICalendar(p.messages[0]!.data, p.messages[0]!.occurrences!));
    assert.equal(cal.method, 'CANCEL');
    assert.deepEqual(cal.events[0]!.recurrenceIds, ['2026-03-17T13:00:00.000Z']);
    assert.equal(cal.events[0]!.status, 'CANCELLED');
    const annCopy = { ...stored, meetingStatus: 3, responseType: 3 };
    const next = applyItip('CANCEL', cal.events[0]!, annCopy, { userAddresses: ['ann@example.com'] });
    assert.equal(next.action, 'update');
    const data = (next as { data: JsonObject }).data;
    assert.deepEqual(data['recurrence'], stored['recurrence']);
    assert.deepEqual((data['exceptions'] as JsonObject[]).map((e) => [e['exceptionStartTime'], e['deleted']]), [['2026-03-17T13:00:00.000Z', true]]);
    // A moved occurrence is a change of the meeting: a full update.
    const moved = { ...stored, exceptions: [{ exceptionStartTime: '2026-03-17T13:00:00.000Z', startTime: '2026-03-18T13:00:00.000Z', endTime: '2026-03-18T14:00:00.000Z' }] };
    assert.deepEqual(summary(planOrganizerMessages(stored, moved, OLIVIA, '16.1', NOW)), [['REQUEST', ['ann@example.com', 'bob@example.com'], 1]]);
  });

  it('an appointment without attendees is no meeting', () => {
    assert.deepEqual(planOrganizerMessages(undefined, { subject: 'Dentist', startTime: '2026-03-10T13:00:00.000Z', endTime: '2026-03-10T14:00:00.000Z' }, OLIVIA, '16.1', NOW).messages, []);
  });
});

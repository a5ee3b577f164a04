/**
 * iTIP decisions (src/calendar/itip.ts), answers (meeting-answer.ts), the REPLY the server writes
 * (meeting-mail.ts) and the MeetingRequest data (classes/meeting-request.ts), on the fixtures of
 * test/fixtures/calendar/itip/ (Outlook/Exchange, Google Calendar and Thunderbird formats).
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';

import { globalObjIdFromUid, uidFromGlobalObjId, instanceDateOf } from '../../src/calendar/global-obj-id.ts';
import { parseICalendar, type ParsedEvent } from '../../src/calendar/icalendar.ts';
import { applyItip, compareVersions, intendedBusyStatus } from '../../src/calendar/itip.ts';
import { answerMeeting } from '../../src/calendar/meeting-answer.ts';
import { organizerICalendar, replyICalendar } from '../../src/calendar/meeting-mail.ts';
import { meetingMessageClass, meetingRequestData, meetingRequestToEas } from '../../src/classes/meeting-request.ts';
import type { JsonObject } from '../../src/store/types.ts';
import { childText, child } from '../../src/wbxml/tree.ts';

const DIR = new URL('../fixtures/calendar/itip/', import.meta.url);
const fixture = (name: string, replace: Record<string, string> = {}) => {
  let text = readFileSync(new URL(name, DIR), 'utf8');
  for (const [k, v] of Object.entries(replace)) text = text.split(k).join(v);
  return text;
};
const event = (name: string, replace?: Record<string, string>): { method: string; event: ParsedEvent; text: string } => {
  const text = fixture(name, replace);
  const cal = parseICalendar(text);
  return { method: cal.method!, event: cal.events[0]!, text };
};
const ANN = { userAddresses: ['ann@example.com'] };
const OLIVIA = { userAddresses: ['olivia@example.com'] };

function created(d: ReturnType<typeof applyItip>): JsonObject {
  assert.equal(d.action, 'create', JSON.stringify(d));
  return (d as { data: JsonObject }).data;
}
function updated(d: ReturnType<typeof applyItip>): JsonObject {
  assert.equal(d.action, 'update', JSON.stringify(d));
  return (d as { data: JsonObject }).data;
}

describe('iTIP REQUEST', () => {
  it('an Outlook invitation becomes a tentative copy, busy once accepted (CDO intended status)', () => {
    const { event: ev, text } = event('outlook-series-request.ics');
    assert.equal(intendedBusyStatus(text), 2);
    ev.data['busyStatus'] = intendedBusyStatus(text)!;
    const data = created(applyItip('REQUEST', ev, undefined, ANN));
    assert.equal(data['meetingStatus'], 3);
    assert.equal(data['responseType'], 5);
    assert.equal(data['busyStatus'], 1);
    assert.equal(data['intendedBusyStatus'], 2);
    assert.deepEqual(data['recurrence'], { type: 1, occurrences: 10, firstDayOfWeek: 1, dayOfWeek: 4 });
    const answered = answerMeeting(data, 1, undefined, ['ann@example.com'], new Date('2026-02-26T10:00:00Z'));
    assert.equal(answered.kind, 'update');
    const a = (answered as { data: JsonObject }).data;
    assert.equal(a['responseType'], 3);
    assert.equal(a['busyStatus'], 2);
    assert.equal((a['attendees'] as JsonObject[]).find((x) => x['email'] === 'ann@example.com')!['attendeeStatus'], 3);
    assert.equal(answerMeeting(a, 1, undefined, ['ann@example.com'], new Date()).kind, 'duplicate', 'kb-1.8: the same answer again');
    assert.equal(answerMeeting(a, 2, undefined, ['ann@example.com'], new Date()).kind, 'update', 'a different answer is processed');
  });

  it('RSVP=FALSE on the user\'s ATTENDEE line asks for no answer (RFC 5545 3.2.17): ResponseRequested 0 on the item and the MeetingRequest', () => {
    const asked = event('outlook-series-request.ics');
    assert.equal(created(applyItip('REQUEST', asked.event, undefined, ANN))['responseRequested'], true);
    assert.equal(meetingRequestData('REQUEST', asked.event, 1, ['ann@example.com'])['responseRequested'], true);
    // Only Ann's line says FALSE: Bob is still asked.
    const notAsked = event('outlook-series-request.ics', { 'RSVP=TRUE;CN=Ann Smith': 'RSVP=FALSE;CN=Ann Smith' });
    assert.equal(created(applyItip('REQUEST', notAsked.event, undefined, ANN))['responseRequested'], false);
    assert.equal(meetingRequestData('REQUEST', notAsked.event, 1, ['ann@example.com'])['responseRequested'], false);
    assert.equal(created(applyItip('REQUEST', notAsked.event, undefined, { userAddresses: ['bob@example.com'] }))['responseRequested'], true);
    // A sender that leaves RSVP out still reads the answers it gets.
    const unsaid = event('outlook-series-request.ics', { 'RSVP=TRUE;': '' });
    assert.equal(created(applyItip('REQUEST', unsaid.event, undefined, ANN))['responseRequested'], true);
  });

  it('the organizer receiving its own invitation changes nothing', () => {
    const { event: ev } = event('outlook-series-request.ics');
    assert.deepEqual(applyItip('REQUEST', ev, undefined, OLIVIA), { action: 'none', reason: 'own_meeting' });
  });

  it('an update replaces the organizer fields, keeps the reminder, and an older one is ignored', () => {
    const { event: ev } = event('outlook-series-request.ics');
    const first = created(applyItip('REQUEST', ev, undefined, ANN));
    const mine = { ...first, reminder: 30, categories: ['Work'] };
    const newer: ParsedEvent = { data: { ...ev.data, sequence: 1, dtStamp: '2026-02-27T09:00:00.000Z', location: 'Room 5.01' } };
    const next = updated(applyItip('REQUEST', newer, mine, ANN));
    assert.equal(next['location'], 'Room 5.01');
    assert.equal(next['reminder'], 30);
    assert.deepEqual(next['categories'], ['Work']);
    assert.deepEqual(applyItip('REQUEST', ev, next, ANN), { action: 'none', reason: 'outdated' });
    assert.deepEqual(applyItip('REQUEST', newer, next, ANN), { action: 'none', reason: 'duplicate' });
  });

  it('kb-1.9: two REQUESTs for one exception out of order: the higher SEQUENCE wins, DtStamp never goes back', () => {
    const series = created(applyItip('REQUEST', event('google-series-request.ics').event, undefined, ANN));
    const real = event('google-occurrence-request.ics').event; // SEQUENCE 10, DTSTAMP 2025-01-30T23:19:09Z, 18:15Z
    // The newer update (SEQUENCE 11) carries an older DTSTAMP and moves the occurrence to 19:00Z.
    const newer = event('google-occurrence-request.ics', {
      'SEQUENCE:10': 'SEQUENCE:11',
      'DTSTAMP:20250130T231909Z': 'DTSTAMP:20250129T080000Z',
      'DTSTART:20250218T181500Z': 'DTSTART:20250218T190000Z',
      'DTEND:20250218T191500Z': 'DTEND:20250218T200000Z',
    }).event;
    const afterNewer = updated(applyItip('REQUEST', newer, series, ANN));
    assert.deepEqual(applyItip('REQUEST', real, afterNewer, ANN), { action: 'none', reason: 'outdated' });
    const ex = (afterNewer['exceptions'] as JsonObject[])[0]!;
    assert.equal(ex['exceptionStartTime'], '2025-02-11T18:00:00.000Z');
    assert.equal(ex['startTime'], '2025-02-18T19:00:00.000Z');
    // In order: the older first, then the newer; the stamp stays at the later of the two.
    const afterReal = updated(applyItip('REQUEST', real, series, ANN));
    const inOrder = updated(applyItip('REQUEST', newer, afterReal, ANN));
    const ex2 = (inOrder['exceptions'] as JsonObject[])[0]!;
    assert.equal(ex2['startTime'], '2025-02-18T19:00:00.000Z');
    assert.equal(ex2['dtStamp'], '2025-01-30T23:19:09.000Z');
    // A later series update that does not carry the override keeps the newer override.
    const seriesUpdate: ParsedEvent = { data: { ...event('google-series-request.ics').event.data, sequence: 10, dtStamp: '2025-01-31T00:00:00.000Z' } };
    const merged = updated(applyItip('REQUEST', seriesUpdate, inOrder, ANN));
    assert.equal((merged['exceptions'] as JsonObject[])[0]!['startTime'], '2025-02-18T19:00:00.000Z');
    assert.ok(compareVersions({ sequence: 11, stamp: 0 }, { sequence: 10, stamp: 1e12 }) > 0);
  });
});

describe('iTIP REQUEST from Apple Calendar', () => {
  it('is processed into a tentative item in its zone, and a MeetingRequest', () => {
    const { event: ev, text } = event('apple-request.ics');
    assert.equal(intendedBusyStatus(text), undefined);
    const data = created(applyItip('REQUEST', ev, undefined, ANN));
    assert.equal(data['timeZone'], 'Europe/Berlin');
    assert.equal(data['startTime'], '2026-03-31T09:00:00.000Z');
    assert.equal(data['endTime'], '2026-03-31T10:00:00.000Z');
    assert.equal(data['location'], 'Café am Markt\nMarktplatz 1\n10178 Berlin');
    assert.equal(data['organizerEmail'], 'paul@icloud.example');
    assert.equal(data['reminder'], 30);
    assert.equal(data['busyStatus'], 1);
    assert.equal(data['intendedBusyStatus'], 2);
    const tree = meetingRequestToEas(meetingRequestData('REQUEST', ev, 1), { version: '14.1', bodyPreferences: [] })!;
    assert.equal(childText(tree, 'Organizer', 'Email'), '"Paul Apple" <paul@icloud.example>');
    assert.equal(childText(tree, 'StartTime', 'Email'), '2026-03-31T09:00:00.000Z');
    assert.equal(uidFromGlobalObjId(childText(tree, 'GlobalObjId', 'Email')!), '5C1E2A7B-9D3F-4E61-8A2B-0F6C3D4E5A71');
  });
});

describe('iTIP CANCEL', () => {
  it('kb-1.1: a CANCEL with RECURRENCE-ID leaves the series with one deleted exception', () => {
    const series = created(applyItip('REQUEST', event('outlook-series-request.ics').event, undefined, ANN));
    const cancel = event('outlook-occurrence-cancel.ics').event;
    const next = updated(applyItip('CANCEL', cancel, series, ANN));
    assert.deepEqual(next['recurrence'], series['recurrence']);
    const ex = next['exceptions'] as JsonObject[];
    assert.equal(ex.length, 1);
    assert.equal(ex[0]!['exceptionStartTime'], '2026-03-17T09:00:00.000Z');
    assert.equal(ex[0]!['deleted'], true);
    assert.deepEqual(applyItip('CANCEL', cancel, next, ANN), { action: 'none', reason: 'duplicate' });
  });

  it('a CANCEL without RECURRENCE-ID removes the meeting; with no item it changes nothing', () => {
    const { event: ev } = event('outlook-series-request.ics');
    const series = created(applyItip('REQUEST', ev, undefined, ANN));
    const whole: ParsedEvent = { data: { ...ev.data, sequence: 1 }, status: 'CANCELLED' };
    assert.deepEqual(applyItip('CANCEL', whole, series, ANN), { action: 'delete' });
    assert.deepEqual(applyItip('CANCEL', whole, undefined, ANN), { action: 'none', reason: 'no_item' });
  });
});

describe('iTIP REPLY and COUNTER', () => {
  const organizerItem = (): JsonObject => ({
    uid: 'kick-off-1',
    subject: 'Project kick-off',
    startTime: '2026-03-10T13:00:00.000Z',
    endTime: '2026-03-10T14:00:00.000Z',
    organizerEmail: 'olivia@example.com',
    organizerName: 'Olivia Organiser',
    meetingStatus: 1,
    attendees: [
      { email: 'carol@outside.example', name: 'Carol Outside', attendeeStatus: 0, attendeeType: 1 },
      { email: 'bob@example.com', name: 'Bob Jones', attendeeStatus: 0, attendeeType: 1 },
    ],
  });

  it('a Thunderbird REPLY sets the attendee status on the organizer item; once', () => {
    const { event: ev } = event('thunderbird-reply.ics', { '@@UID@@': 'kick-off-1' });
    const next = updated(applyItip('REPLY', ev, organizerItem(), { ...OLIVIA, sender: 'carol@outside.example' }));
    const carol = (next['attendees'] as JsonObject[])[0]!;
    assert.equal(carol['attendeeStatus'], 3);
    assert.equal((next['attendees'] as JsonObject[])[1]!['attendeeStatus'], 0);
    assert.deepEqual(applyItip('REPLY', ev, next, { ...OLIVIA, sender: 'carol@outside.example' }), { action: 'none', reason: 'duplicate' });
  });

  it('kb-1.3: a REPLY for one attendee sent by someone else, or to a non-organizer, changes nothing', () => {
    const { event: ev } = event('thunderbird-reply.ics', { '@@UID@@': 'kick-off-1' });
    assert.deepEqual(applyItip('REPLY', ev, organizerItem(), { ...OLIVIA, sender: 'bob@example.com' }), { action: 'none', reason: 'sender_mismatch' });
    assert.deepEqual(applyItip('REPLY', ev, organizerItem(), { userAddresses: ['bob@example.com'], sender: 'carol@outside.example' }), { action: 'none', reason: 'not_organizer' });
    const stranger = event('thunderbird-reply.ics', { '@@UID@@': 'kick-off-1', 'carol@outside.example': 'mallory@outside.example' }).event;
    assert.deepEqual(applyItip('REPLY', stranger, organizerItem(), { ...OLIVIA, sender: 'mallory@outside.example' }), { action: 'none', reason: 'unknown_attendee' });
  });

  it('a Thunderbird COUNTER shows as the attendee proposal, the meeting keeps its times', () => {
    const { event: ev } = event('thunderbird-counter.ics', { '@@UID@@': 'kick-off-1' });
    const next = updated(applyItip('COUNTER', ev, organizerItem(), { ...OLIVIA, sender: 'carol@outside.example' }));
    const carol = (next['attendees'] as JsonObject[])[0]!;
    assert.equal(carol['proposedStartTime'], '2026-03-11T08:00:00.000Z');
    assert.equal(carol['proposedEndTime'], '2026-03-11T09:00:00.000Z');
    assert.equal(carol['attendeeStatus'], 2);
    assert.equal(next['startTime'], '2026-03-10T13:00:00.000Z');
  });
});

describe('the REPLY the server writes', () => {
  it('kb-1.3: names exactly one ATTENDEE, the answering user, with RECURRENCE-ID for one occurrence', () => {
    const { event: ev } = event('outlook-series-request.ics');
    const data = created(applyItip('REQUEST', ev, undefined, ANN));
    const { method, ics } = replyICalendar(data, { attendee: { email: 'ann@example.com', name: 'Ann Smith' }, userResponse: 2, instance: '2026-03-10T09:00:00.000Z', now: new Date('2026-03-01T08:00:00Z') });
    assert.equal(method, 'REPLY');
    const back = parseICalendar(ics);
    assert.equal(back.method, 'REPLY');
    const e = back.events[0]!;
    assert.deepEqual(e.recurrenceIds, ['2026-03-10T09:00:00.000Z']);
    assert.deepEqual((e.data['attendees'] as JsonObject[]).map((a) => [a['email'], a['attendeeStatus']]), [['ann@example.com', 2]]);
    assert.equal(e.data['uid'], data['uid']);
    assert.equal(e.data['organizerEmail'], 'olivia@example.com');
    const whole = parseICalendar(replyICalendar(data, { attendee: { email: 'ann@example.com' }, userResponse: 3, now: new Date() }).ics).events[0]!;
    assert.equal(whole.recurrenceIds, undefined);
    assert.equal((whole.data['attendees'] as JsonObject[]).length, 1);
    assert.equal((whole.data['attendees'] as JsonObject[])[0]!['attendeeStatus'], 4);
  });

  it('a CANCEL the server writes says STATUS:CANCELLED', () => {
    const ics = organizerICalendar({ uid: 'x1', startTime: '2026-03-10T13:00:00.000Z', endTime: '2026-03-10T14:00:00.000Z', organizerEmail: 'olivia@example.com', sequence: 2 }, 'CANCEL');
    const back = parseICalendar(ics);
    assert.equal(back.method, 'CANCEL');
    assert.equal(back.events[0]!.status, 'CANCELLED');
  });
});

describe('MeetingRequest data', () => {
  it('kb-1.4: an Outlook all-day request is all-day on the MeetingRequest, midnights in its zone', () => {
    const { event: ev } = event('outlook-allday-request.ics');
    const mr = meetingRequestData('REQUEST', ev, 1);
    assert.equal(mr['allDayEvent'], true);
    assert.equal(mr['startTime'], '2026-04-05T22:00:00.000Z');
    assert.equal(mr['endTime'], '2026-04-08T22:00:00.000Z');
    const tree = meetingRequestToEas(mr, { version: '14.1', bodyPreferences: [] })!;
    assert.equal(childText(tree, 'AllDayEvent', 'Email'), '1');
    assert.equal(childText(tree, 'InstanceType', 'Email'), '0');
    assert.equal(childText(tree, 'MeetingMessageType', 'Email2'), '1');
    // Outlook's UID is itself a GlobalObjId: the same bytes go back.
    assert.equal(uidFromGlobalObjId(childText(tree, 'GlobalObjId', 'Email')!), ev.data['uid']);
  });

  it('kb-1.1: a cancellation of one occurrence names it (InstanceType 3, RecurrenceId, instance GlobalObjId)', () => {
    const { event: ev } = event('outlook-occurrence-cancel.ics');
    assert.equal(meetingMessageClass('CANCEL', ev), 'IPM.Schedule.Meeting.Canceled');
    const tree = meetingRequestToEas(meetingRequestData('CANCEL', ev, 0), { version: '14.1', bodyPreferences: [] })!;
    assert.equal(childText(tree, 'InstanceType', 'Email'), '3');
    assert.equal(childText(tree, 'RecurrenceId', 'Email'), '2026-03-17T09:00:00.000Z');
    assert.deepEqual(instanceDateOf(childText(tree, 'GlobalObjId', 'Email')!), { year: 2026, month: 3, day: 17 });
    const v16 = meetingRequestToEas(meetingRequestData('CANCEL', ev, 0), { version: '16.1', bodyPreferences: [] })!;
    assert.equal(child(v16, 'GlobalObjId', 'Email'), undefined);
    assert.equal(childText(v16, 'UID', 'Calendar'), ev.data['uid']);
  });

  it('a Google UID is wrapped as Outlook does (vCal-Uid)', () => {
    const { event: ev } = event('google-series-request.ics');
    const tree = meetingRequestToEas(meetingRequestData('REQUEST', ev, 1), { version: '14.1', bodyPreferences: [] })!;
    assert.equal(childText(tree, 'GlobalObjId', 'Email'), globalObjIdFromUid('c9q5i0m7g590n47b82t8jjh82d@google.com'));
    assert.equal(childText(tree, 'InstanceType', 'Email'), '1');
    assert.equal(childText(child(child(tree, 'Recurrences', 'Email')!, 'Recurrence', 'Email')!, 'Type', 'Email'), '3');
  });
});

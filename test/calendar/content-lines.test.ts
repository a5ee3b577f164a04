/**
 * The content-line pre-check before ical.js (src/calendar/content-lines.ts, issue 15 item 1):
 * a property with more parameters than any real one is refused at once, where ical.js spent
 * seconds per megabyte on it; real shapes (quoted values with ";" and ":", folded lines) pass.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { contentLinesProblem, MAX_PARAMETERS_PER_PROPERTY } from '../../src/calendar/content-lines.ts';
import { ICalendarError, parseICalendar } from '../../src/calendar/icalendar.ts';
import { parseVCards, VCardError } from '../../src/contacts/vcard.ts';

const calendar = (attendee: string) =>
  [
    'BEGIN:VCALENDAR',
    'VERSION:2.0',
    'PRODID:-//test//test//EN',
    'METHOD:REQUEST',
    'BEGIN:VEVENT',
    'UID:content-lines-1',
    'DTSTAMP:20260101T000000Z',
    'DTSTART:20260105T100000Z',
    'DTEND:20260105T110000Z',
    'SUMMARY:Planning',
    attendee,
    'END:VEVENT',
    'END:VCALENDAR',
    '',
  ].join('\r\n');

describe('content lines before ical.js', () => {
  it('takes a real ATTENDEE: quoted values with ";" and ":", folded across lines', () => {
    const attendee = 'ATTENDEE;CUTYPE=INDIVIDUAL;ROLE=REQ-PARTICIPANT;PARTSTAT=NEEDS-ACTION;RSVP=TRUE;\r\n CN="Doe; John: Jr.";X-NUM-GUESTS=0:mailto:john@example.com';
    assert.equal(contentLinesProblem(calendar(attendee)), undefined);
    const parsed = parseICalendar(calendar(attendee));
    assert.equal(parsed.events.length, 1);
  });

  it(`takes ${MAX_PARAMETERS_PER_PROPERTY} parameters and refuses one more`, () => {
    const params = (n: number) => 'ATTENDEE' + ';X-A=b'.repeat(n) + ':mailto:a@example.com';
    assert.equal(contentLinesProblem(calendar(params(MAX_PARAMETERS_PER_PROPERTY))), undefined);
    assert.match(contentLinesProblem(calendar(params(MAX_PARAMETERS_PER_PROPERTY + 1))) ?? '', /more than 100 parameters \(line 11\)/);
    // ";" inside a quoted value or in the value is no parameter.
    assert.equal(contentLinesProblem(calendar('ATTENDEE;CN="' + ';'.repeat(500) + '":mailto:a@example.com;' + ';'.repeat(500))), undefined);
    // A parameter list continued on folded lines is one property.
    assert.ok(contentLinesProblem(calendar('ATTENDEE' + ';X-A=b\r\n '.repeat(MAX_PARAMETERS_PER_PROPERTY + 1) + ':mailto:a@example.com')));
  });

  it('refuses a 1 MB parameter list as not iCalendar, and a vCard likewise', () => {
    const hostile = calendar('ATTENDEE' + ';X=y'.repeat(256 * 1024) + ':mailto:a@example.com');
    assert.throws(() => parseICalendar(hostile), (e: unknown) => e instanceof ICalendarError && /more than 100 parameters/.test(e.message));
    const card = 'BEGIN:VCARD\r\nVERSION:3.0\r\nFN:A\r\nEMAIL' + ';TYPE=x'.repeat(1000) + ':a@example.com\r\nEND:VCARD\r\n';
    assert.throws(() => parseVCards(card), (e: unknown) => e instanceof VCardError && /more than 100 parameters/.test(e.message));
  });
});

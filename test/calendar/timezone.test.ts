/**
 * TIME_ZONE_INFORMATION (MS-ASDTYPE 2.7.6) <-> IANA zones, and VTIMEZONE/TZID -> zone.
 * Expectations come from the published rules of each zone (EU: last Sunday of March/October at
 * 01:00 UTC; US: second Sunday of March / first Sunday of November at 02:00 local; ...), from the
 * transitions ICU reports, and from blobs real clients and servers sent (test/fixtures/calendar).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import ICAL from 'ical.js';

import {
  decodeTimezone,
  encodeTimezone,
  ianaOffsets,
  sameZone,
  transitionsInYear,
  tziForZone,
  tziFromVTimezone,
  tziOffsets,
  wallToUtc,
  windowsIdForZone,
  zoneForTimezoneBlob,
  zoneForTzi,
  zoneForTzid,
  zoneForVTimezone,
  zoneForWindowsId,
  zoneOffset,
  type TimeZoneInformation,
} from '../../src/calendar/timezone.ts';

/** Offsets straight from ICU, not through the cached tables of ianaOffsets. */
const intl = (zone: string) => (ms: number) => zoneOffset(zone, ms);

const fixtures = JSON.parse(readFileSync(new URL('../fixtures/calendar/device-timezones.json', import.meta.url), 'utf8')) as {
  blobs: Array<{ name: string; base64: string; expectRules: string; zone: string }>;
};

const anonymous = (t: TimeZoneInformation): TimeZoneInformation => ({ ...t, standardName: '', daylightName: '' });
const iso = (ms: number) => new Date(ms).toISOString();

test('Europe/Berlin 2026: bias -60, DST from the last Sunday of March 02:00 to the last Sunday of October 03:00', () => {
  const t = tziForZone('Europe/Berlin', 2026);
  assert.equal(t.bias, -60);
  assert.equal(t.standardBias, 0);
  assert.equal(t.daylightBias, -60);
  assert.equal(t.standardName, 'W. Europe Standard Time');
  assert.equal(t.daylightName, 'W. Europe Daylight Time');
  assert.deepEqual(t.daylightDate, { year: 0, month: 3, dayOfWeek: 0, day: 5, hour: 2, minute: 0, second: 0, milliseconds: 0 });
  assert.deepEqual(t.standardDate, { year: 0, month: 10, dayOfWeek: 0, day: 5, hour: 3, minute: 0, second: 0, milliseconds: 0 });
  // The same bytes as the blob a device sent for W. Europe (fixture), names aside.
  const device = decodeTimezone(fixtures.blobs.find((b) => b.name.startsWith('Device Sync Change'))!.base64)!;
  assert.deepEqual(anonymous(t), anonymous(device));
});

test('America/New_York: second Sunday of March 02:00, first Sunday of November 02:00, bias 300', () => {
  const t = tziForZone('America/New_York', 2026);
  assert.equal(t.bias, 300);
  assert.equal(t.daylightBias, -60);
  assert.deepEqual([t.daylightDate.month, t.daylightDate.dayOfWeek, t.daylightDate.day, t.daylightDate.hour], [3, 0, 2, 2]);
  assert.deepEqual([t.standardDate.month, t.standardDate.dayOfWeek, t.standardDate.day, t.standardDate.hour], [11, 0, 1, 2]);
  assert.equal(t.standardName, 'Eastern Standard Time');
});

test('Australia/Sydney (southern hemisphere): daylight from the first Sunday of October, standard from the first Sunday of April', () => {
  const t = tziForZone('Australia/Sydney', 2026);
  assert.equal(t.bias, -600);
  assert.deepEqual([t.daylightDate.month, t.daylightDate.day, t.daylightDate.hour], [10, 1, 2]);
  assert.deepEqual([t.standardDate.month, t.standardDate.day, t.standardDate.hour], [4, 1, 3]);
  const off = tziOffsets(t);
  assert.equal(off(Date.UTC(2026, 0, 15)), 660, 'January is summer time');
  assert.equal(off(Date.UTC(2026, 6, 15)), 600);
});

test('Asia/Kolkata: no daylight saving, bias -330, zero dates', () => {
  const t = tziForZone('Asia/Kolkata', 2026);
  assert.equal(t.bias, -330);
  assert.equal(t.standardDate.month, 0);
  assert.equal(t.daylightDate.month, 0);
  assert.equal(t.daylightBias, 0);
  assert.equal(t.standardName, 'India Standard Time');
  assert.ok(sameZone(zoneForTzi(anonymous(t), 2026)!, 'Asia/Kolkata'));
});

test('America/Sao_Paulo: DST in 2018 (first Sunday of November to third Sunday of February), none since 2019', () => {
  const t2018 = tziForZone('America/Sao_Paulo', 2018);
  assert.equal(t2018.bias, 180);
  assert.equal(t2018.daylightBias, -60);
  assert.deepEqual([t2018.daylightDate.month, t2018.daylightDate.day, t2018.daylightDate.hour], [11, 1, 0]);
  assert.deepEqual([t2018.standardDate.month, t2018.standardDate.day, t2018.standardDate.hour], [2, 3, 0]);
  const t2026 = tziForZone('America/Sao_Paulo', 2026);
  assert.equal(t2026.bias, 180);
  assert.equal(t2026.standardDate.month, 0, 'DST abolished in 2019');
  assert.equal(zoneForTzi(t2026, 2026), 'America/Sao_Paulo', 'by its Windows name');
  assert.equal(zoneForTzi(t2018, 2018), 'America/Sao_Paulo');
});

test('Pacific/Chatham: +12:45, DST +13:45 from the last Sunday of September 02:45', () => {
  const t = tziForZone('Pacific/Chatham', 2026);
  assert.equal(t.bias, -765);
  assert.equal(t.daylightBias, -60);
  assert.deepEqual([t.daylightDate.month, t.daylightDate.day, t.daylightDate.hour, t.daylightDate.minute], [9, 5, 2, 45]);
  assert.deepEqual([t.standardDate.month, t.standardDate.day, t.standardDate.hour, t.standardDate.minute], [4, 1, 3, 45]);
  assert.equal(zoneForTzi(anonymous(t), 2026), 'Pacific/Chatham', 'the only zone with these rules');
});

const ZONES = [
  'Europe/Berlin', 'Europe/London', 'Europe/Dublin', 'Europe/Lisbon', 'Europe/Helsinki', 'Europe/Moscow', 'Europe/Istanbul',
  'America/New_York', 'America/Chicago', 'America/Denver', 'America/Phoenix', 'America/Los_Angeles', 'America/Anchorage',
  'America/Halifax', 'America/St_Johns', 'America/Mexico_City', 'America/Sao_Paulo', 'America/Santiago', 'America/Asuncion',
  'America/Havana', 'Pacific/Honolulu', 'Pacific/Auckland', 'Pacific/Chatham', 'Australia/Sydney', 'Australia/Adelaide',
  'Australia/Brisbane', 'Australia/Lord_Howe', 'Asia/Kolkata', 'Asia/Kathmandu', 'Asia/Tokyo', 'Asia/Shanghai', 'Asia/Tehran',
  'Asia/Jerusalem', 'Asia/Beirut', 'Africa/Cairo', 'Africa/Johannesburg', 'Atlantic/Azores', 'Etc/UTC',
];

test('round trip of 38 zones for 2026 and 2027: IANA -> blob -> the transitions Intl reports -> a zone with the same rules', () => {
  for (const zone of ZONES) {
    for (const year of [2026, 2027]) {
      const blob = encodeTimezone(tziForZone(zone, year));
      assert.equal(Buffer.from(blob, 'base64').length, 172);
      const decoded = decodeTimezone(blob)!;
      const fromBlob = transitionsInYear(tziOffsets(decoded), year);
      const fromIntl = transitionsInYear(intl(zone), year);
      assert.deepEqual(transitionsInYear(ianaOffsets(zone), year), fromIntl, `${zone} ${year}: the cached table`);
      // Lord Howe moves by 30 minutes and Chatham sits at :45; every zone in the list has at most
      // one DST period a year, which the structure can say exactly.
      assert.deepEqual(fromBlob.map((t) => [iso(t.at), t.from, t.to]), fromIntl.map((t) => [iso(t.at), t.from, t.to]), `${zone} ${year}`);
      const back = zoneForTimezoneBlob(blob, year)!;
      assert.ok(back, `${zone} ${year} resolves`);
      // Named by its Windows id: back to CLDR's zone for that id (Europe/Dublin is "GMT Standard
      // Time", whose zone is Europe/London), with the same rules.
      const windows = windowsIdForZone(zone);
      assert.ok(sameZone(back, windows ? zoneForWindowsId(windows)! : zone), `${zone} ${year}: back to ${back}`);
      assert.deepEqual(transitionsInYear(ianaOffsets(back), year), fromIntl);
      const byRules = zoneForTzi(anonymous(decoded), year)!;
      assert.deepEqual(transitionsInYear(ianaOffsets(byRules), year), fromIntl, `${zone} ${year}: rules match ${byRules}`);
    }
  }
});

test('real device blobs resolve to the zone they mean', () => {
  for (const f of fixtures.blobs) {
    const t = decodeTimezone(f.base64);
    assert.ok(t, f.name);
    for (const year of [2026, 2027]) {
      const zone = zoneForTzi(t, year);
      assert.equal(zone, f.zone, `${f.name} ${year}`);
      assert.deepEqual(transitionsInYear(tziOffsets(t), year), transitionsInYear(intl(f.expectRules), year), `${f.name} ${year}: the blob's own rules`);
    }
  }
});

test('malformed blobs: not base64, or not 172 bytes', () => {
  assert.equal(decodeTimezone('not base64!'), undefined);
  assert.equal(decodeTimezone(Buffer.alloc(100).toString('base64')), undefined);
  assert.equal(zoneForTimezoneBlob('AAAA', 2026), undefined);
  // 172 zero bytes is UTC.
  assert.equal(zoneForTimezoneBlob(Buffer.alloc(172).toString('base64'), 2026), 'Etc/UTC');
});

test('Windows ids <-> IANA zones (CLDR windowsZones)', () => {
  assert.equal(zoneForWindowsId('W. Europe Standard Time'), 'Europe/Berlin');
  assert.equal(zoneForWindowsId('eastern standard time'), 'America/New_York');
  assert.equal(zoneForWindowsId('No Such Standard Time'), undefined);
  assert.equal(windowsIdForZone('Europe/Amsterdam'), 'W. Europe Standard Time');
  assert.equal(windowsIdForZone('Asia/Kolkata'), 'India Standard Time', 'alias of Asia/Calcutta');
  assert.equal(windowsIdForZone('America/Detroit'), 'Eastern Standard Time', 'a territory entry');
});

test('wall clock to UTC across DST: the skipped hour moves forward, the repeated hour is the later one', () => {
  const berlin = ianaOffsets('Europe/Berlin');
  assert.equal(iso(wallToUtc({ year: 2026, month: 3, day: 29, hour: 1, minute: 30 }, berlin)), '2026-03-29T00:30:00.000Z');
  assert.equal(iso(wallToUtc({ year: 2026, month: 3, day: 29, hour: 2, minute: 30 }, berlin)), '2026-03-29T01:30:00.000Z', '02:30 does not exist: 03:30 CEST');
  assert.equal(iso(wallToUtc({ year: 2026, month: 3, day: 29, hour: 9, minute: 0 }, berlin)), '2026-03-29T07:00:00.000Z');
  assert.equal(iso(wallToUtc({ year: 2026, month: 10, day: 25, hour: 2, minute: 30 }, berlin)), '2026-10-25T01:30:00.000Z');
});

test('TZID: Windows names, IANA names, vendor prefixes', () => {
  assert.equal(zoneForTzid('W. Europe Standard Time'), 'Europe/Berlin');
  assert.equal(zoneForTzid('"Eastern Standard Time"'), 'America/New_York');
  assert.equal(zoneForTzid('Europe/Paris'), 'Europe/Paris');
  assert.equal(zoneForTzid('/mozilla.org/20050126_1/Europe/Berlin'), 'Europe/Berlin');
  assert.equal(zoneForTzid('/freeassociation.sourceforge.net/Tzfile/America/Chicago'), 'America/Chicago');
  assert.equal(zoneForTzid('Customized Time Zone'), undefined);
});

const vtimezone = (tzid: string, body: string) =>
  new ICAL.Component(ICAL.parse(`BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VTIMEZONE\r\nTZID:${tzid}\r\n${body}END:VTIMEZONE\r\nEND:VCALENDAR\r\n`)).getFirstSubcomponent('vtimezone')!;

// As Outlook writes a VTIMEZONE (RFC 5545 3.6.5 form with yearly RRULEs, DTSTART 1601).
const OUTLOOK_RULES =
  'BEGIN:STANDARD\r\nDTSTART:16010101T030000\r\nTZOFFSETFROM:+0200\r\nTZOFFSETTO:+0100\r\nRRULE:FREQ=YEARLY;BYDAY=-1SU;BYMONTH=10\r\nEND:STANDARD\r\n' +
  'BEGIN:DAYLIGHT\r\nDTSTART:16010101T020000\r\nTZOFFSETFROM:+0100\r\nTZOFFSETTO:+0200\r\nRRULE:FREQ=YEARLY;BYDAY=-1SU;BYMONTH=3\r\nEND:DAYLIGHT\r\n';

test('VTIMEZONE: by TZID when it names a zone, else by its STANDARD/DAYLIGHT rules', () => {
  assert.equal(zoneForVTimezone(vtimezone('W. Europe Standard Time', OUTLOOK_RULES), 2026), 'Europe/Berlin');
  const custom = vtimezone('Customized Time Zone', OUTLOOK_RULES);
  const t = tziFromVTimezone(custom, 2026)!;
  assert.deepEqual(anonymous(t), anonymous(tziForZone('Europe/Berlin', 2026)));
  const zone = zoneForVTimezone(custom, 2026)!;
  assert.deepEqual(transitionsInYear(ianaOffsets(zone), 2026), transitionsInYear(ianaOffsets('Europe/Berlin'), 2026));
  // US rules, as Google writes them.
  const us =
    'BEGIN:DAYLIGHT\r\nTZOFFSETFROM:-0500\r\nTZOFFSETTO:-0400\r\nDTSTART:19700308T020000\r\nRRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=2SU\r\nEND:DAYLIGHT\r\n' +
    'BEGIN:STANDARD\r\nTZOFFSETFROM:-0400\r\nTZOFFSETTO:-0500\r\nDTSTART:19701101T020000\r\nRRULE:FREQ=YEARLY;BYMONTH=11;BYDAY=1SU\r\nEND:STANDARD\r\n';
  const east = zoneForVTimezone(vtimezone('Eastern', us), 2026)!;
  assert.deepEqual(transitionsInYear(ianaOffsets(east), 2026), transitionsInYear(ianaOffsets('America/New_York'), 2026));
  // No DAYLIGHT: fixed offset.
  const india = tziFromVTimezone(vtimezone('India', 'BEGIN:STANDARD\r\nDTSTART:16010101T000000\r\nTZOFFSETFROM:+0530\r\nTZOFFSETTO:+0530\r\nEND:STANDARD\r\n'), 2026)!;
  assert.equal(india.bias, -330);
  assert.equal(india.standardDate.month, 0);
});

test('a change written as 23:59:59.999 of the day before (Windows style) is the next midnight', () => {
  const tzi = tziForZone('America/Sao_Paulo', 2018);
  // DST began on Sunday November 4th 2018 at 00:00: written as Saturday 23:59:59.999 of the first week.
  const windowsStyle = { ...tzi, daylightDate: { year: 0, month: 11, dayOfWeek: 6, day: 1, hour: 23, minute: 59, second: 59, milliseconds: 999 } };
  assert.deepEqual(transitionsInYear(tziOffsets(windowsStyle), 2018), transitionsInYear(intl('America/Sao_Paulo'), 2018));
});

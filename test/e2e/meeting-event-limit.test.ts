/**
 * One delivered message creates at most `--max-events-per-message` calendar items (issue 15 item
 * 8), through the real LMTP listener and the meeting hook as `easd serve` wires them: an
 * invitation carrying 1,000 VEVENTs makes 100 meetings (the default), and the rest is reported
 * to the user once by a notice in their Inbox, like an item that cannot be synchronized (kb-2.4),
 * and logged at warn. The same bound holds across the message's text/calendar parts and for the
 * occurrence changes (RECURRENCE-ID) of one meeting. A message under the bound gets no notice.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { DEFAULT_MAX_EVENTS_PER_MESSAGE } from '../../src/meetings/meeting-limit.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { liveItemsOf } from '../helpers/store-items.ts';
import { LineClient } from '../mail/lmtp-client.ts';
import { invitation } from './itip-mail.ts';

const BOB = { email: 'bob@example.com', password: 'bob-password-123', displayName: 'Bob Jones' };
const WARN = 40;

function vevent(uid: string, day: number, summary: string, extra: string[] = []): string[] {
  const d = new Date(Date.UTC(2026, 2, 2) + day * 86_400_000).toISOString().slice(0, 10).replace(/-/g, '');
  return [
    'BEGIN:VEVENT',
    `UID:${uid}`,
    'DTSTAMP:20260225T090000Z',
    'SEQUENCE:0',
    `DTSTART:${d}T100000Z`,
    `DTEND:${d}T110000Z`,
    `SUMMARY:${summary}`,
    'ORGANIZER;CN=Olivia:mailto:olivia@example.com',
    'ATTENDEE;PARTSTAT=NEEDS-ACTION;RSVP=TRUE:mailto:bob@example.com',
    ...extra,
    'END:VEVENT',
  ];
}

const calendar = (vevents: string[][]): string => ['BEGIN:VCALENDAR', 'VERSION:2.0', 'PRODID:-//test//limit//EN', 'METHOD:REQUEST', ...vevents.flat(), 'END:VCALENDAR', ''].join('\r\n');

/** `n` meetings, each its own UID. */
const manyMeetings = (n: number, prefix: string) => calendar(Array.from({ length: n }, (_, i) => vevent(`${prefix}-${i}@example.com`, i % 300, `${prefix} meeting ${i}`)));

/** One daily series with `n` of its occurrences moved (RECURRENCE-ID overrides). */
function seriesWithOverrides(n: number): string {
  const master = vevent('series@example.com', 0, 'Daily stand-up', ['RRULE:FREQ=DAILY;COUNT=400']);
  const overrides = Array.from({ length: n }, (_, i) => {
    const d = new Date(Date.UTC(2026, 2, 2) + (i + 1) * 86_400_000).toISOString().slice(0, 10).replace(/-/g, '');
    return vevent('series@example.com', i + 1, `Stand-up moved ${i}`, [`RECURRENCE-ID:${d}T100000Z`]).map((l) => (l.startsWith('DTSTART:') ? l.replace('T100000Z', 'T140000Z') : l.startsWith('DTEND:') ? l.replace('T110000Z', 'T150000Z') : l));
  });
  return calendar([master, ...overrides]);
}

/** A message with several text/calendar parts (one per calendar). */
function multiPart(subject: string, parts: string[], id: string): string {
  const lines = ['From: Olivia <olivia@example.com>', 'To: Bob Jones <bob@example.com>', `Subject: ${subject}`, `Message-ID: <${id}>`, 'MIME-Version: 1.0', 'Content-Type: multipart/mixed; boundary="b1"', '', '--b1', 'Content-Type: text/plain', '', subject, ''];
  for (const p of parts) lines.push('--b1', 'Content-Type: text/calendar; charset=utf-8; method=REQUEST', '', p.trimEnd(), '');
  lines.push('--b1--', '');
  return lines.join('\r\n');
}

async function lmtpDeliver(port: number, message: string): Promise<void> {
  const c = await LineClient.open(port);
  assert.equal((await c.command('LHLO mta.test')).code, 250);
  assert.equal((await c.command('MAIL FROM:<olivia@example.com>')).code, 250);
  assert.equal((await c.command(`RCPT TO:<${BOB.email}>`)).code, 250);
  const [reply] = await c.data(message, 1);
  assert.equal(reply!.code, 250, `delivered: ${reply!.text}`);
  await c.command('QUIT');
}

const notices = async (srv: TestServer) => (await liveItemsOf(srv.store, BOB.email, 2)).filter((i) => String(i.data['subject']).startsWith('Not all of'));
const limitWarnings = (srv: TestServer, from: number) => srv.logs.slice(from).filter((l) => l.level === WARN && /max-events-per-message/.test(String(l.msg)));

for (const backend of ['sqlite', 'memory'] as const) {
  describe(`the events one message may create (${backend})`, () => {
    it(`an invitation with 1,000 VEVENTs over LMTP makes ${DEFAULT_MAX_EVENTS_PER_MESSAGE} meetings, one notice and a warn line`, async () => {
      const srv = await startTestServer({ users: [BOB], backend, logLevel: 'info' });
      try {
        const port = await srv.runtime.listenMail('lmtp', '127.0.0.1', 0);
        const from = srv.logs.length;
        await lmtpDeliver(port, invitation({ from: 'Olivia <olivia@example.com>', to: 'Bob Jones <bob@example.com>', subject: 'A thousand meetings', ics: manyMeetings(1000, 'flood'), id: 'flood-1@example.com' }).toString('utf8'));
        const items = await liveItemsOf(srv.store, BOB.email, 8);
        assert.equal(items.length, DEFAULT_MAX_EVENTS_PER_MESSAGE, 'at most the limit is created');
        const inbox = await liveItemsOf(srv.store, BOB.email, 2);
        assert.equal(inbox.length, 2, 'the invitation and one notice');
        const [notice] = await notices(srv);
        assert.equal(notice!.data['subject'], 'Not all of "A thousand meetings" was added to your calendar');
        const text = String((notice!.data['body'] as { text: string }).text);
        assert.match(text, /Meetings left out: 900/);
        assert.match(text, /flood meeting 100\b/, 'names the first meeting left out');
        const warns = limitWarnings(srv, from);
        assert.equal(warns.length, 1, 'one warn line');
        assert.equal(warns[0]!.omittedEvents, 900);
        assert.ok(!srv.logs.slice(from).some((l) => l.level >= 50), 'no error line');
      } finally {
        await srv.close();
      }
    });
  });
}

describe('--max-events-per-message 5', () => {
  let srv: TestServer;
  let port: number;
  before(async () => {
    srv = await startTestServer({ users: [BOB], logLevel: 'info', runtimeConfig: { maxEventsPerMessage: 5 } });
    port = await srv.runtime.listenMail('lmtp', '127.0.0.1', 0);
  });
  after(async () => {
    await srv?.close();
  });

  it('a message with 4 meetings is taken whole, without a notice or warn line', async () => {
    const from = srv.logs.length;
    await lmtpDeliver(port, invitation({ from: 'Olivia <olivia@example.com>', to: 'Bob Jones <bob@example.com>', subject: 'Four', ics: manyMeetings(4, 'four'), id: 'four@example.com' }).toString('utf8'));
    assert.equal((await liveItemsOf(srv.store, BOB.email, 8)).filter((i) => String(i.data['subject']).startsWith('four')).length, 4);
    assert.equal((await notices(srv)).length, 0);
    assert.equal(limitWarnings(srv, from).length, 0);
  });

  it('the bound spans the text/calendar parts of one message', async () => {
    const from = srv.logs.length;
    await lmtpDeliver(port, multiPart('Three calendars', [manyMeetings(3, 'partA'), manyMeetings(3, 'partB'), manyMeetings(3, 'partC')], 'parts@example.com'));
    const made = (await liveItemsOf(srv.store, BOB.email, 8)).filter((i) => /^part[ABC]/.test(String(i.data['subject'])));
    assert.equal(made.length, 5);
    const all = await notices(srv);
    assert.equal(all.length, 1);
    assert.match(String((all[0]!.data['body'] as { text: string }).text), /Meetings left out: 4/);
    assert.equal(limitWarnings(srv, from).length, 1);
  });

  it('one meeting with 20 moved occurrences keeps 5 of them; the rest is reported', async () => {
    const from = srv.logs.length;
    await lmtpDeliver(port, invitation({ from: 'Olivia <olivia@example.com>', to: 'Bob Jones <bob@example.com>', subject: 'Stand-up', ics: seriesWithOverrides(20), id: 'series@example.com' }).toString('utf8'));
    const series = (await liveItemsOf(srv.store, BOB.email, 8)).find((i) => i.data['subject'] === 'Daily stand-up');
    assert.ok(series, 'the series is made');
    const exceptions = series.data['exceptions'] as unknown[];
    assert.equal(exceptions.length, 5);
    const notice = (await notices(srv)).find((n) => String(n.data['subject']).includes('Stand-up'));
    assert.match(String((notice!.data['body'] as { text: string }).text), /Changed occurrences left out: 15/);
    assert.equal(limitWarnings(srv, from)[0]!.omittedOverrides, 15);
  });
});

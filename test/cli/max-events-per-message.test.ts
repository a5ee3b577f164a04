/**
 * `--max-events-per-message` / EASD_MAX_EVENTS_PER_MESSAGE (issue 15 item 8) as an admin sets it
 * on `easd serve`: with 2, an invitation of 3 meetings delivered over LMTP makes 2 calendar items
 * and one notice; a value that is not a whole number of at least 1 stops easd at start.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseCount } from '../../src/cli/options.ts';
import { openStore } from '../../src/store/open.ts';
import { LineClient } from '../mail/lmtp-client.ts';
import { invitation } from '../e2e/itip-mail.ts';
import { refusesToStart, serve, tempDir } from './serve-process.ts';

const ics = (n: number) =>
  [
    'BEGIN:VCALENDAR',
    'VERSION:2.0',
    'METHOD:REQUEST',
    ...Array.from({ length: n }, (_, i) => [
      'BEGIN:VEVENT',
      `UID:cli-${i}@example.com`,
      'DTSTAMP:20260225T090000Z',
      `DTSTART:2026030${i + 1}T100000Z`,
      `DTEND:2026030${i + 1}T110000Z`,
      `SUMMARY:Meeting ${i}`,
      'ORGANIZER:mailto:olivia@example.com',
      'ATTENDEE;RSVP=TRUE:mailto:alice@example.com',
      'END:VEVENT',
    ]).flat(),
    'END:VCALENDAR',
    '',
  ].join('\r\n');

describe('easd serve --max-events-per-message', () => {
  it('parseCount takes a whole number of at least 1 and refuses anything else', () => {
    assert.equal(parseCount('1', '--x'), 1);
    assert.equal(parseCount(' 250 ', '--x'), 250);
    for (const bad of ['0', '-3', '1.5', '1e3', 'lots', '', '99999999999']) {
      assert.throws(() => parseCount(bad, '--max-events-per-message'), /--max-events-per-message wants a whole number of at least 1/, bad);
    }
  });

  it('EASD_MAX_EVENTS_PER_MESSAGE=2: an invitation of 3 meetings over LMTP makes 2 and one notice', async () => {
    const data = await tempDir();
    const s0 = await openStore({ dataDir: data });
    const alice = await s0.createUser({ email: 'alice@example.com', passwordHash: 'x' });
    await s0.close();
    const s = await serve(data, { EASD_MAX_EVENTS_PER_MESSAGE: '2' }, ['--no-demo-user', '--lmtp', '127.0.0.1:0']);
    try {
      const { lmtp } = await s.proc.waitFor({ lmtp: /over LMTP on [^:]+:(\d+)/ });
      const c = await LineClient.open(Number(lmtp));
      await c.command('LHLO mta.test');
      await c.command('MAIL FROM:<olivia@example.com>');
      assert.equal((await c.command('RCPT TO:<alice@example.com>')).code, 250);
      const msg = invitation({ from: 'olivia@example.com', to: 'alice@example.com', subject: 'Three', ics: ics(3), id: 'three@example.com' }).toString('utf8');
      assert.deepEqual((await c.data(msg, 1)).map((r) => r.code), [250]);
      await c.close();
      await s.proc.waitFor({ warn: /max-events-per-message/ });
    } finally {
      assert.equal(await s.stop(), 0);
    }
    const s1 = await openStore({ dataDir: data });
    try {
      const folders = await s1.listFolders(alice.id);
      const items = async (type: number) => (await s1.listChangesSince(alice.id, folders.find((f) => f.type === type)!.id, 0, 100)).filter((i) => !i.deleted);
      assert.equal((await items(8)).length, 2);
      assert.deepEqual((await items(2)).map((i) => i.data.subject).sort(), ['Not all of "Three" was added to your calendar', 'Three']);
    } finally {
      await s1.close();
    }
  });

  it('a value that is not a whole number of at least 1 stops easd at start', async () => {
    assert.match(await refusesToStart({ EASD_MAX_EVENTS_PER_MESSAGE: '0' }), /--max-events-per-message wants a whole number of at least 1, got "0"/);
    assert.match(await refusesToStart({}, ['--max-events-per-message', 'many']), /wants a whole number/);
  });
});

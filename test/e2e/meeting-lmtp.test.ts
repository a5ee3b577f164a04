/**
 * Meetings through the real delivery path: an Outlook invitation and then the cancellation of one
 * occurrence handed to easd over LMTP (as Postfix or Dovecot would), with the meeting hook wired
 * the way `easd serve` wires it. The attendee's device sees a tentative series and its
 * MeetingRequest, then one Change of the same series with that occurrence deleted (kb-1.1). On
 * SQLite, PostgreSQL and the in-memory mailbox.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { it } from 'node:test';
import { meetingHook } from '../../src/meetings/meeting-hook.ts';
import { createMailListener } from '../../src/mail/lmtp-server.ts';
import { child, childText, children, el } from '../../src/wbxml/index.ts';
import { LineClient } from '../mail/lmtp-client.ts';
import { startTestServer } from '../helpers/server.ts';
import { Device } from './device.ts';
import { invitation } from './itip-mail.ts';

const BOB = { email: 'bob@example.com', password: 'bob-password-123', displayName: 'Bob Jones' };
const DIR = new URL('../fixtures/calendar/itip/', import.meta.url);
const ASB = 'AirSyncBase';

/** An Outlook fixture from the organiser to Bob, with CRLF lines as it travels over LMTP. */
function invitationFor(subject: string, file: string, id: string): string {
  const ics = readFileSync(new URL(file, DIR), 'utf8').replace(/\r?\n/g, '\r\n');
  return invitation({ from: 'Olivia Organiser <olivia@example.com>', to: 'Bob Jones <bob@example.com>', subject, ics, id }).toString('utf8');
}

async function lmtpDeliver(port: number, rcpt: string, message: string): Promise<void> {
  const c = await LineClient.open(port);
  assert.equal((await c.command('LHLO mta.test')).code, 250);
  assert.equal((await c.command('MAIL FROM:<olivia@example.com>')).code, 250);
  assert.equal((await c.command(`RCPT TO:<${rcpt}>`)).code, 250);
  const [reply] = await c.data(message, 1);
  assert.equal(reply!.code, 250, `delivered: ${reply!.text}`);
  await c.command('QUIT');
}

for (const backend of ['sqlite', 'postgres', 'memory'] as const) {
  it(`kb-1.1 over LMTP (${backend}): an invitation makes a tentative series, a CANCEL of one occurrence changes the series`, async () => {
    const srv = await startTestServer({ users: [BOB], backend });
    const lmtp = createMailListener({ ...srv.runtime.deliveryTargets, log: srv.app.log as never, afterDelivery: [meetingHook({ accounts: srv.store, mailboxes: srv.runtime.services.mailboxes })] });
    try {
      const port = await lmtp.listen('127.0.0.1', 0);
      const bob = new Device({ url: srv.url, user: BOB.email, password: BOB.password, deviceId: 'BOBLMTP', version: '16.1' });
      await bob.folderSync();
      const calendar = bob.folderByType(8).serverId;
      const inbox = bob.folderByType(2).serverId;
      await bob.initialSync(calendar);
      await bob.initialSync(inbox);

      await lmtpDeliver(port, BOB.email, invitationFor('Weekly status', 'outlook-series-request.ics', 'series-1@example.com'));
      const mail = (await bob.sync(inbox, { options: [el(ASB, 'BodyPreference', el(ASB, 'Type', '1'))] })).adds;
      assert.equal(mail.length, 1);
      assert.equal(childText(mail[0]!.appData, 'MessageClass', 'Email'), 'IPM.Schedule.Meeting.Request');
      assert.ok(child(mail[0]!.appData, 'MeetingRequest', 'Email'), 'the invitation carries its MeetingRequest');
      const added = (await bob.sync(calendar)).adds;
      assert.equal(added.length, 1, 'one tentative series');
      const seriesId = added[0]!.serverId;
      assert.equal(childText(added[0]!.appData, 'Subject', 'Calendar'), 'Weekly status');
      assert.ok(child(added[0]!.appData, 'Recurrence', 'Calendar'));

      await lmtpDeliver(port, BOB.email, invitationFor('Canceled: Weekly status', 'outlook-occurrence-cancel.ics', 'cancel-1@example.com'));
      const after = await bob.sync(calendar);
      assert.equal(after.deletes.length, 0, 'never a Delete of the series');
      assert.deepEqual(after.changes.map((c) => c.serverId), [seriesId], 'one Change of the same series');
      const exceptions = child(after.changes[0]!.appData, 'Exceptions', 'Calendar');
      assert.ok(exceptions, 'the series now has an exception');
      const deleted = children(exceptions!, 'Exception', 'Calendar').filter((e) => childText(e, 'Deleted', 'Calendar') === '1');
      assert.equal(deleted.length, 1, 'exactly the cancelled occurrence is deleted');
    } finally {
      await lmtp.close();
      await srv.close();
    }
  });
}

/**
 * Availability in ResolveRecipients (MS-ASCMD 2.2.3.16, 2.2.3.107) through the device simulator,
 * on SQLite, PostgreSQL and the in-memory mailbox (another user's calendar is read through the
 * Mailbox port): Bob's phone puts a weekly meeting in his calendar (Europe/Berlin, across the
 * March 2026 DST change, one occurrence moved and made tentative, one deleted), the server holds
 * an all-day out-of-office day for him, and Ann's phone asks ResolveRecipients for his free/busy.
 * The MergedFreeBusy expected is laid out by hand, slot by slot, from what Bob's phone sent; no
 * subject ever reaches Ann. Bounds of the range and of the recipients (2.2.3.61.1, 2.2.3.177.12).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import { ensureDefaultFolders } from '../helpers/default-folders.ts';
import { child, childText, children, el, type WbxmlElement } from '../../src/wbxml/tree.ts';
import { berlinBlob } from '../helpers/timezone-blobs.ts';
import { pgSkipped } from '../helpers/db.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { Device } from './device.ts';

const NS = 'ResolveRecipients';
const C = 'Calendar';
const ANN = { email: 'ann@example.com', password: 'ann-password-123', displayName: 'Ann Smith' };
const BOB = { email: 'bob@example.com', password: 'bob-password-123', displayName: 'Bob Jones' };

const r = (name: string, ...kids: Parameters<typeof el>[2][]) => el(NS, name, ...kids);
const c = (name: string, ...kids: Parameters<typeof el>[2][]) => el(C, name, ...kids);


const FROM = '2026-03-16T07:00:00.000Z';
const TO = '2026-03-31T07:00:00.000Z';
const SLOT = 30 * 60_000;

/**
 * The expected MergedFreeBusy for [FROM, TO): 15 days, 720 half hours, all free but
 * - Monday 16 March 09:00-10:00 Berlin (CET, 08:00Z): slots 2-3 busy;
 * - Monday 23 March, moved to 14:00-15:00 Berlin (13:00Z) and tentative: slots 348-349;
 * - Friday 27 March all day in Berlin (26 March 23:00Z to 27 March 23:00Z), out of office:
 *   slots 512-559;
 * - Monday 30 March 09:00 Berlin is CEST (07:00Z), but that occurrence is deleted: slots 672-673
 *   stay free.
 */
function expected(): string {
  const slots = new Array<string>(720).fill('0');
  const mark = (startIso: string, endIso: string, digit: string) => {
    const from = Date.parse(FROM);
    for (let t = Date.parse(startIso); t < Date.parse(endIso); t += SLOT) slots[(t - from) / SLOT] = digit;
  };
  mark('2026-03-16T08:00:00Z', '2026-03-16T09:00:00Z', '2');
  mark('2026-03-23T13:00:00Z', '2026-03-23T14:00:00Z', '1');
  mark('2026-03-26T23:00:00Z', '2026-03-27T23:00:00Z', '3');
  return slots.join('');
}

for (const backend of ['sqlite', 'postgres', 'memory'] as const) {
  describe(`ResolveRecipients availability (${backend})`, { skip: backend === 'postgres' && pgSkipped() ? 'EASD_TEST_SKIP_PG=1' : false }, () => {
    let server: TestServer;
    let ann: Device;

    before(async () => {
      server = await startTestServer({ users: [ANN, BOB], backend, logLevel: 'warn' });
      // Bob's phone adds the weekly meeting.
      const bobPhone = new Device({ url: server.url, user: BOB.email, password: BOB.password, deviceId: `FBbob${backend}`, deviceType: 'TestPhone', version: '14.1' });
      assert.equal((await bobPhone.folderSync()).status, 1);
      const cal = bobPhone.folderByType(8).serverId;
      await bobPhone.initialSync(cal);
      const series = [
        c('Timezone', berlinBlob()),
        c('BusyStatus', '2'),
        c('EndTime', '20260316T090000Z'),
        c('Subject', 'Secret project'),
        c('StartTime', '20260316T080000Z'),
        c('Recurrence', c('Type', '1'), c('Interval', '1'), c('DayOfWeek', '2')),
        c(
          'Exceptions',
          c('Exception', c('ExceptionStartTime', '20260323T080000Z'), c('StartTime', '20260323T130000Z'), c('EndTime', '20260323T140000Z'), c('BusyStatus', '1')),
          c('Exception', c('Deleted', '1'), c('ExceptionStartTime', '20260330T070000Z')),
        ),
      ];
      const res = await bobPhone.sync(cal, { commands: [el('AirSync', 'Add', el('AirSync', 'ClientId', 'fb-1'), el('AirSync', 'ApplicationData', series))] });
      assert.equal(childText(res.responses.find((x) => x.name === 'Add')!, 'Status', 'AirSync'), '1', 'Add accepted');
      // An all-day out-of-office day, in the stored shape of the Calendar class.
      const bob = server.users.get(BOB.email)!;
      const bobCal = (await server.store.listFolders(bob.id)).find((f) => f.type === 8)!;
      await server.store.putItem({
        userId: bob.id,
        folderId: bobCal.id,
        class: 'Calendar',
        data: { subject: 'Holiday in Rome', timeZone: 'Europe/Berlin', allDayEvent: true, busyStatus: 3, startTime: '2026-03-26T23:00:00.000Z', endTime: '2026-03-27T23:00:00.000Z' },
      });
      // A declined meeting and a free one change nothing.
      await server.store.putItem({ userId: bob.id, folderId: bobCal.id, class: 'Calendar', data: { subject: 'Declined', busyStatus: 2, meetingStatus: 3, responseType: 4, startTime: '2026-03-17T10:00:00.000Z', endTime: '2026-03-17T11:00:00.000Z' } });
      await server.store.putItem({ userId: bob.id, folderId: bobCal.id, class: 'Calendar', data: { subject: 'Free', busyStatus: 0, startTime: '2026-03-18T10:00:00.000Z', endTime: '2026-03-18T11:00:00.000Z' } });
      // Ann's contact outside the company.
      const annUser = server.users.get(ANN.email)!;
      const contacts = (await ensureDefaultFolders(server.store, annUser.id)).find((f) => f.type === 9)!;
      await server.store.putItem({ userId: annUser.id, folderId: contacts.id, class: 'Contacts', data: { firstName: 'Zoe', lastName: 'Partner', email1Address: 'zoe@partner.example' } });
      // ... and Bob under another name, with his address (an alias form of it).
      await server.store.putItem({ userId: annUser.id, folderId: contacts.id, class: 'Contacts', data: { firstName: 'Robert', lastName: 'Jones', email1Address: '"Robert" <Bob@Example.com>' } });
      ann = new Device({ url: server.url, user: ANN.email, password: ANN.password, deviceId: `FBann${backend}`, deviceType: 'TestPhone', version: '16.1' });
    });
    after(() => server.close());

    const resolve = async (tos: string[], availability: WbxmlElement[] | null) => {
      const res = await ann.client.post('ResolveRecipients', r('ResolveRecipients', ...tos.map((t) => r('To', t)), availability ? r('Options', r('Availability', ...availability)) : null));
      assert.equal(res.status, 200);
      const top = res.wbxml!;
      return { top, status: Number(childText(top, 'Status', NS)), responses: children(top, 'Response', NS) };
    };
    const availabilityOf = (resp: WbxmlElement) => child(children(resp, 'Recipient', NS)[0]!, 'Availability', NS)!;

    it("a colleague's MergedFreeBusy from his recurring meeting (moved, deleted, across DST) and an all-day absence; no details disclosed", async () => {
      const out = await resolve([BOB.email, 'zoe@partner.example'], [r('StartTime', FROM), r('EndTime', TO)]);
      assert.equal(out.status, 1);
      const bob = availabilityOf(out.responses[0]!);
      assert.equal(childText(bob, 'Status', NS), '1');
      const digits = childText(bob, 'MergedFreeBusy', NS)!;
      assert.equal(digits.length, 720);
      assert.equal(digits, expected());
      // Only Status and MergedFreeBusy: nothing of the items themselves.
      assert.deepEqual(bob.children.map((k) => (typeof k === 'object' && 'name' in k ? k.name : '?')), ['Status', 'MergedFreeBusy']);
      const json = JSON.stringify(out.top);
      for (const secret of ['Secret project', 'Holiday in Rome', 'Declined']) assert.ok(!json.includes(secret), `${secret} not disclosed`);
      // A recipient who is not a local user: free/busy not retrievable (163), no digits.
      const zoe = availabilityOf(out.responses[1]!);
      assert.equal(childText(zoe, 'Status', NS), '163');
      assert.equal(child(zoe, 'MergedFreeBusy', NS), undefined);
    });

    it("a contact whose address is a user's (Type 2) gets that user's free/busy", async () => {
      const out = await resolve(['Robert'], [r('StartTime', FROM), r('EndTime', TO)]);
      const rec = children(out.responses[0]!, 'Recipient', NS);
      assert.equal(rec.length, 1);
      assert.equal(childText(rec[0]!, 'Type', NS), '2');
      const avail = availabilityOf(out.responses[0]!);
      assert.equal(childText(avail, 'Status', NS), '1');
      assert.equal(childText(avail, 'MergedFreeBusy', NS), expected());
    });

    it('a change to the calendar shows in the next answer for the same range', async () => {
      const digitsNow = async () => childText(availabilityOf((await resolve([BOB.email], [r('StartTime', FROM), r('EndTime', TO)])).responses[0]!), 'MergedFreeBusy', NS);
      assert.equal(await digitsNow(), expected());
      const bob = server.users.get(BOB.email)!;
      const bobCal = (await server.store.listFolders(bob.id)).find((f) => f.type === 8)!;
      // Thursday 19 March 10:00-10:30Z: 3 days (144 slots) and 3 hours (6) after FROM: slot 150.
      const added = await server.store.putItem({ userId: bob.id, folderId: bobCal.id, class: 'Calendar', data: { busyStatus: 2, startTime: '2026-03-19T10:00:00.000Z', endTime: '2026-03-19T10:30:00.000Z' } });
      const withIt = expected().split('');
      withIt[150] = '2';
      assert.equal(await digitsNow(), withIt.join(''));
      await server.store.deleteItem(bob.id, added.id);
      assert.equal(await digitsNow(), expected());
    });

    it('without EndTime the range is seven days (336 half hours)', async () => {
      const out = await resolve([BOB.email], [r('StartTime', FROM)]);
      assert.equal(out.status, 1);
      assert.equal(childText(availabilityOf(out.responses[0]!), 'MergedFreeBusy', NS), expected().slice(0, 336));
    });

    it('range bounds: under 30 minutes or over 42 days is Status 5; exactly 42 days is 2016 digits', async () => {
      const start = Date.parse(FROM);
      const iso = (ms: number) => new Date(ms).toISOString();
      for (const end of [start + 29 * 60_000, start + 42 * 86_400_000 + 60_000, start]) {
        const out = await resolve([BOB.email], [r('StartTime', FROM), r('EndTime', iso(end))]);
        assert.equal(out.status, 5, iso(end));
        assert.equal(out.responses.length, 0);
      }
      const half = await resolve([BOB.email], [r('StartTime', FROM), r('EndTime', iso(start + 30 * 60_000))]);
      assert.equal(childText(availabilityOf(half.responses[0]!), 'MergedFreeBusy', NS), '0');
      const out = await resolve([BOB.email], [r('StartTime', FROM), r('EndTime', iso(start + 42 * 86_400_000))]);
      const digits = childText(availabilityOf(out.responses[0]!), 'MergedFreeBusy', NS)!;
      assert.equal(digits.length, 2016);
      assert.equal(digits.slice(0, 720), expected());
      // Weeks after: the series goes on at 07:00Z (CEST), Monday 6 April is slot 1008 (21 days).
      assert.equal(digits.slice(1008, 1010), '22');
    });

    it('more than 100 resolved recipients: 160 for each, no digits', async () => {
      const out = await resolve(new Array<string>(101).fill(BOB.email), [r('StartTime', FROM), r('EndTime', TO)]);
      assert.equal(out.status, 1);
      assert.equal(out.responses.length, 101);
      for (const resp of out.responses) {
        assert.equal(childText(availabilityOf(resp), 'Status', NS), '160');
        assert.equal(child(availabilityOf(resp), 'MergedFreeBusy', NS), undefined);
      }
    });

    it('the requester sees her own (empty) calendar as free; a user without a calendar folder is free too', async () => {
      const out = await resolve([ANN.email], [r('StartTime', FROM), r('EndTime', TO)]);
      const a = availabilityOf(out.responses[0]!);
      assert.equal(childText(a, 'Status', NS), '1');
      assert.equal(childText(a, 'MergedFreeBusy', NS), '0'.repeat(720));
    });
  });
}

/**
 * Contacts through the device simulator, on SQLite, PostgreSQL and the in-memory mailbox: every
 * field from one device to another, birthdays without time-zone drift, ghosted properties
 * (MS-ASCMD 2.2.3.179), bad input (a 10 MB picture, invalid dates, broken encodings) and
 * duplicates (kb-2.7, all three forms).
 * Requests are built here from MS-ASCNTC, not with server code.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Folder, User } from '../../src/store/types.ts';
import { child, childText, children, el, encodeWbxml, text, type WbxmlElement } from '../../src/wbxml/index.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { Device, type DeviceItem } from './device.ts';

const ALICE = { email: 'alice@example.com', password: 'alice-password-1' };
const C = 'Contacts';
const C2 = 'Contacts2';
const PICTURE = Buffer.from(Array.from({ length: 3000 }, (_, i) => i % 251)).toString('base64');

/** Every client-writable Contacts and Contacts2 element, as a phone sends them. */
const SIMPLE: Array<[string, string, string]> = [
  [C, 'AssistantName', 'Walter Skinner'],
  [C, 'AssistantPhoneNumber', '+1 555 0110'],
  [C, 'Business2PhoneNumber', '+1 555 0111'],
  [C, 'BusinessAddressCity', 'Washington'],
  [C, 'BusinessAddressCountry', 'United States'],
  [C, 'BusinessAddressPostalCode', '20535'],
  [C, 'BusinessAddressState', 'DC'],
  [C, 'BusinessAddressStreet', '935 Pennsylvania Avenue NW'],
  [C, 'BusinessFaxNumber', '+1 555 0112'],
  [C, 'BusinessPhoneNumber', '+1 555 0100'],
  [C, 'CarPhoneNumber', '+1 555 0113'],
  [C, 'CompanyName', 'Example Ltd'],
  [C, 'Department', 'X-Files'],
  [C, 'Email1Address', '"Dana Scully" <dana@example.com>'],
  [C, 'Email2Address', 'dana.scully@example.org'],
  [C, 'Email3Address', 'ds@example.net'],
  [C, 'FileAs', 'Scully, Dana'],
  [C, 'FirstName', 'Dana'],
  [C, 'Home2PhoneNumber', '+1 555 0114'],
  [C, 'HomeAddressCity', 'Annapolis'],
  [C, 'HomeAddressCountry', 'United States'],
  [C, 'HomeAddressPostalCode', '21401'],
  [C, 'HomeAddressState', 'MD'],
  [C, 'HomeAddressStreet', '1419 Georgetown Road\nApt. 3'],
  [C, 'HomeFaxNumber', '+1 555 0115'],
  [C, 'HomePhoneNumber', '+1 555 0101'],
  [C, 'JobTitle', 'Special Agent'],
  [C, 'LastName', 'Scully'],
  [C, 'MiddleName', 'Katherine'],
  [C, 'MobilePhoneNumber', '+1 555 0102'],
  [C, 'OfficeLocation', 'Basement'],
  [C, 'OtherAddressCity', 'Quantico'],
  [C, 'OtherAddressCountry', 'United States'],
  [C, 'OtherAddressPostalCode', '22134'],
  [C, 'OtherAddressState', 'VA'],
  [C, 'OtherAddressStreet', 'FBI Academy'],
  [C, 'PagerNumber', '+1 555 0116'],
  [C, 'RadioPhoneNumber', '+1 555 0117'],
  [C, 'Spouse', 'None'],
  [C, 'Suffix', 'MD'],
  [C, 'Title', 'Dr.'],
  [C, 'WebPage', 'https://example.com/~scully'],
  [C, 'YomiCompanyName', 'イグザンプル'],
  [C, 'YomiFirstName', 'ダナ'],
  [C, 'YomiLastName', 'スカリー'],
  [C, 'Picture', PICTURE],
  [C2, 'CustomerId', 'C-1234'],
  [C2, 'GovernmentId', 'GOV-987'],
  [C2, 'IMAddress', 'dana@im.example.com'],
  [C2, 'IMAddress2', 'xmpp:dana@example.org'],
  [C2, 'IMAddress3', 'sip:dana@example.net'],
  [C2, 'ManagerName', 'Skinner'],
  [C2, 'CompanyMainPhone', '+1 555 0199'],
  [C2, 'AccountName', 'dscully'],
  [C2, 'NickName', 'Starbuck'],
  [C2, 'MMS', '+1 555 0102'],
];

/** The full contact as a device in UTC+10 sends it: birthday and anniversary at its local midnight. */
function fullContact(extra: WbxmlElement[] = []): WbxmlElement {
  return el(
    'AirSync',
    'ApplicationData',
    el(C, 'Anniversary', '2005-06-17T14:00:00.000Z'),
    el(C, 'Birthday', '1964-02-22T14:00:00.000Z'),
    el('AirSyncBase', 'Body', el('AirSyncBase', 'Type', 1), el('AirSyncBase', 'Data', 'Notes about Dana.\nSecond line.')),
    el(C, 'Categories', el(C, 'Category', 'Work'), el(C, 'Category', 'Friends')),
    el(C, 'Children', el(C, 'Child', 'William')),
    SIMPLE.map(([ns, name, value]) => el(ns, name, value)),
    extra,
  );
}

/** ns:name -> text (containers: their children's texts joined by "|"). */
function fields(appData: WbxmlElement): Map<string, string> {
  const out = new Map<string, string>();
  for (const c of children(appData)) {
    if (c.name === 'Body') out.set('AirSyncBase:Body', childText(c, 'Data', 'AirSyncBase') ?? '');
    else if (c.name === 'Categories' || c.name === 'Children') out.set(`${c.ns}:${c.name}`, children(c).map((x) => text(x) ?? '').join('|'));
    else out.set(`${c.ns}:${c.name}`, text(c) ?? '');
  }
  return out;
}

const add = (clientId: string, appData: WbxmlElement) => el('AirSync', 'Add', el('AirSync', 'ClientId', clientId), appData);
const change = (serverId: string, ...kids: Array<WbxmlElement | WbxmlElement[]>) => el('AirSync', 'Change', el('AirSync', 'ServerId', serverId), el('AirSync', 'ApplicationData', ...kids));
const statuses = (responses: WbxmlElement[]) => responses.map((r) => [r.name, childText(r, 'Status', 'AirSync')]);
const serverIdOf = (responses: WbxmlElement[], clientId: string) => childText(responses.find((r) => childText(r, 'ClientId', 'AirSync') === clientId)!, 'ServerId', 'AirSync')!;
const BODY_TEXT = [el('AirSyncBase', 'BodyPreference', el('AirSyncBase', 'Type', 1))];

/** SyncKey 0 with a Supported list (MS-ASCMD 2.2.3.179), then Syncs until everything is there. */
async function initialSyncWithSupported(d: Device, collectionId: string, supported: WbxmlElement[]): Promise<DeviceItem[]> {
  const v = d.view(collectionId);
  v.syncKey = '0';
  v.items.clear();
  const r = await d.syncRaw(
    el('AirSync', 'Sync', el('AirSync', 'Collections', el('AirSync', 'Collection', el('AirSync', 'SyncKey', '0'), el('AirSync', 'CollectionId', collectionId), el('AirSync', 'Supported', supported), el('AirSync', 'Options', BODY_TEXT)))),
  );
  const collection = child(child(r.wbxml!, 'Collections', 'AirSync')!, 'Collection', 'AirSync')!;
  assert.equal(d.apply(collectionId, collection).status, 1);
  return d.syncAll(collectionId);
}

for (const backend of ['sqlite', 'postgres', 'memory'] as const) {
  describe(`contacts scenarios (${backend})`, () => {
    let server: TestServer;
    let alice: User;
    let n = 0;
    const device = async (version = '16.1') => {
      const d = new Device({ url: server.url, user: ALICE.email, password: ALICE.password, deviceId: `CNT${backend}${++n}`, deviceType: 'TestPhone', version });
      assert.equal((await d.folderSync()).status, 1);
      return d;
    };
    const contactsFolder = async (): Promise<Folder> => (await server.store.listFolders(alice.id)).find((f) => f.type === 9)!;
    const liveContacts = async () => (await server.store.listChangesSince(alice.id, (await contactsFolder()).id, 0, 10_000)).filter((i) => !i.deleted);

    before(async () => {
      server = await startTestServer({ users: [ALICE], backend, logLevel: 'warn' });
      alice = server.users.get(ALICE.email)!;
    });
    after(async () => server.close());

    for (const version of ['12.1', '14.1', '16.1']) {
      it(`every field goes device A -> server -> device B unchanged (${version}); birthdays keep their day`, async () => {
        const a = await device(version);
        const b = await device(version);
        const id = a.folderByType(9).serverId;
        await a.initialSync(id, { options: BODY_TEXT });
        await b.initialSync(id, { options: BODY_TEXT });
        const sent = fullContact();
        const r = await a.sync(id, { commands: [add(`full-${version}`, sent)], options: BODY_TEXT });
        assert.deepEqual(statuses(r.responses), [['Add', '1']]);
        const got = await b.sync(id, { options: BODY_TEXT });
        assert.equal(got.adds.length, 1);
        const expected = fields(sent);
        // The day the UTC+10 device meant (22 Feb 1964, 17 June 2005), at midnight UTC.
        expected.set('Contacts:Birthday', '1964-02-23T00:00:00.000Z');
        expected.set('Contacts:Anniversary', '2005-06-18T00:00:00.000Z');
        assert.deepEqual(Object.fromEntries(fields(got.adds[0]!.appData)), Object.fromEntries(expected));
        // The day read back the same by a third device with another protocol version.
        const c = await device(version === '16.1' ? '14.1' : '16.1');
        const onC = await c.initialSync(id, { options: BODY_TEXT });
        const mine = onC.find((x) => x.serverId === got.adds[0]!.serverId)!;
        assert.equal(childText(mine.appData, 'Birthday', C), '1964-02-23T00:00:00.000Z');
      });
    }

    it('ghosted properties: with Supported, a device that omits an unsupported field does not erase it', async () => {
      const a = await device('14.1');
      const b = await device('14.1');
      const id = a.folderByType(9).serverId;
      // A manages names, e-mail and job title only (like a phone without picture support).
      await initialSyncWithSupported(a, id, [el(C, 'FirstName'), el(C, 'LastName'), el(C, 'Email1Address'), el(C, 'JobTitle'), el(C, 'FileAs')]);
      await b.initialSync(id, { options: BODY_TEXT });
      const r = await b.sync(id, { commands: [add('ghost-1', fullContact())], options: BODY_TEXT });
      const serverId = serverIdOf(r.responses, 'ghost-1');
      assert.equal((await a.sync(id)).adds.length, 1);
      // A edits the name and leaves the job title out: supported and omitted -> cleared.
      await a.sync(id, { commands: [change(serverId, el(C, 'FirstName', 'Dana K.'), el(C, 'LastName', 'Scully'), el(C, 'Email1Address', 'dana@example.com'), el(C, 'FileAs', 'Scully, Dana'))] });
      const onB = await b.sync(id, { options: BODY_TEXT });
      assert.equal(onB.changes.length, 1);
      const f = fields(onB.changes[0]!.appData);
      assert.equal(f.get('Contacts:FirstName'), 'Dana K.');
      assert.equal(f.has('Contacts:JobTitle'), false, 'supported and omitted: cleared');
      assert.equal(f.get('Contacts:Picture'), PICTURE, 'ghosted: kept');
      assert.equal(f.get('Contacts:Birthday'), '1964-02-23T00:00:00.000Z', 'ghosted: kept');
      assert.equal(f.get('Contacts2:NickName'), 'Starbuck', 'ghosted: kept');
      assert.equal(f.get('Contacts:HomeAddressStreet'), '1419 Georgetown Road\nApt. 3', 'ghosted: kept');
      assert.equal(f.get('AirSyncBase:Body'), 'Notes about Dana.\nSecond line.', 'an omitted body is kept');
    });

    it('without Supported a Change is the whole contact: an omitted field is cleared (MS-ASCMD 2.2.3.179)', async () => {
      const a = await device('16.1');
      const id = a.folderByType(9).serverId;
      await a.initialSync(id);
      const r = await a.sync(id, { commands: [add('whole-1', fullContact())] });
      const serverId = serverIdOf(r.responses, 'whole-1');
      await a.sync(id, { commands: [change(serverId, el(C, 'FirstName', 'Dana'), el(C, 'LastName', 'Scully'))] });
      const item = (await server.store.getItemByServerId(alice.id, serverId))!;
      assert.equal(item.data.firstName, 'Dana');
      assert.equal(item.data.picture, undefined);
      assert.equal(item.data.jobTitle, undefined);
      assert.deepEqual(item.data.categories, ['Work', 'Friends'], 'Categories is not a ghostable element: kept');
    });

    it('bad input (issue 14 items 2 and 9): a 10 MB picture, an invalid date or a picture that is not base64 is left out, the contact stored (Status 1) and the drop logged', async () => {
      const a = await device('16.1');
      const id = a.folderByType(9).serverId;
      await a.initialSync(id);
      const before = (await liveContacts()).length;
      const logsBefore = server.logs.length;
      // Over the default --max-contact-picture-size of 5 MB (Z-Hub/Z-Push src/config.php, SYNC_CONTACTS_MAXPICTURESIZE).
      const huge = 'A'.repeat(10 * 1024 * 1024);
      const r = await a.sync(id, {
        commands: [
          add('bad-picture', el('AirSync', 'ApplicationData', el(C, 'FirstName', 'Huge'), el(C, 'Picture', huge))),
          add('bad-date', el('AirSync', 'ApplicationData', el(C, 'FirstName', 'Late'), el(C, 'Birthday', '1964-02-30T00:00:00.000Z'))),
          add('bad-base64', el('AirSync', 'ApplicationData', el(C, 'FirstName', 'Noise'), el(C, 'Picture', '***'))),
          add('good', el('AirSync', 'ApplicationData', el(C, 'FirstName', 'Fine'), el(C, 'LastName', 'Contact'))),
        ],
      });
      assert.deepEqual(statuses(r.responses), [['Add', '1'], ['Add', '1'], ['Add', '1'], ['Add', '1']]);
      assert.equal((await liveContacts()).length, before + 4, 'every contact is stored');
      for (const [clientId, firstName] of [['bad-picture', 'Huge'], ['bad-date', 'Late'], ['bad-base64', 'Noise']] as const) {
        const item = (await server.store.getItemByServerId(alice.id, serverIdOf(r.responses, clientId)))!;
        assert.deepEqual(item.data, { firstName }, clientId);
      }
      const warned = server.logs.slice(logsBefore).filter((l) => l.level === 40 && l['element'] !== undefined).map((l) => l['element']);
      assert.deepEqual(warned, ['Contacts:Picture', 'Contacts:Birthday', 'Contacts:Picture']);

      // A Change with a 10 MB picture: the rest of the Change applies, the stored picture (none) stays.
      const serverId = serverIdOf(r.responses, 'good');
      const c = await a.sync(id, { commands: [change(serverId, el(C, 'FirstName', 'Changed'), el(C, 'Picture', huge))] });
      assert.deepEqual(statuses(c.responses), [], 'a successful Change is not answered (MS-ASCMD 2.2.3.24)');
      const after = (await server.store.getItemByServerId(alice.id, serverId))!;
      assert.deepEqual(after.data, { firstName: 'Changed' });

      // Bytes that are not UTF-8 inside a name (0xC3 0x28): Status 6, not replacement characters.
      const marker = 'MARKERMARKER';
      const v = a.view(id);
      const body = Buffer.from(
        encodeWbxml(el('AirSync', 'Sync', el('AirSync', 'Collections', el('AirSync', 'Collection', el('AirSync', 'SyncKey', v.syncKey), el('AirSync', 'CollectionId', id), el('AirSync', 'Commands', add('bad-utf8', el('AirSync', 'ApplicationData', el(C, 'FirstName', marker)))))))),
      );
      const at = body.indexOf(Buffer.from(marker));
      body[at] = 0xc3;
      body[at + 1] = 0x28;
      const raw = await a.syncRaw(body as never);
      assert.equal(raw.status, 200);
      const collection = child(child(raw.wbxml!, 'Collections', 'AirSync')!, 'Collection', 'AirSync')!;
      const res = a.apply(id, collection);
      assert.deepEqual(statuses(res.responses), [['Add', '6']]);
      assert.equal((await liveContacts()).length, before + 4);
    });

    it('a phone photo over 48 KB (issue 14 item 2) is kept; other devices are sent the contact without it (MS-ASCNTC 2.2.2.58) and their Changes do not erase it', async () => {
      // Phones set photos far over the spec's 48 KB (Z-Hub/Z-Push src/config.php on
      // SYNC_CONTACTS_MAXPICTURESIZE; owncloud-archive/apps issue 454): 300 KB here.
      const photo = Buffer.alloc(300 * 1024, 0x5a).toString('base64');
      const a = await device('16.1');
      const id = a.folderByType(9).serverId;
      await a.initialSync(id);
      const r = await a.sync(id, { commands: [add('photo', el('AirSync', 'ApplicationData', el(C, 'FirstName', 'Pic'), el(C, 'LastName', 'Tured'), el(C, 'Picture', photo)))] });
      assert.deepEqual(statuses(r.responses), [['Add', '1']]);
      const serverId = serverIdOf(r.responses, 'photo');
      assert.equal((await server.store.getItemByServerId(alice.id, serverId))!.data['picture'], photo);

      const b = await device('14.1');
      await b.initialSync(id);
      const got = b.view(id).items.get(serverId)!;
      assert.ok(got, 'device B has the contact');
      assert.equal(child(got.appData, 'Picture', C), undefined, 'no Picture over 48 KB of base64 to a device');
      assert.equal(childText(got.appData, 'FirstName', C), 'Pic');
      // B (no Supported: a Change is the whole contact) renames it: the photo it never had stays.
      const c = await b.sync(id, { commands: [change(serverId, el(C, 'FirstName', 'Pia'), el(C, 'LastName', 'Tured'))] });
      assert.deepEqual(statuses(c.responses), [], 'a successful Change is not answered (MS-ASCMD 2.2.3.24)');
      const after = (await server.store.getItemByServerId(alice.id, serverId))!;
      assert.equal(after.data['firstName'], 'Pia');
      assert.equal(after.data['picture'], photo);
    });

    it('kb-2.7: a replayed Add (same ClientId) gets the same ServerId and no second copy', async () => {
      const a = await device('16.1');
      const id = a.folderByType(9).serverId;
      await a.initialSync(id);
      const before = (await liveContacts()).length;
      const keyBefore = a.view(id).syncKey;
      const first = await a.sync(id, { commands: [add('replay-1', fullContact())] });
      const serverId = serverIdOf(first.responses, 'replay-1');
      // The response was lost: the device sends the same request again with its old key.
      a.view(id).syncKey = keyBefore;
      a.view(id).items.delete(serverId);
      const again = await a.sync(id, { commands: [add('replay-1', fullContact())] });
      assert.deepEqual(statuses(again.responses), [['Add', '1']]);
      assert.equal(serverIdOf(again.responses, 'replay-1'), serverId);
      // And once more with the new key.
      const third = await a.sync(id, { commands: [add('replay-1', fullContact())] });
      assert.equal(serverIdOf(third.responses, 'replay-1'), serverId);
      assert.equal((await liveContacts()).length, before + 1);
    });

    it('kb-2.7: a re-sync after SyncKey 0 with Adds of what the device had is matched, not duplicated', async () => {
      const a = await device('14.1');
      const id = a.folderByType(9).serverId;
      await a.initialSync(id);
      const people = [
        ['Walter', 'Skinner', 'walter@example.com'],
        ['John', 'Doggett', 'john@example.com'],
        ['Monica', 'Reyes', 'monica@example.com'],
      ];
      const r = await a.sync(id, { commands: people.map(([f, l, e], i) => add(`orig-${i}`, el('AirSync', 'ApplicationData', el(C, 'Email1Address', e!), el(C, 'FirstName', f!), el(C, 'LastName', l!)))) });
      const original = people.map((_, i) => serverIdOf(r.responses, `orig-${i}`));
      const before = (await liveContacts()).length;
      // The device loses its state, resets, and sends what it holds as new Adds (as iOS does).
      const v = a.view(id);
      v.syncKey = '0';
      v.items.clear();
      assert.equal((await a.sync(id)).status, 1);
      const re = await a.sync(id, {
        commands: people.map(([f, l, e], i) => add(`again-${i}`, el('AirSync', 'ApplicationData', el(C, 'Email1Address', e!.toUpperCase()), el(C, 'FirstName', ` ${f}`), el(C, 'LastName', l!)))),
      });
      assert.deepEqual(people.map((_, i) => serverIdOf(re.responses, `again-${i}`)), original);
      await a.syncAll(id);
      assert.equal((await liveContacts()).length, before, 'no second copy on the server');
      const held = [...v.items.values()].map((x) => x.serverId);
      assert.equal(new Set(held).size, held.length);
      for (const s of original) assert.ok(held.includes(s), 'the device holds each contact once');
    });

    it('kb-2.7: two devices adding the same imported contact within minutes end with one copy', async () => {
      const a = await device('16.1');
      const b = await device('14.1');
      const id = a.folderByType(9).serverId;
      await a.initialSync(id);
      await b.initialSync(id);
      const before = (await liveContacts()).length;
      const imported = (phone: string) =>
        el('AirSync', 'ApplicationData', el(C, 'Email1Address', 'imported@example.com'), el(C, 'FileAs', 'Kersh, Alvin'), el(C, 'FirstName', 'Alvin'), el(C, 'LastName', 'Kersh'), el(C, 'MobilePhoneNumber', phone));
      const onA = await a.sync(id, { commands: [add('import-a', imported('+1 (555) 010-0200'))] });
      const serverId = serverIdOf(onA.responses, 'import-a');
      // B has not synced since; it pushes its own copy of the same contact.
      const onB = await b.sync(id, { commands: [add('import-b', imported('+15550100200'))] });
      assert.equal(serverIdOf(onB.responses, 'import-b'), serverId, "B's Add is matched to A's contact");
      assert.equal(onB.adds.length, 0, 'B is not sent the contact it already holds');
      assert.equal((await b.sync(id)).adds.length, 0);
      assert.equal((await a.sync(id)).adds.length, 0, 'A is not sent a copy either');
      assert.equal((await liveContacts()).length, before + 1);

      // A device that already holds the contact and adds it again means a second copy.
      const again = await b.sync(id, { commands: [add('import-b2', imported('+15550100200'))] });
      assert.notEqual(serverIdOf(again.responses, 'import-b2'), serverId);
      assert.equal((await liveContacts()).length, before + 2);
    });
  });
}

/**
 * kb-2.4: an item that cannot be converted for a device is skipped without stalling its folder,
 * logged, and reported to the user once per item by a message in the Inbox naming the folder,
 * the item class and the subject. The unconvertible items here are notes, which a 12.1 device
 * cannot take (MS-ASNOTE: Notes are 14.0 and later).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { child, childText } from '../../src/wbxml/tree.ts';
import { startTestServer } from '../helpers/server.ts';
import { Device } from './device.ts';

const USER = { email: 'notice@example.com', password: 'pw-notice-123456' };

for (const backend of ['sqlite', 'postgres'] as const) {
  describe(`sync failure notice (${backend})`, () => {
    it('kb-2.4: items a device cannot take are skipped, the folder goes on, and the user is told once per item', async () => {
      const srv = await startTestServer({ users: [USER], backend });
      try {
        const userId = srv.users.get(USER.email)!.id;
        const old = new Device({ url: srv.url, user: USER.email, password: USER.password, deviceId: 'OLD121A', version: '12.1' });
        await old.folderSync();
        const notesId = (await srv.store.getFolderByServerId(userId, 'notes'))!.id;
        const inboxServerId = old.folderByType(2).serverId;
        const inboxId = (await srv.store.getFolderByServerId(userId, inboxServerId))!.id;
        await srv.store.putItem({ userId, folderId: notesId, class: 'Notes', data: { subject: 'Shopping list', body: { text: 'milk' } } });
        await srv.store.putItem({ userId, folderId: notesId, class: 'Notes', data: { subject: 'Ideas' } });
        await srv.store.putItem({ userId, folderId: inboxId, class: 'Email', data: { subject: 'A real message', dateReceived: new Date().toISOString() } });

        // The Notes folder syncs to the end without sending what the device cannot take.
        const notes = await old.initialSync('notes');
        assert.equal(notes.length, 0);
        assert.equal((await old.sync('notes')).status, 1, 'the folder is not stalled: a later Sync is fine');
        const logged = srv.logs.filter((l) => l.msg === 'item cannot be converted for this device: skipped');
        assert.equal(logged.length, 2);
        assert.ok(logged.every((l) => l['itemClass'] === 'Notes' && l['folder'] === 'notes'));

        // One notice per item in the Inbox, next to the mail, naming folder, class and subject.
        const inbox = await old.initialSync(inboxServerId);
        const subjects = inbox.map((i) => childText(i.appData, 'Subject', 'Email')).sort();
        assert.deepEqual(subjects, ['A real message', 'Could not synchronize "Ideas"', 'Could not synchronize "Shopping list"']);
        const notice = inbox.find((i) => childText(i.appData, 'Subject', 'Email') === 'Could not synchronize "Shopping list"')!;
        const body = childText(child(notice.appData, 'Body', 'AirSyncBase')!, 'Data', 'AirSyncBase') ?? '';
        assert.match(body, /Folder: Notes/);
        assert.match(body, /Item type: Notes/);
        assert.match(body, /Subject: Shopping list/);

        // A reset of the folder, and a second old device, meet the same items: no new notices.
        await old.initialSync('notes');
        const second = new Device({ url: srv.url, user: USER.email, password: USER.password, deviceId: 'OLD121B', version: '12.1' });
        await second.folderSync();
        await second.initialSync('notes');
        const inboxItems = await srv.store.listChangesSince(userId, inboxId, 0, 100);
        assert.equal(inboxItems.filter((i) => String(i.data['subject']).startsWith('Could not synchronize')).length, 2, 'still one notice per item');

        // A device that can take notes gets them.
        const modern = new Device({ url: srv.url, user: USER.email, password: USER.password, deviceId: 'NEW161', version: '16.1' });
        await modern.folderSync();
        assert.equal((await modern.initialSync('notes')).length, 2);
      } finally {
        await srv.close();
      }
    });
  });
}

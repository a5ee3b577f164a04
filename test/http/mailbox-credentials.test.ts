/**
 * A mailbox backend that logs in (a gateway in front of IMAP) gets the credentials the request
 * carried when the request's mailbox is opened (MailboxProvider.open, src/ports/mailbox.ts); work
 * done on the server's own behalf (delivery) opens mailboxes without any.
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import type { MailboxCredentials, MailboxProvider } from '../../src/ports/mailbox.ts';
import { Device } from '../e2e/device.ts';
import { MemoryMailboxProvider } from '../helpers/memory-mailbox.ts';
import { startTestServer } from '../helpers/server.ts';

const USER = { email: 'cred@example.com', password: 'pw-cred-123456' };

/** The in-memory mailboxes, recording what each open was given. */
function recording(opened: { userId: string; credentials: MailboxCredentials | undefined }[]): MailboxProvider {
  const inner = new MemoryMailboxProvider();
  return {
    open(userId, credentials) {
      opened.push({ userId, credentials });
      return inner.open(userId, credentials);
    },
    watch: (userId, folderIds, onChange) => inner.watch(userId, folderIds, onChange),
  };
}

it("a request's mailbox is opened with the request's Basic credentials, as the device sent them", async () => {
  const opened: { userId: string; credentials: MailboxCredentials | undefined }[] = [];
  const srv = await startTestServer({ users: [USER], mailboxes: () => recording(opened) });
  try {
    const d = new Device({ url: srv.url, user: `EXAMPLE\\${USER.email}`, password: USER.password, deviceId: 'CRED1', version: '16.1' });
    assert.equal((await d.folderSync()).status, 1);
    const userId = srv.users.get(USER.email)!.id;
    const byRequest = opened.filter((o) => o.credentials !== undefined);
    assert.ok(byRequest.length >= 1, 'FolderSync opened the mailbox with credentials');
    for (const o of byRequest) {
      assert.equal(o.userId, userId);
      assert.deepEqual(o.credentials, { user: `EXAMPLE\\${USER.email}`, password: USER.password });
    }
  } finally {
    await srv.close();
  }
});

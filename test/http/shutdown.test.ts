import assert from 'node:assert/strict';
import { it } from 'node:test';
import { childText } from '../../src/wbxml/index.ts';
import { Device } from '../e2e/device.ts';
import { startTestServer } from '../helpers/server.ts';

const USER = { email: 'shutdown@example.com', password: 'shutdown-pass-1' };

it('closing the server answers held Pings at once instead of waiting out their heartbeat', async () => {
  const server = await startTestServer({ users: [USER], logLevel: 'warn' });
  try {
    const d = new Device({ url: server.url, user: USER.email, password: USER.password, deviceId: 'SHUT1' });
    assert.equal((await d.folderSync()).status, 1);
    const inbox = d.folderByType(2).serverId;
    await d.initialSync(inbox);
    const held = d.ping([inbox], 3000);
    await new Promise((r) => setTimeout(r, 300));
    const started = Date.now();
    await server.app.close();
    const answer = await held;
    assert.ok(Date.now() - started < 5000, 'closed within seconds, not the 50-minute heartbeat');
    assert.equal(answer.status, 200);
    assert.equal(childText(answer.wbxml!, 'Status', 'Ping'), '1', 'the held Ping ends with "no changes"');
  } finally {
    await server.close();
  }
});

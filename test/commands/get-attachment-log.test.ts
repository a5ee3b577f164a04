/**
 * GetAttachment of an attachment that does not exist is the client's mistake: answered HTTP 500
 * as Exchange does (MS-ASCMD 2.2.1.7), and logged at warn, not at error (error is for easd's own
 * faults). Found by the fuzzer (bench/fuzz).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { EasClient } from '../helpers/eas-client.ts';
import { startTestServer } from '../helpers/server.ts';

test('GetAttachment of an unknown attachment: HTTP 500, request line at warn, no error line', async () => {
  const user = { email: 'ga@example.com', password: 'ga-password-1' };
  const srv = await startTestServer({ users: [user] });
  try {
    const client = new EasClient({ url: srv.url, user: user.email, password: user.password, version: '14.1', deviceId: 'GALOG1' });
    const from = srv.logs.length;
    const res = await client.post('GetAttachment', undefined, { params: { attachmentName: 'm000000000000000000000000:1' } });
    assert.equal(res.status, 500);
    const [line] = srv.requestLogs(from);
    assert.equal(line?.cmd, 'GetAttachment');
    assert.equal(line?.level, 40);
    assert.deepEqual(srv.logs.slice(from).filter((l) => l.level >= 50), []);
  } finally {
    await srv.close();
  }
});

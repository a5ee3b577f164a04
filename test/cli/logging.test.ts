/**
 * Mailbox logging as an admin runs it: `easd logging on USER`, a device working against a real
 * server, `easd logging show USER` printing each request and response as XML text (never the
 * password or the Authorization header), `easd logging off`. Also `easd user set --home-url` and
 * `easd domain set|list`, which the running server follows (kb-2.6). SQLite and PostgreSQL.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { el } from '../../src/wbxml/index.ts';
import { EasClient } from '../helpers/eas-client.ts';
import { Device } from '../e2e/device.ts';
import { easd, serverWithSharedStore, type SharedServer } from '../logging/cli-helpers.ts';

const ANN = { email: 'ann@example.com', password: 'ann-password-771' };
const BOB = { email: 'bob@other.example', password: 'bob-password-772' };

for (const backend of ['sqlite', 'postgres'] as const) {
  describe(`easd logging (${backend})`, () => {
    let srv: SharedServer;
    before(async () => {
      srv = await serverWithSharedStore(backend, [ANN, BOB]);
    });
    after(() => srv.close());

    it('logs every request and response of the user while on, as XML text without credentials', async () => {
      const on = await easd(['logging', 'on', ANN.email, '--hours', '2', ...srv.storeArgs]);
      assert.equal(on.code, 0, on.stderr);
      assert.match(on.stdout, /mailbox logging of ann@example.com is on until /);

      const ann = new Device({ url: srv.url, user: ANN.email, password: ANN.password, deviceId: `ANN${backend}`, deviceType: 'TestPhone', version: '16.1' });
      assert.equal((await ann.folderSync()).status, 1);
      await ann.sync(ann.folderByType(2).serverId);
      const bob = new Device({ url: srv.url, user: BOB.email, password: BOB.password, deviceId: `BOB${backend}`, deviceType: 'TestPhone', version: '16.1' });
      assert.equal((await bob.folderSync()).status, 1);
      // Someone else's attempt with Ann's name is not Ann's request.
      const wrong = new EasClient({ url: srv.url, user: ANN.email, password: 'not-her-password', deviceId: 'INTRUDER' });
      assert.equal((await wrong.post('FolderSync', el('FolderHierarchy', 'FolderSync', el('FolderHierarchy', 'SyncKey', '0')))).status, 401);

      const show = await easd(['logging', 'show', ANN.email, ...srv.storeArgs]);
      assert.equal(show.code, 0, show.stderr);
      assert.match(show.stdout, /logging on until .*: 2 entries/);
      assert.match(show.stdout, /FolderSync device ANN\w+ -> HTTP 200/);
      assert.match(show.stdout, /RequestBody:\n<\?xml version="1.0" encoding="utf-8"\?>\n<FolderSync xmlns="FolderHierarchy:">/);
      assert.match(show.stdout, /ResponseBody:\n<\?xml[^\n]*\n<FolderSync xmlns="FolderHierarchy:">\n  <Status>1<\/Status>/);
      assert.match(show.stdout, /<Sync xmlns="AirSync:">/);
      assert.match(show.stdout, /user-agent: easd-test-client/);
      assert.doesNotMatch(show.stdout, /authorization/i);
      assert.doesNotMatch(show.stdout, /INTRUDER|BOB/);
      assert.ok(!show.stdout.includes(ANN.password) && !show.stdout.includes(Buffer.from(`${ANN.email}:${ANN.password}`).toString('base64')));

      const json = await easd(['logging', 'show', ANN.email, '--json', '--limit', '1', ...srv.storeArgs]);
      const lines = json.stdout.trim().split('\n').map((l) => JSON.parse(l) as { cmd: string; httpStatus: number });
      assert.deepEqual(lines.map((l) => [l.cmd, l.httpStatus]), [['Sync', 200]]);

      const off = await easd(['logging', 'off', ANN.email, ...srv.storeArgs]);
      assert.match(off.stdout, /is off/);
      await ann.folderSync();
      const after = await easd(['logging', 'show', ANN.email, '--since', '1h', ...srv.storeArgs]);
      assert.match(after.stdout, /logging off\): 2 entries/);
    });

    it('refuses bad input with one line', async () => {
      for (const [args, message] of [
        [['logging', 'on', 'nobody@example.com'], /no user nobody@example.com/],
        [['logging', 'on', ANN.email, '--hours', '-1'], /--hours wants a number/],
        [['logging', 'show', ANN.email, '--since', 'yesterday'], /not a time/],
      ] as const) {
        const r = await easd([...args, ...srv.storeArgs]);
        assert.equal(r.code, 1);
        assert.match(r.stderr, message);
        assert.doesNotMatch(r.stderr, /\n\s+at /);
      }
    });

    it('kb-2.6: easd user set --home-url and easd domain set redirect a running server\'s users', async () => {
      let r = await easd(['user', 'set', ANN.email, '--home-url', 'https://mail2.example.com', ...srv.storeArgs]);
      assert.equal(r.code, 0, r.stderr);
      r = await easd(['domain', 'set', 'other.example', '--home-url', 'https://mail3.example.com/eas/Microsoft-Server-ActiveSync', ...srv.storeArgs]);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /other.example is served at https:\/\/mail3.example.com\/eas\/Microsoft-Server-ActiveSync/);
      r = await easd(['domain', 'list', ...srv.storeArgs]);
      assert.equal(r.stdout, 'domain\tother.example\thttps://mail3.example.com/eas/Microsoft-Server-ActiveSync\nuser\tann@example.com\thttps://mail2.example.com/Microsoft-Server-ActiveSync\n');
      assert.match((await easd(['user', 'set', ANN.email, '--home-url', 'mail2', ...srv.storeArgs])).stderr, /not a URL/);

      const ann = new EasClient({ url: srv.url, user: ANN.email, password: ANN.password, deviceId: 'ANNX' });
      let res = await ann.options();
      assert.equal(res.status, 451);
      assert.equal(res.headers.get('x-ms-location'), 'https://mail2.example.com/Microsoft-Server-ActiveSync');
      const bob = new EasClient({ url: srv.url, user: BOB.email, password: BOB.password, deviceId: 'BOBX' });
      res = await bob.options();
      assert.equal(res.headers.get('x-ms-location'), 'https://mail3.example.com/eas/Microsoft-Server-ActiveSync');

      await easd(['user', 'set', ANN.email, '--home-url', '', ...srv.storeArgs]);
      await easd(['domain', 'set', 'other.example', '--home-url', '', ...srv.storeArgs]);
      assert.equal((await ann.options()).status, 200);
      assert.equal((await bob.options()).status, 200);
    });
  });
}

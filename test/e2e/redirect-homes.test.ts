/**
 * kb-2.6 (../shared/SCENARIOS.md): a user homed on another easd deployment gets HTTP 451 with
 * X-MS-Location (MS-ASHTTP 3.1.5.2.2, example 4.2) on every command, after authentication, and
 * Autodiscover returns that deployment's URL. Two real servers: the device follows the redirect
 * to the second and syncs there. On SQLite and PostgreSQL.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { el } from '../../src/wbxml/index.ts';
import { homeEndpoint } from '../../src/http/redirect.ts';
import { basicAuth, EasClient } from '../helpers/eas-client.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { Device } from './device.ts';

const MOVED = { email: 'moved@example.com', password: 'moved-password-1' };
const STAYS = { email: 'stays@example.com', password: 'stays-password-1' };
const PARTNER = { email: 'ann@partner.example', password: 'partner-password-1' };
const PARTNER_OWN = { email: 'bo@partner.example', password: 'partner-password-2' };

const folderSync = el('FolderHierarchy', 'FolderSync', el('FolderHierarchy', 'SyncKey', '0'));

const autodiscoverBody = (email: string) => `<?xml version="1.0" encoding="utf-8"?>
<Autodiscover xmlns="http://schemas.microsoft.com/exchange/autodiscover/mobilesync/requestschema/2006">
  <Request><EMailAddress>${email}</EMailAddress>
  <AcceptableResponseSchema>http://schemas.microsoft.com/exchange/autodiscover/mobilesync/responseschema/2006</AcceptableResponseSchema></Request>
</Autodiscover>`;

describe('homeEndpoint', () => {
  it('adds the ActiveSync path to a base URL and keeps a full one', () => {
    assert.equal(homeEndpoint('https://mail2.example.com'), 'https://mail2.example.com/Microsoft-Server-ActiveSync');
    assert.equal(homeEndpoint('https://mail2.example.com/'), 'https://mail2.example.com/Microsoft-Server-ActiveSync');
    assert.equal(homeEndpoint('https://mail2.example.com/eas/Microsoft-Server-ActiveSync'), 'https://mail2.example.com/eas/Microsoft-Server-ActiveSync');
    assert.throws(() => homeEndpoint('mail2.example.com'), /not a URL/);
    assert.throws(() => homeEndpoint('ftp://mail2.example.com'), /http/);
    assert.throws(() => homeEndpoint('https://mail2.example.com/?x=1'), /query/);
  });
});

for (const backend of ['sqlite', 'postgres'] as const) {
  describe(`kb-2.6 redirects (${backend})`, () => {
    let here: TestServer;
    let home: TestServer;
    before(async () => {
      // accountCacheMs 0: every request sees the homes as stored (production re-reads every 5 s).
      here = await startTestServer({ users: [MOVED, STAYS, PARTNER, PARTNER_OWN], backend, logLevel: 'info', config: { accountCacheMs: 0 } });
      home = await startTestServer({ users: [MOVED], backend });
      await here.store.homes.setUserHome(here.users.get(MOVED.email)!.id, homeEndpoint(home.url));
    });
    after(async () => {
      await here.close();
      await home.close();
    });

    it('kb-2.6: a user with another home URL gets 451 and the URL on every command, and the device follows it', async () => {
      const client = new EasClient({ url: here.url, user: MOVED.email, password: MOVED.password, deviceId: `MOVED${backend}` });
      for (const res of [await client.options(), await client.post('FolderSync', folderSync), await client.post('Provision', el('Provision', 'Provision'))]) {
        assert.equal(res.status, 451);
        assert.equal(res.headers.get('x-ms-location'), `${home.url}/Microsoft-Server-ActiveSync`);
        assert.equal(res.body.length, 0);
      }
      // No partnership is kept where the user is not served.
      assert.deepEqual(await here.store.listDevices(here.users.get(MOVED.email)!.id), []);
      const line = here.requestLogs().find((l) => l.cmd === 'FolderSync' && l.user === MOVED.email);
      assert.equal(line?.httpStatus, 451);
      assert.equal(line?.reason, 'homed elsewhere');

      // "all subsequent requests SHOULD use the URL specified" (MS-ASHTTP 3.1.5.2.2).
      const moved = new Device({ url: home.url, user: MOVED.email, password: MOVED.password, deviceId: `MOVED${backend}`, deviceType: 'TestPhone', version: '16.1' });
      assert.equal((await moved.folderSync()).status, 1);
    });

    it('kb-2.6: a mailbox-logged user\'s redirect is in the mailbox log with its X-MS-Location', async () => {
      const moved = here.users.get(MOVED.email)!;
      await here.store.mailboxLog.enable(moved.id, new Date(Date.now() + 3_600_000));
      const client = new EasClient({ url: here.url, user: MOVED.email, password: MOVED.password, deviceId: `LOGGED${backend}` });
      assert.equal((await client.post('FolderSync', folderSync)).status, 451);
      const [entry] = await here.store.mailboxLog.list(moved.id);
      assert.equal(entry?.httpStatus, 451);
      assert.equal(entry?.cmd, 'FolderSync');
      assert.equal(entry?.deviceId, `LOGGED${backend}`);
      assert.equal((entry?.meta.responseHeaders as Record<string, string>)['x-ms-location'], `${home.url}/Microsoft-Server-ActiveSync`);
      assert.match(entry?.request ?? '', /<SyncKey>0<\/SyncKey>/);
      await here.store.mailboxLog.disable(moved.id);
    });

    it('kb-2.6: the redirect comes after authentication: a wrong password gets 401, not the URL', async () => {
      const client = new EasClient({ url: here.url, user: MOVED.email, password: 'wrong-password-1' });
      const res = await client.post('FolderSync', folderSync);
      assert.equal(res.status, 401);
      assert.equal(res.headers.get('x-ms-location'), null);
    });

    it('kb-2.6: Autodiscover returns the home URL of a moved user and this server for the others', async () => {
      const ask = async (who: { email: string; password: string }) => {
        const res = await fetch(`${here.url}/autodiscover/autodiscover.xml`, {
          method: 'POST',
          headers: { Authorization: basicAuth(who.email, who.password), 'Content-Type': 'text/xml' },
          body: autodiscoverBody(who.email),
        });
        assert.equal(res.status, 200);
        return /<Url>([^<]*)<\/Url>/.exec(await res.text())?.[1];
      };
      assert.equal(await ask(MOVED), `${home.url}/Microsoft-Server-ActiveSync`);
      assert.equal(await ask(STAYS), `${here.url}/Microsoft-Server-ActiveSync`);
    });

    it('kb-2.6: other users are served here; a domain home redirects its users, a user home wins over it, clearing it serves them again', async () => {
      const stays = new Device({ url: here.url, user: STAYS.email, password: STAYS.password, deviceId: `STAYS${backend}`, deviceType: 'TestPhone', version: '14.1' });
      assert.equal((await stays.folderSync()).status, 1);

      await here.store.homes.setDomainHome('Partner.Example', 'https://partner-mail.example/Microsoft-Server-ActiveSync');
      await here.store.homes.setUserHome(here.users.get(PARTNER_OWN.email)!.id, 'https://bo.example/Microsoft-Server-ActiveSync');
      const ann = new EasClient({ url: here.url, user: PARTNER.email, password: PARTNER.password, deviceId: `ANN${backend}` });
      let res = await ann.post('FolderSync', folderSync);
      assert.equal(res.status, 451);
      assert.equal(res.headers.get('x-ms-location'), 'https://partner-mail.example/Microsoft-Server-ActiveSync');
      const bo = new EasClient({ url: here.url, user: PARTNER_OWN.email, password: PARTNER_OWN.password, deviceId: `BO${backend}` });
      res = await bo.post('FolderSync', folderSync);
      assert.equal(res.headers.get('x-ms-location'), 'https://bo.example/Microsoft-Server-ActiveSync');

      await here.store.homes.setDomainHome('partner.example', null);
      res = await ann.post('FolderSync', folderSync);
      assert.equal(res.status, 200);
      assert.equal((await stays.folderSync()).status, 1);
    });
  });
}

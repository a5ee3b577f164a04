/**
 * Account set-up for Outlook (issue 14 item 5): Autodiscover as Outlook mobile and Outlook for
 * Windows send it, over loopback. The request shapes come from real clients:
 *
 * - Outlook mobile's service: `GET /autodiscover/autodiscover.json?Email=user%40exampledomain.org
 *   &Protocol=ActiveSync&RedirectCount=1`, User-Agent `OutlookMobileCloudService-Autodetect/1.0.0`,
 *   no credentials (gronke/email-autodiscover issue 4, an Apache access log line).
 * - Outlook for Windows: `GET /autodiscover/autodiscover.json?Email=user1%40...&Protocol=Autodiscoverv1
 *   &RedirectCount=1` answered 200 without credentials, then `POST /autodiscover/autodiscover.xml`
 *   (401, then 200 with credentials), then `GET /autodiscover/autodiscover.xml`, User-Agent
 *   `Microsoft Office/16.0 (Windows NT 10.0; MAPI 16.0.10344; Pro)` (mailcow/mailcow-dockerized
 *   issue 2653); `GET /autodiscover/autodiscover.json/v1.0/me@xx.yy?Protocol=Autodiscoverv1
 *   &RedirectCount=1` from `Microsoft Office/16.0 (Windows NT 10.0; Microsoft Outlook 16.0.17726; Pro)`
 *   (mjl-/mox issue 200).
 * - The Outlook POST body is MS-OXDISCO 4.1's: the outlook request schema with
 *   AcceptableResponseSchema .../outlook/responseschema/2006a. mailcow's autodiscover.php answers
 *   it with the MobileSync response for Outlook 2013+ on Windows (not for Office on macOS, which
 *   has no ActiveSync).
 * - Exchange answers an unsupported Protocol with 400 and ErrorCode InvalidProtocol
 *   (mailcow's autodiscover-json.php mirrors it; Gerenios/AADInternals issue 31).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ENDPOINT } from '../../src/http/activesync.ts';
import { homeEndpoint } from '../../src/http/redirect.ts';
import { basicAuth } from '../helpers/eas-client.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

const USER = { email: 'kim@contoso.com', password: 'outlook-setup-pw-31', displayName: 'Kim Akers' };
const MOVED = { email: 'moved@contoso.com', password: 'outlook-setup-pw-32' };
const OUTLOOK_MOBILE_UA = 'OutlookMobileCloudService-Autodetect/1.0.0';
const OUTLOOK_WIN_UA = 'Microsoft Office/16.0 (Windows NT 10.0; Microsoft Outlook 16.0.17726; Pro)';
const OUTLOOK_MAPI_UA = 'Microsoft Office/16.0 (Windows NT 10.0; MAPI 16.0.10344; Pro)';
const OUTLOOK_MAC_UA = 'MacOutlook/16.78.23100802 (Intelx64 Mac OS X 13.5.2 (Build 22G91))';

/** MS-OXDISCO 4.1: Outlook's request. */
const outlookRequest = (email: string) => `<?xml version="1.0" encoding="utf-8"?>
<Autodiscover xmlns="http://schemas.microsoft.com/exchange/autodiscover/outlook/requestschema/2006">
  <Request>
    <EMailAddress>${email}</EMailAddress>
    <AcceptableResponseSchema>http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a</AcceptableResponseSchema>
  </Request>
</Autodiscover>
`;

async function get(srv: TestServer, path: string, headers: Record<string, string> = {}) {
  const res = await fetch(srv.url + path, { headers });
  return { status: res.status, headers: res.headers, text: await res.text() };
}

async function postXml(srv: TestServer, body: string, headers: Record<string, string>) {
  const res = await fetch(srv.url + '/autodiscover/autodiscover.xml', { method: 'POST', headers: { 'Content-Type': 'text/xml', ...headers }, body });
  return { status: res.status, headers: res.headers, text: await res.text() };
}

function tag(xml: string, name: string): string | undefined {
  return new RegExp(`<(?:\\w+:)?${name}(?:\\s[^>]*)?>([^<]*)</(?:\\w+:)?${name}>`).exec(xml)?.[1];
}

describe('Autodiscover for Outlook', () => {
  let srv: TestServer;
  before(async () => {
    srv = await startTestServer({ users: [USER, MOVED], config: { accountCacheMs: 0 } });
    await srv.store.homes.setUserHome(srv.users.get(MOVED.email)!.id, homeEndpoint('https://mail2.contoso.com'));
  });
  after(async () => {
    assert.ok(!JSON.stringify(srv.logs).includes(USER.password), 'no password in the log');
    await srv.close();
  });

  it('v2: answers Outlook mobile without credentials with the ActiveSync URL as JSON', async () => {
    const res = await get(srv, `/autodiscover/autodiscover.json?Email=${encodeURIComponent(USER.email)}&Protocol=ActiveSync&RedirectCount=1`, { 'User-Agent': OUTLOOK_MOBILE_UA });
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^application\/json/);
    assert.deepEqual(JSON.parse(res.text), { Protocol: 'ActiveSync', Url: srv.url + ENDPOINT });
  });

  it('v2: says nothing about whether an address exists to a caller without credentials', async () => {
    const q = (email: string) => `/autodiscover/autodiscover.json?Email=${encodeURIComponent(email)}&Protocol=ActiveSync&RedirectCount=1`;
    const known = await get(srv, q(USER.email), { 'User-Agent': OUTLOOK_MOBILE_UA });
    const unknown = await get(srv, q('nobody@contoso.com'), { 'User-Agent': OUTLOOK_MOBILE_UA });
    // A user homed elsewhere is not told apart either: the redirect comes with the first authenticated request.
    const moved = await get(srv, q(MOVED.email), { 'User-Agent': OUTLOOK_MOBILE_UA });
    assert.equal(unknown.status, known.status);
    assert.equal(unknown.text, known.text);
    assert.equal(moved.text, known.text);
  });

  it('v2: answers Outlook for Windows asking for AutodiscoverV1, in both path forms and any letter case', async () => {
    const expected = { Protocol: 'AutodiscoverV1', Url: srv.url + '/autodiscover/autodiscover.xml' };
    for (const path of [
      `/autodiscover/autodiscover.json?Email=${encodeURIComponent(USER.email)}&Protocol=Autodiscoverv1&RedirectCount=1`,
      `/autodiscover/autodiscover.json/v1.0/${USER.email}?Protocol=Autodiscoverv1&RedirectCount=1`,
      `/Autodiscover/Autodiscover.json/v1.0/${encodeURIComponent(USER.email)}?Protocol=AutodiscoverV1&RedirectCount=1`,
    ]) {
      const res = await get(srv, path, { 'User-Agent': OUTLOOK_WIN_UA });
      assert.equal(res.status, 200, path);
      assert.deepEqual(JSON.parse(res.text), expected, path);
    }
    const as = await get(srv, `/AutoDiscover/AutoDiscover.json/v1.0/${USER.email}?protocol=activesync`);
    assert.deepEqual(JSON.parse(as.text), { Protocol: 'ActiveSync', Url: srv.url + ENDPOINT });
  });

  it('v2: answers another or a missing Protocol with 400 InvalidProtocol', async () => {
    for (const query of ['?Email=kim%40contoso.com&Protocol=Ews', '?Email=kim%40contoso.com', '?Email=kim%40contoso.com&Protocol=']) {
      const from = srv.logs.length;
      const res = await get(srv, `/autodiscover/autodiscover.json${query}`);
      assert.equal(res.status, 400, query);
      const body = JSON.parse(res.text) as { ErrorCode: string; ErrorMessage: string };
      assert.equal(body.ErrorCode, 'InvalidProtocol');
      assert.match(body.ErrorMessage, /ActiveSync,AutodiscoverV1/);
      assert.equal(srv.requestLogs(from)[0]?.cmd, 'Autodiscover');
    }
  });

  it('v2: checks credentials when they are sent, and then gives a user homed elsewhere their home', async () => {
    const q = (email: string) => `/autodiscover/autodiscover.json/v1.0/${email}?Protocol=ActiveSync`;
    const wrong = await get(srv, q(USER.email), { Authorization: basicAuth(USER.email, 'not-the-password-1') });
    assert.equal(wrong.status, 401);
    const right = await get(srv, q(USER.email), { Authorization: basicAuth(USER.email, USER.password) });
    assert.deepEqual(JSON.parse(right.text), { Protocol: 'ActiveSync', Url: srv.url + ENDPOINT });
    const moved = await get(srv, q(MOVED.email), { Authorization: basicAuth(MOVED.email, MOVED.password) });
    assert.deepEqual(JSON.parse(moved.text), { Protocol: 'ActiveSync', Url: 'https://mail2.contoso.com/Microsoft-Server-ActiveSync' });
  });

  it('v1: answers the Outlook (2006a) request of Outlook for Windows with the MobileSync settings', async () => {
    const none = await postXml(srv, outlookRequest(USER.email), { 'User-Agent': OUTLOOK_MAPI_UA });
    assert.equal(none.status, 401, 'credentials first, as before');
    const res = await postXml(srv, outlookRequest(USER.email), { 'User-Agent': OUTLOOK_MAPI_UA, Authorization: basicAuth(USER.email, USER.password) });
    assert.equal(res.status, 200);
    assert.equal(tag(res.text, 'ErrorCode'), undefined);
    assert.match(res.text, /<Response xmlns="http:\/\/schemas\.microsoft\.com\/exchange\/autodiscover\/mobilesync\/responseschema\/2006">/);
    assert.equal(tag(res.text, 'Type'), 'MobileSync');
    assert.equal(tag(res.text, 'Url'), srv.url + ENDPOINT);
    assert.equal(tag(res.text, 'DisplayName'), USER.displayName);
  });

  it('v1: answers Outlook for Mac, which has no ActiveSync, with ErrorCode 601', async () => {
    const res = await postXml(srv, outlookRequest(USER.email), { 'User-Agent': OUTLOOK_MAC_UA, Authorization: basicAuth(USER.email, USER.password) });
    assert.equal(res.status, 200);
    assert.equal(tag(res.text, 'ErrorCode'), '601');
    assert.equal(tag(res.text, 'Url'), undefined);
  });

  it('v1: answers GET with the authenticated user\'s settings, and only with credentials', async () => {
    for (const path of ['/autodiscover/autodiscover.xml', '/Autodiscover/Autodiscover.xml']) {
      const none = await get(srv, path, { 'User-Agent': OUTLOOK_MAPI_UA });
      assert.equal(none.status, 401, path);
      assert.match(none.headers.get('www-authenticate') ?? '', /^Basic\b/);
      const res = await get(srv, path, { 'User-Agent': OUTLOOK_MAPI_UA, Authorization: basicAuth(USER.email, USER.password) });
      assert.equal(res.status, 200, path);
      assert.equal(tag(res.text, 'EMailAddress'), USER.email);
      assert.equal(tag(res.text, 'Url'), srv.url + ENDPOINT);
    }
    const moved = await get(srv, '/autodiscover/autodiscover.xml', { Authorization: basicAuth(MOVED.email, MOVED.password) });
    assert.equal(tag(moved.text, 'Url'), 'https://mail2.contoso.com/Microsoft-Server-ActiveSync');
  });
});

describe('Autodiscover v2 with config.publicUrl', () => {
  let srv: TestServer;
  before(async () => {
    srv = await startTestServer({ users: [USER], config: { publicUrl: 'https://mail.contoso.com/' } });
  });
  after(async () => {
    await srv.close();
  });

  it('gives the public URL for both protocols', async () => {
    const as = await get(srv, `/autodiscover/autodiscover.json/v1.0/${USER.email}?Protocol=ActiveSync`);
    assert.deepEqual(JSON.parse(as.text), { Protocol: 'ActiveSync', Url: 'https://mail.contoso.com/Microsoft-Server-ActiveSync' });
    const v1 = await get(srv, `/autodiscover/autodiscover.json/v1.0/${USER.email}?Protocol=AutodiscoverV1`);
    assert.deepEqual(JSON.parse(v1.text), { Protocol: 'AutodiscoverV1', Url: 'https://mail.contoso.com/autodiscover/autodiscover.xml' });
  });
});

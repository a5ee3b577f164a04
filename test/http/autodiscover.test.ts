/**
 * Autodiscover for mobile clients (MS-ASCMD 2.2.1.1) over loopback: the request schema of the
 * spec's example, the response with the user and the ActiveSync URL, and the error codes
 * (MS-ASCMD 2.2.3.61: 600 invalid request, 601 provider not available).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ENDPOINT } from '../../src/http/activesync.ts';
import { basicAuth } from '../helpers/eas-client.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

const USER = { email: 'chris@woodgrovebank.com', password: 'autodiscover-pw-81', displayName: 'Chris Gray' };
const OTHER = { email: 'other@woodgrovebank.com', password: 'autodiscover-pw-82' };
const REQUEST_SCHEMA = 'http://schemas.microsoft.com/exchange/autodiscover/mobilesync/requestschema/2006';
const RESPONSE_SCHEMA = 'http://schemas.microsoft.com/exchange/autodiscover/mobilesync/responseschema/2006';

/** The request of the MS-ASCMD 2.2.1.1 example. */
const request = (email: string, schema = RESPONSE_SCHEMA) => `<?xml version="1.0" encoding="utf-8"?>
<Autodiscover xmlns="${REQUEST_SCHEMA}">
  <Request>
    <EMailAddress>${email}</EMailAddress>
    <AcceptableResponseSchema>${schema}</AcceptableResponseSchema>
  </Request>
</Autodiscover>
`;

async function autodiscover(srv: TestServer, body: string, opts: { path?: string; auth?: string | null } = {}) {
  const headers: Record<string, string> = { 'Content-Type': 'text/xml' };
  const auth = opts.auth === undefined ? basicAuth(USER.email, USER.password) : opts.auth;
  if (auth !== null) headers.Authorization = auth;
  const res = await fetch(srv.url + (opts.path ?? '/autodiscover/autodiscover.xml'), { method: 'POST', headers, body });
  return { status: res.status, headers: res.headers, text: await res.text() };
}

/** The text of the first element with this local name. */
function tag(xml: string, name: string): string | undefined {
  return new RegExp(`<(?:\\w+:)?${name}(?:\\s[^>]*)?>([^<]*)</(?:\\w+:)?${name}>`).exec(xml)?.[1];
}

describe('Autodiscover', () => {
  let srv: TestServer;
  before(async () => {
    srv = await startTestServer({ users: [USER, OTHER] });
  });
  after(async () => {
    assert.ok(!JSON.stringify(srv.logs).includes(USER.password), 'no password in the log');
    await srv.close();
  });

  it('answers the mobilesync request with the user and the ActiveSync URL, at either path spelling', async () => {
    for (const path of ['/autodiscover/autodiscover.xml', '/AutoDiscover/AutoDiscover.xml', '/Autodiscover/Autodiscover.xml']) {
      const res = await autodiscover(srv, request(USER.email), { path });
      assert.equal(res.status, 200, path);
      assert.match(res.headers.get('content-type') ?? '', /xml/);
      assert.match(res.text, new RegExp(`<Response xmlns="${RESPONSE_SCHEMA}">`));
      assert.equal(tag(res.text, 'DisplayName'), USER.displayName);
      assert.equal(tag(res.text, 'EMailAddress'), USER.email);
      assert.equal(tag(res.text, 'Type'), 'MobileSync');
      const url = tag(res.text, 'Url');
      assert.ok(url?.endsWith('/Microsoft-Server-ActiveSync'), url);
      assert.equal(url, srv.url + ENDPOINT, 'derived from the request when publicUrl is unset');
      assert.equal(tag(res.text, 'Name'), url);
      assert.equal(tag(res.text, 'ErrorCode'), undefined);
    }
  });

  it('matches the address in any letter case and writes one request log line', async () => {
    const from = srv.logs.length;
    const res = await autodiscover(srv, request('Chris@WoodgroveBank.com'), { auth: basicAuth('WOODGROVE\\chris@woodgrovebank.com', USER.password) });
    assert.equal(res.status, 200);
    assert.equal(tag(res.text, 'EMailAddress'), USER.email);
    const lines = srv.requestLogs(from);
    assert.equal(lines.length, 1);
    assert.equal(lines[0]?.cmd, 'Autodiscover');
    assert.equal(lines[0]?.user, USER.email);
    assert.equal(lines[0]?.httpStatus, 200);
  });

  it('uses the display name fallback (the address) for a user without one', async () => {
    const res = await autodiscover(srv, request(OTHER.email), { auth: basicAuth(OTHER.email, OTHER.password) });
    assert.equal(res.status, 200);
    assert.equal(tag(res.text, 'DisplayName'), OTHER.email);
  });

  it('asks for credentials when there are none or they are wrong', async () => {
    const none = await autodiscover(srv, request(USER.email), { auth: null });
    assert.equal(none.status, 401);
    assert.match(none.headers.get('www-authenticate') ?? '', /^Basic\b/);
    assert.ok(!none.text.includes('MobileSync'));
    const wrong = await autodiscover(srv, request(USER.email), { auth: basicAuth(USER.email, 'wrong-password-x') });
    assert.equal(wrong.status, 401);
    assert.match(wrong.headers.get('www-authenticate') ?? '', /^Basic\b/);
  });

  it('answers malformed XML with ErrorCode 600', async () => {
    for (const body of ['<Autodiscover><Request><EMailAddress>x', 'not xml at all', '', `<Autodiscover xmlns="${REQUEST_SCHEMA}"><Request/></Autodiscover>`]) {
      const res = await autodiscover(srv, body);
      assert.equal(res.status, 200, JSON.stringify(body));
      assert.equal(tag(res.text, 'ErrorCode'), '600', JSON.stringify(body));
      assert.equal(tag(res.text, 'Url'), undefined);
    }
  });

  it('answers a response schema easd has no provider for with ErrorCode 601', async () => {
    // Outlook's 2006a schema is answered (test/http/autodiscover-outlook.test.ts); this one is not.
    const other = 'http://schemas.microsoft.com/exchange/autodiscover/certenroll/responseschema/2006';
    const res = await autodiscover(srv, request(USER.email, other));
    assert.equal(res.status, 200);
    assert.equal(tag(res.text, 'ErrorCode'), '601');
    assert.equal(tag(res.text, 'Url'), undefined);
  });

  it("answers a request for another user's address with ErrorCode 600", async () => {
    const res = await autodiscover(srv, request(OTHER.email));
    assert.equal(res.status, 200);
    assert.equal(tag(res.text, 'ErrorCode'), '600');
    assert.ok(!res.text.includes(OTHER.email), 'nothing about the other user');
    assert.equal(tag(res.text, 'Url'), undefined);
  });
});

describe('Autodiscover with config.publicUrl', () => {
  let srv: TestServer;
  before(async () => {
    srv = await startTestServer({ users: [USER], config: { publicUrl: 'https://mail.woodgrovebank.com/' } });
  });
  after(async () => {
    await srv.close();
  });

  it('gives publicUrl + /Microsoft-Server-ActiveSync as the Url', async () => {
    const res = await autodiscover(srv, request(USER.email));
    assert.equal(res.status, 200);
    assert.equal(tag(res.text, 'Url'), 'https://mail.woodgrovebank.com/Microsoft-Server-ActiveSync');
  });
});

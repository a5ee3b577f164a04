/**
 * The ActiveSync HTTP endpoint over loopback (MS-ASHTTP): OPTIONS, authentication, both query
 * forms, version and command checks, WBXML in and out, refusals, the request log line and the
 * device partnership record.
 */
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import type { CommandContext, CommandHandler } from '../../src/commands/types.ts';
import { COMMANDS } from '../../src/eas/commands.ts';
import { SUPPORTED_VERSIONS } from '../../src/eas/versions.ts';
import { ENDPOINT, WBXML_CONTENT_TYPE } from '../../src/http/activesync.ts';
import { el, encodeWbxml, type WbxmlElement } from '../../src/wbxml/index.ts';
import { basicAuth, EasClient, encodeBase64Query, type EasResponse } from '../helpers/eas-client.ts';
import { startTestServer, type LogLine, type TestServer } from '../helpers/server.ts';

const A = { email: 'a@example.com', password: 'pa55word-of-a-7xq', displayName: 'Alice A' };
const B = { email: 'b@example.com', password: 'pa55word-of-b-9kz', displayName: 'Bob B' };
const WRONG_PASSWORD = 'not-the-right-one-3fj';
const MAX_REQUEST_BYTES = 16 * 1024;

/** What the test handlers saw, in order. */
const calls: Array<{ name: string; ctx: CommandContext }> = [];

/** Echoes the decoded request (or a fixed Ping response for an empty body) as WBXML. */
const echo =
  (name: string): CommandHandler =>
  async (ctx) => {
    calls.push({ name, ctx });
    return {
      body: ctx.request ?? el('Ping', 'Ping', el('Ping', 'Status', '1')),
      easStatus: 1,
      headers: { 'X-Test-Handler': name },
      logFields: { echoed: 1 },
    };
  };

const throwing: CommandHandler = async (ctx) => {
  calls.push({ name: 'Search', ctx });
  throw new Error('handler exploded on purpose');
};

/** Whether ctx.aborted was set when the held handler returned. */
const heldOutcomes: boolean[] = [];
/** Waits for the client to go away (at most ItemId ms, default 5 s), like a held Ping. */
const held: CommandHandler = async (ctx) => {
  calls.push({ name: 'ResolveRecipients', ctx });
  await new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, Number(ctx.params.itemId ?? 5000));
    ctx.aborted.addEventListener('abort', () => {
      clearTimeout(timer);
      resolve();
    });
  });
  heldOutcomes.push(ctx.aborted.aborted);
  return {};
};

const PING_REQUEST: WbxmlElement = el(
  'Ping',
  'Ping',
  el('Ping', 'HeartbeatInterval', '480'),
  el('Ping', 'Folders', el('Ping', 'Folder', el('Ping', 'Id', '5'), el('Ping', 'Class', 'Email'))),
);

let srv: TestServer;

const client = (overrides: Partial<ConstructorParameters<typeof EasClient>[0]> = {}) =>
  new EasClient({ url: srv.url, user: A.email, password: A.password, deviceId: 'ApplDEVICE0001', deviceType: 'iPhone', version: '14.1', ...overrides });

/** Runs `fn` and returns its result with the request log lines it caused. */
async function logged<T>(fn: () => Promise<T>): Promise<{ result: T; lines: LogLine[]; all: LogLine[] }> {
  const from = srv.logs.length;
  const result = await fn();
  return { result, lines: srv.requestLogs(from), all: srv.logs.slice(from) };
}

function assertRefused(res: EasResponse, status: number) {
  assert.equal(res.status, status);
  assert.equal(res.wbxml, undefined);
}

before(async () => {
  srv = await startTestServer({
    users: [A, B],
    config: { maxRequestBytes: MAX_REQUEST_BYTES },
    handlers: new Map<string, CommandHandler>([
      ['Ping', echo('Ping')],
      ['ItemOperations', echo('ItemOperations')],
      ['SmartReply', echo('SmartReply')],
      ['Search', throwing],
      ['ResolveRecipients', held],
    ]),
  });
});

after(async () => {
  // Whatever happened above, no log line may carry a password or a credential header.
  const text = JSON.stringify(srv.logs);
  for (const secret of [A.password, B.password, WRONG_PASSWORD]) assert.ok(!text.includes(secret), `a log line contains ${secret}`);
  assert.ok(!text.includes(basicAuth(A.email, A.password).slice(6)), 'a log line contains the Authorization value');
  await srv.close();
});

beforeEach(() => {
  calls.length = 0;
});

describe('OPTIONS', () => {
  it('answers an authenticated OPTIONS with the versions and commands', async () => {
    const res = await client().options();
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('ms-asprotocolversions'), '12.0,12.1,14.0,14.1,16.0,16.1');
    assert.equal(res.headers.get('ms-asprotocolversions'), SUPPORTED_VERSIONS.join(','));
    const commands = (res.headers.get('ms-asprotocolcommands') ?? '').split(',');
    assert.deepEqual(commands, COMMANDS.map((c) => c.name));
    for (const c of ['Sync', 'FolderSync', 'Ping', 'Provision', 'ItemOperations', 'SendMail', 'Settings', 'Find']) {
      assert.ok(commands.includes(c), `MS-ASProtocolCommands lacks ${c}`);
    }
    assert.match(res.headers.get('allow') ?? '', /POST/);
    assert.match(res.headers.get('allow') ?? '', /OPTIONS/);
  });

  it('asks for Basic credentials when there are none', async () => {
    const res = await client().options({ Authorization: null });
    assertRefused(res, 401);
    assert.match(res.headers.get('www-authenticate') ?? '', /^Basic\b/);
    assert.equal(res.headers.get('ms-asprotocolversions'), null, 'versions are only told to authenticated clients');
  });

  it('refuses a wrong password, and a malformed Authorization header', async () => {
    const wrong = await client({ password: WRONG_PASSWORD }).options();
    assertRefused(wrong, 401);
    assert.match(wrong.headers.get('www-authenticate') ?? '', /^Basic\b/);
    assertRefused(await client().options({ Authorization: 'Basic !!!' }), 401);
    assertRefused(await client().options({ Authorization: 'Bearer abc' }), 401);
    assertRefused(await client({ user: 'nobody@example.com' }).options(), 401);
  });

  it('accepts the DOMAIN\\user login form and any letter case of the address', async () => {
    assert.equal((await client({ user: `EXAMPLE\\${A.email}` }).options()).status, 200);
    assert.equal((await client({ user: 'A@Example.COM' }).options()).status, 200);
    const { result, lines } = await logged(() => client({ user: `CORP\\${A.email}` }).post('Ping'));
    assert.equal(result.status, 200);
    assert.equal(calls[0]?.ctx.user.email, A.email);
    assert.equal(lines[0]?.user, A.email);
  });
});

describe('authentication', () => {
  it('refuses a POST without credentials or with a wrong password, before any handler runs', async () => {
    const none = await client().post('Ping', PING_REQUEST, { headers: { Authorization: null } });
    assertRefused(none, 401);
    assert.match(none.headers.get('www-authenticate') ?? '', /^Basic\b/);
    assertRefused(await client({ password: WRONG_PASSWORD }).post('Ping', PING_REQUEST), 401);
    assertRefused(await client({ password: WRONG_PASSWORD }).post('Ping', PING_REQUEST, { form: 'base64' }), 401);
    assert.equal(calls.length, 0);
  });

  it("never lets one user's credentials authenticate as another", async () => {
    // A's password with B's name, and B's with A's.
    assertRefused(await client({ user: B.email, password: A.password }).options(), 401);
    assertRefused(await client({ user: A.email, password: B.password }).post('Ping'), 401);
    assertRefused(await client({ user: `EXAMPLE\\${B.email}`, password: A.password }).post('Ping', undefined, { form: 'base64' }), 401);
    // A's credentials naming B in the User query parameter still act as A.
    for (const form of ['plain', 'base64'] as const) {
      calls.length = 0;
      const { result, lines } = await logged(() => client().post('Ping', undefined, { form, params: { user: B.email } }));
      assert.equal(result.status, 200);
      assert.equal(calls[0]?.ctx.user.email, A.email, form);
      assert.equal(calls[0]?.ctx.params.user, B.email, form);
      assert.equal(lines[0]?.user, A.email, form);
    }
    // And each user gets their own identity.
    calls.length = 0;
    assert.equal((await client({ user: B.email, password: B.password }).post('Ping')).status, 200);
    assert.equal(calls[0]?.ctx.user.email, B.email);
  });
});

describe('dispatch', () => {
  it('answers an unknown Cmd with 501', async () => {
    const { result, lines } = await logged(() => client().post('Frobnicate', PING_REQUEST));
    assertRefused(result, 501);
    assert.equal(lines.length, 1);
    assert.equal(lines[0]?.httpStatus, 501);
    assert.match(String(lines[0]?.reason), /Frobnicate/);
  });

  it('answers a known but unimplemented command with 501 (not 500) in both query forms', async () => {
    for (const cmd of ['Sync', 'FolderSync']) {
      for (const form of ['plain', 'base64'] as const) {
        const { result, lines } = await logged(() => client().post(cmd, undefined, { form }));
        assertRefused(result, 501);
        assert.equal(lines.length, 1, `${cmd} ${form}`);
        assert.equal(lines[0]?.cmd, cmd);
        assert.equal(lines[0]?.level, 40, '501 is a warning, not a server error');
      }
    }
    const body = el('FolderHierarchy', 'FolderSync', el('FolderHierarchy', 'SyncKey', '0'));
    assertRefused(await client().post('FolderSync', body), 501);
    assertRefused(await client().post('FolderSync', body, { form: 'base64' }), 501);
    assert.equal(calls.length, 0);
  });

  it('hands the plain form parameters to the handler', async () => {
    const res = await client().post('ItemOperations', PING_REQUEST, {
      params: { collectionId: '7', itemId: '7:12', attachmentName: '7:12:1', longId: 'L1', occurrence: '20240101T000000Z', saveInSent: true, acceptMultiPart: true, policyKey: '1234567890' },
    });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('x-test-handler'), 'ItemOperations');
    assert.equal(calls.length, 1);
    const { ctx } = calls[0]!;
    assert.equal(ctx.version, '14.1');
    assert.equal(ctx.user.email, A.email);
    assert.deepEqual(
      { ...ctx.params },
      {
        form: 'plain',
        cmd: 'ItemOperations',
        user: A.email,
        deviceId: 'ApplDEVICE0001',
        deviceType: 'iPhone',
        protocolVersion: '14.1',
        policyKey: '1234567890',
        attachmentName: '7:12:1',
        collectionId: '7',
        itemId: '7:12',
        longId: 'L1',
        occurrence: '20240101T000000Z',
        saveInSent: true,
        acceptMultiPart: true,
      },
    );
    assert.equal(ctx.device.deviceId, 'ApplDEVICE0001');
    assert.equal(ctx.device.userId, ctx.user.id);
  });

  it('reads the plain form case-insensitively and defaults the options to false', async () => {
    const res = await client().post('Ping', undefined, { rawQuery: 'cmd=ping&user=a%40example.com&deviceid=ApplDEVICE0001&devicetype=iPhone' });
    assert.equal(res.status, 200);
    const p = calls[0]!.ctx.params;
    assert.equal(p.cmd, 'ping');
    assert.equal(p.deviceId, 'ApplDEVICE0001');
    assert.equal(p.saveInSent, false);
    assert.equal(p.acceptMultiPart, false);
    assert.equal(p.policyKey, undefined);
  });

  it('hands the base64 form parameters to the handler: version byte, policy key field, options', async () => {
    const res = await client().post('ItemOperations', PING_REQUEST, {
      form: 'base64',
      version: '16.1',
      // The version byte and the policy key field win over headers in the base64 form.
      headers: { 'MS-ASProtocolVersion': '12.0', 'X-MS-PolicyKey': '1' },
      params: { collectionId: '7', itemId: '7:12', attachmentName: 'att', longId: 'L1', occurrence: 'occ', saveInSent: true, acceptMultiPart: true, policyKey: '3735928559', locale: 0x0407 },
    });
    assert.equal(res.status, 200);
    const { ctx } = calls[0]!;
    assert.equal(ctx.version, '16.1');
    assert.deepEqual(
      { ...ctx.params },
      {
        form: 'base64',
        cmd: 'ItemOperations',
        deviceId: 'ApplDEVICE0001',
        deviceType: 'iPhone',
        protocolVersion: '16.1',
        policyKey: '3735928559',
        locale: 0x0407,
        attachmentName: 'att',
        collectionId: '7',
        itemId: '7:12',
        longId: 'L1',
        occurrence: 'occ',
        saveInSent: true,
        acceptMultiPart: true,
      },
    );
  });

  it('takes each base64 option bit on its own, and the policy key header when the field is empty', async () => {
    await client().post('SmartReply', undefined, { form: 'base64', params: { saveInSent: true } });
    await client().post('SmartReply', undefined, { form: 'base64', params: { acceptMultiPart: true } });
    await client().post('SmartReply', undefined, { form: 'base64', headers: { 'X-MS-PolicyKey': '42' } });
    assert.deepEqual(
      calls.map((c) => [c.ctx.params.saveInSent, c.ctx.params.acceptMultiPart, c.ctx.params.policyKey]),
      [
        [true, false, undefined],
        [false, true, undefined],
        [false, false, '42'],
      ],
    );
  });

  it('shows a binary base64 device id (a GUID) as hex', async () => {
    const guid = Buffer.from('00112233445566778899aabbccddeeff', 'hex');
    const q = encodeBase64Query({ version: '14.0', cmd: 'Ping', deviceId: guid, deviceType: 'WP8', policyKey: '0' });
    const res = await client().post('Ping', undefined, { rawQuery: encodeURIComponent(q) });
    assert.equal(res.status, 200);
    const { ctx } = calls[0]!;
    assert.equal(ctx.params.deviceId, '00112233445566778899aabbccddeeff');
    assert.equal(ctx.params.deviceType, 'WP8');
    assert.equal(ctx.params.policyKey, '0');
    assert.equal(ctx.version, '14.0');
  });

  it('decodes a WBXML request and encodes the WBXML response', async () => {
    for (const form of ['plain', 'base64'] as const) {
      calls.length = 0;
      const res = await client().post('Ping', PING_REQUEST, { form });
      assert.equal(res.status, 200);
      assert.equal(res.headers.get('content-type'), WBXML_CONTENT_TYPE);
      const { ctx } = calls[0]!;
      assert.deepEqual(ctx.request, PING_REQUEST);
      assert.deepEqual(ctx.rawBody, encodeWbxml(PING_REQUEST));
      assert.equal(ctx.contentType, WBXML_CONTENT_TYPE);
      assert.deepEqual(res.wbxml, PING_REQUEST, 'the echoed tree comes back');
      assert.deepEqual(res.body, encodeWbxml(PING_REQUEST));
    }
  });

  it('gives an empty body as no request, and a MIME body raw', async () => {
    const empty = await client().post('Ping');
    assert.equal(empty.status, 200);
    assert.equal(calls[0]!.ctx.request, undefined);
    assert.equal(calls[0]!.ctx.rawBody.length, 0);
    assert.deepEqual(empty.wbxml, el('Ping', 'Ping', el('Ping', 'Status', '1')));

    const mime = Buffer.from('From: a@example.com\r\nTo: b@example.com\r\nSubject: hi\r\n\r\nHello\r\n');
    const res = await client({ version: '12.1' }).post('SmartReply', mime, { contentType: 'message/rfc822', params: { itemId: '5:1', collectionId: '5', saveInSent: true } });
    assert.equal(res.status, 200);
    const { ctx } = calls[1]!;
    assert.equal(ctx.request, undefined);
    assert.deepEqual(ctx.rawBody, mime);
    assert.equal(ctx.contentType, 'message/rfc822');
    assert.equal(ctx.params.saveInSent, true);
  });

  it('answers 500 when a handler throws, logs it, and keeps serving', async () => {
    const { result, lines, all } = await logged(() => client().post('Search', el('Search', 'Search')));
    assertRefused(result, 500);
    assert.equal(calls.length, 1);
    assert.equal(lines.length, 1);
    assert.equal(lines[0]?.httpStatus, 500);
    assert.equal(lines[0]?.level, 50);
    assert.equal(lines[0]?.cmd, 'Search');
    const failure = all.find((l) => l.msg === 'request failed');
    assert.ok(failure, 'the failure is logged with its error');
    assert.match(JSON.stringify(failure.err), /handler exploded on purpose/);
    // The server is still there.
    assert.equal((await client().post('Ping')).status, 200);
    assert.equal((await client().options()).status, 200);
  });
});

describe('client going away', () => {
  it("tells the handler through ctx.aborted when the client disconnects", async () => {
    const ac = new AbortController();
    const started = Date.now();
    const pending = fetch(`${srv.endpoint}?Cmd=ResolveRecipients&User=a&DeviceId=ApplDEVICE0001&DeviceType=iPhone`, {
      method: 'POST',
      headers: { Authorization: basicAuth(A.email, A.password), 'MS-ASProtocolVersion': '14.1' },
      signal: ac.signal,
    }).catch((err: Error) => err);
    while (calls.length === 0 && Date.now() - started < 5000) await new Promise((r) => setTimeout(r, 10));
    assert.equal(calls.length, 1, 'the handler runs');
    assert.equal(calls[0]!.ctx.aborted.aborted, false, 'not aborted while the client waits');
    ac.abort();
    assert.ok((await pending) instanceof Error);
    while (!calls[0]!.ctx.aborted.aborted && Date.now() - started < 5000) await new Promise((r) => setTimeout(r, 10));
    assert.equal(calls[0]!.ctx.aborted.aborted, true);
    assert.ok(Date.now() - started < 4000, 'the handler learnt it before its own timeout');
  });

  it('does not abort a held request whose client stays', async () => {
    heldOutcomes.length = 0;
    const res = await client().post('ResolveRecipients', undefined, { params: { itemId: '300' } });
    assert.equal(res.status, 200);
    assert.deepEqual(heldOutcomes, [false]);
  });
});

describe('protocol versions', () => {
  const assertVersionRefusal = (res: EasResponse) => {
    assertRefused(res, 400);
    assert.equal(res.headers.get('ms-asprotocolversions'), SUPPORTED_VERSIONS.join(','));
  };

  it('refuses a version easd does not offer, or none, with 400 and the versions it does', async () => {
    for (const version of ['2.5', '99.0', '14.2', 'banana', null]) {
      assertVersionRefusal(await client().post('Ping', undefined, { version }));
    }
    assertVersionRefusal(await client().post('Ping', undefined, { form: 'base64', version: '2.5' }));
    assertVersionRefusal(await client().post('Ping', undefined, { form: 'base64', version: '25.5' }));
    assert.equal(calls.length, 0);
  });

  it('accepts every version it offers, in both forms', async () => {
    for (const version of SUPPORTED_VERSIONS) {
      for (const form of ['plain', 'base64'] as const) {
        calls.length = 0;
        assert.equal((await client().post('Ping', undefined, { version, form })).status, 200, `${version} ${form}`);
        assert.equal(calls[0]?.ctx.version, version);
      }
    }
  });

  it('refuses a command the version does not have: Find before 16.1, GetAttachment after 14.1, Settings in 12.0', async () => {
    assertVersionRefusal(await client().post('Find', undefined, { version: '14.1' }));
    assertVersionRefusal(await client().post('Find', undefined, { version: '16.0', form: 'base64' }));
    assertVersionRefusal(await client().post('GetAttachment', undefined, { version: '16.0', params: { attachmentName: 'x' } }));
    assertVersionRefusal(await client().post('GetAttachment', undefined, { version: '16.1', form: 'base64' }));
    assertVersionRefusal(await client().post('Settings', undefined, { version: '12.0' }));
    // Within their versions they pass the check (and are not implemented yet).
    assertRefused(await client().post('Find', undefined, { version: '16.1' }), 501);
    assertRefused(await client().post('GetAttachment', undefined, { version: '14.1', params: { attachmentName: 'x' } }), 501);
    assertRefused(await client().post('Settings', undefined, { version: '12.1' }), 501);
  });
});

describe('malformed requests', () => {
  it('refuses a missing or malformed DeviceId or DeviceType with 400', async () => {
    const q = (s: string) => client().post('Ping', undefined, { rawQuery: s });
    assertRefused(await q('Cmd=Ping&User=a&DeviceType=iPhone'), 400);
    assertRefused(await q('Cmd=Ping&User=a&DeviceId=ApplDEVICE0001'), 400);
    assertRefused(await q('Cmd=Ping&User=a&DeviceId=&DeviceType=iPhone'), 400);
    assertRefused(await q('Cmd=Ping&User=a&DeviceId=bad-id!&DeviceType=iPhone'), 400);
    assertRefused(await q(`Cmd=Ping&User=a&DeviceId=${'A'.repeat(33)}&DeviceType=iPhone`), 400);
    assertRefused(await q('Cmd=Ping&User=a&DeviceId=ApplDEVICE0001&DeviceType=i%20Phone'), 400);
    assertRefused(await q('User=a&DeviceId=ApplDEVICE0001&DeviceType=iPhone'), 400);
    assertRefused(await q(''), 400);
    // The same in the base64 form.
    // (A non-alphanumeric base64 device id is taken as binary and shown as hex, see below.)
    assertRefused(await client({ deviceId: '' }).post('Ping', undefined, { form: 'base64' }), 400);
    assertRefused(await client({ deviceId: 'A'.repeat(33) }).post('Ping', undefined, { form: 'base64' }), 400);
    const binary17 = encodeBase64Query({ version: '14.1', cmd: 'Ping', deviceId: Buffer.alloc(17, 0xff), deviceType: 'iPhone' });
    assertRefused(await q(encodeURIComponent(binary17)), 400);
    assertRefused(await client({ deviceType: '' }).post('Ping', undefined, { form: 'base64' }), 400);
    assert.equal(calls.length, 0);
  });

  it('refuses a garbage base64 query with 400', async () => {
    const q = (s: string) => client().post('Ping', undefined, { rawQuery: s });
    const valid = encodeBase64Query({ version: '14.1', cmd: 'Ping', deviceId: 'ApplDEVICE0001', deviceType: 'iPhone' });
    const bytes = Buffer.from(valid, 'base64');
    const policy3 = Buffer.concat([bytes.subarray(0, 4 + 1 + 14), Buffer.from([3, 1, 2, 3]), bytes.subarray(4 + 1 + 14 + 1)]);
    for (const raw of [
      '!!!!', // not base64
      'AAAA', // truncated: no device id
      'jBIJBA', // header only
      encodeURIComponent(bytes.subarray(0, bytes.length - 2).toString('base64')), // device type cut short
      encodeURIComponent(policy3.toString('base64')), // a 3-byte policy key
      encodeURIComponent(Buffer.concat([bytes, Buffer.from([1, 10])]).toString('base64')), // parameter longer than the query
      encodeURIComponent(Buffer.concat([bytes, Buffer.from([42, 1, 0x41])]).toString('base64')), // unknown tag
      encodeURIComponent(encodeBase64Query({ version: '14.1', cmd: 200, deviceId: 'ApplDEVICE0001', deviceType: 'iPhone' })), // unknown command code
    ]) {
      assertRefused(await q(raw), 400);
    }
    assert.equal(calls.length, 0);
  });

  it(
    'refuses a query with broken percent-encoding with 400',
    async () => {
      assertRefused(await client().post('Ping', undefined, { rawQuery: '%E0%A4%A' }), 400);
    },
  );

  it('refuses a malformed WBXML body with 400 without calling the handler', async () => {
    for (const form of ['plain', 'base64'] as const) {
      const { result, lines } = await logged(() => client().post('Ping', Buffer.from([0x03, 0x01, 0x6a, 0x00, 0x45, 0x99, 0x99]), { form }));
      assertRefused(result, 400);
      assert.match(String(lines[0]?.reason), /WBXML/);
      assertRefused(await client().post('Ping', Buffer.from('<Ping xmlns="Ping:"/>'), { form }), 400);
      assertRefused(await client().post('Ping', encodeWbxml(PING_REQUEST).subarray(0, 9), { form }), 400);
    }
    assert.equal(calls.length, 0);
  });

  it('answers 413 for a body over maxRequestBytes', async () => {
    const { result, lines } = await logged(() => client().post('Ping', Buffer.alloc(MAX_REQUEST_BYTES + 1, 0x41), { contentType: 'message/rfc822' }));
    assertRefused(result, 413);
    assert.equal(lines.length, 1);
    assert.equal(lines[0]?.httpStatus, 413);
    assert.equal(calls.length, 0);
    // A body of exactly the limit is taken.
    assert.equal((await client().post('Ping', Buffer.alloc(MAX_REQUEST_BYTES, 0x41), { contentType: 'message/rfc822' })).status, 200);
  });

  it('answers GET on the endpoint with 501 and an unknown path with 404', async () => {
    const auth = { Authorization: basicAuth(A.email, A.password) };
    const get = await fetch(`${srv.endpoint}?Cmd=Ping&User=a&DeviceId=ApplDEVICE0001&DeviceType=iPhone`, { headers: auth });
    assert.equal(get.status, 501);
    const notFound = await fetch(`${srv.url}/nope`, { method: 'POST', headers: auth });
    assert.equal(notFound.status, 404);
    const notFound2 = await fetch(`${srv.url}/Microsoft-Server-ActiveSync/extra?Cmd=Ping`, { method: 'POST', headers: auth });
    assert.equal(notFound2.status, 404);
  });

  it('finds the endpoint in any letter case and with a trailing slash', async () => {
    const lower = new EasClient({ url: srv.url + ENDPOINT.toLowerCase(), user: A.email, password: A.password, deviceId: 'ApplDEVICE0001', deviceType: 'iPhone', version: '14.1' });
    assert.equal((await lower.options()).status, 200);
    assert.equal((await lower.post('Ping')).status, 200);
    const slash = await fetch(`${srv.endpoint}/`, { method: 'OPTIONS', headers: { Authorization: basicAuth(A.email, A.password) } });
    assert.equal(slash.status, 200);
  });
});

describe('request log', () => {
  const FIELDS = ['cmd', 'user', 'deviceId', 'deviceType', 'protocolVersion', 'httpStatus', 'bytesIn', 'bytesOut', 'ms'];

  it('writes one line with every field for a handled request', async () => {
    const { result, lines, all } = await logged(() => client().post('Ping', PING_REQUEST));
    assert.equal(result.status, 200);
    assert.equal(lines.length, 1);
    assert.equal(all.filter((l) => l.msg === 'request').length, 1);
    const line = lines[0]!;
    for (const f of FIELDS) assert.ok(f in line, `request log line lacks ${f}`);
    assert.equal(line.level, 30);
    assert.equal(line.method, 'POST');
    assert.equal(line.cmd, 'Ping');
    assert.equal(line.user, A.email);
    assert.equal(line.deviceId, 'ApplDEVICE0001');
    assert.equal(line.deviceType, 'iPhone');
    assert.equal(line.protocolVersion, '14.1');
    assert.equal(line.httpStatus, 200);
    assert.equal(line.bytesIn, encodeWbxml(PING_REQUEST).length);
    assert.equal(line.bytesOut, result.body.length);
    assert.equal(typeof line.ms, 'number');
    assert.ok((line.ms as number) >= 0);
    assert.equal(line.easStatus, 1);
    assert.equal(line.echoed, 1);
  });

  it('writes the same fields for the base64 form', async () => {
    const { lines } = await logged(() => client().post('Ping', PING_REQUEST, { form: 'base64', version: '16.0' }));
    assert.equal(lines.length, 1);
    const line = lines[0]!;
    assert.equal(line.cmd, 'Ping');
    assert.equal(line.user, A.email);
    assert.equal(line.deviceId, 'ApplDEVICE0001');
    assert.equal(line.deviceType, 'iPhone');
    assert.equal(line.protocolVersion, '16.0');
    assert.equal(line.httpStatus, 200);
  });

  it('writes exactly one line for every request, whatever the outcome', async () => {
    const cases: Array<[string, () => Promise<unknown>, number, number]> = [
      ['options', () => client().options(), 200, 30],
      ['options without auth', () => client().options({ Authorization: null }), 401, 40],
      ['wrong password', () => client({ password: WRONG_PASSWORD }).post('Ping'), 401, 40],
      ['unknown command', () => client().post('Frobnicate'), 501, 40],
      ['unimplemented', () => client().post('Sync'), 501, 40],
      ['bad version', () => client().post('Ping', undefined, { version: '2.5' }), 400, 40],
      ['bad query', () => client().post('Ping', undefined, { rawQuery: '!!!!' }), 400, 40],
      ['bad wbxml', () => client().post('Ping', Buffer.from([1, 2, 3])), 400, 40],
      ['too large', () => client().post('Ping', Buffer.alloc(MAX_REQUEST_BYTES + 10)), 413, 40],
      ['get', () => fetch(srv.endpoint), 501, 40],
      ['no such path', () => fetch(`${srv.url}/whatever`, { method: 'POST' }), 404, 40],
      ['throws', () => client().post('Search'), 500, 50],
      ['ok', () => client().post('Ping'), 200, 30],
    ];
    for (const [name, fn, status, level] of cases) {
      const { lines } = await logged(fn);
      assert.equal(lines.length, 1, `${name}: ${lines.length} request log lines`);
      const line = lines[0]!;
      assert.equal(line.httpStatus, status, name);
      assert.equal(line.level, level, name);
      for (const f of ['httpStatus', 'bytesIn', 'bytesOut', 'ms']) assert.equal(typeof line[f], 'number', `${name}: ${f}`);
      if (status >= 400 && status !== 500) assert.equal(typeof line.reason, 'string', `${name}: a refusal says why`);
    }
  });

  it('names the client-supplied identity on a refused request, and the authenticated one on success', async () => {
    const refused = await logged(() => client({ password: WRONG_PASSWORD }).post('Ping'));
    assert.equal(refused.lines[0]?.user, A.email);
    assert.equal(refused.lines[0]?.deviceId, 'ApplDEVICE0001');
    assert.equal(refused.lines[0]?.cmd, 'Ping');
    const ok = await logged(() => client({ user: `DOM\\A@EXAMPLE.com` }).post('Ping'));
    assert.equal(ok.lines[0]?.user, A.email);
  });

  it('never logs a password, even at trace level with bodies', async () => {
    const from = srv.logs.length;
    await client().options();
    await client().post('Ping', PING_REQUEST);
    await client({ password: WRONG_PASSWORD }).post('Ping', PING_REQUEST);
    await client({ user: `EXAMPLE\\${B.email}`, password: B.password }).post('Ping', undefined, { form: 'base64' });
    await client({ user: B.email, password: A.password }).options();
    await client().post('Search');
    const text = JSON.stringify(srv.logs.slice(from));
    assert.ok(srv.logs.slice(from).some((l) => l.msg === 'request body'), 'trace logging is on');
    for (const secret of [A.password, B.password, WRONG_PASSWORD]) assert.ok(!text.includes(secret));
    assert.ok(!/authorization/i.test(text), 'no Authorization header in the log');
  });
});

describe('device partnership', () => {
  it('records the device with its protocol version after an authenticated POST', async () => {
    const user = srv.users.get(A.email)!;
    const phone = client({ deviceId: 'PARTNER0001', deviceType: 'SAMSUNGSMG991B', userAgent: 'Android-SAMSUNG-SM-G991B/101.10' });
    assert.equal(await srv.store.getDevice(user.id, 'PARTNER0001'), null);
    // Even a command without a handler yet (501) makes the partnership.
    assert.equal((await phone.post('FolderSync', undefined, { version: '14.1' })).status, 501);
    const first = await srv.store.getDevice(user.id, 'PARTNER0001');
    assert.ok(first);
    assert.equal(first.deviceType, 'SAMSUNGSMG991B');
    assert.equal(first.protocolVersion, '14.1');
    assert.equal(first.userAgent, 'Android-SAMSUNG-SM-G991B/101.10');
    // The next request refreshes the version.
    assert.equal((await phone.post('Ping', undefined, { version: '16.1', form: 'base64' })).status, 200);
    const second = await srv.store.getDevice(user.id, 'PARTNER0001');
    assert.equal(second?.protocolVersion, '16.1');
    assert.equal(calls[0]?.ctx.device.protocolVersion, '16.1');
    // It belongs to A only.
    assert.equal(await srv.store.getDevice(srv.users.get(B.email)!.id, 'PARTNER0001'), null);
  });

  it('records nothing for a refused request', async () => {
    const a = srv.users.get(A.email)!;
    const b = srv.users.get(B.email)!;
    await client({ deviceId: 'REFUSED0001', password: WRONG_PASSWORD }).post('Ping');
    await client({ deviceId: 'REFUSED0002' }).post('Ping', undefined, { version: '2.5' });
    await client({ deviceId: 'REFUSED0003', user: B.email, password: A.password }).post('Ping');
    await client({ deviceId: 'REFUSED0004' }).post('Frobnicate');
    for (const id of ['REFUSED0001', 'REFUSED0002', 'REFUSED0003', 'REFUSED0004']) {
      assert.equal(await srv.store.getDevice(a.id, id), null, id);
      assert.equal(await srv.store.getDevice(b.id, id), null, id);
    }
  });
});

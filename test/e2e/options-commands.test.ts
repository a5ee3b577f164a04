/**
 * OPTIONS says only what is true (issue 14 item 6; MS-ASHTTP 2.2.2.1.2.3 MS-ASProtocolCommands,
 * 2.2.2.1.2.4 MS-ASProtocolVersions): every command the server advertises is answered, in every
 * advertised protocol version that has the command (MS-ASCMD 2.2.1), by a real handler. The test
 * reads the two headers from a running server, sends each command a minimal valid request in
 * each such version, and requires an answer that is neither HTTP 501 nor the "command not
 * supported" status (MS-ASCMD 2.2.2 common status 137). A command added to the advertised list
 * without a handler fails here by name.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { commandByName } from '../../src/eas/commands.ts';
import { versionNumber, type EasVersion } from '../../src/eas/versions.ts';
import { childText, el, type WbxmlElement } from '../../src/wbxml/tree.ts';
import type { EasPostOptions, EasResponse } from '../helpers/eas-client.ts';
import { composeMail } from '../mail-out/harness.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { Device } from './device.ts';

const USER = { email: 'opt@example.com', password: 'options-walk-pw-1' };
const ANN_DER = readFileSync(join(dirname(fileURLToPath(import.meta.url)), '../fixtures/certs/ann.der'));
const NOT_SUPPORTED = 137;

const mime = (subject: string) => Buffer.from(`From: ${USER.email}\r\nTo: ${USER.email}\r\nSubject: ${subject}\r\nMIME-Version: 1.0\r\nContent-Type: text/plain\r\n\r\nhello\r\n`);

type Request = { body?: WbxmlElement | Buffer; opts?: EasPostOptions };

describe('every command OPTIONS advertises is implemented in every advertised version', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer({ users: [USER], logLevel: 'warn' });
  });
  after(async () => {
    await server?.close();
  });

  it('answers each advertised command with a real handler', async () => {
    const probe = new Device({ url: server.url, user: USER.email, password: USER.password, deviceId: 'OPTWALK0' });
    const options = await probe.client.options();
    assert.equal(options.status, 200);
    const commands = (options.headers.get('ms-asprotocolcommands') ?? '').split(',').filter(Boolean);
    const versions = (options.headers.get('ms-asprotocolversions') ?? '').split(',').filter(Boolean) as EasVersion[];
    assert.ok(commands.length > 0 && versions.length > 0);
    let sent = 0;
    for (const version of versions) {
      const v = versionNumber(version);
      const device = new Device({ url: server.url, user: USER.email, password: USER.password, deviceId: `OPTWALK${version.replace('.', '')}`, version });
      const { status: fsStatus } = await device.folderSync();
      assert.equal(fsStatus, 1, `FolderSync ${version}`);
      const inbox = device.folderByType(2).serverId;
      const deleted = device.folderByType(4).serverId;
      let created = '';
      const compose = (cmd: 'SendMail' | 'SmartReply' | 'SmartForward'): Request => {
        const source = cmd === 'SendMail' ? undefined : { folderId: inbox, itemId: `${inbox}:1` };
        if (v >= 140) return { body: composeMail(cmd, { clientId: `${cmd}-${version}`, mime: mime(cmd), saveInSent: true, ...(source ? { source } : {}) }) };
        return { body: mime(cmd), opts: { contentType: 'message/rfc822', params: { saveInSent: true, ...(source ? { itemId: source.itemId, collectionId: inbox } : {}) } } };
      };
      const requests: Record<string, () => Request> = {
        Sync: () => ({ body: el('AirSync', 'Sync', el('AirSync', 'Collections', el('AirSync', 'Collection', el('AirSync', 'SyncKey', '0'), el('AirSync', 'CollectionId', inbox)))) }),
        SendMail: () => compose('SendMail'),
        SmartForward: () => compose('SmartForward'),
        SmartReply: () => compose('SmartReply'),
        GetAttachment: () => ({ opts: { params: { attachmentName: `${inbox}:1:0` } } }),
        FolderSync: () => ({ body: el('FolderHierarchy', 'FolderSync', el('FolderHierarchy', 'SyncKey', device.folderSyncKey)) }),
        FolderCreate: () => ({ body: el('FolderHierarchy', 'FolderCreate', el('FolderHierarchy', 'SyncKey', device.folderSyncKey), el('FolderHierarchy', 'ParentId', '0'), el('FolderHierarchy', 'DisplayName', `Walk ${version}`), el('FolderHierarchy', 'Type', 12)) }),
        FolderUpdate: () => ({ body: el('FolderHierarchy', 'FolderUpdate', el('FolderHierarchy', 'SyncKey', device.folderSyncKey), el('FolderHierarchy', 'ServerId', created), el('FolderHierarchy', 'ParentId', '0'), el('FolderHierarchy', 'DisplayName', `Walked ${version}`)) }),
        FolderDelete: () => ({ body: el('FolderHierarchy', 'FolderDelete', el('FolderHierarchy', 'SyncKey', device.folderSyncKey), el('FolderHierarchy', 'ServerId', created)) }),
        MoveItems: () => ({ body: el('Move', 'MoveItems', el('Move', 'Move', el('Move', 'SrcMsgId', `${inbox}:1`), el('Move', 'SrcFldId', inbox), el('Move', 'DstFldId', deleted))) }),
        GetItemEstimate: () => ({
          body: el('GetItemEstimate', 'GetItemEstimate', el('GetItemEstimate', 'Collections', el('GetItemEstimate', 'Collection',
            v < 140 ? [el('GetItemEstimate', 'Class', 'Email'), el('GetItemEstimate', 'CollectionId', inbox), el('AirSync', 'FilterType', 0), el('AirSync', 'SyncKey', '1')] : [el('AirSync', 'SyncKey', '1'), el('GetItemEstimate', 'CollectionId', inbox)]))),
        }),
        MeetingResponse: () => ({ body: el('MeetingResponse', 'MeetingResponse', el('MeetingResponse', 'Request', el('MeetingResponse', 'UserResponse', 1), el('MeetingResponse', 'CollectionId', inbox), el('MeetingResponse', 'RequestId', `${inbox}:1`))) }),
        Search: () => ({ body: el('Search', 'Search', el('Search', 'Store', el('Search', 'Name', 'GAL'), el('Search', 'Query', 'opt'), el('Search', 'Options', el('Search', 'Range', '0-9')))) }),
        Settings: () => ({ body: el('Settings', 'Settings', el('Settings', 'UserInformation', el('Settings', 'Get'))) }),
        // An empty Ping with no earlier one is answered at once (MS-ASCMD 2.2.3.177.10 Status 3).
        Ping: () => ({}),
        ItemOperations: () => ({ body: el('ItemOperations', 'ItemOperations', el('ItemOperations', 'Fetch', el('ItemOperations', 'Store', 'Mailbox'), el('AirSync', 'CollectionId', inbox), el('AirSync', 'ServerId', `${inbox}:1`))) }),
        Provision: () => ({ body: el('Provision', 'Provision', el('Provision', 'Policies', el('Provision', 'Policy', el('Provision', 'PolicyType', v >= 121 ? 'MS-EAS-Provisioning-WBXML' : 'MS-WAP-Provisioning-XML')))) }),
        ResolveRecipients: () => ({ body: el('ResolveRecipients', 'ResolveRecipients', el('ResolveRecipients', 'To', USER.email)) }),
        ValidateCert: () => ({ body: el('ValidateCert', 'ValidateCert', el('ValidateCert', 'Certificates', el('ValidateCert', 'Certificate', ANN_DER.toString('base64')))) }),
        Find: () => ({
          body: el('Find', 'Find', el('Find', 'SearchId', 'walk-1'), el('Find', 'ExecuteSearch', el('Find', 'MailBoxSearchCriterion',
            el('Find', 'Query', el('AirSync', 'Class', 'Email'), el('AirSync', 'CollectionId', inbox), el('Find', 'FreeText', 'hello')), el('Find', 'Options', el('Find', 'Range', '0-9'))))),
        }),
      };
      // FolderUpdate and FolderDelete act on the folder FolderCreate made; each needs the newest key.
      const order = [...commands].sort((a, b) => ['FolderCreate', 'FolderUpdate', 'FolderDelete', 'Provision'].indexOf(a) - ['FolderCreate', 'FolderUpdate', 'FolderDelete', 'Provision'].indexOf(b));
      for (const name of order) {
        const info = commandByName(name);
        assert.ok(info, `${name} is advertised but easd does not know it`);
        if (v < versionNumber(info.since) || (info.until && v > versionNumber(info.until))) continue;
        const make = requests[name];
        assert.ok(make, `${name} is advertised: this test needs a minimal request for it`);
        const { body, opts } = make();
        const from = server.logs.length;
        const res: EasResponse = await device.client.post(name, body, opts ?? {});
        sent++;
        const what = `${name} in ${version}: HTTP ${res.status}`;
        assert.notEqual(res.status, 501, what);
        // GetAttachment, and before 14.0 the compose commands, have no status in a body: a refusal
        // (here: no such source item or attachment) is HTTP 500, as Exchange answers, with the
        // handler's reason in the request log, never a failure of the server itself.
        if (res.status >= 500) {
          const line = server.requestLogs(from)[0];
          assert.ok((v < 140 || name === 'GetAttachment') && typeof line?.reason === 'string' && !/not implemented/.test(line.reason), `${what} ${JSON.stringify(line)}`);
          assert.ok(!server.logs.slice(from).some((l) => (l as { msg?: string }).msg === 'request failed'), what);
        }
        const status = res.wbxml ? childText(res.wbxml, 'Status') : undefined;
        assert.notEqual(Number(status), NOT_SUPPORTED, `${what}, Status ${status}`);
        if (name === 'FolderCreate' || name === 'FolderUpdate' || name === 'FolderDelete') {
          assert.equal(status, '1', what);
          device.folderSyncKey = childText(res.wbxml!, 'SyncKey') ?? device.folderSyncKey;
          if (name === 'FolderCreate') created = childText(res.wbxml!, 'ServerId') ?? '';
        }
      }
    }
    assert.ok(sent >= commands.length, 'every command was sent at least once');
  });
});

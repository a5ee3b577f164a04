/**
 * The Settings command over HTTP against a running server (SQLite and PostgreSQL): Oof Get/Set with
 * every audience, schedule and body-type conversion, DevicePassword, DeviceInformation on the
 * device partnership, UserInformation in both forms, RightsManagementInformation, and the
 * statuses for malformed, invalid and conflicting requests.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { child, childText, children, el, type WbxmlElement } from '../../src/wbxml/tree.ts';
import { hashPassword } from '../../src/auth/password.ts';
import { pgSkipped } from '../helpers/db.ts';
import { EasClient } from '../helpers/eas-client.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

const NS = 'Settings';
const ANN = { email: 'ann@example.com', password: 'ann-password-123', displayName: 'Ann Smith' };
const s = (name: string, ...kids: Parameters<typeof el>[2][]) => el(NS, name, ...kids);

function oofMessage(audience: string, enabled: number, reply: string | null, bodyType = 'TEXT'): WbxmlElement {
  return s('OofMessage', s(audience), s('Enabled', enabled), reply === null ? null : s('ReplyMessage', reply), s('BodyType', bodyType));
}

for (const backend of ['sqlite', 'postgres'] as const) {
  describe(`Settings (${backend})`, { skip: backend === 'postgres' && pgSkipped() ? 'EASD_TEST_SKIP_PG=1' : false }, () => {
    let server: TestServer;
    let n = 0;
    const phone = (version = '16.1') =>
      new EasClient({ url: server.url, user: ANN.email, password: ANN.password, version, deviceId: `SET${backend}${++n}`, deviceType: 'TestPhone' });

    before(async () => {
      server = await startTestServer({ users: [ANN], backend, logLevel: 'warn' });
      await server.store.directory.addAlias(server.users.get(ANN.email)!.id, 'sales@example.com');
      // Password recovery is a policy choice (MS-ASPROV PasswordRecoveryEnabled, off by default).
      await server.store.devices.putPolicy('recovery', { PasswordRecoveryEnabled: true, RequireProvisioning: false });
      await server.store.devices.assignPolicy(server.users.get(ANN.email)!.id, 'recovery');
    });
    after(() => server.close());

    const settings = async (body: WbxmlElement, client = phone()) => {
      const res = await client.post('Settings', body);
      assert.equal(res.status, 200);
      const top = res.wbxml!;
      assert.equal(top.name, 'Settings');
      return top;
    };
    const status = (e: WbxmlElement | undefined) => Number(childText(e!, 'Status', NS));
    const getOof = async (bodyType = 'TEXT') => {
      const top = await settings(s('Settings', s('Oof', s('Get', s('BodyType', bodyType)))));
      const oof = child(top, 'Oof', NS)!;
      assert.equal(status(oof), 1);
      return child(oof, 'Get', NS)!;
    };
    const messages = (get: WbxmlElement) =>
      Object.fromEntries(
        children(get, 'OofMessage', NS).map((m) => [
          children(m)[0]!.name,
          { enabled: childText(m, 'Enabled', NS), reply: childText(m, 'ReplyMessage', NS), bodyType: childText(m, 'BodyType', NS) },
        ]),
      );

    it('Oof: nothing set reads as disabled with all audiences off', async () => {
      const get = await getOof();
      assert.equal(childText(get, 'OofState', NS), '0');
      assert.deepEqual(messages(get), {
        AppliesToInternal: { enabled: '0', reply: undefined, bodyType: 'Text' },
        AppliesToExternalKnown: { enabled: '0', reply: undefined, bodyType: 'Text' },
        AppliesToExternalUnknown: { enabled: '0', reply: undefined, bodyType: 'Text' },
      });
    });

    it('Oof: a scheduled Set round-trips; messages convert between Text and HTML on Get', async () => {
      const top = await settings(
        s(
          'Settings',
          s(
            'Oof',
            s(
              'Set',
              s('OofState', 2),
              s('StartTime', '2026-03-02T08:00:00.000Z'),
              s('EndTime', '2026-03-09T17:00:00.000Z'),
              oofMessage('AppliesToInternal', 1, 'Away until Monday.\nAsk Bob.'),
              oofMessage('AppliesToExternalKnown', 1, '<p>Away &amp; <b>back</b> Monday</p>', 'HTML'),
              oofMessage('AppliesToExternalUnknown', 0, 'Away.'),
            ),
          ),
        ),
      );
      assert.equal(status(top), 1);
      assert.equal(status(child(top, 'Oof', NS)), 1);
      let get = await getOof('Text');
      assert.equal(childText(get, 'OofState', NS), '2');
      assert.equal(childText(get, 'StartTime', NS), '2026-03-02T08:00:00.000Z');
      assert.equal(childText(get, 'EndTime', NS), '2026-03-09T17:00:00.000Z');
      assert.deepEqual(messages(get), {
        AppliesToInternal: { enabled: '1', reply: 'Away until Monday.\nAsk Bob.', bodyType: 'Text' },
        AppliesToExternalKnown: { enabled: '1', reply: 'Away & back Monday', bodyType: 'Text' },
        AppliesToExternalUnknown: { enabled: '0', reply: 'Away.', bodyType: 'Text' },
      });
      get = await getOof('HTML');
      assert.equal(messages(get).AppliesToInternal!.reply, 'Away until Monday.<br>\r\nAsk Bob.');
      assert.equal(messages(get).AppliesToExternalKnown!.reply, '<p>Away &amp; <b>back</b> Monday</p>');
      assert.equal(messages(get).AppliesToExternalKnown!.bodyType, 'HTML');

      // A Set changes only what it names: the state, and the external-unknown Enabled flag.
      await settings(s('Settings', s('Oof', s('Set', s('OofState', 1), s('OofMessage', s('AppliesToExternalUnknown'), s('Enabled', 1))))));
      get = await getOof();
      assert.equal(childText(get, 'OofState', NS), '1');
      assert.equal(child(get, 'StartTime', NS), undefined, 'times only with state 2');
      assert.deepEqual(messages(get).AppliesToExternalUnknown, { enabled: '1', reply: 'Away.', bodyType: 'Text' });
      assert.equal(messages(get).AppliesToInternal!.reply, 'Away until Monday.\nAsk Bob.');
      const stored = await server.store.directory.getOof(server.users.get(ANN.email)!.id);
      assert.equal(stored?.state, 'global');
      assert.equal(stored?.start, null, 'times sent with state 1 are not stored');
    });

    it('Oof: bad requests get 2, 5 or 6 and change nothing', async () => {
      const before = await server.store.directory.getOof(server.users.get(ANN.email)!.id);
      const cases: Array<[number, WbxmlElement]> = [
        [2, s('Oof')],
        [2, s('Oof', s('Set', s('OofMessage', s('Enabled', 1))))],
        [2, s('Oof', s('Set', s('OofMessage', s('AppliesToInternal'), s('AppliesToExternalKnown'), s('Enabled', 1))))],
        [5, s('Oof', s('Set', s('OofState', 3)))],
        [5, s('Oof', s('Set', s('OofState', 2), s('StartTime', 'tomorrow'), s('EndTime', '2026-03-09T17:00:00.000Z')))],
        [5, s('Oof', s('Set', oofMessage('AppliesToInternal', 2, 'x')))],
        [5, s('Oof', s('Set', oofMessage('AppliesToInternal', 1, 'x', 'RTF')))],
        [5, s('Oof', s('Get', s('BodyType', 'MIME')))],
        [6, s('Oof', s('Set', s('OofState', 2)))],
        [6, s('Oof', s('Set', s('OofState', 2), s('StartTime', '2026-03-09T17:00:00.000Z'), s('EndTime', '2026-03-02T08:00:00.000Z')))],
      ];
      for (const [expected, prop] of cases) {
        const top = await settings(s('Settings', prop));
        assert.equal(status(top), 1, 'the command itself succeeds');
        assert.equal(status(child(top, 'Oof', NS)), expected, JSON.stringify(prop).slice(0, 200));
      }
      assert.deepEqual(await server.store.directory.getOof(server.users.get(ANN.email)!.id), before);
    });

    it('DevicePassword and DeviceInformation are kept on the device partnership', async () => {
      const client = phone('14.1');
      const top = await settings(
        s(
          'Settings',
          s('DevicePassword', s('Set', s('Password', '1234-recovery'))),
          s(
            'DeviceInformation',
            s(
              'Set',
              s('Model', 'Pixel 9'),
              s('IMEI', '356938035643809'),
              s('FriendlyName', "Ann's phone"),
              s('OS', 'Android 15'),
              s('OSLanguage', 'English'),
              s('PhoneNumber', '+15550100'),
              s('UserAgent', 'Android-Mail/2026'),
              s('EnableOutboundSMS', 0),
              s('MobileOperator', 'Example Mobile'),
            ),
          ),
        ),
        client,
      );
      assert.equal(status(top), 1);
      assert.deepEqual(children(top).map((c) => [c.name, childText(c, 'Status', NS)]), [
        ['Status', undefined],
        ['DevicePassword', '1'],
        ['DeviceInformation', '1'],
      ]);
      const userId = server.users.get(ANN.email)!.id;
      const deviceId = `SET${backend}${n}`;
      const info = await server.store.getDeviceData(userId, deviceId, 'deviceInformation');
      assert.deepEqual(info, {
        Model: 'Pixel 9',
        IMEI: '356938035643809',
        FriendlyName: "Ann's phone",
        OS: 'Android 15',
        OSLanguage: 'English',
        PhoneNumber: '+15550100',
        UserAgent: 'Android-Mail/2026',
        EnableOutboundSMS: '0',
        MobileOperator: 'Example Mobile',
      });
      assert.equal((await server.store.getDeviceData(userId, deviceId, 'devicePassword'))?.password, '1234-recovery');
      const cleared = await settings(s('Settings', s('DevicePassword', s('Set', s('Password')))), client);
      assert.equal(status(child(cleared, 'DevicePassword', NS)), 1);
      assert.equal((await server.store.getDeviceData(userId, deviceId, 'devicePassword'))?.password, null, 'an empty Password clears it');

      const bad = await settings(
        s(
          'Settings',
          s('DevicePassword', s('Set')),
          s('DevicePassword', s('Set', s('Password', 'x'.repeat(256)))),
          s('DeviceInformation', s('Set', s('EnableOutboundSMS', 'yes'))),
          s('DeviceInformation', s('Get')),
        ),
        client,
      );
      assert.deepEqual(children(bad).slice(1).map((c) => childText(c, 'Status', NS)), ['2', '5', '5', '2']);
      assert.equal((await server.store.getDeviceData(userId, deviceId, 'deviceInformation'))?.Model, 'Pixel 9', 'unchanged');
    });

    it('DevicePassword is denied by policy (7) when the policy does not enable password recovery', async () => {
      const bob = await server.store.createUser({ email: 'bob@example.com', passwordHash: await hashPassword('bob-password-123') });
      const client = new EasClient({ url: server.url, user: 'bob@example.com', password: 'bob-password-123', deviceId: `SETBOB${backend}` });
      await server.store.devices.putPolicy('norecovery', { RequireProvisioning: false });
      await server.store.devices.assignPolicy(bob.id, 'norecovery');
      const top = await settings(s('Settings', s('DevicePassword', s('Set', s('Password', '9999')))), client);
      assert.equal(status(child(top, 'DevicePassword', NS)), 7);
      assert.equal(await server.store.getDeviceData(bob.id, `SETBOB${backend}`, 'devicePassword'), null);
    });

    it('UserInformation lists the addresses: EmailAddresses before 14.1, Accounts from 14.1', async () => {
      let top = await settings(s('Settings', s('UserInformation', s('Get'))), phone('14.0'));
      let ui = child(top, 'UserInformation', NS)!;
      assert.equal(status(ui), 1);
      assert.deepEqual(
        children(child(child(ui, 'Get', NS)!, 'EmailAddresses', NS)!).map((c) => [c.name, c.children[0]]),
        [
          ['SMTPAddress', 'ann@example.com'],
          ['SMTPAddress', 'sales@example.com'],
        ],
      );
      top = await settings(s('Settings', s('UserInformation', s('Get'))), phone('16.1'));
      ui = child(top, 'UserInformation', NS)!;
      const account = child(child(child(ui, 'Get', NS)!, 'Accounts', NS)!, 'Account', NS)!;
      assert.equal(childText(account, 'UserDisplayName', NS), 'Ann Smith');
      const addrs = child(account, 'EmailAddresses', NS)!;
      assert.deepEqual(children(addrs, 'SMTPAddress', NS).map((c) => c.children[0]), ['ann@example.com', 'sales@example.com']);
      assert.equal(childText(addrs, 'PrimarySmtpAddress', NS), 'ann@example.com');
    });

    it('RightsManagementInformation: no templates from 14.1; protocol error before', async () => {
      let top = await settings(s('Settings', s('RightsManagementInformation', s('Get'))), phone('14.1'));
      const rmi = child(top, 'RightsManagementInformation', NS)!;
      assert.equal(status(rmi), 1);
      const templates = child(child(rmi, 'Get', NS)!, 'RightsManagementTemplates', 'RightsManagement');
      assert.ok(templates);
      assert.equal(templates.children.length, 0);
      top = await settings(s('Settings', s('RightsManagementInformation', s('Get'))), phone('14.0'));
      assert.equal(status(child(top, 'RightsManagementInformation', NS)), 2);
    });

    it('a request with no property is Status 2', async () => {
      assert.equal(status(await settings(s('Settings'))), 2);
      assert.equal(status(await settings(el('Search', 'Search'))), 2);
    });
  });
}

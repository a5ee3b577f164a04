/**
 * The policy set (src/devices/policy.ts): defaults, parsing of admin values, the EASProvisionDoc
 * per protocol version and its WBXML encoding, refresh.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  BUILTIN_POLICY,
  EAS_SETTINGS,
  parseSetting,
  PolicyError,
  provisionDoc,
  refreshDue,
  resolvePolicy,
} from '../../src/devices/policy.ts';
import { children, decodeWbxml, encodeWbxml, toXml } from '../../src/wbxml/index.ts';

describe('policy settings', () => {
  it('has the whole MS-ASPROV 2.2.2.28 set, in schema order, each a Provision code page tag', () => {
    const names = EAS_SETTINGS.map((d) => d.name);
    assert.equal(names.length, 42);
    assert.deepEqual(names.slice(0, 4), ['DevicePasswordEnabled', 'AlphanumericDevicePasswordRequired', 'PasswordRecoveryEnabled', 'RequireStorageCardEncryption']);
    assert.deepEqual(names.slice(-6), ['AllowBrowser', 'AllowConsumerEmail', 'AllowRemoteDesktop', 'AllowInternetSharing', 'UnapprovedInROMApplicationList', 'ApprovedApplicationList']);
    // Every element encodes and decodes (a name missing from the code page would throw).
    const doc = provisionDoc(resolvePolicy('p', 1, { UnapprovedInROMApplicationList: ['Solitaire'], ApprovedApplicationList: ['00112233'] }), '16.1');
    const back = decodeWbxml(encodeWbxml(doc));
    assert.deepEqual(children(back).map((e) => e.name), names);
    assert.match(toXml(back), /<ApplicationName>Solitaire<\/ApplicationName>/);
    assert.match(toXml(back), /<Hash>00112233<\/Hash>/);
  });

  it('fills in defaults and ignores malformed stored values', () => {
    const p = resolvePolicy('p', 3, { MinDevicePasswordLength: 99, AllowCamera: 'no', DevicePasswordEnabled: true });
    assert.equal(p.settings.MinDevicePasswordLength, null);
    assert.equal(p.settings.AllowCamera, true);
    assert.equal(p.settings.DevicePasswordEnabled, true);
    assert.equal(p.settings.RequireProvisioning, true, 'a named policy requires provisioning unless told otherwise');
    assert.equal(p.settings.PolicyRefreshInterval, null, 'refresh is unlimited by default (kb-2.12)');
    assert.equal(BUILTIN_POLICY.settings.RequireProvisioning, true, 'the built-in policy does too (issue 14 item 10), with nothing else asked');
    assert.equal(BUILTIN_POLICY.settings.DevicePasswordEnabled, false);
    assert.equal(BUILTIN_POLICY.settings.AllowNonProvisionableDevices, false);
  });

  it('parses admin values and refuses bad ones', () => {
    assert.deepEqual(parseSetting('minDevicePasswordLength', '6'), { name: 'MinDevicePasswordLength', value: 6 });
    assert.deepEqual(parseSetting('AllowCamera', 'false'), { name: 'AllowCamera', value: false });
    assert.deepEqual(parseSetting('MaxAttachmentSize', 'none'), { name: 'MaxAttachmentSize', value: null });
    assert.deepEqual(parseSetting('PolicyRefreshInterval', ''), { name: 'PolicyRefreshInterval', value: null });
    assert.deepEqual(parseSetting('ApprovedApplicationList', 'aa, bb'), { name: 'ApprovedApplicationList', value: ['aa', 'bb'] });
    assert.deepEqual(parseSetting('IgnoredRefreshAction', 'Block'), { name: 'IgnoredRefreshAction', value: 'block' });
    assert.throws(() => parseSetting('MinDevicePasswordLength', '17'), PolicyError);
    assert.throws(() => parseSetting('MaxEmailBodyTruncationSize', 'none'), PolicyError);
    assert.throws(() => parseSetting('AllowCamera', 'maybe'), PolicyError);
    assert.throws(() => parseSetting('IgnoredRefreshAction', 'quarantine'), PolicyError);
    assert.throws(() => parseSetting('Nope', '1'), PolicyError);
  });

  it('sends 12.0 only the elements 12.0 has, and no limit as an empty element', () => {
    const doc = provisionDoc(resolvePolicy('p', 1, { DevicePasswordEnabled: true, MaxInactivityTimeDeviceLock: 900 }), '12.0');
    const names = children(doc).map((e) => e.name);
    assert.deepEqual(names, [
      'DevicePasswordEnabled',
      'AlphanumericDevicePasswordRequired',
      'PasswordRecoveryEnabled',
      'AttachmentsEnabled',
      'MinDevicePasswordLength',
      'MaxInactivityTimeDeviceLock',
      'MaxDevicePasswordFailedAttempts',
      'MaxAttachmentSize',
      'AllowSimpleDevicePassword',
      'DevicePasswordExpiration',
      'DevicePasswordHistory',
    ]);
    assert.match(toXml(doc), /<MaxInactivityTimeDeviceLock>900<\/MaxInactivityTimeDeviceLock>/);
    assert.match(toXml(doc), /<MaxAttachmentSize\/>/);
  });

  it('a refresh is due only with an interval, once it has passed', () => {
    const t0 = new Date('2026-01-01T00:00:00Z');
    const later = new Date(t0.getTime() + 10 * 365 * 86_400_000);
    assert.equal(refreshDue(resolvePolicy('p', 1, {}), t0, later), false);
    const hourly = resolvePolicy('p', 1, { PolicyRefreshInterval: 3600 });
    assert.equal(refreshDue(hourly, t0, new Date(t0.getTime() + 3599_000)), false);
    assert.equal(refreshDue(hourly, t0, new Date(t0.getTime() + 3600_000)), true);
  });
});

/**
 * The request URI of an ActiveSync POST in both forms (MS-ASHTTP 2.2.1.1.1): the plain query
 * decoded as application/x-www-form-urlencoded, and the base64 one laid out byte by byte.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseRequestParams, QueryError } from '../../src/http/query.ts';

const HEADERS = { 'ms-asprotocolversion': '16.1', 'x-ms-policykey': '42' };

describe('plain query form (MS-ASHTTP 2.2.1.1.1.2)', () => {
  it('reads Cmd, User, DeviceId, DeviceType and the command parameters; version and policy key from the headers', () => {
    const p = parseRequestParams('Cmd=SendMail&User=ann%40example.com&DeviceId=ABC123&DeviceType=iPhone&SaveInSent=T&ItemId=5%3A7', HEADERS);
    assert.deepEqual(p, {
      form: 'plain',
      cmd: 'SendMail',
      user: 'ann@example.com',
      deviceId: 'ABC123',
      deviceType: 'iPhone',
      protocolVersion: '16.1',
      policyKey: '42',
      attachmentName: undefined,
      collectionId: undefined,
      itemId: '5:7',
      longId: undefined,
      occurrence: undefined,
      saveInSent: true,
      acceptMultiPart: false,
    });
  });

  it('takes parameter names in any case, the first of a repeated name, and a leading "?"', () => {
    const p = parseRequestParams('?cmd=Sync&CMD=Ping&deviceid=d1&DEVICETYPE=Android&user=a&User=b&saveinsent=t', {});
    assert.equal(p.cmd, 'Sync');
    assert.equal(p.deviceId, 'd1');
    assert.equal(p.deviceType, 'Android');
    assert.equal(p.user, 'a');
    assert.equal(p.saveInSent, true);
  });

  it('decodes "+" as a space and percent escapes as UTF-8; a malformed escape stays as written', () => {
    assert.equal(parseRequestParams('Cmd=Sync&DeviceId=d&DeviceType=t&AttachmentName=a+b%2Fc%C3%A9', {}).attachmentName, 'a b/cé');
    assert.equal(parseRequestParams('Cmd=Sync&DeviceId=d&DeviceType=t&User=50%ZZ', {}).user, '50%ZZ');
    assert.equal(parseRequestParams('Cmd=Sync&DeviceId=A%42&DeviceType=t', {}).deviceId, 'AB');
  });

  it('keeps everything after the first "=" in a value; a name without "=" has an empty value', () => {
    const p = parseRequestParams('Cmd=Sync&DeviceId=d&DeviceType=t&ItemId=1=2&User&&', {});
    assert.equal(p.itemId, '1=2');
    assert.equal(p.user, '');
  });

  it('asks for multipart from the MS-ASAcceptMultiPart header (MS-ASHTTP 2.2.1.1.2.5)', () => {
    assert.equal(parseRequestParams('Cmd=ItemOperations&DeviceId=d&DeviceType=t', { 'ms-asacceptmultipart': 'T' }).acceptMultiPart, true);
    assert.equal(parseRequestParams('Cmd=ItemOperations&DeviceId=d&DeviceType=t', {}).acceptMultiPart, false);
  });

  it('refuses a query without a command, or with a missing or malformed DeviceId or DeviceType', () => {
    const refused = (q: string, message: RegExp) => assert.throws(() => parseRequestParams(q, {}), (e: unknown) => e instanceof QueryError && message.test(e.message));
    refused('', /names no command/);
    refused('DeviceId=d&DeviceType=t', /names no command/);
    refused('Cmd=&DeviceId=d&DeviceType=t', /missing Cmd/);
    refused('Cmd=Sync&DeviceType=t', /DeviceId/);
    refused('Cmd=Sync&DeviceId=has-dash&DeviceType=t', /DeviceId/);
    refused(`Cmd=Sync&DeviceId=${'a'.repeat(33)}&DeviceType=t`, /DeviceId/);
    refused('Cmd=Sync&DeviceId=d&DeviceType=', /DeviceType/);
    refused('Cmd=Sync&DeviceId=d&DeviceType=a%20b', /DeviceType/);
  });
});

describe('base64 query form (MS-ASHTTP 2.2.1.1.1.1)', () => {
  /** Version byte, command code, locale (LE), then length-prefixed fields and tagged parameters. */
  function encoded(parts: { version: number; code: number; deviceId: Buffer; policyKey?: number; deviceType: string; params?: Array<[number, Buffer]> }): string {
    const bytes: number[] = [parts.version, parts.code, 0x09, 0x04];
    bytes.push(parts.deviceId.length, ...parts.deviceId);
    if (parts.policyKey === undefined) bytes.push(0);
    else {
      const k = Buffer.alloc(4);
      k.writeUInt32LE(parts.policyKey);
      bytes.push(4, ...k);
    }
    bytes.push(parts.deviceType.length, ...Buffer.from(parts.deviceType, 'latin1'));
    for (const [tag, value] of parts.params ?? []) bytes.push(tag, value.length, ...value);
    return encodeURIComponent(Buffer.from(bytes).toString('base64'));
  }

  it('reads the version byte, command code, locale, device id, policy key, device type and parameters', () => {
    const q = encoded({
      version: 141,
      code: 0, // Sync (MS-ASHTTP 2.2.1.1.1.1.2)
      deviceId: Buffer.from('ABC123'),
      policyKey: 3942919513,
      deviceType: 'PocketPC',
      params: [
        [8, Buffer.from('ann@example.com')], // User
        [7, Buffer.from([0x03])], // Options: SaveInSent | AcceptMultiPart
      ],
    });
    const p = parseRequestParams(q, {});
    assert.equal(p.form, 'base64');
    assert.equal(p.cmd, 'Sync');
    assert.equal(p.protocolVersion, '14.1');
    assert.equal(p.locale, 0x0409);
    assert.equal(p.deviceId, 'ABC123');
    assert.equal(p.policyKey, '3942919513');
    assert.equal(p.deviceType, 'PocketPC');
    assert.equal(p.user, 'ann@example.com');
    assert.equal(p.saveInSent, true);
    assert.equal(p.acceptMultiPart, true);
  });

  it('writes a binary device id (a GUID) as hex; takes the policy key header when the field is empty', () => {
    const guid = Buffer.from('00112233445566778899aabbccddeeff', 'hex');
    const p = parseRequestParams(encoded({ version: 140, code: 18, deviceId: guid, deviceType: 'SP' }), { 'x-ms-policykey': '7' });
    assert.equal(p.cmd, 'Ping');
    assert.equal(p.deviceId, '00112233445566778899aabbccddeeff');
    assert.equal(p.policyKey, '7');
  });

  it('refuses a truncated value, an unknown command code and an unknown parameter tag', () => {
    const refused = (q: string, message: RegExp) => assert.throws(() => parseRequestParams(q, {}), (e: unknown) => e instanceof QueryError && message.test(e.message));
    refused(Buffer.from([141, 0]).toString('base64'), /truncated/);
    refused(encoded({ version: 141, code: 250, deviceId: Buffer.from('A'), deviceType: 'T' }), /unknown command code/);
    refused(encoded({ version: 141, code: 0, deviceId: Buffer.from('A'), deviceType: 'T', params: [[2, Buffer.from('x')]] }), /unknown command parameter tag/);
    refused('not base64!', /neither plain nor base64/);
  });
});

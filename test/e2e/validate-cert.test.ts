/**
 * ValidateCert (MS-ASCMD 2.2.1.22) from a device against a running server whose trust store is a
 * directory given as `--trust-store` would give it (src/cli/trust-store.ts): a root and the CRLs
 * of the root and its intermediate, made with openssl (test/helpers/pki.ts). The request carries
 * Certificates/Certificate and CertificateChain/Certificate as base64 DER and CheckCRL, the
 * elements Horde's ValidateCert handler (horde/horde framework/ActiveSync/lib/Horde/ActiveSync/
 * Request/ValidateCert.php) and grommunio-sync's SyncValidateCert read from devices. Statuses:
 * MS-ASCMD 2.2.3.177.18.
 */
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { loadTrustStore } from '../../src/cli/trust-store.ts';
import { childText, children, el, type WbxmlElement } from '../../src/wbxml/tree.ts';
import { makePki, type Pki } from '../helpers/pki.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { Device } from './device.ts';

const NS = 'ValidateCert';
const USER = { email: 'val@example.com', password: 'validate-cert-pw-1' };
const v = (name: string, ...kids: Parameters<typeof el>[2][]) => el(NS, name, ...kids);

describe('ValidateCert', () => {
  let pki: Pki;
  let server: TestServer;
  let device: Device;

  before(async () => {
    pki = makePki();
    pki.makeCa('root');
    pki.makeCa('inter', 'root');
    pki.makeCa('inter2', 'root');
    pki.issue('alice', 'inter', 'v3_smime');
    pki.issue('bob', 'inter', 'v3_smime');
    pki.issue('carol', 'inter2', 'v3_smime');
    pki.issue('expired', 'inter', 'v3_smime', { start: '20200101000000Z', end: '20210101000000Z' });
    pki.issue('web', 'inter', 'v3_server');
    pki.issue('notca', 'inter', 'v3_notca');
    pki.makeCa('stranger');
    pki.revoke('bob', 'inter');
    pki.revoke('inter2', 'root');
    const store = join(pki.dir, 'trust');
    mkdirSync(store);
    writeFileSync(join(store, 'root.pem'), pki.pem('root'));
    writeFileSync(join(store, 'crls.pem'), pki.crl('root') + pki.crl('inter') + pki.crl('inter2'));
    writeFileSync(join(store, 'README'), 'not PEM: skipped');
    const trustStore = loadTrustStore(store);
    server = await startTestServer({ users: [USER], logLevel: 'warn', services: () => ({ trustStore }) });
    device = new Device({ url: server.url, user: USER.email, password: USER.password, deviceId: 'VALCERT1', version: '16.1' });
  });
  after(async () => {
    await server?.close();
    pki?.close();
  });

  const b64 = (der: Buffer) => der.toString('base64');
  async function validate(certs: Buffer[], chain: Buffer[] = [], checkCrl?: '0' | '1', version?: string): Promise<{ status: number; certs: number[] }> {
    const body = v('ValidateCert', chain.length ? v('CertificateChain', chain.map((d) => v('Certificate', b64(d)))) : null, v('Certificates', certs.map((d) => v('Certificate', b64(d)))), checkCrl !== undefined ? v('CheckCRL', checkCrl) : null);
    const res = await device.client.post('ValidateCert', body, version ? { version } : {});
    assert.equal(res.status, 200);
    const top = res.wbxml as WbxmlElement;
    assert.equal(top.name, 'ValidateCert');
    return { status: Number(childText(top, 'Status', NS)), certs: children(top, 'Certificate', NS).map((c) => Number(childText(c, 'Status', NS))) };
  }

  it('validates an S/MIME certificate with its chain to a trusted root, on 12.1 and 16.1', async () => {
    for (const version of ['12.1', '14.1', '16.1']) {
      assert.deepEqual(await validate([pki.der('alice')], [pki.der('inter')], undefined, version), { status: 1, certs: [1] }, version);
    }
    assert.deepEqual(await validate([pki.der('alice')], [pki.der('inter'), pki.der('root')], '0'), { status: 1, certs: [1] });
  });

  it('answers each certificate in request order with its own status', async () => {
    const tampered = Buffer.from(pki.der('alice'));
    tampered.writeUInt8(tampered.readUInt8(tampered.length - 1) ^ 0x55, tampered.length - 1);
    const r = await validate(
      [pki.der('alice'), pki.der('expired'), pki.der('web'), pki.der('stranger'), tampered, Buffer.from('not a certificate')],
      [pki.der('inter')],
    );
    // 1 valid, 7 expired, 6 not for e-mail, 4 untrusted root, 3 bad signature, 10 not a certificate.
    assert.deepEqual(r, { status: 1, certs: [1, 7, 6, 4, 3, 10] });
  });

  it('answers 5 when an issuer is missing and 9 when an issuer is not a CA', async () => {
    assert.deepEqual((await validate([pki.der('alice')])).certs, [5]);
    // A leaf signed with the key of "notca", an end-entity certificate (basicConstraints CA:FALSE).
    pki.actAsCa('notca');
    pki.issue('dave', 'notca', 'v3_smime');
    assert.deepEqual((await validate([pki.der('dave')], [pki.der('notca'), pki.der('inter')])).certs, [9]);
  });

  it('CheckCRL: a revoked certificate is 13, one under a revoked intermediate 15, a good one 1', async () => {
    const r = await validate([pki.der('alice'), pki.der('bob'), pki.der('carol')], [pki.der('inter'), pki.der('inter2')], '1');
    assert.deepEqual(r, { status: 1, certs: [1, 13, 15] });
    // Without CheckCRL the revocation status is not asked for.
    assert.deepEqual((await validate([pki.der('bob')], [pki.der('inter')], '0')).certs, [1]);
  });

  it('answers a request without certificates or with a bad CheckCRL with Status 2', async () => {
    for (const body of [v('ValidateCert'), v('ValidateCert', v('Certificates')), v('ValidateCert', v('Certificates', v('Certificate', b64(pki.der('alice')))), v('CheckCRL', '7'))]) {
      const res = await device.client.post('ValidateCert', body);
      assert.equal(res.status, 200);
      assert.equal(childText(res.wbxml!, 'Status', NS), '2');
      assert.equal(children(res.wbxml!, 'Certificate', NS).length, 0);
    }
  });
});

/**
 * The chain checks of ValidateCert (src/directory/validate-chain.ts) without a server: CheckCRL
 * with no CRL from an issuer is "revocation status cannot be determined" (MS-ASCMD 2.2.3.177.18
 * Status 16), never success; an issuer outside its validity dates is 8; an out-of-date CRL
 * counts as none. Certificates and CRLs are made with openssl (test/helpers/pki.ts).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { X509Certificate } from 'node:crypto';
import { parseCrl } from '../../src/directory/crl.ts';
import { trustStoreFrom, validateCertificate, ValidateCertStatus } from '../../src/directory/validate-chain.ts';
import { makePki, type Pki } from '../helpers/pki.ts';

describe('validateCertificate', () => {
  let pki: Pki;
  before(() => {
    pki = makePki();
    pki.makeCa('root');
    pki.makeCa('inter', 'root');
    pki.issue('alice', 'inter', 'v3_smime');
    pki.revoke('alice', 'inter');
  });
  after(() => pki?.close());

  it('answers 16 for CheckCRL when the store has no CRL of an issuer, and 1 without CheckCRL', () => {
    const trust = trustStoreFrom([{ source: 'root.pem', text: pki.pem('root') }]);
    const now = new Date();
    assert.equal(validateCertificate(pki.der('alice'), [pki.der('inter')], trust, { now, checkCrl: true }), ValidateCertStatus.RevocationUnknown);
    assert.equal(validateCertificate(pki.der('alice'), [pki.der('inter')], trust, { now, checkCrl: false }), ValidateCertStatus.Success);
    // Only the root's CRL: the intermediate is checked, alice's issuer has none.
    const rootOnly = trustStoreFrom([{ source: 'x', text: pki.pem('root') + pki.crl('root') }]);
    assert.equal(validateCertificate(pki.der('alice'), [pki.der('inter')], rootOnly, { now, checkCrl: true }), ValidateCertStatus.RevocationUnknown);
  });

  it('reads the CRL of the issuer and finds the revoked serial; a CRL past its nextUpdate counts as none', () => {
    const crlPem = pki.crl('inter');
    const crl = parseCrl(Buffer.from(crlPem.replace(/-----[^-]+-----|\s+/g, ''), 'base64'));
    assert.ok(crl.revoked.has(new X509Certificate(pki.pem('alice')).serialNumber.toUpperCase().replace(/^0+/, '')));
    const trust = trustStoreFrom([{ source: 'x', text: pki.pem('root') + pki.crl('root') + crlPem }]);
    assert.equal(validateCertificate(pki.der('alice'), [pki.der('inter')], trust, { now: new Date(), checkCrl: true }), ValidateCertStatus.Revoked);
    const later = new Date(Date.now() + 60 * 86_400_000); // default_crl_days is 30
    assert.equal(validateCertificate(pki.der('alice'), [pki.der('inter')], trust, { now: later, checkCrl: true }), ValidateCertStatus.RevocationUnknown);
  });

  it('answers 8 when an issuer is outside its validity dates and 7 for the certificate itself', () => {
    const trust = trustStoreFrom([{ source: 'root.pem', text: pki.pem('root') }]);
    pki.issue('short', 'inter', 'v3_smime', { start: '20200101000000Z', end: '20990101000000Z' });
    const inter = new X509Certificate(pki.pem('inter'));
    const afterInter = new Date(new Date(inter.validTo).getTime() + 86_400_000);
    assert.equal(validateCertificate(pki.der('short'), [pki.der('inter')], trust, { now: afterInter, checkCrl: false }), ValidateCertStatus.ChainDates);
    assert.equal(validateCertificate(pki.der('short'), [pki.der('inter')], trust, { now: new Date('2019-06-01T00:00:00Z'), checkCrl: false }), ValidateCertStatus.Expired);
  });

  it('refuses a trust store block that does not parse, naming the file', () => {
    assert.throws(() => trustStoreFrom([{ source: 'bad.pem', text: '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n' }]), /bad\.pem/);
  });
});

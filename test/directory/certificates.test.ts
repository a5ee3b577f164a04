/**
 * S/MIME certificates in the directory: the store contract (addCertificate, listCertificates,
 * removeCertificates; SQLite and PostgreSQL), reading PEM/DER files, and the Certificates element
 * of ResolveRecipients (src/directory/certificates.ts). Fixtures: test/fixtures/certs/ (make.sh).
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { certificatesElement, describeCertificate, isCurrent, parseCertificateFile } from '../../src/directory/certificates.ts';
import { MAX_CERTIFICATE_BYTES, MAX_CERTIFICATES_PER_USER } from '../../src/store/directory-types.ts';
import { StoreError, type Store, type StoreErrorCode } from '../../src/store/types.ts';
import { child, childText, children, text } from '../../src/wbxml/tree.ts';
import { openTempPostgresStore, openTempSqliteStore, pgSkipped, type TestStore, withTempStore } from '../helpers/db.ts';

const CERTS = join(dirname(fileURLToPath(import.meta.url)), '../fixtures/certs');
const fixture = (name: string) => readFileSync(join(CERTS, name));
const ANN_DER = fixture('ann.der');
const [ANN2_DER, BOB_DER] = parseCertificateFile(fixture('two.pem'));
const EXPIRED_DER = parseCertificateFile(fixture('expired.pem'))[0]!;
const NS = 'ResolveRecipients';
/** The fixtures are valid from when make.sh ran for 100 years. */
const NOW = new Date();
const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

async function rejectsWith(p: Promise<unknown>, code: StoreErrorCode): Promise<void> {
  await assert.rejects(p, (err: unknown) => {
    assert.ok(err instanceof StoreError, `expected StoreError, got ${String(err)}`);
    assert.equal(err.code, code);
    return true;
  });
}

describe('certificate files', () => {
  it('reads PEM with one or several certificates and DER; the DER bytes are kept', () => {
    const fromPem = parseCertificateFile(fixture('ann.pem'));
    assert.equal(fromPem.length, 1);
    assert.deepEqual(fromPem[0], ANN_DER, 'PEM and DER of one certificate give the same bytes');
    assert.deepEqual(parseCertificateFile(ANN_DER), [ANN_DER]);
    const two = parseCertificateFile(fixture('two.pem'));
    assert.equal(two.length, 2);
    assert.notDeepEqual(two[0], two[1]);
  });

  it('refuses garbage, a truncated certificate, a private key block and an empty PEM', () => {
    assert.throws(() => parseCertificateFile(Buffer.from('hello world'), 'x.txt'), /x\.txt is not an X\.509 certificate/);
    assert.throws(() => parseCertificateFile(ANN_DER.subarray(0, 100), 'cut.der'), /not an X\.509 certificate/);
    const key = Buffer.from('-----BEGIN PRIVATE KEY-----\nMIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg\n-----END PRIVATE KEY-----\n');
    assert.throws(() => parseCertificateFile(Buffer.concat([fixture('ann.pem'), key]), 'k.pem'), /PRIVATE KEY block; give only certificates/);
    assert.throws(() => parseCertificateFile(Buffer.from('-----BEGIN CERTIFICATE-----\nAAAA\n'), 'half.pem'), /no complete PEM certificate/);
    assert.throws(() => parseCertificateFile(Buffer.from('-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n'), 'bad.pem'), /bad\.pem is not an X\.509/);
  });

  it('describes subject, issuer, serial, dates and the SHA-256 fingerprint; tells expired from current', () => {
    const d = describeCertificate(ANN_DER);
    assert.match(d.subject, /CN=Ann Smith/);
    assert.match(d.subject, /emailAddress=ann@example\.com/);
    assert.equal(d.issuer, d.subject, 'self-signed');
    assert.match(d.serialNumber, /^[0-9A-F]+$/);
    assert.equal(d.fingerprint, sha256(ANN_DER));
    assert.ok(d.notAfter.getTime() > NOW.getTime());
    const old = describeCertificate(EXPIRED_DER);
    assert.equal(old.notAfter.toISOString(), '2021-01-01T00:00:00.000Z');
    assert.equal(isCurrent(ANN_DER, NOW), true);
    assert.equal(isCurrent(EXPIRED_DER, NOW), false);
    assert.equal(isCurrent(EXPIRED_DER, new Date('2020-06-01T00:00:00Z')), true);
    assert.equal(isCurrent(ANN_DER, new Date('2000-01-01T00:00:00Z')), false, 'not yet valid');
  });
});

describe('Certificates element (MS-ASCMD 2.2.3.23.1)', () => {
  const parts = (e: ReturnType<typeof certificatesElement>) => ({
    status: Number(childText(e, 'Status', NS)),
    count: Number(childText(e, 'CertificateCount', NS)),
    recipients: childText(e, 'RecipientCount', NS),
    all: children(e, 'Certificate', NS),
    certs: children(e, 'Certificate', NS).map((c) => Buffer.from(text(c) ?? '', 'base64')),
  });

  it('full: every current certificate as base64 DER, expired ones left out', () => {
    const e = certificatesElement([ANN_DER, EXPIRED_DER, ANN2_DER!], 2, NOW, {});
    const p = parts(e);
    assert.equal(p.status, 1);
    assert.equal(p.count, 2);
    assert.equal(p.recipients, '1');
    assert.deepEqual(p.certs, [ANN_DER, ANN2_DER]);
  });

  it('none, or only expired: Status 7 with CertificateCount 0', () => {
    for (const ders of [[], [EXPIRED_DER]]) {
      const p = parts(certificatesElement(ders, 2, NOW, {}));
      assert.equal(p.status, 7);
      assert.equal(p.count, 0);
      assert.equal(p.all.length, 0);
    }
  });

  it('MaxCertificates: a recipient that does not fit whole gets none, Status 8 and its count; the budget is shared', () => {
    const budget = { left: 2 };
    const first = parts(certificatesElement([BOB_DER!], 2, NOW, budget));
    assert.equal(first.status, 1);
    assert.equal(budget.left, 1);
    const second = parts(certificatesElement([ANN_DER, ANN2_DER!], 2, NOW, budget));
    assert.equal(second.status, 8);
    assert.equal(second.count, 2, 'the number not returned');
    assert.equal(second.all.length, 0);
    assert.equal(budget.left, 1, 'nothing spent on a recipient that did not fit');
    assert.equal(parts(certificatesElement([ANN_DER], 2, NOW, budget)).status, 1);
    assert.equal(parts(certificatesElement([ANN_DER], 2, NOW, { left: 0 })).status, 8);
  });

  it('mini certificates (format unpublished): Status 7, no MiniCertificate', () => {
    const e = certificatesElement([ANN_DER], 3, NOW, {});
    assert.equal(Number(childText(e, 'Status', NS)), 7);
    assert.equal(child(e, 'MiniCertificate', NS), undefined);
  });
});

function contract(name: string, open: () => Promise<TestStore>): void {
  describe(`certificate store (${name})`, { skip: name === 'postgres' && pgSkipped() ? 'EASD_TEST_SKIP_PG=1' : false }, () => {
    const withStore = (fn: (store: Store) => Promise<void>) => withTempStore(open, fn);

    it('adds, lists oldest first with the bytes unchanged, ignores a repeat, keeps users apart, removes', () =>
      withStore(async (store) => {
        const ann = await store.createUser({ email: 'ann@example.com', passwordHash: 'h' });
        const bob = await store.createUser({ email: 'bob@example.com', passwordHash: 'h' });
        assert.deepEqual(await store.directory.listCertificates(ann.id), []);
        assert.equal(await store.directory.addCertificate(ann.id, ANN_DER), true);
        assert.equal(await store.directory.addCertificate(ann.id, ANN2_DER!), true);
        assert.equal(await store.directory.addCertificate(ann.id, ANN_DER), false, 'the same certificate again');
        assert.equal(await store.directory.addCertificate(bob.id, ANN_DER), true, 'another user may hold the same certificate');
        const list = await store.directory.listCertificates(ann.id);
        assert.equal(list.length, 2);
        const byFp = new Map(list.map((c) => [c.fingerprint, c]));
        assert.deepEqual(byFp.get(sha256(ANN_DER))?.der, ANN_DER);
        assert.deepEqual(byFp.get(sha256(ANN2_DER!))?.der, ANN2_DER);
        assert.ok(Buffer.isBuffer(list[0]!.der));
        assert.ok(list[0]!.createdAt instanceof Date);
        assert.equal(await store.directory.removeCertificates(ann.id), 2);
        assert.deepEqual(await store.directory.listCertificates(ann.id), []);
        assert.equal((await store.directory.listCertificates(bob.id)).length, 1, "another user's are kept");
        assert.equal(await store.directory.removeCertificates(ann.id), 0);
      }));

    it('refuses empty, oversized, too many and an unknown user; the user going takes the certificates along', () =>
      withStore(async (store) => {
        const ann = await store.createUser({ email: 'ann@example.com', passwordHash: 'h' });
        await rejectsWith(store.directory.addCertificate(ann.id, Buffer.alloc(0)), 'invalid');
        await rejectsWith(store.directory.addCertificate(ann.id, Buffer.alloc(MAX_CERTIFICATE_BYTES + 1, 1)), 'invalid');
        await rejectsWith(store.directory.addCertificate('nobody', ANN_DER), 'not_found');
        // The store keeps bytes; checking them is the caller's. Fill up to the limit with distinct blobs.
        for (let i = 0; i < MAX_CERTIFICATES_PER_USER; i++) assert.equal(await store.directory.addCertificate(ann.id, Buffer.from(`cert ${i}`)), true);
        await rejectsWith(store.directory.addCertificate(ann.id, ANN_DER), 'invalid');
        assert.equal(await store.directory.addCertificate(ann.id, Buffer.from('cert 0')), false, 'a repeat at the limit is not an error');
        const bob = await store.createUser({ email: 'bob@example.com', passwordHash: 'h' });
        await store.directory.addCertificate(bob.id, BOB_DER!);
        await store.deleteUser(bob.id);
        assert.deepEqual(await store.directory.listCertificates(bob.id), []);
        const again = await store.createUser({ email: 'bob@example.com', passwordHash: 'h' });
        assert.deepEqual(await store.directory.listCertificates(again.id), []);
      }));
  });
}

contract('sqlite', () => openTempSqliteStore());
contract('postgres', () => openTempPostgresStore());

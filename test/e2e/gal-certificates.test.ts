/**
 * S/MIME certificates through ResolveRecipients (MS-ASCMD 2.2.1.15, 2.2.3.23.1) from a device
 * against a running server, SQLite and PostgreSQL: stored certificates come back byte for byte,
 * expired ones never, MaxCertificates bounds the whole response (Status 8 with the count not
 * returned), a user without one gets Status 7, and mini certificates answer 7 (their format is
 * unpublished). Fixtures: test/fixtures/certs/ (make.sh).
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parseCertificateFile } from '../../src/directory/certificates.ts';
import { ensureDefaultFolders } from '../helpers/default-folders.ts';
import { child, childText, children, el, text, type WbxmlElement } from '../../src/wbxml/tree.ts';
import { pgSkipped } from '../helpers/db.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { Device } from './device.ts';

const NS = 'ResolveRecipients';
const CERTS = join(dirname(fileURLToPath(import.meta.url)), '../fixtures/certs');
const ANN_DER = readFileSync(join(CERTS, 'ann.der'));
const BOB_DERS = parseCertificateFile(readFileSync(join(CERTS, 'two.pem')));
const EXPIRED_DER = parseCertificateFile(readFileSync(join(CERTS, 'expired.pem')))[0]!;

const ANN = { email: 'ann@example.com', password: 'ann-password-123', displayName: 'Ann Smith' };
const BOB = { email: 'bob@example.com', password: 'bob-password-123', displayName: 'Bob Smithers' };
const CAT = { email: 'cat@example.com', password: 'cat-password-123', displayName: 'Cat Jones' };
const DAN = { email: 'dan@example.com', password: 'dan-password-123', displayName: 'Dan Old' };

const r = (name: string, ...kids: Parameters<typeof el>[2][]) => el(NS, name, ...kids);
const sortBuffers = (list: Buffer[]) => [...list].sort(Buffer.compare);

interface Certs {
  status: number;
  count: number;
  recipientCount: string | undefined;
  ders: Buffer[];
  mini: number;
}

for (const backend of ['sqlite', 'postgres'] as const) {
  describe(`ResolveRecipients certificates (${backend})`, { skip: backend === 'postgres' && pgSkipped() ? 'EASD_TEST_SKIP_PG=1' : false }, () => {
    let server: TestServer;
    let device: Device;

    before(async () => {
      server = await startTestServer({ users: [ANN, BOB, CAT, DAN], backend, logLevel: 'warn' });
      const id = (u: { email: string }) => server.users.get(u.email)!.id;
      await server.store.directory.addCertificate(id(ANN), ANN_DER);
      for (const der of BOB_DERS) await server.store.directory.addCertificate(id(BOB), der);
      await server.store.directory.addCertificate(id(BOB), EXPIRED_DER);
      await server.store.directory.addCertificate(id(DAN), EXPIRED_DER);
      await server.store.directory.addAlias(id(BOB), 'support@example.com');
      // Cat's contacts: Bob under a name the GAL does not know him by, and an outside partner.
      const contacts = (await ensureDefaultFolders(server.store, id(CAT))).find((f) => f.type === 9)!;
      await server.store.putItem({ userId: id(CAT), folderId: contacts.id, class: 'Contacts', data: { firstName: 'Robert', lastName: 'Builder', email1Address: 'Bob@Example.com' } });
      await server.store.putItem({ userId: id(CAT), folderId: contacts.id, class: 'Contacts', data: { firstName: 'Zed', lastName: 'Partner', email1Address: 'zed@partner.example' } });
      device = new Device({ url: server.url, user: CAT.email, password: CAT.password, version: '16.1', deviceId: `CERT${backend}` });
    });
    after(() => server.close());

    /** Each To's recipients' Certificates, in request order. */
    const resolve = async (tos: string[], options: WbxmlElement[]): Promise<Certs[][]> => {
      const res = await device.client.post('ResolveRecipients', r('ResolveRecipients', ...tos.map((t) => r('To', t)), r('Options', ...options)));
      assert.equal(res.status, 200);
      const top = res.wbxml!;
      assert.equal(childText(top, 'Status', NS), '1');
      return children(top, 'Response', NS).map((resp) =>
        children(resp, 'Recipient', NS).map((rec) => {
          const c = child(rec, 'Certificates', NS);
          assert.ok(c, 'Certificates asked for, so present');
          return {
            status: Number(childText(c, 'Status', NS)),
            count: Number(childText(c, 'CertificateCount', NS)),
            recipientCount: childText(c, 'RecipientCount', NS),
            ders: children(c, 'Certificate', NS).map((x) => Buffer.from(text(x) ?? '', 'base64')),
            mini: children(c, 'MiniCertificate', NS).length,
          };
        }),
      );
    };

    it("a user's stored certificates come back byte for byte, the expired one left out; by address, alias or name", async () => {
      const out = await resolve(['bob@example.com', 'support@example.com', 'Bob Smithers', 'ann@example.com'], [r('CertificateRetrieval', 2)]);
      for (const [bob] of out.slice(0, 3)) {
        assert.equal(bob!.status, 1);
        assert.equal(bob!.count, 2, 'two current certificates; the expired one is not counted');
        assert.equal(bob!.recipientCount, '1');
        assert.deepEqual(sortBuffers(bob!.ders), sortBuffers(BOB_DERS));
      }
      const [ann] = out[3]!;
      assert.equal(ann!.status, 1);
      assert.deepEqual(ann!.ders, [ANN_DER]);
    });

    it("a contact (Type 2) whose address is a user's gets that user's certificates", async () => {
      const res = await device.client.post('ResolveRecipients', r('ResolveRecipients', r('To', 'Robert'), r('Options', r('CertificateRetrieval', 2))));
      const rec = child(child(res.wbxml!, 'Response', NS)!, 'Recipient', NS)!;
      assert.equal(childText(rec, 'Type', NS), '2');
      const certs = child(rec, 'Certificates', NS)!;
      assert.equal(childText(certs, 'Status', NS), '1');
      assert.deepEqual(sortBuffers(children(certs, 'Certificate', NS).map((x) => Buffer.from(text(x) ?? '', 'base64'))), sortBuffers(BOB_DERS));
    });

    it('a user without a certificate, or with only an expired one, and an outside contact: Status 7, CertificateCount 0', async () => {
      const out = await resolve(['cat@example.com', 'dan@example.com', 'zed@partner.example'], [r('CertificateRetrieval', 2)]);
      assert.equal(out.length, 3);
      for (const [x] of out) {
        assert.equal(x!.status, 7);
        assert.equal(x!.count, 0);
        assert.equal(x!.ders.length, 0);
      }
    });

    it('MaxCertificates bounds the whole response; a recipient that does not fit gets none, Status 8 and its count', async () => {
      let out = await resolve(['bob@example.com', 'ann@example.com'], [r('CertificateRetrieval', 2), r('MaxCertificates', 2)]);
      assert.equal(out[0]![0]!.status, 1);
      assert.equal(out[0]![0]!.ders.length, 2);
      assert.equal(out[1]![0]!.status, 8);
      assert.equal(out[1]![0]!.count, 1, 'the number not returned');
      assert.equal(out[1]![0]!.ders.length, 0);

      out = await resolve(['bob@example.com', 'ann@example.com'], [r('CertificateRetrieval', 2), r('MaxCertificates', 1)]);
      assert.equal(out[0]![0]!.status, 8, 'never an incomplete set');
      assert.equal(out[0]![0]!.count, 2);
      assert.equal(out[0]![0]!.ders.length, 0);
      assert.equal(out[1]![0]!.status, 1, 'the next recipient that fits still gets its own');
      assert.deepEqual(out[1]![0]!.ders, [ANN_DER]);

      out = await resolve(['bob@example.com', 'ann@example.com'], [r('CertificateRetrieval', 2), r('MaxCertificates', 0)]);
      assert.deepEqual(out.map(([x]) => [x!.status, x!.count, x!.ders.length]), [[8, 2, 0], [8, 1, 0]]);

      out = await resolve(['bob@example.com', 'ann@example.com'], [r('CertificateRetrieval', 2), r('MaxCertificates', 3)]);
      const returned = out.reduce((n, [x]) => n + x!.ders.length, 0);
      assert.equal(returned, 3);
    });

    it('mini certificates: Status 7 and no MiniCertificate, since the BLOB format is unpublished', async () => {
      const [[bob]] = (await resolve(['bob@example.com'], [r('CertificateRetrieval', 3)])) as [[Certs]];
      assert.equal(bob.status, 7);
      assert.equal(bob.mini, 0);
      assert.equal(bob.ders.length, 0);
    });

    it('CertificateRetrieval 1 or absent: no Certificates element', async () => {
      for (const options of [[r('CertificateRetrieval', 1)], []]) {
        const res = await device.client.post('ResolveRecipients', r('ResolveRecipients', r('To', 'bob@example.com'), options.length ? r('Options', ...options) : null));
        const rec = child(child(res.wbxml!, 'Response', NS)!, 'Recipient', NS)!;
        assert.equal(child(rec, 'Certificates', NS), undefined);
      }
    });
  });
}

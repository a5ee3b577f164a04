/**
 * ResolveRecipients over HTTP against a running server (SQLite, PostgreSQL and the in-memory
 * mailbox, which keeps the contacts): exact addresses and aliases, ambiguous names, not found,
 * certificates (none stored), availability (in short; see gal-availability.test.ts), pictures
 * (14.1+) and malformed requests.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { child, childText, children, el, type WbxmlElement } from '../../src/wbxml/tree.ts';
import { ensureDefaultFolders } from '../helpers/default-folders.ts';
import { pgSkipped } from '../helpers/db.ts';
import { EasClient } from '../helpers/eas-client.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

const NS = 'ResolveRecipients';
const ANN = { email: 'ann@example.com', password: 'ann-password-123', displayName: 'Ann Smith' };
const BOB = { email: 'bob@example.com', password: 'bob-password-123', displayName: 'Bob Smithers' };
const CAT = { email: 'cat@example.com', password: 'cat-password-123', displayName: 'Cat Smitt' };
const PIC = Buffer.from('ffd8ffe000104a464946', 'hex');

const r = (name: string, ...kids: Parameters<typeof el>[2][]) => el(NS, name, ...kids);

interface Resp {
  to: string;
  status: number;
  count: number;
  recipients: WbxmlElement[];
}

for (const backend of ['sqlite', 'postgres', 'memory'] as const) {
  describe(`ResolveRecipients (${backend})`, { skip: backend === 'postgres' && pgSkipped() ? 'EASD_TEST_SKIP_PG=1' : false }, () => {
    let server: TestServer;
    const phone = (version = '16.1') => new EasClient({ url: server.url, user: ANN.email, password: ANN.password, version, deviceId: `RR${backend}${version.replace('.', '')}` });

    before(async () => {
      server = await startTestServer({ users: [ANN, BOB, CAT], backend, logLevel: 'warn' });
      const bob = server.users.get(BOB.email)!;
      await server.store.directory.addAlias(bob.id, 'support@example.com');
      await server.store.directory.setPicture(bob.id, PIC);
      // Ann's own contacts: an outside partner (with a picture), and a copy of Bob.
      const ann = server.users.get(ANN.email)!;
      const contacts = (await ensureDefaultFolders(server.store, ann.id)).find((f) => f.type === 9)!;
      await server.store.putItem({ userId: ann.id, folderId: contacts.id, class: 'Contacts', data: { firstName: 'Zoe', lastName: 'Partner', fileAs: 'Partner, Zoe', email1Address: '"Zoe" <Zoe@Partner.example>', picture: PIC.toString('base64') } });
      await server.store.putItem({ userId: ann.id, folderId: contacts.id, class: 'Contacts', data: { firstName: 'Bob', lastName: 'Smithers', email1Address: 'bob@example.com' } });
      await server.store.putItem({ userId: ann.id, folderId: contacts.id, class: 'Contacts', data: { firstName: 'No', lastName: 'Address' } });
    });
    after(() => server.close());

    const resolve = async (body: WbxmlElement, version = '16.1') => {
      const res = await phone(version).post('ResolveRecipients', body);
      assert.equal(res.status, 200);
      const top = res.wbxml!;
      assert.equal(top.name, 'ResolveRecipients');
      const responses: Resp[] = children(top, 'Response', NS).map((resp) => ({
        to: childText(resp, 'To', NS)!,
        status: Number(childText(resp, 'Status', NS)),
        count: Number(childText(resp, 'RecipientCount', NS)),
        recipients: children(resp, 'Recipient', NS),
      }));
      return { status: Number(childText(top, 'Status', NS)), responses };
    };

    it('resolves an address, an alias and a unique name; reports ambiguous and unknown names', async () => {
      const out = await resolve(r('ResolveRecipients', r('To', 'Bob@Example.com'), r('To', 'support@example.com'), r('To', 'bob'), r('To', 'smi'), r('To', 'nobody')));
      assert.equal(out.status, 1);
      const [byAddress, byAlias, byName, ambiguous, unknown] = out.responses;
      for (const one of [byAddress!, byAlias!, byName!]) {
        assert.equal(one.status, 1);
        assert.equal(one.count, 1);
        const rec = one.recipients[0]!;
        assert.equal(childText(rec, 'Type', NS), '1');
        assert.equal(childText(rec, 'DisplayName', NS), 'Bob Smithers');
        assert.equal(childText(rec, 'EmailAddress', NS), 'bob@example.com');
        assert.equal(child(rec, 'Certificates', NS), undefined, 'no certificates unless asked');
      }
      assert.equal(byAddress!.to, 'Bob@Example.com', 'To is echoed as sent');
      assert.equal(ambiguous!.status, 2);
      assert.equal(ambiguous!.count, 3);
      assert.deepEqual(ambiguous!.recipients.map((x) => childText(x, 'EmailAddress', NS)), ['ann@example.com', 'bob@example.com', 'cat@example.com']);
      assert.equal(unknown!.status, 4);
      assert.equal(unknown!.count, 0);
    });

    it("the user's contacts resolve as Type 2; a contact that is a directory user is listed once, as the user", async () => {
      const out = await resolve(r('ResolveRecipients', r('To', 'zoe'), r('To', 'zoe@partner.example'), r('To', 'bob'), r('To', 'address'), r('Options', r('Picture'))));
      for (const one of out.responses.slice(0, 2)) {
        assert.equal(one.status, 1);
        const rec = one.recipients[0]!;
        assert.equal(childText(rec, 'Type', NS), '2');
        assert.equal(childText(rec, 'DisplayName', NS), 'Partner, Zoe');
        assert.equal(childText(rec, 'EmailAddress', NS), 'zoe@partner.example');
        assert.equal(childText(child(rec, 'Picture', NS)!, 'Data', NS), PIC.toString('base64'));
      }
      assert.equal(out.responses[2]!.status, 1);
      assert.equal(childText(out.responses[2]!.recipients[0]!, 'Type', NS), '1');
      assert.equal(out.responses[3]!.status, 4, 'a contact without an address is no recipient');
    });

    it('MaxAmbiguousRecipients cuts suggestions with Status 3', async () => {
      const out = await resolve(r('ResolveRecipients', r('To', 'smi'), r('Options', r('MaxAmbiguousRecipients', 2))));
      assert.equal(out.responses[0]!.status, 3);
      assert.equal(out.responses[0]!.count, 2);
    });

    it('certificates: none stored, so Status 7 with CertificateCount 0', async () => {
      for (const retrieval of [2, 3]) {
        const out = await resolve(r('ResolveRecipients', r('To', 'bob@example.com'), r('Options', r('CertificateRetrieval', retrieval), r('MaxCertificates', 5))));
        const certs = child(out.responses[0]!.recipients[0]!, 'Certificates', NS)!;
        assert.equal(childText(certs, 'Status', NS), '7');
        assert.equal(childText(certs, 'CertificateCount', NS), '0');
        assert.equal(children(certs, 'Certificate', NS).length, 0);
      }
    });

    it('availability: free/busy for a user, 163 for an outside contact, none on ambiguous results (details: gal-availability.test.ts)', async () => {
      const options = r('Options', r('Availability', r('StartTime', '2026-03-02T08:00:00.000Z'), r('EndTime', '2026-03-02T18:00:00.000Z')));
      const out = await resolve(r('ResolveRecipients', r('To', 'bob@example.com'), r('To', 'smi'), r('To', 'zoe@partner.example'), options));
      const avail = child(out.responses[0]!.recipients[0]!, 'Availability', NS)!;
      assert.equal(childText(avail, 'Status', NS), '1');
      assert.equal(childText(avail, 'MergedFreeBusy', NS), '0'.repeat(20));
      for (const rec of out.responses[1]!.recipients) assert.equal(child(rec, 'Availability', NS), undefined);
      const outside = child(out.responses[2]!.recipients[0]!, 'Availability', NS)!;
      assert.equal(childText(outside, 'Status', NS), '163');
      assert.equal(child(outside, 'MergedFreeBusy', NS), undefined);
    });

    it('pictures from 14.1: data, 173 without one, 174 over MaxSize, 175 past MaxPictures', async () => {
      let out = await resolve(r('ResolveRecipients', r('To', 'bob@example.com'), r('To', 'ann@example.com'), r('Options', r('Picture'))), '14.1');
      let pic = child(out.responses[0]!.recipients[0]!, 'Picture', NS)!;
      assert.equal(childText(pic, 'Status', NS), '1');
      assert.equal(childText(pic, 'Data', NS), PIC.toString('base64'));
      assert.equal(childText(child(out.responses[1]!.recipients[0]!, 'Picture', NS)!, 'Status', NS), '173');
      out = await resolve(r('ResolveRecipients', r('To', 'bob@example.com'), r('Options', r('Picture', r('MaxSize', 4)))), '14.1');
      pic = child(out.responses[0]!.recipients[0]!, 'Picture', NS)!;
      assert.equal(childText(pic, 'Status', NS), '174');
      assert.equal(child(pic, 'Data', NS), undefined);
      out = await resolve(r('ResolveRecipients', r('To', 'bob@example.com'), r('To', 'support@example.com'), r('Options', r('Picture', r('MaxPictures', 1)))), '16.1');
      assert.equal(childText(child(out.responses[0]!.recipients[0]!, 'Picture', NS)!, 'Status', NS), '1');
      assert.equal(childText(child(out.responses[1]!.recipients[0]!, 'Picture', NS)!, 'Status', NS), '175');
      out = await resolve(r('ResolveRecipients', r('To', 'bob@example.com'), r('Options', r('Picture'))), '14.0');
      assert.equal(child(out.responses[0]!.recipients[0]!, 'Picture', NS), undefined, 'no pictures before 14.1');
    });

    it('malformed requests are Status 5 and change nothing', async () => {
      const bad = [
        r('ResolveRecipients'),
        r('ResolveRecipients', r('To', '')),
        r('ResolveRecipients', r('To', 'x'.repeat(257))),
        r('ResolveRecipients', r('To', 'bob'), r('Options', r('CertificateRetrieval', 4))),
        r('ResolveRecipients', r('To', 'bob'), r('Options', r('MaxAmbiguousRecipients', 'many'))),
        r('ResolveRecipients', r('To', 'bob'), r('Options', r('Availability', r('StartTime', '2026-03-02T18:00:00.000Z'), r('EndTime', '2026-03-02T08:00:00.000Z')))),
        r('ResolveRecipients', r('To', 'bob'), r('Options', r('Availability', r('StartTime', 'yesterday')))),
        el('Search', 'Search'),
      ];
      for (const body of bad) {
        const out = await resolve(body);
        assert.equal(out.status, 5, JSON.stringify(body).slice(0, 120));
        assert.equal(out.responses.length, 0);
      }
    });
  });
}

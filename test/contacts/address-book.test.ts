/**
 * Importing the fixture address books (Apple Contacts 3.0, Google Contacts 3.0, Nextcloud 4.0,
 * test/fixtures/vcard/README.md) into a store on SQLite and PostgreSQL, then syncing them to a
 * device: nothing the Contacts class carries is lost; re-import matches instead of duplicating;
 * a broken file changes nothing; export and re-import is a no-op.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { exportVCardFile, importVCardFile } from '../../src/contacts/address-book.ts';
import { parseVCards, VCardError } from '../../src/contacts/vcard.ts';
import { StoreMailbox } from '../../src/store/store-mailbox.ts';
import type { Store, User } from '../../src/store/types.ts';
import { childText, el } from '../../src/wbxml/index.ts';
import { openTempPostgresStore, openTempSqliteStore, type TestStore } from '../helpers/db.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { Device } from '../e2e/device.ts';

const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), '../fixtures/vcard');
const fixture = (name: string) => readFile(join(FIXTURES, name));

async function contacts(store: Store, user: User) {
  const folder = (await store.listFolders(user.id)).find((f) => f.type === 9)!;
  return (await store.listChangesSince(user.id, folder.id, 0, 10_000)).filter((i) => !i.deleted);
}

for (const backend of ['sqlite', 'postgres'] as const) {
  describe(`address book import and export (${backend})`, () => {
    let db: TestStore;
    let store: Store;

    before(async () => {
      db = backend === 'sqlite' ? await openTempSqliteStore() : await openTempPostgresStore();
      store = db.store;
    });
    after(async () => db.cleanup());

    it('imports the Apple, Google and Nextcloud exports without loss; a second import changes nothing', async () => {
      const user = await store.createUser({ email: `import-${backend}@example.com`, passwordHash: 'x' });
      let expected = 0;
      for (const f of ['apple-contacts.vcf', 'google-contacts.vcf', 'nextcloud.vcf', 'forrest-gump.vcf']) {
        const bytes = await fixture(f);
        const cards = parseVCards(bytes);
        expected += cards.length;
        const r = await importVCardFile(new StoreMailbox(store, user.id), bytes);
        assert.equal(r.added, cards.length, f);
        // Every value the parser took from the file is what is stored.
        const stored = await contacts(store, user);
        for (const c of cards) {
          const item = stored.find((i) => i.data.fileAs === c.data['fileAs']);
          assert.ok(item, `${f}: ${c.label} stored`);
          assert.deepEqual(item.data, c.data, `${f}: ${c.label}`);
        }
      }
      const before = await contacts(store, user);
      assert.equal(before.length, expected);
      for (const f of ['apple-contacts.vcf', 'google-contacts.vcf', 'nextcloud.vcf', 'forrest-gump.vcf']) {
        const r = await importVCardFile(new StoreMailbox(store, user.id), await fixture(f));
        assert.equal(r.added + r.updated, 0, `re-import of ${f} changes nothing`);
      }
      const after = await contacts(store, user);
      assert.deepEqual(after.map((i) => [i.id, i.modseq]), before.map((i) => [i.id, i.modseq]));
    });

    it('a re-import matches edited contacts (by UID, then by name, e-mail and phone) and keeps what the file lacks', async () => {
      const user = await store.createUser({ email: `match-${backend}@example.com`, passwordHash: 'x' });
      await importVCardFile(new StoreMailbox(store, user.id), await fixture('google-contacts.vcf'));
      const [mulder] = (await contacts(store, user)).filter((i) => i.data.lastName === 'Mulder');
      // A phone added a picture and a job change.
      await store.updateItem(user.id, mulder!.id, { data: { ...mulder!.data, picture: 'QUJD', jobTitle: 'Agent' } });
      const r = await importVCardFile(new StoreMailbox(store, user.id), await fixture('google-contacts.vcf'));
      assert.deepEqual([r.added, r.updated, r.unchanged], [0, 1, 1]);
      const now = (await store.getItem(user.id, mulder!.id))!;
      assert.equal(now.data.jobTitle, 'Special Agent', "the file's value wins");
      assert.equal(now.data.picture, 'QUJD', 'a field the file lacks is kept');
      // By UID even when the name changed.
      await importVCardFile(new StoreMailbox(store, user.id), await fixture('nextcloud.vcf'));
      const renamed = (await fixture('nextcloud.vcf')).toString('utf8').replace('N:Reyes;Monica;;;', 'N:Reyes-Doggett;Monica;;;');
      const again = await importVCardFile(new StoreMailbox(store, user.id), Buffer.from(renamed));
      assert.deepEqual([again.added, again.updated], [0, 1]);
    });

    it('a broken file (not UTF-8, unterminated card) is refused with its line, and nothing is stored', async () => {
      const user = await store.createUser({ email: `broken-${backend}@example.com`, passwordHash: 'x' });
      await importVCardFile(new StoreMailbox(store, user.id), await fixture('forrest-gump.vcf'));
      const before = await contacts(store, user);
      await assert.rejects(importVCardFile(new StoreMailbox(store, user.id), await fixture('broken-encoding.vcf')), (err: unknown) => err instanceof VCardError && /not UTF-8: byte 0xfc on line 3/.test(err.message));
      // A good card followed by an unterminated one: the good one is not stored either.
      const mixed = Buffer.concat([await fixture('google-contacts.vcf'), await fixture('broken-structure.vcf')]);
      await assert.rejects(importVCardFile(new StoreMailbox(store, user.id), mixed), /has no END:VCARD/);
      assert.deepEqual((await contacts(store, user)).map((i) => i.modseq), before.map((i) => i.modseq));
    });

    for (const version of ['3.0', '4.0'] as const) {
      it(`export as vCard ${version} and import into another user: the same contacts`, async () => {
        const a = await store.createUser({ email: `export-${version}-${backend}@example.com`, passwordHash: 'x' });
        const b = await store.createUser({ email: `export-b-${version}-${backend}@example.com`, passwordHash: 'x' });
        for (const f of ['apple-contacts.vcf', 'google-contacts.vcf', 'nextcloud.vcf']) await importVCardFile(new StoreMailbox(store, a.id), await fixture(f));
        const { text, count } = await exportVCardFile(new StoreMailbox(store, a.id), version);
        assert.equal(count, 5);
        const r = await importVCardFile(new StoreMailbox(store, b.id), Buffer.from(text));
        assert.equal(r.added, 5);
        assert.deepEqual(r.warnings, []);
        const strip = (d: Record<string, unknown>) => {
          const { uid: _uid, ...rest } = d;
          return rest;
        };
        const fromA = (await contacts(store, a)).map((i) => strip(i.data)).sort((x, y) => String(x.fileAs).localeCompare(String(y.fileAs)));
        const fromB = (await contacts(store, b)).map((i) => strip(i.data)).sort((x, y) => String(x.fileAs).localeCompare(String(y.fileAs)));
        assert.deepEqual(fromB, fromA);
        // And exporting A's own export back into A changes nothing.
        const back = await importVCardFile(new StoreMailbox(store, a.id), Buffer.from(text));
        assert.deepEqual([back.added, back.updated], [0, 0]);
      });
    }
  });
}

// Also on the in-memory mailbox: the import goes through the Mailbox port, whatever keeps the mail.
for (const backend of ['sqlite', 'memory'] as const) {
  describe(`imported contacts reach a device (${backend})`, () => {
    let server: TestServer;
    const ALICE = { email: 'alice@example.com', password: 'alice-password-1' };
    before(async () => {
      server = await startTestServer({ users: [ALICE], backend, logLevel: 'warn' });
    });
    after(async () => server.close());

    it('the Apple export, imported, syncs every field the Contacts class carries', async () => {
      const alice = server.users.get(ALICE.email)!;
      await importVCardFile(server.runtime.services.mailboxes.open(alice.id), await fixture('apple-contacts.vcf'));
      const d = new Device({ url: server.url, user: ALICE.email, password: ALICE.password, deviceId: 'IMPORT1', deviceType: 'TestPhone', version: '16.1' });
      await d.folderSync();
      const adds = await d.initialSync(d.folderByType(9).serverId, { options: [el('AirSyncBase', 'BodyPreference', el('AirSyncBase', 'Type', 1))] });
      const scully = adds.find((a) => childText(a.appData, 'LastName', 'Contacts') === 'Scully')!;
      const t = (name: string, ns = 'Contacts') => childText(scully.appData, name, ns);
      assert.equal(t('Birthday'), '1964-02-23T00:00:00.000Z');
      assert.equal(t('Anniversary'), '2005-06-18T00:00:00.000Z');
      assert.equal(t('HomeAddressStreet'), '1419 Georgetown Road\nApt. 3');
      assert.equal(t('AssistantPhoneNumber'), '+1 (202) 555-0110');
      assert.equal(t('ManagerName', 'Contacts2'), 'Walter Skinner');
      assert.equal(t('IMAddress', 'Contacts2'), 'xmpp:dana@jabber.example.org');
      assert.equal(t('YomiLastName'), 'スカリー');
      assert.ok((t('Picture') ?? '').length > 50);
      assert.equal(childText(scully.appData.children.find((c) => typeof c === 'object' && 'name' in c && c.name === 'Body') as never, 'Data', 'AirSyncBase'), 'Medical doctor, forensic pathologist.\nPrefers calls after 8 pm.');
    });
  });
}

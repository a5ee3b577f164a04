/**
 * `easd contacts import` and `easd contacts export` as a user runs them: ./bin/easd as a child
 * process, with the store options of `easd serve`, on SQLite (--data) and PostgreSQL (--database).
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parseVCards } from '../../src/contacts/vcard.ts';
import { openStore } from '../../src/store/open.ts';
import { openTempPostgresStore, PG_TEST_URL, type TestStore } from '../helpers/db.ts';
import { ROOT } from '../helpers/easd-process.ts';
import { easd } from '../logging/cli-helpers.ts';

const FIXTURES = join(ROOT, 'test/fixtures/vcard');

for (const backend of ['sqlite', 'postgres'] as const) {
  describe(`easd contacts (${backend})`, () => {
    let storeArgs: string[];
    let dir: string;
    let pg: (TestStore & { schema: string }) | undefined;

    before(async () => {
      dir = await mkdtemp(join(tmpdir(), 'easd-contacts-cli-'));
      if (backend === 'sqlite') {
        storeArgs = ['--data', join(dir, 'data')];
      } else {
        pg = await openTempPostgresStore();
        const url = new URL(PG_TEST_URL);
        url.searchParams.set('options', `-c search_path=${pg.schema}`);
        storeArgs = ['--database', url.toString()];
      }
      const add = await easd(['user', 'add', 'alice@example.com', '--password-stdin', ...storeArgs], 'alice-password-1\n');
      assert.equal(add.code, 0, add.stderr);
    });
    after(async () => {
      await pg?.cleanup();
      await rm(dir, { recursive: true, force: true });
    });

    it('imports an Apple export, re-imports it without duplicates, exports it back', async () => {
      const first = await easd(['contacts', 'import', 'alice@example.com', join(FIXTURES, 'apple-contacts.vcf'), ...storeArgs]);
      assert.equal(first.code, 0, first.stderr);
      assert.match(first.stdout, /alice@example\.com: 2 added, 0 updated, 0 unchanged/);
      const again = await easd(['contacts', 'import', 'alice@example.com', join(FIXTURES, 'apple-contacts.vcf'), ...storeArgs]);
      assert.match(again.stdout, /0 added, 0 updated, 2 unchanged/);
      // A link PHOTO cannot be kept: a warning on stderr, the contact imported.
      const gump = await easd(['contacts', 'import', 'alice@example.com', join(FIXTURES, 'forrest-gump.vcf'), ...storeArgs]);
      assert.equal(gump.code, 0);
      assert.match(gump.stderr, /easd: warning: Forrest Gump: PHOTO is a link/);

      const out = await easd(['contacts', 'export', 'alice@example.com', ...storeArgs]);
      assert.equal(out.code, 0, out.stderr);
      const cards = parseVCards(out.stdout);
      assert.equal(cards.length, 3);
      assert.ok(out.stdout.startsWith('BEGIN:VCARD\r\nVERSION:4.0\r\n'));
      const file = join(dir, 'out.vcf');
      const toFile = await easd(['contacts', 'export', 'alice@example.com', '--out', file, '--vcard-version', '3.0', ...storeArgs]);
      assert.equal(toFile.code, 0, toFile.stderr);
      assert.match(toFile.stderr, /3 contacts written/);
      assert.ok((await readFile(file, 'utf8')).startsWith('BEGIN:VCARD\r\nVERSION:3.0\r\n'));
    });

    it('a broken file: one clear line, exit 1, nothing imported', async () => {
      const before = (await easd(['contacts', 'export', 'alice@example.com', ...storeArgs])).stdout;
      for (const [file, message] of [
        ['broken-encoding.vcf', /broken-encoding\.vcf: not UTF-8: byte 0xfc on line 3.*nothing imported/],
        ['broken-structure.vcf', /broken-structure\.vcf: the card that begins on line 1 has no END:VCARD; nothing imported/],
      ] as const) {
        const r = await easd(['contacts', 'import', 'alice@example.com', join(FIXTURES, file), ...storeArgs]);
        assert.equal(r.code, 1);
        assert.match(r.stderr, message);
        assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
      }
      const missing = await easd(['contacts', 'import', 'alice@example.com', join(FIXTURES, 'nope.vcf'), ...storeArgs]);
      assert.match(missing.stderr, /cannot read .*nope\.vcf: no such file/);
      const nobody = await easd(['contacts', 'import', 'bob@example.com', join(FIXTURES, 'nextcloud.vcf'), ...storeArgs]);
      assert.match(nobody.stderr, /no user bob@example\.com/);
      assert.equal((await easd(['contacts', 'export', 'alice@example.com', ...storeArgs])).stdout, before);
    });
  });
}

// The store the CLI wrote is the one `easd serve` reads (same options): checked once on SQLite.
describe('easd contacts writes where easd serve reads', () => {
  it('the imported contacts are in the --data store', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'easd-contacts-cli-'));
    try {
      const data = join(dir, 'data');
      assert.equal((await easd(['user', 'add', 'carol@example.com', '--password-stdin', '--data', data], 'carol-password-1\n')).code, 0);
      assert.equal((await easd(['contacts', 'import', 'carol@example.com', join(FIXTURES, 'nextcloud.vcf'), '--data', data])).code, 0);
      const store = await openStore({ dataDir: data });
      try {
        const user = (await store.getUserByEmail('carol@example.com'))!;
        const folder = (await store.listFolders(user.id)).find((f) => f.type === 9)!;
        const items = await store.listChangesSince(user.id, folder.id, 0, 100);
        assert.deepEqual(items.map((i) => i.data.fileAs), ['Reyes, Monica']);
        assert.equal(items[0]!.uid, '5f0a2b6e-3c1d-4e8f-9a7b-2c4d6e8f0a1b');
      } finally {
        await store.close();
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

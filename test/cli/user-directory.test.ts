/**
 * `easd user set` and `easd user show` as an administrator runs them: ./bin/easd as a child
 * process against a temporary SQLite data directory and a fresh PostgreSQL schema.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { openStore } from '../../src/store/open.ts';
import type { Store } from '../../src/store/types.ts';
import { openTempPostgresStore, PG_TEST_URL, pgSkipped } from '../helpers/db.ts';
import { assertFails, easd } from '../logging/cli-helpers.ts';

const JPEG = Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0]), Buffer.alloc(200, 7)]);
let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'easd-user-set-'));
  await writeFile(join(dir, 'ann.jpg'), JPEG);
  await writeFile(join(dir, 'big.jpg'), Buffer.concat([JPEG, Buffer.alloc(10 * 1024 * 1024)]));
  await writeFile(join(dir, 'notes.txt'), 'not a picture');
});
after(() => rm(dir, { recursive: true, force: true }));

async function withStore<T>(opts: { dataDir?: string; databaseUrl?: string }, fn: (s: Store) => Promise<T>): Promise<T> {
  const store = await openStore({ dataDir: opts.dataDir ?? dir, databaseUrl: opts.databaseUrl });
  try {
    return await fn(store);
  } finally {
    await store.close();
  }
}

describe('easd user set / show (sqlite)', () => {
  let data: string;
  before(async () => {
    data = join(dir, 'data');
    await withStore({ dataDir: data }, async (s) => {
      await s.createUser({ email: 'ann@example.com', passwordHash: 'h', displayName: 'Ann' });
      await s.createUser({ email: 'bob@example.com', passwordHash: 'h' });
    });
  });

  it('sets every directory field, aliases and a picture; show prints them', async () => {
    const set = await easd([
      'user', 'set', 'Ann@Example.com',
      '--display-name', 'Ann Smith', '--first-name', 'Ann', '--last-name', 'Smith', '--title', 'CTO',
      '--phone', '+1 555 0100', '--mobile-phone', '+1 555 0199', '--office', 'B2', '--company', 'Example Ltd',
      '--alias', 'sales@example.com', '--alias', 'Ann.Smith@example.org', '--picture', join(dir, 'ann.jpg'),
      '--data', data,
    ]);
    assert.equal(set.code, 0, set.stderr);
    assert.equal(set.stdout, 'updated ann@example.com\n');
    const show = await easd(['user', 'show', 'ann@example.com', '--data', data]);
    assert.equal(show.code, 0, show.stderr);
    assert.equal(
      show.stdout,
      [
        'email: ann@example.com',
        'display name: Ann Smith',
        'first name: Ann',
        'last name: Smith',
        'title: CTO',
        'phone: +1 555 0100',
        'mobile phone: +1 555 0199',
        'home phone: ',
        'office: B2',
        'company: Example Ltd',
        'aliases: ann.smith@example.org, sales@example.com',
        `picture: ${JPEG.length} bytes`,
        'out of office: off',
        'lockout: never locked out',
        '',
      ].join('\n'),
    );
    const json = JSON.parse((await easd(['user', 'show', 'ann@example.com', '--json', '--data', data])).stdout);
    assert.equal(json.title, 'CTO');
    assert.deepEqual(json.aliases, ['ann.smith@example.org', 'sales@example.com']);
    await withStore({ dataDir: data }, async (s) => {
      const u = await s.getUserByEmail('ann@example.com');
      assert.deepEqual(await s.directory.getPicture(u!.id), JPEG);
    });
  });

  it('"" clears a field; --remove-alias and --remove-picture undo', async () => {
    const r = await easd(['user', 'set', 'ann@example.com', '--title', '', '--remove-alias', 'sales@example.com', '--remove-picture', '--data', data]);
    assert.equal(r.code, 0, r.stderr);
    await withStore({ dataDir: data }, async (s) => {
      const e = await s.directory.getEntry((await s.getUserByEmail('ann@example.com'))!.id);
      assert.equal(e?.title, null);
      assert.equal(e?.company, 'Example Ltd');
      assert.deepEqual(e?.aliases, ['ann.smith@example.org']);
      assert.equal(e?.pictureSize, 0);
    });
  });

  it('refuses a 10 MB picture, a non-image, a taken or malformed alias, an unknown user; nothing changes', async () => {
    const before = await easd(['user', 'show', 'ann@example.com', '--json', '--data', data]);
    assertFails(await easd(['user', 'set', 'ann@example.com', '--title', 'X', '--picture', join(dir, 'big.jpg'), '--data', data]), /is \d+ bytes; the limit is 102400 bytes/);
    assertFails(await easd(['user', 'set', 'ann@example.com', '--title', 'X', '--picture', join(dir, 'notes.txt'), '--data', data]), /not a JPEG, PNG or GIF/);
    assertFails(await easd(['user', 'set', 'ann@example.com', '--title', 'X', '--picture', join(dir, 'missing.jpg'), '--data', data]), /cannot read picture/);
    assertFails(await easd(['user', 'set', 'ann@example.com', '--title', 'X', '--alias', 'bob@example.com', '--data', data]), /already the address of another user/);
    assertFails(await easd(['user', 'set', 'ann@example.com', '--title', 'X', '--alias', 'no-at-sign', '--data', data]), /not an e-mail address/);
    assertFails(await easd(['user', 'set', 'ann@example.com', '--title', 'x'.repeat(2000), '--data', data]), /longer than 1024/);
    assertFails(await easd(['user', 'set', 'nobody@example.com', '--title', 'X', '--data', data]), /no user nobody@example.com/);
    assertFails(await easd(['user', 'set', 'ann@example.com', '--data', data]), /nothing to change/);
    assertFails(await easd(['user', 'show', 'nobody@example.com', '--data', data]), /no user/);
    const afterwards = await easd(['user', 'show', 'ann@example.com', '--json', '--data', data]);
    assert.equal(afterwards.stdout, before.stdout);
  });
});

describe('easd user set (postgres)', { skip: pgSkipped() ? 'EASD_TEST_SKIP_PG=1' : false }, () => {
  it('writes to the PostgreSQL store given by --database', async () => {
    const pg = await openTempPostgresStore();
    try {
      await pg.store.createUser({ email: 'carl@example.com', passwordHash: 'h' });
      const url = new URL(PG_TEST_URL);
      url.searchParams.set('options', `-c search_path=${pg.schema}`);
      const r = await easd(['user', 'set', 'carl@example.com', '--office', 'North', '--alias', 'c@example.com', '--database', url.toString()]);
      assert.equal(r.code, 0, r.stderr);
      const e = await pg.store.directory.getEntry((await pg.store.getUserByEmail('carl@example.com'))!.id);
      assert.equal(e?.office, 'North');
      assert.deepEqual(e?.aliases, ['c@example.com']);
    } finally {
      await pg.cleanup();
    }
  });
});

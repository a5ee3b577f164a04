/**
 * `easd user add` with an address that is already another user's alias: refused, naming the
 * address and its owner, and mail to the address still reaches the owner. ./bin/easd as a child
 * process against a temporary SQLite data directory and a fresh PostgreSQL schema.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { acceptedDomains, resolveRecipient } from '../../src/mail/deliver.ts';
import { openStore } from '../../src/store/open.ts';
import type { Store } from '../../src/store/types.ts';
import { openTempPostgresStore, PG_TEST_URL, pgSkipped } from '../helpers/db.ts';
import { assertFails, easd } from '../logging/cli-helpers.ts';

/** Ann has the alias sales@example.com; `user add` of that address, in any case, is refused. */
async function refusesAlias(store: Store, storeArgs: string[]): Promise<void> {
  const ann = await store.createUser({ email: 'ann@example.com', passwordHash: 'h' });
  await store.directory.addAlias(ann.id, 'sales@example.com');

  for (const address of ['sales@example.com', 'Sales@EXAMPLE.com']) {
    const r = await easd(['user', 'add', address, '--password-stdin', ...storeArgs], 'long-enough-pw\n');
    assertFails(r, /^easd: sales@example\.com is already an alias of ann@example\.com\n$/);
    assert.equal(r.stdout, '');
  }

  assert.deepEqual((await store.listUsers()).map((u) => u.email), ['ann@example.com'], 'nothing created');
  assert.equal(await store.getUserByEmail('sales@example.com'), null);
  assert.equal(await store.directory.findUserIdByAddress('sales@example.com'), ann.id);
  // Delivery's own resolution of the recipient: still Ann.
  assert.deepEqual(await resolveRecipient(store, 'Sales@example.com', await acceptedDomains(store)), { kind: 'user', userId: ann.id });

  // A user's own address keeps its message; a free address is added.
  assertFails(await easd(['user', 'add', 'ANN@example.com', '--password-stdin', ...storeArgs], 'long-enough-pw\n'), /^easd: ANN@example\.com exists already\n$/);
  const ok = await easd(['user', 'add', 'bob@example.com', '--password-stdin', ...storeArgs], 'long-enough-pw\n');
  assert.equal(ok.code, 0, ok.stderr);
  assert.equal(ok.stdout, 'added bob@example.com\n');
}

describe("easd user add: another user's alias (sqlite)", () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'easd-user-add-alias-'));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it('is refused with the address and its owner; nothing is created; mail to it still reaches the owner', async () => {
    const data = join(dir, 'data');
    const store = await openStore({ dataDir: data });
    try {
      await refusesAlias(store, ['--data', data]);
    } finally {
      await store.close();
    }
  });
});

describe("easd user add: another user's alias (postgres)", { skip: pgSkipped() ? 'EASD_TEST_SKIP_PG=1' : false }, () => {
  it('is refused with the address and its owner; nothing is created; mail to it still reaches the owner', async () => {
    const pg = await openTempPostgresStore();
    try {
      const url = new URL(PG_TEST_URL);
      url.searchParams.set('options', `-c search_path=${pg.schema}`);
      await refusesAlias(pg.store, ['--database', url.toString()]);
    } finally {
      await pg.cleanup();
    }
  });
});

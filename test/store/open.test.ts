import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { it } from 'node:test';
import { openStore } from '../../src/store/open.ts';
import { SQLITE_FILE_NAME } from '../../src/store/sqlite.ts';

it('openStore uses SQLite under dataDir when no database URL is given', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'easd-open-'));
  try {
    for (const databaseUrl of [undefined, '']) {
      const store = await openStore({ dataDir: dir, ...(databaseUrl !== undefined ? { databaseUrl } : {}) });
      assert.equal(await store.countUsers(), 0);
      await store.close();
    }
    assert.ok(existsSync(join(dir, SQLITE_FILE_NAME)));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

it('openStore uses PostgreSQL for postgres:// and postgresql:// URLs', async () => {
  // Nothing listens on port 1: the pg driver's connection error shows which backend was chosen.
  for (const url of ['postgres://easd@127.0.0.1:1/easd', 'POSTGRESQL://easd@127.0.0.1:1/easd']) {
    await assert.rejects(openStore({ databaseUrl: url, dataDir: '/nonexistent/never-created' }), /ECONNREFUSED|connect/);
  }
  assert.equal(existsSync('/nonexistent/never-created'), false);
});

it('openStore rejects other URL schemes with a clear error', async () => {
  await assert.rejects(openStore({ databaseUrl: 'mysql://u@h/db' }), /unsupported database URL scheme "mysql:".*postgres:\/\//);
  await assert.rejects(openStore({ databaseUrl: 'sqlite:///tmp/x.db' }), /unsupported database URL scheme "sqlite:"/);
  await assert.rejects(openStore({ databaseUrl: 'just-a-path' }), /unsupported database URL scheme \(none\)/);
});

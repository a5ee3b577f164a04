/**
 * `easd serve` with PostgreSQL not there yet (issue 18 item 13): it waits with backoff, says which
 * database it waits for (the URL without its password) and starts once the database comes; a
 * failure that waiting cannot end (a database that does not exist) stops the start at once with
 * the reason. The database is the real PostgreSQL behind a TCP relay that is not up at first.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, describe, it } from 'node:test';
import pg from 'pg';
import { PG_TEST_URL, pgSkipped } from '../helpers/db.ts';
import { cleanEnv, spawnEasd } from '../helpers/easd-process.ts';
import { CuttableRelay } from '../helpers/tcp-relay.ts';
import { refusesToStart, tempDir } from './serve-process.ts';

describe('easd serve waits for its PostgreSQL', { skip: pgSkipped() ? 'EASD_TEST_SKIP_PG=1' : false }, () => {
  const schema = `easd_test_${randomBytes(6).toString('hex')}`;
  after(async () => {
    const client = new pg.Client({ connectionString: PG_TEST_URL });
    await client.connect();
    await client.query(`drop schema if exists "${schema}" cascade`);
    await client.end();
  });

  it('waits, naming the database without its password, and starts when it comes', async () => {
    const relay = new CuttableRelay(Number(new URL(PG_TEST_URL).port || 5432));
    await relay.up();
    await relay.cut(); // a port of our own, with nothing listening yet
    const url = new URL(PG_TEST_URL);
    url.host = `127.0.0.1:${relay.port}`;
    url.password = 'not-for-the-log-91';
    url.searchParams.set('options', `-c search_path=${schema}`);
    const client = new pg.Client({ connectionString: PG_TEST_URL });
    await client.connect();
    await client.query(`create schema "${schema}"`);
    await client.end();

    const data = await tempDir();
    const proc = spawnEasd(['serve', '--listen', '127.0.0.1:0', '--data', data, '--database', url.toString()], cleanEnv());
    try {
      await proc.waitFor({ waiting: /"msg":"waiting for the database [^"]*"/ }, 60_000);
      await relay.up();
      await proc.waitFor({ url: /easd is listening on/ }, 60_000);
      const lines = proc.output().split('\n').filter((l) => l.includes('waiting for the database'));
      assert.ok(lines.length >= 1);
      for (const l of lines) {
        const line = JSON.parse(l) as Record<string, unknown>;
        assert.equal(line.level, 40, 'warn');
        assert.match(String(line.database), new RegExp(`127\\.0\\.0\\.1:${relay.port}/`));
        assert.match(String(line.reason), /ECONNREFUSED|connect/i);
      }
      assert.doesNotMatch(proc.output(), /not-for-the-log-91/, 'the password is never written');
      assert.match(proc.output(), /"msg":"the database is reachable"/);
    } finally {
      if (proc.child.exitCode === null) proc.child.kill('SIGTERM');
      await proc.exited;
      await relay.cut();
    }
  });

  it('a database that does not exist: no waiting, the start fails with the reason', async () => {
    const url = new URL(PG_TEST_URL);
    url.pathname = `/no_such_db_${randomBytes(4).toString('hex')}`;
    const out = await refusesToStart({}, ['--database', url.toString()]);
    assert.match(out, /cannot open the database postgres:\/\/[^ ]*no_such_db_\w+: .*does not exist/);
    assert.doesNotMatch(out, /waiting for the database/);
  });
});

/**
 * The demo user is only for the quick start (issue 18): made on an empty SQLite store served over
 * plain HTTP on loopback, never on PostgreSQL, TLS or another address (one info line says why);
 * its password is one plain console line, never in a JSON log line.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { promisify } from 'node:util';
import { isLoopbackHost, notQuickStart } from '../../src/cli/serve.ts';
import { openStore } from '../../src/store/open.ts';
import { openTempPostgresStore, PG_TEST_URL, pgSkipped } from '../helpers/db.ts';
import { EasClient } from '../helpers/eas-client.ts';
import { serve, tempDir } from './serve-process.ts';

describe('the demo user is only for the quick start', () => {
  it('knows the quick start: SQLite, plain HTTP on loopback, no proxy', () => {
    for (const h of ['127.0.0.1', '127.1.2.3', '::1', 'localhost', 'LOCALHOST']) assert.ok(isLoopbackHost(h), h);
    for (const h of ['0.0.0.0', '::', '192.168.1.5', 'mail.example.com', '128.0.0.1']) assert.ok(!isLoopbackHost(h), h);
    const quick = { postgres: false, tls: false, host: '127.0.0.1', trustProxy: false };
    assert.equal(notQuickStart(quick), undefined);
    assert.match(notQuickStart({ ...quick, postgres: true })!, /PostgreSQL/);
    assert.match(notQuickStart({ ...quick, tls: true })!, /TLS/);
    assert.match(notQuickStart({ ...quick, host: '0.0.0.0' })!, /0\.0\.0\.0, not a loopback address/);
    assert.match(notQuickStart({ ...quick, trustProxy: true })!, /proxy/);
  });

  it('on SQLite and loopback: created, its password on one plain console line and in no JSON log line', async () => {
    const s = await serve(await tempDir(), {}, ['--log-level', 'trace']);
    try {
      const { password } = await s.proc.waitFor({ password: /^Created demo@localhost with password (\S+) \(shown only this once\)\.$/m });
      assert.equal((await new EasClient({ url: s.url, user: 'demo@localhost', password }).options()).status, 200);
      const lines = s.proc.output().split('\n');
      assert.equal(lines.filter((l) => l.includes(password)).length, 1, 'the password is on one line only');
      assert.ok(lines.find((l) => l.includes(password))!.startsWith('Created demo@localhost'));
      await s.proc.waitFor({ request: /"cmd":"OPTIONS"/ }); // the request's log line is written too
      assert.ok(!s.logLines().some((l) => l.includes(password)), 'no JSON log line holds the password');
    } finally {
      assert.equal(await s.stop(), 0);
    }
  });

  it('on a non-loopback address: no demo user, and one info line saying why', async () => {
    const data = await tempDir();
    const s = await serve(data, {}, ['--listen', '0.0.0.0:0']);
    try {
      assert.doesNotMatch(s.proc.output(), /Created demo@localhost/);
      const info = s.logLines().filter((l) => l.includes('no demo user'));
      assert.equal(info.length, 1, s.proc.output());
      assert.equal((JSON.parse(info[0]!) as { level: number }).level, 30);
      assert.match(info[0]!, /listens on 0\.0\.0\.0, not a loopback address/);
    } finally {
      assert.equal(await s.stop(), 0);
    }
    const store = await openStore({ dataDir: data });
    try {
      assert.equal(await store.countUsers(), 0);
    } finally {
      await store.close();
    }
  });

  it('with TLS: no demo user', async () => {
    const data = await tempDir();
    const key = join(data, 'key.pem');
    const cert = join(data, 'cert.pem');
    await promisify(execFile)('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=localhost', '-days', '1', '-keyout', key, '-out', cert]);
    const s = await serve(data, {}, ['--tls-cert', cert, '--tls-key', key]);
    try {
      assert.match(s.url, /^https:/);
      assert.doesNotMatch(s.proc.output(), /Created demo@localhost/);
      assert.match(s.logLines().find((l) => l.includes('no demo user')) ?? '', /serves TLS/);
    } finally {
      assert.equal(await s.stop(), 0);
    }
  });

  it('on PostgreSQL: no demo user', { skip: pgSkipped() }, async () => {
    // A fresh, empty schema, reached through the URL's libpq "options" (as in cli.test.ts).
    const pg = await openTempPostgresStore();
    try {
      const url = new URL(PG_TEST_URL);
      url.searchParams.set('options', `-c search_path=${pg.schema}`);
      const s = await serve(await tempDir(), { EASD_DATABASE_URL: url.toString() });
      try {
        assert.doesNotMatch(s.proc.output(), /Created demo@localhost/);
        assert.match(s.logLines().find((l) => l.includes('no demo user')) ?? '', /PostgreSQL/);
      } finally {
        assert.equal(await s.stop(), 0);
      }
      assert.equal(await pg.store.countUsers(), 0);
    } finally {
      await pg.cleanup();
    }
  });
});

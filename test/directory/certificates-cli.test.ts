/**
 * `easd user set --certificate / --remove-certificates / --allow-expired` and `easd user show`
 * as an administrator runs them: ./bin/easd as a child process against a temporary SQLite data
 * directory and a fresh PostgreSQL schema. Fixtures: test/fixtures/certs/ (make.sh).
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parseCertificateFile } from '../../src/directory/certificates.ts';
import { openStore } from '../../src/store/open.ts';
import type { Store } from '../../src/store/types.ts';
import { openTempPostgresStore, PG_TEST_URL, pgSkipped } from '../helpers/db.ts';
import { ROOT } from '../helpers/easd-process.ts';
import { assertFails, easd } from '../logging/cli-helpers.ts';

const CERTS = join(ROOT, 'test/fixtures/certs');
const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

let dir: string;
let ANN_DER: Buffer;
let TWO: Buffer[];
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'easd-certs-'));
  ANN_DER = await readFile(join(CERTS, 'ann.der'));
  TWO = parseCertificateFile(await readFile(join(CERTS, 'two.pem')));
  await writeFile(join(dir, 'garbage.pem'), 'not a certificate at all\n');
  await writeFile(join(dir, 'with-key.pem'), Buffer.concat([await readFile(join(CERTS, 'ann.pem')), Buffer.from('-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n')]));
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

const storedOf = (s: Store, email: string) =>
  s.getUserByEmail(email).then(async (u) => (await s.directory.listCertificates(u!.id)).map((c) => c.der));

describe('easd user set --certificate (sqlite)', () => {
  let data: string;
  before(async () => {
    data = join(dir, 'data');
    await withStore({ dataDir: data }, (s) => s.createUser({ email: 'ann@example.com', passwordHash: 'h' }).then(() => undefined));
  });

  it('adds a DER and a two-certificate PEM; show prints subject, issuer, serial, not-after and SHA-256', async () => {
    const r = await easd(['user', 'set', 'ann@example.com', '--certificate', join(CERTS, 'ann.der'), '--certificate', join(CERTS, 'two.pem'), '--data', data]);
    assert.equal(r.code, 0, r.stderr);
    await withStore({ dataDir: data }, async (s) => {
      const stored = await storedOf(s, 'ann@example.com');
      assert.equal(stored.length, 3);
      for (const want of [ANN_DER, ...TWO]) assert.ok(stored.some((d) => d.equals(want)), 'bytes kept unchanged');
    });
    const show = await easd(['user', 'show', 'ann@example.com', '--data', data]);
    assert.equal(show.code, 0, show.stderr);
    const lines = show.stdout.split('\n').filter((l) => l.startsWith('certificate: '));
    assert.equal(lines.length, 3);
    const annLine = lines.find((l) => l.includes(sha256(ANN_DER)))!;
    assert.match(annLine, /subject CN=Ann Smith, emailAddress=ann@example\.com; issuer CN=Ann Smith, emailAddress=ann@example\.com; serial [0-9A-F]+; not after \d{4}-\d\d-\d\dT[\d:.]+Z; sha256 [0-9a-f]{64}/);
    const json = JSON.parse((await easd(['user', 'show', 'ann@example.com', '--json', '--data', data])).stdout);
    assert.equal(json.certificates.length, 3);
    assert.ok(json.certificates.some((c: { fingerprint: string }) => c.fingerprint === sha256(TWO[1]!)));
    // Adding the same again changes nothing.
    assert.equal((await easd(['user', 'set', 'ann@example.com', '--certificate', join(CERTS, 'ann.pem'), '--data', data])).code, 0);
    await withStore({ dataDir: data }, async (s) => assert.equal((await storedOf(s, 'ann@example.com')).length, 3));
  });

  it('refuses garbage, a private key, a missing file and an expired certificate; nothing changes', async () => {
    const before = await withStore({ dataDir: data }, (s) => storedOf(s, 'ann@example.com'));
    assertFails(await easd(['user', 'set', 'ann@example.com', '--title', 'X', '--certificate', join(dir, 'garbage.pem'), '--data', data]), /garbage\.pem is not an X\.509 certificate/);
    assertFails(await easd(['user', 'set', 'ann@example.com', '--certificate', join(dir, 'with-key.pem'), '--data', data]), /PRIVATE KEY block; give only certificates/);
    assertFails(await easd(['user', 'set', 'ann@example.com', '--certificate', join(dir, 'missing.pem'), '--data', data]), /cannot read certificate file/);
    assertFails(
      await easd(['user', 'set', 'ann@example.com', '--remove-certificates', '--certificate', join(CERTS, 'expired.pem'), '--data', data]),
      /certificate CN=Old Ann, emailAddress=ann@example\.com in .*expired\.pem expired on 2021-01-01T00:00:00\.000Z; .*--allow-expired/,
    );
    assertFails(await easd(['user', 'set', 'ann@example.com', '--allow-expired', '--data', data]), /--allow-expired goes with --certificate/);
    await withStore({ dataDir: data }, async (s) => {
      assert.deepEqual(await storedOf(s, 'ann@example.com'), before);
      const e = await s.directory.getEntry((await s.getUserByEmail('ann@example.com'))!.id);
      assert.equal(e?.title, null, 'the other options of a refused command are not applied');
    });
  });

  it('--remove-certificates with --certificate replaces them; --allow-expired stores an expired one', async () => {
    const r = await easd(['user', 'set', 'ann@example.com', '--remove-certificates', '--certificate', join(CERTS, 'expired.pem'), '--allow-expired', '--data', data]);
    assert.equal(r.code, 0, r.stderr);
    await withStore({ dataDir: data }, async (s) => {
      const stored = await storedOf(s, 'ann@example.com');
      assert.equal(stored.length, 1);
      assert.deepEqual(stored[0], parseCertificateFile(await readFile(join(CERTS, 'expired.pem')))[0]);
    });
    assert.equal((await easd(['user', 'set', 'ann@example.com', '--remove-certificates', '--data', data])).code, 0);
    await withStore({ dataDir: data }, async (s) => assert.deepEqual(await storedOf(s, 'ann@example.com'), []));
    const show = await easd(['user', 'show', 'ann@example.com', '--data', data]);
    assert.doesNotMatch(show.stdout, /certificate:/);
  });
});

describe('easd user set --certificate (postgres)', { skip: pgSkipped() ? 'EASD_TEST_SKIP_PG=1' : false }, () => {
  it('stores in and shows from the PostgreSQL store given by --database', async () => {
    const pg = await openTempPostgresStore();
    try {
      await pg.store.createUser({ email: 'carl@example.com', passwordHash: 'h' });
      const url = new URL(PG_TEST_URL);
      url.searchParams.set('options', `-c search_path=${pg.schema}`);
      const r = await easd(['user', 'set', 'carl@example.com', '--certificate', join(CERTS, 'two.pem'), '--database', url.toString()]);
      assert.equal(r.code, 0, r.stderr);
      const stored = await storedOf(pg.store, 'carl@example.com');
      assert.equal(stored.length, 2);
      for (const want of TWO) assert.ok(stored.some((d) => d.equals(want)));
      const show = await easd(['user', 'show', 'carl@example.com', '--database', url.toString()]);
      assert.equal(show.code, 0, show.stderr);
      assert.equal(show.stdout.split('\n').filter((l) => l.startsWith('certificate: ')).length, 2);
      assertFails(await easd(['user', 'set', 'carl@example.com', '--certificate', join(CERTS, 'expired.pem'), '--database', url.toString()]), /expired on 2021/);
      assert.equal((await storedOf(pg.store, 'carl@example.com')).length, 2);
    } finally {
      await pg.cleanup();
    }
  });
});

/**
 * A start that cannot work says which file and why (issue 18 item 13): a certificate or key that
 * is missing, not PEM, or not a pair, and a SQLite file that is not a database, are each named
 * with the reason; OpenSSL or SQLite alone would say only "no start line" or "file is not a
 * database".
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { promisify } from 'node:util';
import { readTls } from '../../src/cli/serve.ts';
import { openSqliteStore } from '../../src/store/sqlite.ts';
import { refusesToStart, tempDir } from './serve-process.ts';

const openssl = (...args: string[]) => promisify(execFile)('openssl', args);

describe('start errors name the file and the reason', () => {
  it('TLS: a file that is not PEM, a missing key, and a key of another certificate', async () => {
    const dir = await tempDir();
    const [cert, key, otherKey, garbage] = ['cert.pem', 'key.pem', 'other.pem', 'garbage.pem'].map((f) => join(dir, f));
    await openssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=localhost', '-days', '1', '-keyout', key!, '-out', cert!);
    await openssl('genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048', '-out', otherKey!);
    await writeFile(garbage!, 'this is not a certificate\n');

    assert.throws(() => readTls(garbage!, key!), (e: Error) => e.message.startsWith(`--tls-cert ${garbage}: not a PEM certificate`));
    assert.throws(() => readTls(cert!, garbage!), (e: Error) => e.message.startsWith(`--tls-key ${garbage}: not a PEM private key`));
    assert.throws(() => readTls(cert!, join(dir, 'absent.pem')), (e: Error) => e.message.startsWith(`--tls-key ${join(dir, 'absent.pem')}: ENOENT`));
    assert.throws(() => readTls(cert!, otherKey!), (e: Error) => e.message.includes('do not go together') && e.message.includes(otherKey!));
    assert.doesNotThrow(() => readTls(cert!, key!));

    // And from the command line, as the administrator sees it.
    const out = await refusesToStart({}, ['--tls-cert', garbage!, '--tls-key', key!]);
    assert.match(out, new RegExp(`--tls-cert ${garbage!.replace(/[.]/g, '\\.')}: not a PEM certificate`));
  });

  it('SQLite: a file that is not a database is named', async () => {
    const dir = await tempDir();
    await writeFile(join(dir, 'easd.sqlite'), Buffer.alloc(8192, 0x5a));
    await assert.rejects(openSqliteStore(dir), (e: Error) => e.message === `SQLite store ${join(dir, 'easd.sqlite')}: file is not a database`);
  });
});

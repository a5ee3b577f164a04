import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { hashPassword, needsRehash, SCRYPT_PARAMS, verifyPassword } from '../../src/auth/password.ts';

describe('password hashing (scrypt)', () => {
  it('encodes scrypt$N$r$p$salt$hash with a 16-byte salt and never contains the plaintext', async () => {
    const plain = 'correct horse battery staple';
    const stored = await hashPassword(plain);
    const parts = stored.split('$');
    assert.equal(parts.length, 6);
    assert.deepEqual(parts.slice(0, 4), ['scrypt', String(2 ** 15), '8', '1']);
    assert.deepEqual(SCRYPT_PARAMS, { N: 2 ** 15, r: 8, p: 1 });
    assert.equal(Buffer.from(parts[4]!, 'base64').length, 16);
    assert.equal(Buffer.from(parts[5]!, 'base64').length, 32);
    assert.ok(!stored.includes(plain));
    assert.ok(!stored.includes(Buffer.from(plain).toString('base64')));
  });

  it('verifies the right password and rejects wrong ones', async () => {
    const stored = await hashPassword('s3cret!');
    assert.equal(await verifyPassword('s3cret!', stored), true);
    assert.equal(await verifyPassword('s3cret', stored), false);
    assert.equal(await verifyPassword('S3cret!', stored), false);
    assert.equal(await verifyPassword('', stored), false);
  });

  it('salts: the same password hashes differently each time, and both verify', async () => {
    const [a, b] = await Promise.all([hashPassword('same'), hashPassword('same')]);
    assert.notEqual(a, b);
    assert.equal(await verifyPassword('same', a), true);
    assert.equal(await verifyPassword('same', b), true);
  });

  it('handles empty and non-ASCII passwords, composed or decomposed alike (NFC)', async () => {
    const empty = await hashPassword('');
    assert.equal(await verifyPassword('', empty), true);
    assert.equal(await verifyPassword(' ', empty), false);
    const composed = 'Gr\u00fc\u00dfe-\u65e5\u672c';
    const decomposed = 'Gru\u0308\u00dfe-\u65e5\u672c';
    const stored = await hashPassword(composed);
    assert.equal(await verifyPassword(decomposed, stored), true);
    assert.equal(await verifyPassword('Grusse-\u65e5\u672c', stored), false);
  });

  it('treats malformed or foreign stored values as a mismatch, without throwing', async () => {
    const good = await hashPassword('pw');
    const parts = good.split('$');
    const bad = [
      '',
      'pw',
      'plain:pw',
      '$2b$10$abcdefghijklmnopqrstuuJ1y0G0bXbW1b9rL3o0Cq8Q6fQ5Yk6qK',
      parts.slice(0, 5).join('$'),
      ['scrypt', '1000', ...parts.slice(2)].join('$'), // N not a power of two
      ['scrypt', String(2 ** 30), ...parts.slice(2)].join('$'), // N too large
      ['scrypt', parts[1], '0', ...parts.slice(3)].join('$'),
      [...parts.slice(0, 4), '!!notbase64', parts[5]].join('$'),
      [...parts.slice(0, 5), 'AAAA'].join('$'), // hash too short
    ];
    for (const stored of bad) assert.equal(await verifyPassword('pw', stored), false, stored);
    assert.equal(await verifyPassword('pw', undefined as unknown as string), false);
  });

  it('verifies hashes made with other parameters, and says they need a rehash', async () => {
    const { scrypt } = await import('node:crypto');
    const salt = Buffer.alloc(16, 7);
    const key = await new Promise<Buffer>((res, rej) => scrypt('old', salt, 32, { N: 1024, r: 8, p: 1 }, (e, k) => (e ? rej(e) : res(k))));
    const old = `scrypt$1024$8$1$${salt.toString('base64')}$${key.toString('base64')}`;
    assert.equal(await verifyPassword('old', old), true);
    assert.equal(await verifyPassword('new', old), false);
    assert.equal(needsRehash(old), true);
    assert.equal(needsRehash(await hashPassword('x')), false);
    assert.equal(needsRehash('garbage'), true);
  });
});

/**
 * `easd serve --lmtp/--smtp/--accepted-domain/--max-message-size` (and their EASD_* variables):
 * the listeners come up with the HTTP server, deliver into the store, and close on SIGTERM.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { duplicateKeys } from '../helpers/log-keys.ts';
import { openStore } from '../../src/store/open.ts';
import { cleanEnv, spawnEasd } from '../helpers/easd-process.ts';
import { easd } from '../logging/cli-helpers.ts';
import { LineClient } from './lmtp-client.ts';

test('kb-2.3: easd serve --lmtp and --smtp with repeated --accepted-domain, EASD_MAX_MESSAGE_SIZE, clean stop', async () => {
  const data = await mkdtemp(join(tmpdir(), 'easd-mailin-'));
  try {
    const s0 = await openStore({ dataDir: data });
    const alice = await s0.createUser({ email: 'alice@example.com', passwordHash: 'x' });
    await s0.close();
    const served = spawnEasd(
      ['serve', '--listen', '127.0.0.1:0', '--data', data, '--no-demo-user', '--lmtp', '127.0.0.1:0', '--smtp', '127.0.0.1:0', '--accepted-domain', 'opt.test', '--accepted-domain', 'opt-two.test,opt-three.test'],
      cleanEnv({ EASD_MAX_MESSAGE_SIZE: '4K' }),
    );
    const { child, exited } = served;
    const stop = setTimeout(() => child.kill('SIGKILL'), 90_000);
    try {
    const found = await served.waitFor({ lmtp: /over LMTP on [^:]+:(\d+)/, smtp: /over SMTP on [^:]+:(\d+)/ });
    const ports = { lmtp: Number(found.lmtp), smtp: Number(found.smtp) };
    const c = await LineClient.open(ports.lmtp);
    await c.command('LHLO mta.test');
    await c.command('MAIL FROM:<s@outside.test>');
    assert.equal((await c.command('RCPT TO:<alice@example.com>')).code, 250);
    for (const d of ['opt.test', 'opt-two.test', 'opt-three.test']) assert.match((await c.command(`RCPT TO:<x@${d}>`)).text, /5\.1\.1/);
    assert.match((await c.command('RCPT TO:<x@other.test>')).text, /5\.7\.1/);
    assert.deepEqual((await c.data('Subject: via easd serve\r\n\r\nhello\r\n', 1)).map((r) => r.code), [250]);
    await c.command('MAIL FROM:<s@outside.test>');
    await c.command('RCPT TO:<alice@example.com>');
    assert.deepEqual((await c.data('Subject: big\r\n\r\n' + 'z'.repeat(5000) + '\r\n', 1)).map((r) => r.code), [552]);
    await c.close();
    const smtp = await LineClient.open(ports.smtp);
    await smtp.command('EHLO mta.test');
    await smtp.command('MAIL FROM:<s@outside.test>');
    await smtp.command('RCPT TO:<alice@example.com>');
    assert.deepEqual((await smtp.data('Subject: over smtp\r\n\r\nhello\r\n', 1)).map((r) => r.code), [250]);
    await smtp.close();
    child.kill('SIGTERM');
    assert.equal(await exited, 0);
    // Every line the served process wrote names each key once (its base fields included: the
    // mail listener's own fields must not repeat them).
    const lines = served.output().split('\n').filter((l) => l.startsWith('{'));
    assert.ok(lines.some((l) => l.includes('"listener":"lmtp"')), 'the mail listener logged');
    for (const l of lines) assert.deepEqual(duplicateKeys(l), [], l);
    } finally {
      clearTimeout(stop);
      if (child.exitCode === null) child.kill('SIGKILL');
    }
    const s1 = await openStore({ dataDir: data });
    try {
      const inbox = (await s1.listFolders(alice.id)).find((f) => f.type === 2)!;
      const subjects = (await s1.listChangesSince(alice.id, inbox.id, 0, 10)).map((i) => i.data.subject).sort();
      assert.deepEqual(subjects, ['over smtp', 'via easd serve']);
    } finally {
      await s1.close();
    }
  } finally {
    await rm(data, { recursive: true, force: true });
  }
});

test('easd mail gc deletes the stored bytes of messages no item refers to', async () => {
  const data = await mkdtemp(join(tmpdir(), 'easd-mailgc-'));
  try {
    const s0 = await openStore({ dataDir: data });
    const u = await s0.createUser({ email: 'alice@example.com', passwordHash: 'x' });
    const { deliverMessage } = await import('../../src/mail/deliver.ts');
    const { deliveryTo } = await import('../helpers/delivery.ts');
    const [kept] = await deliverMessage(deliveryTo(s0), { envelopeFrom: '', recipients: [u.email], raw: Buffer.from('Subject: keep\r\n\r\nkeep\r\n') });
    const [gone] = await deliverMessage(deliveryTo(s0), { envelopeFrom: '', recipients: [u.email], raw: Buffer.from('Subject: gone\r\n\r\ngone\r\n') });
    await s0.deleteItem(u.id, gone!.itemId!);
    await s0.close();
    const run = async (args: string[]) => {
      const r = await easd(args);
      return { code: r.code, out: r.stdout + r.stderr };
    };
    const recent = await run(['mail', 'gc', '--data', data]);
    assert.equal(recent.code, 0, recent.out);
    assert.match(recent.out, /deleted 0 unreferenced blob\(s\), 2 kept/, 'within the default grace period nothing goes');
    const now = await run(['mail', 'gc', '--data', data, '--grace', '0s']);
    assert.equal(now.code, 0, now.out);
    assert.match(now.out, /deleted 1 unreferenced blob\(s\), 1 kept/);
    const bad = await run(['mail', 'gc', '--data', data, '--grace', 'soon']);
    assert.equal(bad.code, 1);
    const s1 = await openStore({ dataDir: data });
    try {
      assert.ok(await s1.getItem(u.id, kept!.itemId!));
    } finally {
      await s1.close();
    }
  } finally {
    await rm(data, { recursive: true, force: true });
  }
});

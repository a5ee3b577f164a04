/**
 * `easd serve` wires out-of-office replies into delivery: Oof set from a phone over HTTP, a message
 * taken in over LMTP from an outside sender, the reply relayed to --smtp-relay (a capturing SMTP
 * server on 127.0.0.1:0).
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { hashPassword } from '../../src/auth/password.ts';
import { openStore } from '../../src/store/open.ts';
import { childText, el } from '../../src/wbxml/tree.ts';
import { EasClient } from '../helpers/eas-client.ts';
import { spawnEasd } from '../helpers/easd-process.ts';
import { LineClient } from '../mail/lmtp-client.ts';
import { startSmtpSink } from '../mail-out/harness.ts';

const s = (name: string, ...kids: Parameters<typeof el>[2][]) => el('Settings', name, ...kids);

test('easd serve: Oof set from a phone answers mail taken in over LMTP through the SMTP relay', async () => {
  const data = await mkdtemp(join(tmpdir(), 'easd-oof-'));
  const sink = await startSmtpSink();
  try {
    const s0 = await openStore({ dataDir: data });
    await s0.createUser({ email: 'ann@example.com', passwordHash: await hashPassword('ann-password-123'), displayName: 'Ann' });
    await s0.close();
    const served = spawnEasd(['serve', '--listen', '127.0.0.1:0', '--data', data, '--no-demo-user', '--lmtp', '127.0.0.1:0', '--smtp-relay', sink.url, '--smtp-relay-starttls', 'off']);
    try {
      const found = await served.waitFor({ url: /listening on (http:\/\/[^/\s]+)/, lmtp: /over LMTP on [^:]+:(\d+)/ });
      const where = { url: found.url, lmtp: Number(found.lmtp) };
      const phone = new EasClient({ url: where.url, user: 'ann@example.com', password: 'ann-password-123' });
      const res = await phone.post(
        'Settings',
        s('Settings', s('Oof', s('Set', s('OofState', 1), s('OofMessage', s('AppliesToExternalUnknown'), s('Enabled', 1), s('ReplyMessage', 'Away this week.'), s('BodyType', 'Text'))))),
      );
      assert.equal(childText(res.wbxml!, 'Status', 'Settings'), '1');

      const lmtp = await LineClient.open(where.lmtp);
      await lmtp.command('LHLO mta.test');
      await lmtp.command('MAIL FROM:<carol@outside.test>');
      assert.equal((await lmtp.command('RCPT TO:<ann@example.com>')).code, 250);
      const msg = 'From: carol@outside.test\r\nTo: ann@example.com\r\nSubject: Visit\r\nMessage-ID: <v1@outside.test>\r\n\r\nhello\r\n';
      assert.deepEqual((await lmtp.data(msg, 1)).map((r) => r.code), [250]);
      await lmtp.close();

      const deadline = Date.now() + 10000;
      while (sink.messages.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      assert.equal(sink.messages.length, 1, 'the reply reached the relay');
      assert.deepEqual(sink.messages[0]!.to, ['carol@outside.test']);
      assert.match(sink.messages[0]!.raw.toString(), /Auto-Submitted: auto-replied/);
      assert.match(sink.messages[0]!.raw.toString(), /Away this week\./);
    } finally {
      served.child.kill('SIGTERM');
      await served.exited;
    }
  } finally {
    await sink.close();
    await rm(data, { recursive: true, force: true });
  }
});

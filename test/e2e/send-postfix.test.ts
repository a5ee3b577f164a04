/**
 * Sending through a real MTA: easd's relay is Debian's Postfix (a private instance on loopback,
 * test/helpers/postfix.ts), whose relayhost is a capturing SMTP sink. A SendMail from the device
 * simulator to outside recipients (one of them Bcc) leaves easd through Postfix and reaches the
 * sink with the user as sender and no Bcc field.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { simpleParser } from 'mailparser';
import { postfixUnavailable, startPostfix } from '../helpers/postfix.ts';
import { ALICE, composeMail, mimeMessage, phone, startMailOut, startSmtpSink } from '../mail-out/harness.ts';

async function until<T>(what: string, f: () => T | undefined, ms = 45_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = f();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

test('SendMail to outside recipients leaves easd through Postfix as the relay and reaches the sink', async () => {
  const why = postfixUnavailable();
  assert.equal(why, undefined, `Postfix is needed for this test: ${why}`);
  const sink = await startSmtpSink();
  // Nothing here is for easd's own domains, so Postfix's LMTP side is never used.
  const pf = await startPostfix({ lmtpPort: 1, domains: ['example.com'], relayPort: sink.port });
  const env = await startMailOut({ backend: 'sqlite', relay: { url: `smtp://127.0.0.1:${pf.smtpPort}`, starttls: 'off' } });
  try {
    const alice = phone(env.srv, ALICE);
    await alice.folderSync();
    const mime = mimeMessage({ from: ALICE.email, to: 'Friend <friend@elsewhere.test>', bcc: 'quiet@elsewhere.test', subject: 'Via Postfix', text: 'Relayed by a real MTA.' });
    const res = await alice.client.post('SendMail', composeMail('SendMail', { clientId: 'pf-1', mime, saveInSent: true }));
    assert.equal(res.status, 200);
    assert.equal(res.body.length, 0);

    const got = await until('the message at the sink', () => {
      const all = sink.messages.flatMap((m) => m.to);
      return all.includes('friend@elsewhere.test') && all.includes('quiet@elsewhere.test') ? sink.messages : undefined;
    });
    for (const m of got) assert.equal(m.from, ALICE.email, 'the envelope sender is the user');
    const parsed = await simpleParser(got[0]!.raw);
    assert.equal(parsed.subject, 'Via Postfix');
    assert.equal(parsed.from?.value[0]?.address, ALICE.email);
    assert.equal(parsed.headers.get('bcc'), undefined);
    assert.match(parsed.text ?? '', /Relayed by a real MTA\./);
    assert.match(await pf.log(), /relay=127\.0\.0\.1\[127\.0\.0\.1\]:\d+.*status=sent/);
    // easd's line names Postfix's queue id, so the message can be followed into Postfix's log.
    const sentLine = env.outboundLogs.find((l) => l.msg === 'outbound mail sent' && l.queueId !== undefined);
    assert.ok(sentLine, 'the sent line has the relay queue id');
    assert.match(await pf.log(), new RegExp(`postfix/\\w+\\[\\d+\\]: ${String(sentLine.queueId)}: `));
  } catch (err) {
    process.stderr.write(`--- postfix log ---\n${await pf.log()}\n`);
    throw err;
  } finally {
    await env.close();
    await pf.stop();
    await sink.close();
  }
});

/**
 * A real MTA end to end: Debian's Postfix (a private instance on loopback, test/helpers/postfix.ts)
 * hands mail for local users to easd over LMTP. Mail submitted to Postfix for a local user arrives
 * in that user's Inbox and wakes a held Ping; an unknown local recipient is refused by easd per
 * recipient and Postfix bounces it; mail for other domains leaves through the relayhost (here a
 * capturing SMTP sink on loopback).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import nodemailer from 'nodemailer';
import { simpleParser } from 'mailparser';
import { SMTPServer } from 'smtp-server';
import { childText } from '../../src/wbxml/index.ts';
import { postfixUnavailable, startPostfix } from '../helpers/postfix.ts';
import { Device } from './device.ts';
import { startMailServer } from './mail-helpers.ts';

const ALICE = { email: 'alice@example.com', password: 'pw-alice-123456' };

interface Captured {
  from: string;
  to: string[];
  raw: string;
}

async function startSink(): Promise<{ port: number; got: Captured[]; close(): Promise<void> }> {
  const got: Captured[] = [];
  const sink = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS', 'AUTH'],
    logger: false,
    onData(stream, session, cb) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        got.push({ from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '', to: session.envelope.rcptTo.map((r) => r.address), raw: Buffer.concat(chunks).toString('utf8') });
        cb();
      });
    },
  });
  const port = await new Promise<number>((resolve) => {
    sink.listen(0, '127.0.0.1', () => {
      const a = sink.server.address();
      resolve(typeof a === 'object' && a ? a.port : 0);
    });
  });
  return { port, got, close: () => new Promise((r) => sink.close(() => r())) };
}

async function until<T>(what: string, f: () => T | undefined | Promise<T | undefined>, ms = 45_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await f();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

test('kb-2.3: mail submitted to Postfix for a local user arrives in the Inbox through easd LMTP and wakes a held Ping; unknown local recipient bounced; outside mail relayed', async () => {
  const why = postfixUnavailable();
  assert.equal(why, undefined, `Postfix is needed for this test: ${why}`);
  const sink = await startSink();
  const m = await startMailServer({ users: [ALICE] });
  const pf = await startPostfix({ lmtpPort: m.lmtpPort, domains: ['example.com'], relayPort: sink.port });
  try {
    const dev = new Device({ url: m.srv.url, user: ALICE.email, password: ALICE.password, deviceId: 'POSTFIX1', version: '14.1' });
    await dev.folderSync();
    const inbox = dev.folderByType(2).serverId;
    assert.deepEqual(await dev.initialSync(inbox), []);
    const ping = dev.ping([inbox], 300);
    await new Promise((r) => setTimeout(r, 300));

    const transport = nodemailer.createTransport({ host: '127.0.0.1', port: pf.smtpPort, secure: false, ignoreTLS: true });
    const info = await transport.sendMail({
      from: 'Sender <sender@outside.test>',
      to: ['alice@example.com', 'nobody@example.com'],
      subject: 'Through Postfix',
      text: 'Delivered by a real MTA.',
      attachments: [{ filename: 'note.txt', content: 'attached text' }],
    });
    assert.deepEqual(info.accepted.sort(), ['alice@example.com', 'nobody@example.com']);

    const pinged = await ping;
    assert.equal(childText(pinged.wbxml!, 'Status', 'Ping'), '2', 'the held Ping woke');
    const r = await dev.sync(inbox);
    assert.equal(r.adds.length, 1);
    assert.equal(childText(r.adds[0]!.appData, 'Subject', 'Email'), 'Through Postfix');
    assert.match(childText(r.adds[0]!.appData, 'From', 'Email') ?? '', /sender@outside\.test/);

    // easd refused nobody@example.com (550 5.1.1): Postfix bounces to the sender, through the relayhost.
    const bounce = await until('the bounce at the sink', () => sink.got.find((g) => g.to.includes('sender@outside.test')));
    assert.match(bounce.raw, /nobody@example\.com/);
    assert.match(bounce.raw, /5\.1\.1/);

    // Mail for another domain leaves through the relayhost.
    await transport.sendMail({ from: 'alice@example.com', to: 'friend@elsewhere.test', subject: 'Outbound', text: 'out' });
    const out = await until('the relayed message at the sink', () => sink.got.find((g) => g.to.includes('friend@elsewhere.test')));
    assert.equal((await simpleParser(out.raw)).subject, 'Outbound');
    transport.close();
    assert.match(await pf.log(), /relay=127\.0\.0\.1\[127\.0\.0\.1\]:\d+.*status=sent/);
  } catch (err) {
    process.stderr.write(`--- postfix log ---\n${await pf.log()}\n`);
    throw err;
  } finally {
    await pf.stop();
    await m.close();
    await sink.close();
  }
});

/**
 * The outbound service (src/mail/relay.ts) against real SMTP servers on loopback: relay URL and
 * STARTTLS options, SMTP AUTH, a relay that cannot do what was required, and the order of
 * relay and local delivery (a refused relay leaves local recipients without a copy, so the
 * device's retry duplicates nothing).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SMTPServer } from 'smtp-server';
import { deliverMessage } from '../../src/mail/deliver.ts';
import { createOutboundMail, OutboundError, parseStartTls, relayTransportOptions } from '../../src/mail/relay.ts';
import { openTempSqliteStore } from '../helpers/db.ts';
import { deliveryTo } from '../helpers/delivery.ts';
import { collectingLogger, type LogLine } from '../helpers/server.ts';

const RAW = Buffer.from('From: a@example.com\r\nTo: x@outside.test\r\nSubject: hi\r\n\r\nhello\r\n');

async function authSink(user: string, pass: string) {
  const got: string[] = [];
  const from: string[] = [];
  const server = new SMTPServer({
    logger: false,
    disabledCommands: ['STARTTLS'],
    allowInsecureAuth: true,
    authMethods: ['PLAIN', 'LOGIN'],
    onAuth(auth, _session, cb) {
      if (auth.username === user && auth.password === pass) cb(null, { user });
      else cb(new Error('bad credentials'));
    },
    onData(stream, session, cb) {
      stream.resume();
      stream.on('end', () => {
        got.push(...session.envelope.rcptTo.map((r) => r.address));
        from.push(session.envelope.mailFrom ? session.envelope.mailFrom.address : '');
        cb();
      });
    },
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.server.address() as { port: number }).port;
  return { port, got, from, close: () => new Promise<void>((r) => server.close(() => r())) };
}

describe('relay options', () => {
  it('reads smtp:// and smtps:// URLs and the STARTTLS mode', () => {
    const o = relayTransportOptions({ url: 'smtp://relay.example.net:2525', starttls: 'require', user: 'u', password: 'p' });
    assert.equal(o.host, 'relay.example.net');
    assert.equal(o.port, 2525);
    assert.equal(o.secure, false);
    assert.equal(o.requireTLS, true);
    assert.equal(o.ignoreTLS, false);
    assert.deepEqual(o.auth, { user: 'u', pass: 'p' });
    assert.equal(relayTransportOptions({ url: 'smtp://relay', starttls: 'off' }).ignoreTLS, true);
    assert.equal(relayTransportOptions({ url: 'smtp://relay' }).port, 25);
    const s = relayTransportOptions({ url: 'smtps://relay' });
    assert.equal(s.secure, true);
    assert.equal(s.port, 465);
    assert.throws(() => relayTransportOptions({ url: 'http://relay:25' }), /--smtp-relay must be/);
    assert.throws(() => relayTransportOptions({ url: 'relay:25' }), /--smtp-relay must be/);
    assert.throws(() => parseStartTls('maybe'), /require, opportunistic or off/);
  });
});

describe('outbound mail through a real SMTP server', () => {
  it('authenticates at the relay; wrong credentials or a relay without STARTTLS when required: relay_failed', async () => {
    const sink = await authSink('easd', 's3cret');
    const db = await openTempSqliteStore();
    const logs: LogLine[] = [];
    const make = (relay: Parameters<typeof createOutboundMail>[0]['relay']) =>
      createOutboundMail({ accounts: db.store, log: collectingLogger(logs), deliverLocal: (m) => deliverMessage(deliveryTo(db.store), m), relay });
    try {
      const good = make({ url: `smtp://127.0.0.1:${sink.port}`, user: 'easd', password: 's3cret', starttls: 'off' });
      const out = await good.send({ from: 'a@example.com', recipients: ['X@Outside.test'], raw: RAW });
      good.close();
      assert.deepEqual(out.relayed, ['x@outside.test']);
      assert.deepEqual(sink.got, ['x@outside.test']);
      // Automatic replies go with a null envelope sender (RFC 3834 3.3): MAIL FROM:<>.
      const auto = make({ url: `smtp://127.0.0.1:${sink.port}`, user: 'easd', password: 's3cret', starttls: 'off' });
      await auto.send({ from: '', recipients: ['w@outside.test'], raw: RAW });
      auto.close();
      assert.deepEqual(sink.got, ['x@outside.test', 'w@outside.test']);
      assert.equal(sink.from.at(-1), '');

      const bad = make({ url: `smtp://127.0.0.1:${sink.port}`, user: 'easd', password: 'wrong', starttls: 'off' });
      await assert.rejects(bad.send({ from: 'a@example.com', recipients: ['y@outside.test'], raw: RAW }), (e: unknown) => e instanceof OutboundError && e.code === 'relay_failed');
      bad.close();
      const tls = make({ url: `smtp://127.0.0.1:${sink.port}`, starttls: 'require' });
      await assert.rejects(tls.send({ from: 'a@example.com', recipients: ['z@outside.test'], raw: RAW }), (e: unknown) => e instanceof OutboundError && e.code === 'relay_failed');
      tls.close();
      assert.deepEqual(sink.got, ['x@outside.test', 'w@outside.test']);
      assert.ok(!JSON.stringify(logs).includes('s3cret'), 'the relay password is never logged');
    } finally {
      await sink.close();
      await db.cleanup();
    }
  });

  it('an unreachable relay: nothing is delivered to the local recipients either', async () => {
    const db = await openTempSqliteStore();
    const logs: LogLine[] = [];
    try {
      await db.store.createUser({ email: 'b@example.com', passwordHash: 'x' });
      const outbound = createOutboundMail({
        accounts: db.store,
        log: collectingLogger(logs),
        deliverLocal: (m) => deliverMessage(deliveryTo(db.store), m),
        relay: { url: 'smtp://127.0.0.1:1', starttls: 'off' },
      });
      await assert.rejects(
        outbound.send({ from: 'a@example.com', recipients: ['b@example.com', 'x@outside.test'], raw: RAW }),
        (e: unknown) => e instanceof OutboundError && e.code === 'relay_failed',
      );
      outbound.close();
      const b = (await db.store.getUserByEmail('b@example.com'))!;
      assert.deepEqual(await db.store.listFolders(b.id), [], 'no Inbox was even created: nothing delivered');
      // Without recipients at all.
      await assert.rejects(outbound.send({ from: 'a@example.com', recipients: [' '], raw: RAW }), (e: unknown) => e instanceof OutboundError && e.code === 'no_recipients');
    } finally {
      await db.cleanup();
    }
  });
});

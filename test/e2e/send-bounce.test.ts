/**
 * Gentler failures of sent mail (issue 18 items 12 and 14), over the device simulator:
 * - one unknown recipient in this server's domain no longer fails the whole SendMail: the others
 *   get the message and the sender gets a bounce (RFC 3464 report) naming the unknown one;
 *   only a message nobody can get is refused (Status 116);
 * - a recipient the relay refuses while it takes the others is bounced the same way;
 * - a relay that takes smaller messages than easd (its EHLO SIZE, RFC 1870): a larger SendMail is
 *   answered Status 122 (12.x: HTTP 413) and nothing is sent, and the probe at start sees the limit.
 * Postfix is the relay where it matters (its message_size_limit); a capturing sink elsewhere.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { simpleParser } from 'mailparser';
import { childText } from '../../src/wbxml/index.ts';
import { probeRelaySize, relaySizeNotice } from '../../src/mail/relay-probe.ts';
import { liveItemsOf } from '../helpers/store-items.ts';
import { pgSkipped } from '../helpers/db.ts';
import { postfixUnavailable, startPostfix } from '../helpers/postfix.ts';
import { ALICE, BOB, composeMail, mimeMessage, phone, startMailOut, startSmtpSink, type MailOutEnv } from '../mail-out/harness.ts';

const bounces = async (env: MailOutEnv) => (await liveItemsOf(env.srv.store, ALICE.email, 2)).filter((i) => String(i.data.subject ?? '').startsWith('Undeliverable:'));

for (const backend of ['sqlite', 'postgres'] as const) {
  describe(`bounces for recipients that did not get a sent message on ${backend}`, { skip: backend === 'postgres' && pgSkipped() }, () => {
    let env: MailOutEnv;
    before(async () => {
      env = await startMailOut({ backend, relay: true });
    });
    after(async () => {
      await env.close();
    });

    it('an unknown local address among known ones: the others get it, the sender a bounce naming it', async () => {
      const alice = phone(env.srv, ALICE);
      const mime = mimeMessage({ from: ALICE.email, to: `${BOB.email}, ghost@example.com, gail@outside.test`, subject: 'Team lunch', text: 'Friday?' });
      const res = await alice.client.post('SendMail', composeMail('SendMail', { clientId: 'bounce-1', mime, saveInSent: true }));
      assert.equal(res.status, 200);
      assert.equal(res.body.length, 0, 'the message is sent: an empty answer');
      assert.deepEqual((await liveItemsOf(env.srv.store, BOB.email, 2)).map((i) => i.data.subject), ['Team lunch']);
      assert.ok(env.sink!.messages.some((m) => m.to.includes('gail@outside.test')), 'the outside recipient got it through the relay');
      assert.equal((await liveItemsOf(env.srv.store, ALICE.email, 5)).length, 1, 'a Sent Items copy');

      const [ndr, more] = await bounces(env);
      assert.ok(ndr, 'a bounce in the sender\'s Inbox');
      assert.equal(more, undefined, 'one bounce');
      assert.equal(ndr.data.subject, 'Undeliverable: Team lunch');
      assert.match(JSON.stringify(ndr.data.from), /MAILER-DAEMON@example\.com/);
      const logs = env.outboundLogs.filter((l) => /did not get it/.test(String(l.msg)));
      assert.equal(logs.length, 1);
      assert.equal(logs[0]!.level, 40, 'a warn line');
      assert.match(String(logs[0]!.bounced), /ghost@example\.com 5\.1\.1/);
    });

    it('nobody can get it: Status 116 and no bounce', async () => {
      const alice = phone(env.srv, ALICE);
      const before = (await bounces(env)).length;
      const mime = mimeMessage({ from: ALICE.email, to: 'ghost@example.com, phantom@example.com', subject: 'x', text: 'x' });
      const res = await alice.client.post('SendMail', composeMail('SendMail', { clientId: 'bounce-2', mime }));
      assert.equal(childText(res.wbxml!, 'Status', 'ComposeMail'), '116');
      assert.equal((await bounces(env)).length, before);
    });

    it('a recipient the relay refuses while it takes another: sent, and bounced with the relay\'s reply', async () => {
      const alice = phone(env.srv, ALICE);
      env.sink!.refuse.add('nobody@outside.test');
      try {
        const before = (await bounces(env)).length;
        const mime = mimeMessage({ from: ALICE.email, to: 'nobody@outside.test, hana@outside.test', subject: 'Half way', text: 'x' });
        const res = await alice.client.post('SendMail', composeMail('SendMail', { clientId: 'bounce-3', mime }));
        assert.equal(res.status, 200);
        assert.equal(res.body.length, 0);
        assert.ok(env.sink!.messages.some((m) => m.to.includes('hana@outside.test')));
        const now = await bounces(env);
        assert.equal(now.length, before + 1);
        assert.ok(now.some((b) => b.data.subject === 'Undeliverable: Half way'));
      } finally {
        env.sink!.refuse.clear();
      }
    });
  });
}

describe('a relay that takes smaller messages than easd (Postfix message_size_limit)', () => {
  const LIMIT = 20_000;
  let sink: Awaited<ReturnType<typeof startSmtpSink>>;
  let pf: Awaited<ReturnType<typeof startPostfix>>;
  let env: MailOutEnv;
  before(async () => {
    const why = postfixUnavailable();
    assert.equal(why, undefined, `Postfix is needed for this test: ${why}`);
    sink = await startSmtpSink();
    pf = await startPostfix({ lmtpPort: 1, domains: ['example.com'], relayPort: sink.port, messageSizeLimit: LIMIT });
    env = await startMailOut({ backend: 'sqlite', relay: { url: `smtp://127.0.0.1:${pf.smtpPort}`, starttls: 'off' } });
  });
  after(async () => {
    await env?.close();
    await pf?.stop();
    await sink?.close();
  });

  it('the probe at start reads the limit from EHLO and warns that it is below easd\'s', async () => {
    const size = await probeRelaySize({ url: `smtp://127.0.0.1:${pf.smtpPort}` }, 'easd.test');
    assert.deepEqual(size, { kind: 'limit', bytes: LIMIT });
    const notice = relaySizeNotice(size, 50 * 1024 * 1024);
    assert.equal(notice.level, 'warn');
    assert.equal(relaySizeNotice(size, LIMIT).level, 'info', 'no warning when easd takes no more than the relay');
  });

  it('a larger SendMail: Status 122, nothing sent, the ClientId usable again; a smaller one goes', async () => {
    const alice = phone(env.srv, ALICE);
    const big = mimeMessage({ from: ALICE.email, to: 'far@elsewhere.test', subject: 'Big', text: 'x'.repeat(LIMIT * 2) });
    const res = await alice.client.post('SendMail', composeMail('SendMail', { clientId: 'big-1', mime: big }));
    assert.equal(childText(res.wbxml!, 'Status', 'ComposeMail'), '122');
    const warn = env.outboundLogs.find((l) => /larger than the relay takes/.test(String(l.msg)));
    assert.ok(warn, 'a log line');
    assert.equal(warn.level, 40, 'at warn: the relay\'s limit, not an easd fault');

    const small = mimeMessage({ from: ALICE.email, to: 'far@elsewhere.test', subject: 'Small', text: 'fits' });
    const ok = await alice.client.post('SendMail', composeMail('SendMail', { clientId: 'big-1', mime: small }));
    assert.equal(ok.status, 200);
    assert.equal(ok.body.length, 0, 'sent, with the ClientId the refused one gave back');
  });

  it('12.x form: HTTP 413', async () => {
    const alice = phone(env.srv, ALICE, 'OLDPHONE', '12.1');
    const big = mimeMessage({ from: ALICE.email, to: 'far@elsewhere.test', subject: 'Big', text: 'y'.repeat(LIMIT * 2) });
    const res = await alice.client.post('SendMail', big, { contentType: 'message/rfc822' });
    assert.equal(res.status, 413);
  });
});

describe('the bounce itself (RFC 3464 / RFC 6522)', () => {
  it('is a multipart/report with a readable part, one delivery-status block per recipient and the original headers', async () => {
    const { buildDsn } = await import('../../src/mail/dsn.ts');
    const original = Buffer.from('From: alice@example.com\r\nTo: ghost@example.com\r\nSubject: =?utf-8?q?Caf=C3=A9?=\r\nMessage-ID: <m1@example.com>\r\n\r\nsecret body\r\n');
    const raw = buildDsn({ reportingHost: 'mx.example.com', fromDomain: 'example.com', to: 'alice@example.com', original, failed: [{ recipient: 'ghost@example.com', status: '5.1.1', diagnostic: '550 5.1.1 no such user here' }], now: new Date('2026-01-02T03:04:05Z') });
    const text = raw.toString();
    assert.match(text, /^Content-Type: multipart\/report; report-type=delivery-status;/m);
    assert.match(text, /^Final-Recipient: rfc822; ghost@example\.com\r\nAction: failed\r\nStatus: 5\.1\.1\r\n/m);
    assert.match(text, /^Reporting-MTA: dns; mx\.example\.com$/m);
    assert.match(text, /^Content-Type: text\/rfc822-headers\r\n\r\nFrom: alice@example\.com/m);
    assert.doesNotMatch(text, /secret body/, 'the original body is not quoted');
    assert.match(text, /^Auto-Submitted: auto-replied$/m);
    const parsed = await simpleParser(raw);
    assert.equal(parsed.subject, 'Undeliverable: Café');
    assert.equal(parsed.inReplyTo, '<m1@example.com>');
    assert.match(parsed.text ?? '', /ghost@example\.com/);
  });
});

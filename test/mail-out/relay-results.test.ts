/**
 * What the relay path reports for metrics (easd_relay_messages_total, issue 18 item 11): a message
 * the relay takes is "sent", one it refuses for every recipient or cannot be reached for is
 * "failed"; local recipients alone never touch the relay.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { pino } from 'pino';
import { createOutboundMail, OutboundError } from '../../src/mail/relay.ts';
import { openTempSqliteStore } from '../helpers/db.ts';
import { startSmtpSink } from './harness.ts';

describe('relay results for metrics', () => {
  it('sent, then failed when the relay refuses every recipient, then failed when it is gone', async () => {
    const sink = await startSmtpSink();
    const temp = await openTempSqliteStore();
    await temp.store.createUser({ email: 'alice@example.com', passwordHash: 'x' });
    const results: string[] = [];
    const out = createOutboundMail({
      accounts: temp.store,
      log: pino({ level: 'silent' }),
      deliverLocal: async () => assert.fail('no local recipient here'),
      relay: { url: sink.url, starttls: 'off' },
      onRelayResult: (r) => results.push(r),
    });
    const raw = Buffer.from('From: alice@example.com\r\nTo: x@outside.test\r\nSubject: s\r\n\r\nbody\r\n');
    try {
      await out.send({ from: 'alice@example.com', recipients: ['x@outside.test'], raw });
      sink.refuse.add('y@outside.test');
      await assert.rejects(out.send({ from: 'alice@example.com', recipients: ['y@outside.test'], raw }), (e: unknown) => e instanceof OutboundError && e.code === 'relay_failed');
      await sink.close();
      await assert.rejects(out.send({ from: 'alice@example.com', recipients: ['z@outside.test'], raw }), (e: unknown) => e instanceof OutboundError && e.code === 'relay_failed');
      assert.deepEqual(results, ['sent', 'failed', 'failed']);
    } finally {
      out.close();
      await sink.close().catch(() => {});
      await temp.cleanup();
    }
  });
});

/**
 * Bad input to SendMail, SmartReply and SmartForward is the client's fault (issue 15 item 7): it
 * is answered as before (400, an EAS status, or the 500 that 12.x gives an unknown item) and
 * logged at warn without a stack, never at error. A fault of easd's own (the mailbox store
 * throwing) still logs an error line with its stack. And no command logs an error for a body
 * that is not WBXML.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { COMMANDS } from '../../src/eas/commands.ts';
import { createOutboundMail } from '../../src/mail/relay.ts';
import { deliverMessage } from '../../src/mail/deliver.ts';
import type { Mailbox } from '../../src/ports/mailbox.ts';
import { StoreMailboxProvider } from '../../src/store/store-mailbox.ts';
import { childText, el, encodeWbxml } from '../../src/wbxml/index.ts';
import { EasClient } from '../helpers/eas-client.ts';
import { collectingLogger, startTestServer, type LogLine, type TestServer } from '../helpers/server.ts';
import { ALICE, composeMail, mimeMessage } from '../mail-out/harness.ts';

const C = 'ComposeMail';
const SEND_COMMANDS = ['SendMail', 'SmartReply', 'SmartForward'] as const;
const WARN = 40;
const ERROR = 50;

/** A valid SmartReply's WBXML cut short, and bytes that only start like WBXML. */
const truncated = Buffer.from(encodeWbxml(composeMail('SmartReply', { clientId: 'cut-1', mime: Buffer.from('Subject: x\r\n\r\nbody'), source: { itemId: '1:1' } }))).subarray(0, 14);
const MALFORMED: Record<string, Buffer> = {
  'bad token': Buffer.from([0x03, 0x01, 0x6a, 0x00, 0x45, 0xff, 0xff, 0x01]),
  truncated,
  'no root': Buffer.from([0x03, 0x01, 0x6a, 0x00]),
};

/** What was logged while `fn` ran: the lines of warn and above, and whether any is an error or has a stack. */
async function logsDuring<T>(srv: TestServer, fn: () => Promise<T>): Promise<{ out: T; lines: LogLine[] }> {
  const from = srv.logs.length;
  const out = await fn();
  return { out, lines: srv.logs.slice(from).filter((l) => l.level >= WARN) };
}

function assertWarnedOnly(lines: LogLine[], what: string): void {
  assert.ok(lines.length > 0, `${what}: a warn line`);
  for (const l of lines) {
    assert.ok(l.level < ERROR, `${what}: no error line (got "${l.msg}" at ${l.level})`);
    assert.ok(!JSON.stringify(l).includes('"stack"'), `${what}: no stack (in "${l.msg}")`);
  }
  assert.ok(lines.some((l) => l.msg === 'request' && l.level === WARN), `${what}: the request line is warn`);
}

describe('bad input to SendMail, SmartReply and SmartForward is logged at warn', () => {
  let srv: TestServer;
  let client: EasClient;
  /** Set by a test: the mailbox store throws on every item lookup, as a broken store would. */
  let storeBroken = false;
  before(async () => {
    srv = await startTestServer({
      users: [ALICE],
      logLevel: 'debug',
      // easd's own mailboxes, whose item lookups throw while `storeBroken` is set.
      mailboxes: (store) => {
        const own = new StoreMailboxProvider(store);
        return {
          open(userId): Mailbox {
            const m = own.open(userId);
            return new Proxy(m, {
              get(target, prop, receiver) {
                if (storeBroken && prop === 'getItemByServerId') return () => Promise.reject(new Error('the disk is on fire'));
                const v = Reflect.get(target, prop, receiver) as unknown;
                return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
              },
            });
          },
          watch: (userId, folderIds, onChange) => own.watch(userId, folderIds, onChange),
        };
      },
      services: (store, _delivery, mailboxes) => ({
        outbound: createOutboundMail({ accounts: store, log: collectingLogger([]), deliverLocal: (m) => deliverMessage({ accounts: store, mailboxes }, m) }),
      }),
    });
    client = new EasClient({ url: srv.url, user: ALICE.email, password: ALICE.password });
  });
  after(async () => {
    await srv?.close();
  });

  for (const cmd of SEND_COMMANDS) {
    for (const [shape, body] of Object.entries(MALFORMED)) {
      it(`${cmd} with malformed WBXML (${shape}) is 400 and a warn line without a stack`, async () => {
        const { out, lines } = await logsDuring(srv, () => client.post(cmd, body, { version: '16.1' }));
        assert.equal(out.status, 400);
        assertWarnedOnly(lines, `${cmd} ${shape}`);
        assert.match(String(lines.find((l) => l.msg === 'request')!.reason), /malformed WBXML/);
      });
    }

    it(`${cmd} 14.1 without ClientId or with the wrong root is Status 103 and no error line`, async () => {
      for (const body of [el(C, cmd, el(C, 'Mime', 'x')), el('FolderHierarchy', 'FolderSync', el('FolderHierarchy', 'SyncKey', '0'))]) {
        const { out, lines } = await logsDuring(srv, () => client.post(cmd, body, { version: '14.1' }));
        assert.equal(out.status, 200);
        assert.equal(childText(out.wbxml!, 'Status', C), '103');
        assert.ok(!lines.some((l) => l.level >= ERROR), 'no error line');
      }
    });

    it(`${cmd} 12.1 with an empty body is 400 and a warn line`, async () => {
      const { out, lines } = await logsDuring(srv, () => client.post(cmd, Buffer.alloc(0), { version: '12.1', contentType: 'message/rfc822', params: { itemId: '1:1' } }));
      assert.equal(out.status, 400);
      assertWarnedOnly(lines, cmd);
    });
  }

  for (const cmd of ['SmartReply', 'SmartForward'] as const) {
    it(`${cmd} 12.1 of an item that does not exist keeps its HTTP 500 (MS-ASCMD before 14.0) and logs warn`, async () => {
      const mime = mimeMessage({ from: ALICE.email, to: ALICE.email, subject: 'Re: nothing', text: 'hello' });
      for (const body of [mime, Buffer.from([0, 1, 2, 0xff, 0xfe, 0x80, 10, 13])]) {
        const { out, lines } = await logsDuring(srv, () => client.post(cmd, body, { version: '12.1', contentType: 'message/rfc822', params: { itemId: '99:99', collectionId: '5' } }));
        assert.equal(out.status, 500);
        assertWarnedOnly(lines, cmd);
        const line = lines.find((l) => l.msg === 'request')!;
        assert.equal(line.easStatus, 150);
        assert.equal(line.clientFault, true);
      }
    });
  }

  it('SendMail 12.1 to a local address no user has keeps its HTTP 500 and logs warn', async () => {
    const mime = mimeMessage({ from: ALICE.email, to: 'nobody@example.com', subject: 'Hi', text: 'hello' });
    const { out, lines } = await logsDuring(srv, () => client.post('SendMail', mime, { version: '12.1', contentType: 'message/rfc822' }));
    assert.equal(out.status, 500);
    assertWarnedOnly(lines, 'SendMail');
    assert.equal(lines.find((l) => l.msg === 'request')!.easStatus, 116);
  });

  it('a store that throws is still an error line with its stack (14.1 Status 110, 12.1 HTTP 500)', async () => {
    storeBroken = true;
    try {
      const mime = mimeMessage({ from: ALICE.email, to: ALICE.email, subject: 'Re: x', text: 'hello' });
      const wbxml = await logsDuring(srv, () => client.post('SmartReply', composeMail('SmartReply', { clientId: 'fault-1', mime, source: { itemId: '1:1' } }), { version: '14.1' }));
      assert.equal(wbxml.out.status, 200);
      assert.equal(childText(wbxml.out.wbxml!, 'Status', C), '110');
      const fault = wbxml.lines.find((l) => l.level === ERROR && l.msg === 'SmartReply failed');
      assert.ok(fault, 'an error line');
      assert.match(String((fault.err as { stack?: string } | undefined)?.stack), /the disk is on fire/);

      const plain = await logsDuring(srv, () => client.post('SmartForward', mime, { version: '12.1', contentType: 'message/rfc822', params: { itemId: '1:1' } }));
      assert.equal(plain.out.status, 500);
      assert.ok(plain.lines.some((l) => l.level === ERROR && typeof (l.err as { stack?: string } | undefined)?.stack === 'string'), 'an error line with a stack');
      const line = plain.lines.find((l) => l.msg === 'request')!;
      assert.equal(line.level, ERROR, 'the request line of a server fault is error');
      assert.equal(line.clientFault, undefined);
    } finally {
      storeBroken = false;
    }
  });

  it('no command logs an error for a body that is not WBXML', async () => {
    for (const command of COMMANDS) {
      const version = command.until ?? '16.1';
      for (const [shape, body] of Object.entries(MALFORMED)) {
        const { out, lines } = await logsDuring(srv, () => client.post(command.name, body, { version }));
        assert.equal(out.status, 400, `${command.name} ${shape}`);
        assert.ok(!lines.some((l) => l.level >= ERROR), `${command.name} ${shape}: no error line`);
      }
    }
  });
});


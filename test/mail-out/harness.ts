/**
 * Test set-up for mail out: a capturing SMTP sink (smtp-server on 127.0.0.1:0) standing in for
 * the organisation's relay, an easd test server whose Services.outbound delivers local
 * recipients with deliverMessage and relays the rest to the sink (or has no relay), and
 * ComposeMail request builders as a phone sends them.
 */
import { SMTPServer } from 'smtp-server';
import { deliverMessage } from '../../src/mail/deliver.ts';
import { createOutboundMail, type OutboundMail, type RelayConfig } from '../../src/mail/relay.ts';
import { collectingLogger, startTestServer, type LogLine, type TestServer } from '../helpers/server.ts';
import { Device } from '../e2e/device.ts';
import { el, type WbxmlElement } from '../../src/wbxml/index.ts';

export interface CapturedMail {
  from: string;
  to: string[];
  raw: Buffer;
}

export interface SmtpSink {
  port: number;
  url: string;
  messages: CapturedMail[];
  /** Recipients the sink refuses with 550. */
  refuse: Set<string>;
  close(): Promise<void>;
}

/** A plain SMTP server that keeps every message it is given. */
export async function startSmtpSink(): Promise<SmtpSink> {
  const messages: CapturedMail[] = [];
  const refuse = new Set<string>();
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    onRcptTo(address, _session, cb) {
      if (refuse.has(address.address.toLowerCase())) cb(Object.assign(new Error('no such user'), { responseCode: 550 }));
      else cb();
    },
    onData(stream, session, cb) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        messages.push({
          from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
          to: session.envelope.rcptTo.map((r) => r.address),
          raw: Buffer.concat(chunks),
        });
        cb();
      });
    },
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    port,
    url: `smtp://127.0.0.1:${port}`,
    messages,
    refuse,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

export const ALICE = { email: 'alice@example.com', password: 'pw-alice-123456', displayName: 'Alice Example' };
export const BOB = { email: 'bob@example.com', password: 'pw-bob-1234567', displayName: 'Bob Example' };

export interface MailOutEnv {
  srv: TestServer;
  sink?: SmtpSink;
  outbound: OutboundMail;
  outboundLogs: LogLine[];
  close(): Promise<void>;
}

export async function startMailOut(opts: { backend: 'sqlite' | 'postgres' | 'memory'; relay?: boolean | RelayConfig; maxRequestBytes?: number }): Promise<MailOutEnv> {
  const sink = opts.relay === true ? await startSmtpSink() : undefined;
  const outboundLogs: LogLine[] = [];
  let outbound: OutboundMail | undefined;
  const relay = opts.relay === true ? { url: sink!.url, starttls: 'off' as const } : opts.relay || undefined;
  const srv = await startTestServer({
    backend: opts.backend,
    users: [ALICE, BOB],
    ...(opts.maxRequestBytes !== undefined ? { config: { maxRequestBytes: opts.maxRequestBytes } } : {}),
    services: (store, _, mailboxes) => {
      outbound = createOutboundMail({
        accounts: store,
        log: collectingLogger(outboundLogs),
        deliverLocal: (m) => deliverMessage({ accounts: store, mailboxes }, m),
        ...(relay ? { relay } : {}),
      });
      return { outbound };
    },
  });
  return {
    srv,
    sink,
    outbound: outbound!,
    outboundLogs,
    async close() {
      outbound?.close();
      await srv.close();
      await sink?.close();
    },
  };
}

export function phone(srv: TestServer, user: { email: string; password: string }, deviceId = 'PHONE1', version = '16.1'): Device {
  return new Device({ url: srv.url, user: user.email, password: user.password, deviceId, version });
}

/** An RFC 5322 message as a phone writes it. */
export function mimeMessage(h: { from: string; to: string; cc?: string; bcc?: string; subject: string; text: string; extraHeaders?: string }): Buffer {
  const lines = [
    `From: ${h.from}`,
    `To: ${h.to}`,
    h.cc ? `Cc: ${h.cc}` : null,
    h.bcc ? `Bcc: ${h.bcc}` : null,
    `Subject: ${h.subject}`,
    'MIME-Version: 1.0',
    'Content-Type: text/plain; charset=utf-8',
    h.extraHeaders ?? null,
    '',
    h.text,
    '',
  ].filter((l) => l !== null);
  return Buffer.from(lines.join('\r\n'), 'utf8');
}

/** ComposeMail request (14.0+): SendMail, SmartReply or SmartForward. */
export function composeMail(
  command: 'SendMail' | 'SmartReply' | 'SmartForward',
  o: { clientId: string; mime: Buffer; saveInSent?: boolean; replaceMime?: boolean; source?: { itemId?: string; folderId?: string; longId?: string } },
): WbxmlElement {
  const C = 'ComposeMail';
  return el(
    C,
    command,
    el(C, 'ClientId', o.clientId),
    o.saveInSent ? el(C, 'SaveInSentItems') : null,
    o.replaceMime ? el(C, 'ReplaceMime') : null,
    o.source
      ? el(
          C,
          'Source',
          o.source.folderId !== undefined ? el(C, 'FolderId', o.source.folderId) : null,
          o.source.itemId !== undefined ? el(C, 'ItemId', o.source.itemId) : null,
          o.source.longId !== undefined ? el(C, 'LongId', o.source.longId) : null,
        )
      : null,
    el(C, 'Mime', new Uint8Array(o.mime)),
  );
}

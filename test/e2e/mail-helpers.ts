/**
 * Scenario helpers for mail: a test server with an LMTP listener on the same store, LMTP
 * delivery through a real socket, and the Sync Options element for mail bodies.
 */
import assert from 'node:assert/strict';
import { pino } from 'pino';
import { createMailListener, type MailListener } from '../../src/mail/lmtp-server.ts';
import { child, childText, children, el, type WbxmlElement } from '../../src/wbxml/index.ts';
import { startTestServer, type TestServer, type TestServerOptions } from '../helpers/server.ts';
import { LineClient } from '../mail/lmtp-client.ts';

export interface MailServer {
  srv: TestServer;
  lmtp: MailListener;
  lmtpPort: number;
  close(): Promise<void>;
}

export async function startMailServer(opts: TestServerOptions & { acceptedDomains?: string[] }): Promise<MailServer> {
  const srv = await startTestServer(opts);
  const lmtp = createMailListener({ ...srv.runtime.deliveryTargets, log: pino({ level: 'silent' }), acceptedDomains: opts.acceptedDomains ?? [] });
  const lmtpPort = await lmtp.listen('127.0.0.1', 0);
  return {
    srv,
    lmtp,
    lmtpPort,
    async close() {
      await lmtp.close();
      await srv.close();
    },
  };
}

/** Delivers one message over LMTP; returns the reply code per accepted recipient (and 550s at RCPT). */
export async function lmtpDeliver(port: number, from: string, to: string[], message: Buffer | string): Promise<number[]> {
  const c = await LineClient.open(port);
  try {
    assert.equal((await c.command('LHLO test.example')).code, 250);
    assert.equal((await c.command(`MAIL FROM:<${from}>`)).code, 250);
    let accepted = 0;
    const codes: number[] = [];
    for (const r of to) {
      const reply = await c.command(`RCPT TO:<${r}>`);
      if (reply.code === 250) accepted++;
      else codes.push(reply.code);
    }
    if (accepted === 0) return codes;
    return [...(await c.data(message, accepted)).map((r) => r.code), ...codes];
  } finally {
    await c.close();
  }
}

/** Children of Sync Options for mail: BodyPreference(s) and MIMESupport (MS-ASCMD 2.2.3.115, MS-ASAIRS 2.2.2.7). */
export function mailOptions(prefs: Array<{ type: number; truncationSize?: number; preview?: number; allOrNone?: boolean }>, mimeSupport?: number): WbxmlElement[] {
  return [
      ...prefs.map((p) =>
        el(
          'AirSyncBase',
          'BodyPreference',
          el('AirSyncBase', 'Type', p.type),
          p.truncationSize === undefined ? null : el('AirSyncBase', 'TruncationSize', p.truncationSize),
          p.allOrNone === undefined ? null : el('AirSyncBase', 'AllOrNone', p.allOrNone ? 1 : 0),
          p.preview === undefined ? null : el('AirSyncBase', 'Preview', p.preview),
        ),
      ),
      ...(mimeSupport === undefined ? [] : [el('AirSync', 'MIMESupport', mimeSupport)]),
  ];
}

export function bodyOf(appData: WbxmlElement): { type?: string; truncated: boolean; size?: string; data?: string; preview?: string } {
  const b = child(appData, 'Body', 'AirSyncBase');
  return {
    type: b ? childText(b, 'Type', 'AirSyncBase') : undefined,
    truncated: b ? childText(b, 'Truncated', 'AirSyncBase') === '1' : false,
    size: b ? childText(b, 'EstimatedDataSize', 'AirSyncBase') : undefined,
    data: b ? childText(b, 'Data', 'AirSyncBase') : undefined,
    preview: b ? childText(b, 'Preview', 'AirSyncBase') : undefined,
  };
}

export function attachmentsOf(appData: WbxmlElement): Array<{ name?: string; fileReference?: string; method?: string; size?: string; contentId?: string; isInline: boolean }> {
  const atts = child(appData, 'Attachments', 'AirSyncBase');
  return (atts ? children(atts, 'Attachment', 'AirSyncBase') : []).map((a) => ({
    name: childText(a, 'DisplayName', 'AirSyncBase'),
    fileReference: childText(a, 'FileReference', 'AirSyncBase'),
    method: childText(a, 'Method', 'AirSyncBase'),
    size: childText(a, 'EstimatedDataSize', 'AirSyncBase'),
    contentId: childText(a, 'ContentId', 'AirSyncBase'),
    isInline: childText(a, 'IsInline', 'AirSyncBase') === '1',
  }));
}

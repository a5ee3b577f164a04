/**
 * At start, asks the SMTP relay for its message size limit (the SIZE keyword of its EHLO answer,
 * RFC 1870 4) so that a relay that takes less than easd lets devices send is told to the
 * administrator once, instead of surfacing as refused messages. Sending checks the limit again
 * (relay.ts): this probe only informs.
 *
 * A plain EHLO before STARTTLS: SIZE is an envelope extension servers advertise before TLS too
 * (Postfix does). smtps:// relays are asked over TLS.
 */
import { connect as tcpConnect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import type { RelayConfig } from './relay.ts';

export type RelaySize = { kind: 'limit'; bytes: number } | { kind: 'unlimited' } | { kind: 'unknown'; reason: string };

/** What the relay answers to EHLO about size, within `timeoutMs`. Never throws. */
export async function probeRelaySize(cfg: RelayConfig, heloName: string, timeoutMs = 10_000): Promise<RelaySize> {
  let url: URL;
  try {
    url = new URL(cfg.url);
  } catch {
    return { kind: 'unknown', reason: 'not a URL' };
  }
  const secure = url.protocol === 'smtps:';
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  const port = url.port !== '' ? Number(url.port) : secure ? 465 : 25;
  return new Promise<RelaySize>((resolve) => {
    const socket: Socket = secure ? tlsConnect({ host, port, servername: host, rejectUnauthorized: cfg.tlsRejectUnauthorized !== false }) : tcpConnect({ host, port });
    let buffer = '';
    let stage: 'greeting' | 'ehlo' = 'greeting';
    const finish = (result: RelaySize) => {
      clearTimeout(timer);
      socket.removeAllListeners('data');
      if (!socket.destroyed) socket.end('QUIT\r\n');
      socket.on('error', () => {});
      resolve(result);
    };
    const timer = setTimeout(() => {
      finish({ kind: 'unknown', reason: 'no answer in time' });
      socket.destroy();
    }, timeoutMs);
    socket.setEncoding('latin1');
    socket.on('error', (err) => finish({ kind: 'unknown', reason: err.message }));
    socket.on('data', (chunk: string) => {
      buffer += chunk;
      // A reply is complete at a line whose code is followed by a space (RFC 5321 4.2.1).
      const lines = buffer.split('\r\n');
      const last = lines.findIndex((l) => /^\d{3}(?: |$)/.test(l));
      if (last < 0) {
        if (buffer.length > 64 * 1024) finish({ kind: 'unknown', reason: 'reply too long' });
        return;
      }
      const reply = lines.slice(0, last + 1);
      buffer = lines.slice(last + 1).join('\r\n');
      const code = reply[last]!.slice(0, 3);
      if (stage === 'greeting') {
        if (code !== '220') return finish({ kind: 'unknown', reason: `greeting ${reply[last]}` });
        stage = 'ehlo';
        socket.write(`EHLO ${heloName}\r\n`);
        return;
      }
      if (code !== '250') return finish({ kind: 'unknown', reason: `EHLO answered ${reply[last]}` });
      finish(sizeOf(reply.map((l) => l.slice(4))));
    });
  });
}

/** The SIZE keyword of EHLO answer lines: a limit, 0 or no number for none (RFC 1870 4), or absent. */
export function sizeOf(keywords: readonly string[]): RelaySize {
  for (const k of keywords) {
    const m = /^SIZE(?:\s+(\d+))?\s*$/i.exec(k.trim());
    if (!m) continue;
    const n = m[1] === undefined ? 0 : Number(m[1]);
    return n > 0 ? { kind: 'limit', bytes: n } : { kind: 'unlimited' };
  }
  return { kind: 'unknown', reason: 'the relay does not advertise SIZE' };
}

/**
 * What to tell the administrator at start about the relay's limit against easd's own (the largest
 * SendMail request it takes, `--max-request-size`): a warn line when the relay takes less, so the
 * difference is known before a user meets it (Status 122), or an info line.
 */
export function relaySizeNotice(size: RelaySize, easdLimit: number): { level: 'info' | 'warn'; fields: Record<string, unknown>; msg: string } {
  if (size.kind === 'limit' && size.bytes < easdLimit) {
    return {
      level: 'warn',
      fields: { relayLimit: size.bytes, easdLimit },
      msg: 'the SMTP relay takes smaller messages than easd does: larger SendMail is refused with Status 122; raise the relay limit (Postfix message_size_limit) or lower --max-request-size',
    };
  }
  if (size.kind === 'unknown') return { level: 'info', fields: { reason: size.reason }, msg: 'the SMTP relay did not tell its message size limit' };
  return { level: 'info', fields: { relayLimit: size.kind === 'limit' ? size.bytes : 'none', easdLimit }, msg: 'the SMTP relay takes messages as large as easd does' };
}

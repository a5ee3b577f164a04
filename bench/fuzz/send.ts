/**
 * Sending one fuzzed request and reading what comes back, bounded in time: over a keep-alive
 * node:http agent, or over a raw socket for what node:http refuses to send (control characters
 * in headers, a Content-Length that lies), and LMTP deliveries over a raw socket.
 * The body of each answer is scanned for a marker (the other user's secret) as it streams in.
 */
import http from 'node:http';
import net from 'node:net';

export interface FuzzHttpRequest {
  method: string;
  path: string;
  headers: Record<string, string | string[]>;
  body?: Buffer;
  /** Send over a raw socket: the bytes as they are, the declared length possibly wrong. */
  raw?: { contentLength?: number };
}

export type Outcome =
  | { kind: 'answer'; status: number; headers: Record<string, string>; body: Buffer; marker: boolean; ms: number }
  | { kind: 'timeout'; ms: number }
  | { kind: 'closed'; error: string; ms: number };

const KEEP = 64 * 1024;

/** Collects up to KEEP bytes of the body, and whether `marker` appears anywhere in it. */
class BodyScan {
  parts: Buffer[] = [];
  kept = 0;
  tail = Buffer.alloc(0);
  found = false;
  constructor(private readonly marker: Buffer) {}
  push(d: Buffer) {
    if (this.kept < KEEP) {
      this.parts.push(d.subarray(0, KEEP - this.kept));
      this.kept += Math.min(d.length, KEEP - this.kept);
    }
    if (!this.found) {
      const joined = Buffer.concat([this.tail, d]);
      if (joined.includes(this.marker)) this.found = true;
      this.tail = joined.subarray(Math.max(0, joined.length - this.marker.length + 1));
    }
  }
  body() {
    return Buffer.concat(this.parts);
  }
}

export function sendHttp(agent: http.Agent, port: number, req: FuzzHttpRequest, timeoutMs: number, marker: Buffer): Promise<Outcome> {
  if (req.raw) return sendRaw(port, req, timeoutMs, marker);
  const t0 = performance.now();
  return new Promise((resolve) => {
    let done = false;
    const finish = (o: Outcome) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      resolve(o);
    };
    let r: http.ClientRequest;
    try {
      r = http.request({ host: '127.0.0.1', port, method: req.method, path: req.path, headers: req.headers, agent });
    } catch {
      // node:http refuses the header or path (control characters): send the bytes raw instead.
      done = true;
      resolve(sendRaw(port, { ...req, raw: {} }, timeoutMs, marker));
      return;
    }
    const timer = setTimeout(() => {
      finish({ kind: 'timeout', ms: performance.now() - t0 });
      r.destroy();
    }, timeoutMs);
    r.on('response', (res) => {
      const scan = new BodyScan(marker);
      res.on('data', (d: Buffer) => scan.push(d));
      res.on('end', () => finish({ kind: 'answer', status: res.statusCode ?? 0, headers: flat(res.headers), body: scan.body(), marker: scan.found, ms: performance.now() - t0 }));
      res.on('error', (e) => finish({ kind: 'closed', error: e.message, ms: performance.now() - t0 }));
    });
    r.on('error', (e) => finish({ kind: 'closed', error: (e as NodeJS.ErrnoException).code ?? e.message, ms: performance.now() - t0 }));
    r.end(req.body);
  });
}

function flat(h: http.IncomingHttpHeaders): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(h)) if (v !== undefined) out[k] = Array.isArray(v) ? v.join(', ') : v;
  return out;
}

/** The request as bytes on a fresh connection, half-closed after the body; the answer read until the server closes. */
export function sendRaw(port: number, req: FuzzHttpRequest, timeoutMs: number, marker: Buffer): Promise<Outcome> {
  const t0 = performance.now();
  return new Promise((resolve) => {
    const body = req.body ?? Buffer.alloc(0);
    const lines = [`${req.method} ${req.path} HTTP/1.1`, `Host: 127.0.0.1:${port}`];
    for (const [k, v] of Object.entries(req.headers)) for (const one of Array.isArray(v) ? v : [v]) lines.push(`${k}: ${one}`);
    const declared = req.raw?.contentLength ?? body.length;
    if (!Object.keys(req.headers).some((k) => k.toLowerCase() === 'content-length' || k.toLowerCase() === 'transfer-encoding')) lines.push(`Content-Length: ${declared}`);
    lines.push('Connection: close', '', '');
    const sock = net.connect(port, '127.0.0.1');
    const scan = new BodyScan(marker);
    let head: Buffer = Buffer.alloc(0);
    let done = false;
    const finish = (o: Outcome) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      sock.destroy();
      resolve(o);
    };
    const timer = setTimeout(() => finish({ kind: 'timeout', ms: performance.now() - t0 }), timeoutMs);
    sock.on('connect', () => {
      sock.write(Buffer.concat([Buffer.from(lines.join('\r\n'), 'latin1'), body]));
      sock.end();
    });
    sock.on('data', (d: Buffer) => {
      if (!head.includes('\r\n\r\n')) {
        head = Buffer.concat([head, d]);
        const at = head.indexOf('\r\n\r\n');
        if (at >= 0) scan.push(head.subarray(at + 4));
        return;
      }
      scan.push(d);
    });
    const end = () => {
      const m = /^HTTP\/1\.[01] (\d{3})/.exec(head.toString('latin1'));
      if (!m) return finish({ kind: 'closed', error: 'closed without an answer', ms: performance.now() - t0 });
      const at = head.indexOf('\r\n\r\n');
      const headers: Record<string, string> = {};
      for (const l of head.subarray(0, at < 0 ? head.length : at).toString('latin1').split('\r\n').slice(1)) {
        const c = l.indexOf(':');
        if (c > 0) headers[l.slice(0, c).trim().toLowerCase()] = l.slice(c + 1).trim();
      }
      finish({ kind: 'answer', status: Number(m[1]), headers, body: scan.body(), marker: scan.found, ms: performance.now() - t0 });
    };
    sock.on('end', end);
    sock.on('close', end);
    sock.on('error', () => end());
  });
}

export type LmtpOutcome = { kind: 'replies'; codes: number[]; text: string } | { kind: 'timeout' } | { kind: 'closed'; codes: number[]; text: string };

/** One LMTP session (RFC 2033): LHLO, MAIL, RCPT per recipient, DATA (dot-stuffed), QUIT. */
export function deliverLmtp(port: number, from: string, to: string[], message: Buffer, timeoutMs: number): Promise<LmtpOutcome> {
  return new Promise((resolve) => {
    const sock = net.connect(port, '127.0.0.1');
    let buf = '';
    const codes: number[] = [];
    let step = 0;
    let done = false;
    const finish = (o: LmtpOutcome) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      sock.destroy();
      resolve(o);
    };
    const timer = setTimeout(() => finish({ kind: 'timeout' }), timeoutMs);
    // Replies expected after each step: greeting, LHLO, MAIL, each RCPT, DATA (354), then one per recipient.
    const script: Array<() => void> = [
      () => sock.write('LHLO fuzz.example.net\r\n'),
      () => sock.write(`MAIL FROM:<${from}>\r\n`),
      ...to.map((t) => () => sock.write(`RCPT TO:<${t}>\r\n`)),
      () => sock.write('DATA\r\n'),
      () => {
        const text = message.toString('latin1').replace(/\r?\n/g, '\r\n').replace(/^\./gm, '..');
        sock.write(Buffer.concat([Buffer.from(text, 'latin1'), Buffer.from(text.endsWith('\r\n') ? '.\r\n' : '\r\n.\r\n')]));
      },
    ];
    const expected = 1 + 1 + 1 + to.length + 1 + to.length;
    sock.on('data', (d: Buffer) => {
      buf += d.toString('latin1');
      let nl: number;
      while ((nl = buf.indexOf('\r\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 2);
        if (/^\d{3}-/.test(line)) continue;
        const code = Number(line.slice(0, 3));
        codes.push(code);
        if (step < script.length) {
          // A refusal before the message is sent ends the session (unknown recipient, bad command).
          if (code >= 400) return finish({ kind: 'replies', codes, text: line });
          script[step++]!();
        } else if (codes.length >= expected) {
          sock.write('QUIT\r\n');
          return finish({ kind: 'replies', codes, text: line });
        }
      }
    });
    sock.on('error', () => finish({ kind: 'closed', codes, text: buf }));
    sock.on('close', () => finish({ kind: 'closed', codes, text: buf }));
  });
}

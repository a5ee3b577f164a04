/**
 * One LMTP delivery (RFC 2033) as an MTA makes it, for the durability check: a delivery counts as
 * acknowledged only when the per-recipient reply after DATA is 250. A connection cut by a kill
 * (or any other failure) ends the attempt at once with what was seen, never waits for a timeout.
 */
import { connect } from 'node:net';

export type DeliveryOutcome = 'acked' | 'refused' | 'cut';

export interface DeliveryAttempt {
  outcome: DeliveryOutcome;
  /** The last reply line seen, or the socket error. */
  detail: string;
  /** Whether the message body was sent in full (the server may have stored it). */
  sentData: boolean;
}

export function lmtpDeliver(port: number, rcpt: string, message: string, timeoutMs = 120_000): Promise<DeliveryAttempt> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.setEncoding('latin1');
    let buf = '';
    let step = 0;
    let sentData = false;
    let done = false;
    const finish = (outcome: DeliveryOutcome, detail: string) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      resolve({ outcome, detail, sentData });
    };
    const timer = setTimeout(() => finish('cut', 'timeout'), timeoutMs);
    // The dialogue, one command per complete reply: greeting, LHLO, MAIL, RCPT, DATA, message.
    const next = (code: number, line: string) => {
      const want = step === 4 ? 354 : step === 0 ? 220 : 250;
      if (code !== want) return finish(step === 5 ? 'refused' : 'cut', line);
      switch (step++) {
        case 0:
          return void socket.write('LHLO durability.test\r\n');
        case 1:
          return void socket.write('MAIL FROM:<sender@durability.test>\r\n');
        case 2:
          return void socket.write(`RCPT TO:<${rcpt}>\r\n`);
        case 3:
          return void socket.write('DATA\r\n');
        case 4: {
          const stuffed = message.replace(/\r?\n/g, '\r\n').replace(/^\./gm, '..');
          sentData = true;
          return void socket.write(stuffed + (stuffed.endsWith('\r\n') ? '' : '\r\n') + '.\r\n');
        }
        case 5:
          socket.write('QUIT\r\n');
          return finish('acked', line);
      }
    };
    socket.on('data', (d: string) => {
      buf += d;
      let i: number;
      while ((i = buf.indexOf('\r\n')) >= 0) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 2);
        // Multi-line replies ("250-...") end with a line whose fourth character is a space.
        if (line[3] === '-') continue;
        next(Number(line.slice(0, 3)), line);
        if (done) return;
      }
    });
    socket.on('error', (err) => finish('cut', err.message));
    socket.on('close', () => finish('cut', 'connection closed'));
  });
}

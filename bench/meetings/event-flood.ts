/**
 * One invitation with many VEVENTs delivered over LMTP (issue 15 item 8): how long the delivery
 * takes and how many calendar items it makes, with `--max-events-per-message` at its default
 * (100) and, as the "before" figure, so high that nothing is left out.
 *
 *   node --import tsx bench/meetings/event-flood.ts [--events 1000] [--rounds 3]
 *
 * In one process: easd (test server composition, SQLite in a temp directory, one user) with its
 * own LMTP listener, a fresh server per run; the timed part is the one LMTP transaction from DATA
 * to easd's 250 (delivery, the meeting hook and the notice). Runs alternate between the two
 * limits. Measurements, not tests.
 */
import { cpus, loadavg } from 'node:os';
import { execSync } from 'node:child_process';
import { startTestServer } from '../../test/helpers/server.ts';
import { LineClient } from '../../test/mail/lmtp-client.ts';
import { invitation } from '../../test/e2e/itip-mail.ts';
import { liveItemsOf } from '../../test/helpers/store-items.ts';

const argv = process.argv.slice(2);
const arg = (name: string, dflt: string) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 && argv[i + 1] !== undefined ? argv[i + 1]! : dflt;
};
const EVENTS = Number(arg('events', '1000'));
const ROUNDS = Number(arg('rounds', '3'));
const USER = { email: 'bob@example.com', password: 'bench-password-1' };

function ics(n: number): string {
  const lines = ['BEGIN:VCALENDAR', 'VERSION:2.0', 'PRODID:-//bench//flood//EN', 'METHOD:REQUEST'];
  for (let i = 0; i < n; i++) {
    const d = new Date(Date.UTC(2026, 2, 2) + (i % 300) * 86_400_000).toISOString().slice(0, 10).replace(/-/g, '');
    lines.push('BEGIN:VEVENT', `UID:flood-${i}@example.com`, 'DTSTAMP:20260225T090000Z', `DTSTART:${d}T100000Z`, `DTEND:${d}T110000Z`, `SUMMARY:Flood ${i}`);
    lines.push('ORGANIZER:mailto:olivia@example.com', 'ATTENDEE;RSVP=TRUE:mailto:bob@example.com', 'END:VEVENT');
  }
  lines.push('END:VCALENDAR', '');
  return lines.join('\r\n');
}

async function run(limit: number, message: string): Promise<{ ms: number; items: number; inbox: number }> {
  const srv = await startTestServer({ users: [USER], logLevel: 'warn', runtimeConfig: { maxEventsPerMessage: limit } });
  try {
    const port = await srv.runtime.listenMail('lmtp', '127.0.0.1', 0);
    const c = await LineClient.open(port);
    await c.command('LHLO bench.test');
    await c.command('MAIL FROM:<olivia@example.com>');
    await c.command(`RCPT TO:<${USER.email}>`);
    const t0 = performance.now();
    const [reply] = await c.data(message, 1);
    const ms = performance.now() - t0;
    if (reply!.code !== 250) throw new Error(`not delivered: ${reply!.text}`);
    await c.command('QUIT');
    return { ms, items: (await liveItemsOf(srv.store, USER.email, 8)).length, inbox: (await liveItemsOf(srv.store, USER.email, 2)).length };
  } finally {
    await srv.close();
  }
}

const message = invitation({ from: 'Olivia <olivia@example.com>', to: 'Bob <bob@example.com>', subject: 'Flood', ics: ics(EVENTS), id: 'flood@example.com' }).toString('utf8');
console.log(`date: ${new Date().toUTCString()}; revision ${execSync('git rev-parse --short HEAD').toString().trim()}; nproc ${cpus().length}; load before ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
console.log(`message: ${EVENTS} VEVENTs, ${message.length} bytes`);
const results: Record<string, Array<{ ms: number; items: number; inbox: number }>> = { default: [], unbounded: [] };
for (let r = 0; r < ROUNDS; r++) {
  for (const [name, limit] of [['default', 100], ['unbounded', 1_000_000_000]] as const) {
    const res = await run(limit, message);
    results[name]!.push(res);
    console.log(`round ${r + 1} ${name.padEnd(9)} limit ${limit}: ${res.ms.toFixed(0)} ms, ${res.items} calendar items, ${res.inbox} Inbox items`);
  }
}
for (const [name, list] of Object.entries(results)) {
  const sorted = list.map((x) => x.ms).sort((a, b) => a - b);
  console.log(`${name}: median ${sorted[Math.floor(sorted.length / 2)]!.toFixed(0)} ms, best ${sorted[0]!.toFixed(0)} ms`);
}
console.log(`load after ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);

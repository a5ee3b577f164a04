/**
 * A process with easd's LMTP listener over a temp SQLite store and one user (bob@example.com),
 * for measuring the server's memory from outside (/proc/PID/status): prints `{"port":N}` on a
 * line, runs until its stdin closes. Used by delivery-memory.test.ts and bench/mail/memory.ts.
 *
 *   node --import tsx test/mail/lmtp-child.ts [--backend sqlite|postgres]
 */
import { pino } from 'pino';
import { createMailListener } from '../../src/mail/lmtp-server.ts';
import { openTempPostgresStore, openTempSqliteStore } from '../helpers/db.ts';
import { deliveryTo } from '../helpers/delivery.ts';

const i = process.argv.indexOf('--backend');
const backend = i >= 0 ? process.argv[i + 1] : 'sqlite';
const t = backend === 'postgres' ? await openTempPostgresStore() : await openTempSqliteStore();
await t.store.createUser({ email: 'bob@example.com', passwordHash: 'x' });
const lmtp = createMailListener({ ...deliveryTo(t.store), log: pino({ level: 'warn' }), maxMessageBytes: 200 * 1024 * 1024 });
const port = await lmtp.listen('127.0.0.1', 0);
process.stdout.write(JSON.stringify({ port }) + '\n');
process.stdin.resume();
process.stdin.once('end', () => {
  void lmtp
    .close()
    .then(() => t.cleanup())
    .then(() => process.exit(0));
});

import { Option, type Command } from 'commander';
import { DEFAULT_MAILBOX_LOG_HOURS, type MailboxLogEntry } from '../store/mailbox-log-types.ts';
import { parseTime } from '../report/time.ts';
import { addStoreOptions, openStoreFrom, type StoreCliOptions } from './options.ts';

/**
 * `easd logging on|off|show USER`: mailbox logging (src/logging/mailbox-log.ts). While on, every
 * ActiveSync request of the user and its response is kept as XML text; logging ends by itself
 * after --hours, and entries are pruned DEFAULT_MAILBOX_LOG_HOURS after they were written. A
 * running server sees a change within a few seconds.
 */
function positiveHours(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0 || n > 24 * 365) throw new Error(`--hours wants a number of hours, got "${value}"`);
  return n;
}

export function formatEntry(e: MailboxLogEntry): string {
  const meta = e.meta as { method?: string; url?: string; requestHeaders?: Record<string, string>; responseHeaders?: Record<string, string>; ms?: number };
  const headers = (h: Record<string, string> | undefined) => Object.entries(h ?? {}).map(([k, v]) => `${k}: ${v}\n`).join('');
  return [
    `----- ${e.at.toISOString()} ${e.cmd ?? '-'} device ${e.deviceId ?? '-'} -> HTTP ${e.httpStatus}${meta.ms !== undefined ? ` in ${meta.ms} ms` : ''}\n`,
    `RequestHeader:\n${meta.method ?? ''} ${meta.url ?? ''}\n${headers(meta.requestHeaders)}`,
    `RequestBody:\n${e.request ?? '(none)'}\n`,
    `ResponseHeader:\nHTTP ${e.httpStatus}\n${headers(meta.responseHeaders)}`,
    `ResponseBody:\n${e.response ?? '(none)'}\n`,
  ].join('');
}

export function registerLogging(program: Command): void {
  const logging = program.command('logging').description("mailbox logging: keep a user's requests and responses for troubleshooting");

  addStoreOptions(
    logging
      .command('on <email>')
      .description("log every request and response of the user's devices")
      .addOption(new Option('--hours <n>', 'stop logging after this many hours').default(String(DEFAULT_MAILBOX_LOG_HOURS))),
  ).action(async (email: string, opts: StoreCliOptions & { hours: string }) => {
    const hours = positiveHours(opts.hours);
    const store = await openStoreFrom(opts);
    try {
      const u = await store.getUserByEmail(email);
      if (!u) throw new Error(`no user ${email}`);
      const until = new Date(Date.now() + hours * 3_600_000);
      await store.mailboxLog.enable(u.id, until);
      process.stdout.write(`mailbox logging of ${u.email} is on until ${until.toISOString()}\n`);
    } finally {
      await store.close();
    }
  });

  addStoreOptions(logging.command('off <email>').description('stop logging (the entries are kept until they expire)')).action(
    async (email: string, opts: StoreCliOptions) => {
      const store = await openStoreFrom(opts);
      try {
        const u = await store.getUserByEmail(email);
        if (!u) throw new Error(`no user ${email}`);
        const was = await store.mailboxLog.disable(u.id);
        process.stdout.write(was ? `mailbox logging of ${u.email} is off\n` : `mailbox logging of ${u.email} was not on\n`);
      } finally {
        await store.close();
      }
    },
  );

  addStoreOptions(
    logging
      .command('show <email>')
      .description("show the user's logged requests and responses, oldest first")
      .option('--since <time>', 'only entries from this time (2026-11-25T04:00:00Z, or 30m, 6h, 3d back)')
      .option('--limit <n>', 'at most this many (the newest)', '1000')
      .option('--json', 'one JSON object per line'),
  ).action(async (email: string, opts: StoreCliOptions & { since?: string; limit: string; json?: boolean }) => {
    const since = opts.since !== undefined ? parseTime(opts.since) : undefined;
    const limit = Number(opts.limit);
    if (!Number.isInteger(limit) || limit <= 0) throw new Error(`--limit wants a positive number, got "${opts.limit}"`);
    const store = await openStoreFrom(opts);
    try {
      const u = await store.getUserByEmail(email);
      if (!u) throw new Error(`no user ${email}`);
      // Expired entries go first, so what is shown is what the retention promises.
      await store.mailboxLog.prune(new Date(Date.now() - DEFAULT_MAILBOX_LOG_HOURS * 3_600_000));
      const setting = await store.mailboxLog.getSetting(u.id);
      const entries = await store.mailboxLog.list(u.id, { ...(since ? { since } : {}), limit });
      if (opts.json) {
        for (const e of entries) process.stdout.write(JSON.stringify({ ...e, at: e.at.toISOString() }) + '\n');
        return;
      }
      const state = setting && setting.until > new Date() ? `on until ${setting.until.toISOString()}` : 'off';
      process.stdout.write(`mailbox log of ${u.email} (logging ${state}): ${entries.length} entries\n`);
      for (const e of entries) process.stdout.write(formatEntry(e));
    } finally {
      await store.close();
    }
  });
}

/**
 * `easd mail gc`: deletes stored message and attachment bytes (store.mail) that no item refers to
 * any more (messages deleted for good, by every recipient). Safe to run while easd serves: blobs
 * younger than --grace are kept, so a delivery in progress is never touched.
 */
import type { Command } from 'commander';
import { Option } from 'commander';
import { addStoreOptions, openStoreFrom, type StoreCliOptions } from './options.ts';

function parseDuration(value: string): number {
  const m = /^(\d+)\s*([smhd])$/.exec(value.trim());
  if (!m) throw new Error(`--grace wants a duration like 30m, 1h or 2d, got "${value}"`);
  return Number(m[1]) * { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[m[2] as 's' | 'm' | 'h' | 'd'];
}

export function registerMail(program: Command): void {
  const mail = program.command('mail').description('stored mail content');
  addStoreOptions(
    mail
      .command('gc')
      .description('delete stored message and attachment bytes that no item refers to')
      .addOption(new Option('--grace <duration>', 'keep anything stored more recently than this').default('1h')),
  ).action(async (opts: StoreCliOptions & { grace: string }) => {
    const grace = parseDuration(opts.grace);
    const store = await openStoreFrom(opts);
    try {
      const r = await store.mail.deleteUnreferencedBlobs(new Date(Date.now() - grace));
      process.stdout.write(`deleted ${r.deleted} unreferenced blob(s), ${r.kept} kept\n`);
    } finally {
      await store.close();
    }
  });
}

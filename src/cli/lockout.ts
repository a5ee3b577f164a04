/**
 * Account lockout for the admin (src/auth/lockout.ts): `easd user unlock` and the lockout lines
 * of `user show` and `device show`. Servers write a block when it starts and read the record back
 * for attempts of unproven origins (at most every few seconds per login), so an unlock written here
 * reaches every running server without a restart.
 */
import type { Command } from 'commander';
import { normalizeLogin } from '../auth/authenticator.ts';
import type { AccountLockoutRecord } from '../store/protection-types.ts';
import type { Store } from '../store/types.ts';
import { addStoreOptions, openStoreFrom, type StoreCliOptions } from './options.ts';

/** How long `--device` lets a device through later blocks of the account until it logs in. */
export const ADMIT_MS = 24 * 3600_000;

export function registerUserUnlock(user: Command): void {
  addStoreOptions(
    user
      .command('unlock <email>')
      .description("end the account's lockout now (running servers see it within seconds)")
      .option('--device <deviceId>', 'also let this device id in through new blocks for 24 hours, until it logs in'),
  ).action(async (email: string, opts: StoreCliOptions & { device?: string }) => {
    if (opts.device !== undefined && !/^[A-Za-z0-9]{1,32}$/.test(opts.device)) throw new Error('--device takes a device id: 1 to 32 letters and digits');
    const store = await openStoreFrom(opts);
    try {
      const u = await store.getUserByEmail(email);
      if (!u) throw new Error(`no user ${email}`);
      const admit = opts.device ?? null;
      const until = admit ? new Date(Date.now() + ADMIT_MS) : null;
      // The login as typed (an alias) and the primary address are keyed apart by the servers.
      for (const login of new Set([normalizeLogin(u.email), normalizeLogin(email)])) await store.protection.unlockAccount(login, admit, until);
      process.stdout.write(`unlocked ${u.email}${admit ? `; device ${admit} admitted until ${until!.toISOString()}` : ''}\n`);
    } finally {
      await store.close();
    }
  });
}

/** The account's lockout record, if any. */
export async function accountLockout(store: Store, email: string): Promise<AccountLockoutRecord | null> {
  return store.protection.getAccountLockout(normalizeLogin(email));
}

/** One line for `user show` / `device show`. */
export function lockoutText(r: AccountLockoutRecord | null, now = new Date()): string {
  if (!r || (r.blocks === 0 && !r.unlockedAt)) return 'never locked out';
  const parts: string[] = [];
  if (r.blockedUntil && r.blockedUntil > now && (!r.unlockedAt || (r.startedAt ?? now) >= r.unlockedAt)) {
    parts.push(`LOCKED OUT for unproven devices since ${r.startedAt?.toISOString() ?? '-'} until at least ${r.blockedUntil.toISOString()} (${r.failures} failures, last from ${r.lastAddress ?? '-'}); known devices and addresses go on`);
  } else if (r.blocks > 0) {
    parts.push(`last lockout ${r.startedAt?.toISOString() ?? '-'} (${r.failures} failures, last from ${r.lastAddress ?? '-'})`);
  }
  parts.push(`${r.blocks} lockout(s)`);
  if (r.unlockedAt) parts.push(`unlocked by the admin ${r.unlockedAt.toISOString()}`);
  if (r.admitDevice && r.admitUntil && r.admitUntil > now) parts.push(`device ${r.admitDevice} admitted until ${r.admitUntil.toISOString()}`);
  return parts.join('; ');
}

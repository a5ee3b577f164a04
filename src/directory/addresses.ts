/**
 * Which local user an address belongs to: the user's primary address or one of their aliases
 * (additional addresses set with `easd user set --alias`), case-insensitively. Inbound delivery
 * resolves recipients with this; automatic replies use it to tell internal senders.
 */
import type { User } from '../ports/types.ts';
import type { AccountsStore } from '../ports/store.ts';

/** Strips a display name and angle brackets: `"Ann" <Ann@Example.com>` -> `ann@example.com`. */
export function bareAddress(address: string): string {
  const m = /<([^<>]*)>\s*$/.exec(address);
  return (m ? m[1]! : address).trim().toLowerCase();
}

/** The user who receives mail at `address` (primary or alias), or null. */
export async function findUserByAddress(accounts: Pick<AccountsStore, 'directory' | 'getUserById'>, address: string): Promise<User | null> {
  const a = bareAddress(address);
  if (a === '') return null;
  const userId = await accounts.directory.findUserIdByAddress(a);
  return userId === null ? null : accounts.getUserById(userId);
}

/** Every address the user receives mail at: the primary first, then the aliases. */
export async function userAddresses(accounts: Pick<AccountsStore, 'directory'>, user: User): Promise<string[]> {
  const entry = await accounts.directory.getEntry(user.id);
  return [user.email, ...(entry?.aliases ?? [])];
}

/** The domain part of an address, lowercased ('' when there is none). */
export function domainOf(address: string): string {
  const a = bareAddress(address);
  const at = a.lastIndexOf('@');
  return at < 0 ? '' : a.slice(at + 1);
}

import { randomBytes } from 'node:crypto';
import type { Accounts } from '../ports/accounts.ts';
import type { AccountsStore } from '../ports/store.ts';
import type { User } from '../ports/types.ts';
import { hashPassword, verifyPassword } from './password.ts';

/** easd's own accounts: users in its store, each with a scrypt hash of the password (password.ts). */
export class StoredAccounts implements Accounts {
  constructor(private readonly store: Pick<AccountsStore, 'getUserByEmail'>) {}

  findUser(login: string): Promise<User | null> {
    return this.store.getUserByEmail(login);
  }

  checkPassword(user: User, password: string): Promise<boolean> {
    return verifyPassword(password, user.passwordHash);
  }

  credentialTag(user: User): string {
    return user.passwordHash;
  }

  /** A check against a hash of a random password, made once, with the same scrypt cost as real ones. */
  async checkUnknown(password: string): Promise<false> {
    this.#dummy ??= hashPassword(randomBytes(16).toString('base64'));
    await verifyPassword(password, await this.#dummy);
    return false;
  }

  #dummy: Promise<string> | undefined;
}

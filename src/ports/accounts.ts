/**
 * The accounts port: who may log in, and how a password is checked. easd's own accounts keep a
 * scrypt hash per user (src/auth/stored-accounts.ts); a backend that owns the accounts elsewhere
 * (a gateway in front of an IMAP server) checks a password by logging in there. Authentication
 * (src/auth/authenticator.ts) goes only through this port, with its success cache and the
 * lockout protection (kb-2.10) in front of it.
 */
import type { User } from './types.ts';

export interface Accounts {
  /** The user a login (a lowercased e-mail address) names, or null. */
  findUser(login: string): Promise<User | null>;
  /** Whether `password` is the user's password. */
  checkPassword(user: User, password: string): Promise<boolean>;
  /**
   * What a remembered success is bound to: a value that changes when the user's password does
   * (easd's accounts: the stored hash), so a changed password is checked again at once. A
   * backend that cannot tell returns a constant and relies on the cache's short lifetime.
   */
  credentialTag(user: User): string;
  /**
   * The work of a password check for a login that names nobody, so the answer takes as long as
   * for a wrong password and timing does not tell which accounts exist. Always false.
   */
  checkUnknown(password: string): Promise<false>;
}

/**
 * Authentication goes through the accounts port (src/ports/accounts.ts): here with a backend that
 * checks a password by "logging in" (no stored hash, as a gateway in front of IMAP would), and
 * with easd's own stored accounts.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Authenticator } from '../../src/auth/authenticator.ts';
import { hashPassword } from '../../src/auth/password.ts';
import { StoredAccounts } from '../../src/auth/stored-accounts.ts';
import type { Accounts } from '../../src/ports/accounts.ts';
import type { User } from '../../src/ports/types.ts';
import { openTempSqliteStore } from '../helpers/db.ts';

/** Accounts kept elsewhere: a password is checked by logging in, which is counted. */
class LoginAccounts implements Accounts {
  logins = 0;
  tag = 'v1';
  constructor(readonly passwords: Map<string, string>) {}
  async findUser(login: string): Promise<User | null> {
    if (!this.passwords.has(login)) return null;
    return { id: `id-${login}`, email: login, displayName: null, passwordHash: '', createdAt: new Date(0) };
  }
  async checkPassword(user: User, password: string): Promise<boolean> {
    this.logins++;
    return this.passwords.get(user.email) === password;
  }
  credentialTag(): string {
    return this.tag;
  }
  async checkUnknown(): Promise<false> {
    this.logins++;
    return false;
  }
}

describe('Authenticator over the accounts port', () => {
  it('checks by logging in, remembers a success, never a failure, and checks again when the credential tag changes', async () => {
    let now = 1_000_000;
    const accounts = new LoginAccounts(new Map([['ann@example.com', 'right-password']]));
    const auth = new Authenticator(accounts, 60_000, 100, () => now);
    assert.equal((await auth.authenticate('ANN@example.com', 'right-password'))?.email, 'ann@example.com');
    assert.equal(await auth.authenticate('ann@example.com', 'right-password').then((u) => u?.id), 'id-ann@example.com');
    assert.equal(accounts.logins, 1, 'the second request is answered from the success cache');
    assert.equal(await auth.authenticate('ann@example.com', 'wrong'), null);
    assert.equal(await auth.authenticate('ann@example.com', 'wrong'), null);
    assert.equal(accounts.logins, 3, 'failures are checked every time');
    assert.equal(await auth.authenticate('nobody@example.com', 'x'), null);
    assert.equal(accounts.logins, 4, 'an unknown login costs a check too');
    accounts.tag = 'v2';
    await auth.authenticate('ann@example.com', 'right-password');
    assert.equal(accounts.logins, 5, 'a new credential tag is checked again');
    now += 61_000;
    await auth.authenticate('ann@example.com', 'right-password');
    assert.equal(accounts.logins, 6, 'and so is a success older than the cache lifetime');
  });

  it("easd's own accounts: the stored hash decides, and a password change takes effect at once", async () => {
    const temp = await openTempSqliteStore();
    try {
      const user = await temp.store.createUser({ email: 'bo@example.com', passwordHash: await hashPassword('first-password') });
      const auth = new Authenticator(new StoredAccounts(temp.store));
      assert.equal((await auth.authenticate('bo@example.com', 'first-password'))?.id, user.id);
      assert.equal(await auth.authenticate('bo@example.com', 'second-password'), null);
      await temp.store.setPasswordHash(user.id, await hashPassword('second-password'));
      assert.equal(await auth.authenticate('bo@example.com', 'first-password'), null, 'the cached success of the old password no longer counts');
      assert.equal((await auth.authenticate('bo@example.com', 'second-password'))?.id, user.id);
    } finally {
      await temp.cleanup();
    }
  });
});

/**
 * HomesStore over Kysely (SQLite and PostgreSQL): `user_homes` and `domain_homes` (migration
 * 0010_homes).
 */
import type { Kysely } from 'kysely';
import type { Homes, HomesStore } from './homes-types.ts';
import type { Database } from './schema.ts';
import { StoreError } from './types.ts';

const MAX_URL_LENGTH = 2048;

function checkUrl(url: string): void {
  if (url.trim() === '' || url.length > MAX_URL_LENGTH) throw new StoreError('invalid', 'home URL is empty or too long');
}

export class KyselyHomesStore implements HomesStore {
  readonly #db: Kysely<Database>;
  readonly #now: () => Date;

  constructor(db: Kysely<Database>, now: () => Date) {
    this.#db = db;
    this.#now = now;
  }

  async setUserHome(userId: string, url: string | null): Promise<void> {
    if (url === null) {
      await this.#db.deleteFrom('user_homes').where('user_id', '=', userId).execute();
      return;
    }
    checkUrl(url);
    const user = await this.#db.selectFrom('users').select('id').where('id', '=', userId).executeTakeFirst();
    if (!user) throw new StoreError('not_found', `user ${userId} not found`);
    const updated_at = this.#now().toISOString();
    await this.#db
      .insertInto('user_homes')
      .values({ user_id: userId, url, updated_at })
      .onConflict((oc) => oc.column('user_id').doUpdateSet({ url, updated_at }))
      .execute();
  }

  async setDomainHome(domain: string, url: string | null): Promise<void> {
    const d = domain.trim().toLowerCase();
    if (d === '') throw new StoreError('invalid', 'domain is empty');
    if (url === null) {
      await this.#db.deleteFrom('domain_homes').where('domain', '=', d).execute();
      return;
    }
    checkUrl(url);
    const updated_at = this.#now().toISOString();
    await this.#db
      .insertInto('domain_homes')
      .values({ domain: d, url, updated_at })
      .onConflict((oc) => oc.column('domain').doUpdateSet({ url, updated_at }))
      .execute();
  }

  async listHomes(): Promise<Homes> {
    const users = await this.#db
      .selectFrom('user_homes')
      .innerJoin('users', 'users.id', 'user_homes.user_id')
      .select(['users.id', 'users.email', 'user_homes.url'])
      .orderBy('users.email')
      .execute();
    const domains = await this.#db.selectFrom('domain_homes').select(['domain', 'url']).orderBy('domain').execute();
    return { users: users.map((u) => ({ userId: u.id, email: u.email, url: u.url })), domains };
  }
}

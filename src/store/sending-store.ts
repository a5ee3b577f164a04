/**
 * SendingStore over Kysely (SQLite and PostgreSQL): one row per claimed ClientId in
 * `sent_client_ids` (migration 0004_sending).
 */
import type { Kysely } from 'kysely';
import type { Database } from './schema.ts';
import type { SendingStore } from './sending-types.ts';
import { StoreError } from './types.ts';

export class KyselySendingStore implements SendingStore {
  readonly #db: Kysely<Database>;
  readonly #now: () => Date;

  constructor(db: Kysely<Database>, now: () => Date) {
    this.#db = db;
    this.#now = now;
  }

  async claimClientId(userId: string, deviceId: string, clientId: string): Promise<boolean> {
    if (clientId === '') throw new StoreError('invalid', 'ClientId is empty');
    try {
      // ON CONFLICT DO NOTHING makes the claim atomic on both dialects: the insert that lands
      // returns its row, the one that finds the id taken returns none.
      const row = await this.#db
        .insertInto('sent_client_ids')
        .values({ user_id: userId, device_id: deviceId, client_id: clientId, created_at: this.#now().toISOString() })
        .onConflict((oc) => oc.columns(['user_id', 'device_id', 'client_id']).doNothing())
        .returning('client_id')
        .executeTakeFirst();
      return row !== undefined;
    } catch (err) {
      const code = (err as { code?: unknown } | null)?.code;
      if (code === '23503' || code === 'SQLITE_CONSTRAINT_FOREIGNKEY') {
        throw new StoreError('not_found', `device ${deviceId} not found`, { cause: err });
      }
      throw err;
    }
  }

  async releaseClientId(userId: string, deviceId: string, clientId: string): Promise<void> {
    await this.#db
      .deleteFrom('sent_client_ids')
      .where('user_id', '=', userId)
      .where('device_id', '=', deviceId)
      .where('client_id', '=', clientId)
      .execute();
  }
}

/**
 * MailboxLogStore over Kysely (SQLite and PostgreSQL): `mailbox_log_settings` and
 * `mailbox_log_entries` (migration 0010_homes). Meta is JSON text.
 */
import { randomBytes } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { MailboxLogEntry, MailboxLogSetting, MailboxLogStore, NewMailboxLogEntry } from './mailbox-log-types.ts';
import type { Database } from './schema.ts';
import { StoreError } from './types.ts';

/** Ids sort in write order within a process (time, then a counter), so a listing keeps request order. */
let seq = 0;
const entryId = (at: string) => `${at}.${String(++seq % 1e9).padStart(9, '0')}.${randomBytes(4).toString('hex')}`;

export class KyselyMailboxLogStore implements MailboxLogStore {
  readonly #db: Kysely<Database>;
  readonly #now: () => Date;

  constructor(db: Kysely<Database>, now: () => Date) {
    this.#db = db;
    this.#now = now;
  }

  async enable(userId: string, until: Date): Promise<void> {
    const user = await this.#db.selectFrom('users').select('id').where('id', '=', userId).executeTakeFirst();
    if (!user) throw new StoreError('not_found', `user ${userId} not found`);
    const row = { until: until.toISOString(), updated_at: this.#now().toISOString() };
    await this.#db
      .insertInto('mailbox_log_settings')
      .values({ user_id: userId, ...row })
      .onConflict((oc) => oc.column('user_id').doUpdateSet(row))
      .execute();
  }

  async disable(userId: string): Promise<boolean> {
    const now = this.#now().toISOString();
    const r = await this.#db
      .updateTable('mailbox_log_settings')
      .set({ until: now, updated_at: now })
      .where('user_id', '=', userId)
      .where('until', '>', now)
      .executeTakeFirst();
    return Number(r.numUpdatedRows) > 0;
  }

  async listEnabled(): Promise<MailboxLogSetting[]> {
    const rows = await this.#db
      .selectFrom('mailbox_log_settings')
      .select(['user_id', 'until'])
      .where('until', '>', this.#now().toISOString())
      .execute();
    return rows.map((r) => ({ userId: r.user_id, until: new Date(r.until) }));
  }

  async getSetting(userId: string): Promise<MailboxLogSetting | null> {
    const r = await this.#db.selectFrom('mailbox_log_settings').select(['user_id', 'until']).where('user_id', '=', userId).executeTakeFirst();
    return r ? { userId: r.user_id, until: new Date(r.until) } : null;
  }

  async append(entry: NewMailboxLogEntry): Promise<void> {
    const at = this.#now().toISOString();
    await this.#db
      .insertInto('mailbox_log_entries')
      .values({
        id: entryId(at),
        user_id: entry.userId,
        at,
        device_id: entry.deviceId,
        cmd: entry.cmd,
        http_status: entry.httpStatus,
        meta: JSON.stringify(entry.meta),
        request: entry.request,
        response: entry.response,
      })
      .execute();
  }

  async list(userId: string, opts: { since?: Date; limit?: number } = {}): Promise<MailboxLogEntry[]> {
    let q = this.#db.selectFrom('mailbox_log_entries').selectAll().where('user_id', '=', userId);
    if (opts.since) q = q.where('at', '>=', opts.since.toISOString());
    // The newest `limit`, then back to oldest first; the id breaks ties within a millisecond.
    const rows = await q.orderBy('at', 'desc').orderBy('id', 'desc').limit(opts.limit ?? 1000).execute();
    return rows.reverse().map((r) => ({
      id: r.id,
      userId: r.user_id,
      at: new Date(r.at),
      deviceId: r.device_id,
      cmd: r.cmd,
      httpStatus: Number(r.http_status),
      meta: JSON.parse(r.meta) as Record<string, unknown>,
      request: r.request,
      response: r.response,
    }));
  }

  async prune(before: Date): Promise<number> {
    const r = await this.#db.deleteFrom('mailbox_log_entries').where('at', '<', before.toISOString()).executeTakeFirst();
    return Number(r.numDeletedRows);
  }
}

/**
 * The EAS server's own state per device over Kysely, one part of KyselyStore (kysely-store.ts):
 * device partnerships, device data, sync states, what each device holds (held-items-store.ts),
 * client adds and the sync-failure notices already sent.
 */
import type { Kysely, Selectable } from 'kysely';
import { applyHeldChange, heldAmong, holdAlways } from './held-items-store.ts';
import { mapDbError, notFound, parseJson, serializeData, timestamp } from './kysely-shared.ts';
import { prepareQuery } from './prepared.ts';
import type { Database, DevicesTable, SyncStatesTable } from './schema.ts';
import { StoreError, type Device, type DeviceSeen, type HeldChange, type JsonObject, type SyncState } from './types.ts';

export class KyselyDeviceState {
  readonly #db: Kysely<Database>;
  readonly #now: () => Date;
  /** The device lookups every request makes, compiled once (src/store/prepared.ts). */
  readonly #hot: ReturnType<typeof hotQueries>;

  constructor(db: Kysely<Database>, now: () => Date) {
    this.#db = db;
    this.#now = now;
    this.#hot = hotQueries(db);
  }

  async markSyncFailureNoticed(userId: string, itemId: string): Promise<boolean> {
    const res = await this.#db
      .insertInto('sync_failure_notices')
      .values({ user_id: userId, item_id: itemId, notified_at: timestamp(this.#now) })
      .onConflict((oc) => oc.columns(['user_id', 'item_id']).doNothing())
      .executeTakeFirst();
    return Number(res.numInsertedOrUpdatedRows ?? 0n) > 0;
  }

  async upsertDevice(d: DeviceSeen): Promise<Device> {
    if (d.deviceId === '') throw new StoreError('invalid', 'deviceId is empty');
    const ts = timestamp(this.#now);
    try {
      const row = await this.#db
        .insertInto('devices')
        .values({
          user_id: d.userId,
          device_id: d.deviceId,
          device_type: d.deviceType,
          user_agent: d.userAgent ?? null,
          protocol_version: d.protocolVersion ?? null,
          first_seen: ts,
          last_seen: ts,
        })
        .onConflict((oc) =>
          oc.columns(['user_id', 'device_id']).doUpdateSet({
            device_type: d.deviceType,
            ...(d.userAgent !== undefined ? { user_agent: d.userAgent } : {}),
            ...(d.protocolVersion !== undefined ? { protocol_version: d.protocolVersion } : {}),
            last_seen: ts,
          }),
        )
        .returningAll()
        .executeTakeFirstOrThrow();
      return toDevice(row);
    } catch (err) {
      throw mapDbError(err, `device ${d.deviceId}`);
    }
  }

  async getDevice(userId: string, deviceId: string): Promise<Device | null> {
    const [row] = await this.#hot.device(userId, deviceId);
    return row ? toDevice(row) : null;
  }

  async listDevices(userId?: string): Promise<Device[]> {
    let q = this.#db.selectFrom('devices').selectAll();
    if (userId !== undefined) q = q.where('user_id', '=', userId);
    const rows = await q.orderBy('user_id').orderBy('device_id').execute();
    return rows.map(toDevice);
  }

  async deleteDevice(userId: string, deviceId: string): Promise<void> {
    const row = await this.#db
      .deleteFrom('devices')
      .where('user_id', '=', userId)
      .where('device_id', '=', deviceId)
      .returning('device_id')
      .executeTakeFirst();
    if (!row) throw notFound('device', deviceId);
  }

  async recordSyncReset(userId: string, deviceId: string): Promise<number> {
    const row = await this.#db
      .updateTable('devices')
      .set((eb) => ({ sync_resets: eb('sync_resets', '+', 1) }))
      .where('user_id', '=', userId)
      .where('device_id', '=', deviceId)
      .returning('sync_resets')
      .executeTakeFirst();
    if (!row) throw notFound('device', deviceId);
    return Number(row.sync_resets);
  }

  async getDeviceData(userId: string, deviceId: string, name: string): Promise<JsonObject | null> {
    const [row] = await this.#hot.deviceData(userId, deviceId, name);
    return row ? parseJson(row.data) : null;
  }

  async putDeviceData(userId: string, deviceId: string, name: string, data: JsonObject): Promise<void> {
    const text = serializeData(data, 'device data');
    const ts = timestamp(this.#now);
    try {
      await this.#db
        .insertInto('device_data')
        .values({ user_id: userId, device_id: deviceId, name, data: text, updated_at: ts })
        .onConflict((oc) => oc.columns(['user_id', 'device_id', 'name']).doUpdateSet({ data: text, updated_at: ts }))
        .execute();
    } catch (err) {
      throw mapDbError(err, `device ${deviceId}`);
    }
  }

  // ---------------------------------------------------------- sync states

  async getSyncState(userId: string, deviceId: string, collectionId: string, syncKey: string): Promise<SyncState | null> {
    const [row] = await this.#hot.syncState(userId, deviceId, collectionId, syncKey);
    return row ? toSyncState(row) : null;
  }

  async listSyncStates(userId: string, deviceId: string, collectionId: string): Promise<SyncState[]> {
    const rows = await this.#db
      .selectFrom('sync_states')
      .selectAll()
      .where('user_id', '=', userId)
      .where('device_id', '=', deviceId)
      .where('collection_id', '=', collectionId)
      .execute();
    return rows.map(toSyncState);
  }

  async saveSyncState(state: Omit<SyncState, 'createdAt'>, keep: readonly string[], held?: HeldChange): Promise<void> {
    if (typeof state.syncKey !== 'string' || state.syncKey === '') throw new StoreError('invalid', 'syncKey is empty');
    if (typeof state.collectionId !== 'string') throw new StoreError('invalid', 'collectionId must be a string');
    const data = serializeData(state.data, 'sync state data');
    const ts = timestamp(this.#now);
    const { userId, deviceId, collectionId, syncKey } = state;
    await this.#db.transaction().execute(async (trx) => {
      // Takes the device row's lock (pg), so saves of one device apply one after the other and
      // each one's clean-up sees the state the previous one left; also checks the device exists.
      const device = await trx
        .updateTable('devices')
        .set((eb) => ({ sync_resets: eb.ref('sync_resets') }))
        .where('user_id', '=', userId)
        .where('device_id', '=', deviceId)
        .returning('device_id')
        .executeTakeFirst();
      if (!device) throw notFound('device', deviceId);
      await trx
        .insertInto('sync_states')
        .values({ user_id: userId, device_id: deviceId, collection_id: collectionId, sync_key: syncKey, data, created_at: ts })
        .onConflict((oc) => oc.columns(['user_id', 'device_id', 'collection_id', 'sync_key']).doUpdateSet({ data, created_at: ts }))
        .execute();
      await trx
        .deleteFrom('sync_states')
        .where('user_id', '=', userId)
        .where('device_id', '=', deviceId)
        .where('collection_id', '=', collectionId)
        .where('sync_key', 'not in', [syncKey, ...keep])
        .execute();
      if (held) await applyHeldChange(trx, { userId, deviceId, collectionId }, held);
    });
  }

  async deleteSyncStates(userId: string, deviceId: string, collectionId?: string): Promise<number> {
    return this.#db.transaction().execute(async (trx) => {
      let q = trx.deleteFrom('sync_states').where('user_id', '=', userId).where('device_id', '=', deviceId);
      let h = trx.deleteFrom('held_items').where('user_id', '=', userId).where('device_id', '=', deviceId);
      if (collectionId !== undefined) {
        q = q.where('collection_id', '=', collectionId);
        h = h.where('collection_id', '=', collectionId);
      }
      await h.execute();
      const result = await q.executeTakeFirst();
      return Number(result.numDeletedRows);
    });
  }

  async heldItems(userId: string, deviceId: string, collectionId: string, gen: number, itemIds: readonly string[]): Promise<Set<string>> {
    if (itemIds.length === 0) return new Set();
    return heldAmong(this.#db, { userId, deviceId, collectionId }, gen, itemIds);
  }

  async holdItems(userId: string, deviceId: string, collectionId: string, itemIds: readonly string[]): Promise<void> {
    if (itemIds.length === 0) return;
    try {
      await holdAlways(this.#db, { userId, deviceId, collectionId }, itemIds);
    } catch (err) {
      // A device removed meanwhile holds nothing: nothing to record.
      const mapped = mapDbError(err, `device ${deviceId}`);
      if (mapped instanceof StoreError && mapped.code === 'not_found') return;
      throw err;
    }
  }

  // ---------------------------------------------------------- client adds

  async getClientAdd(userId: string, deviceId: string, collectionId: string, clientId: string): Promise<string | null> {
    const row = await this.#db
      .selectFrom('client_adds')
      .select('item_id')
      .where('user_id', '=', userId)
      .where('device_id', '=', deviceId)
      .where('collection_id', '=', collectionId)
      .where('client_id', '=', clientId)
      .executeTakeFirst();
    return row ? row.item_id : null;
  }

  async putClientAdd(userId: string, deviceId: string, collectionId: string, clientId: string, itemId: string): Promise<void> {
    const ts = timestamp(this.#now);
    try {
      await this.#db
        .insertInto('client_adds')
        .values({ user_id: userId, device_id: deviceId, collection_id: collectionId, client_id: clientId, item_id: itemId, created_at: ts })
        .onConflict((oc) =>
          oc.columns(['user_id', 'device_id', 'collection_id', 'client_id']).doUpdateSet({ item_id: itemId, created_at: ts }),
        )
        .execute();
    } catch (err) {
      throw mapDbError(err, `device ${deviceId}`);
    }
  }
}

function toDevice(r: Selectable<DevicesTable>): Device {
  return {
    userId: r.user_id,
    deviceId: r.device_id,
    deviceType: r.device_type,
    userAgent: r.user_agent,
    protocolVersion: r.protocol_version,
    firstSeen: new Date(r.first_seen),
    lastSeen: new Date(r.last_seen),
    syncResets: Number(r.sync_resets),
  };
}

function toSyncState(r: Selectable<SyncStatesTable>): SyncState {
  return {
    userId: r.user_id,
    deviceId: r.device_id,
    collectionId: r.collection_id,
    syncKey: r.sync_key,
    data: parseJson(r.data),
    createdAt: new Date(r.created_at),
  };
}

/** The per-request lookups as prepared queries (same SQL as the builder calls they replace). */
function hotQueries(db: Kysely<Database>) {
  return {
    device: prepareQuery(db, 2, (userId: string, deviceId: string) =>
      db.selectFrom('devices').selectAll().where('user_id', '=', userId).where('device_id', '=', deviceId),
    ),
    deviceData: prepareQuery(db, 3, (userId: string, deviceId: string, name: string) =>
      db.selectFrom('device_data').select('data').where('user_id', '=', userId).where('device_id', '=', deviceId).where('name', '=', name),
    ),
    syncState: prepareQuery(db, 4, (userId: string, deviceId: string, collectionId: string, syncKey: string) =>
      db
        .selectFrom('sync_states')
        .selectAll()
        .where('user_id', '=', userId)
        .where('device_id', '=', deviceId)
        .where('collection_id', '=', collectionId)
        .where('sync_key', '=', syncKey),
    ),
  };
}

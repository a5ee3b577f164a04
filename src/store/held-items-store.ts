/**
 * What each device holds of each collection (migration 0015), over Kysely on SQLite and
 * PostgreSQL. The sync engine decides Add, Change, Delete and SoftDelete from this record of what
 * a device was actually sent, never from sequence numbers alone: an item created early and
 * changed late is still unknown to a device that pages past its creation (see
 * src/sync/held-view.ts).
 *
 * Rows are versioned by sync-key generation (the key's counter), so the state behind the current
 * key and the one behind the previous key (kept for a retried request, MS-ASCMD 2.2.3.177.3) both
 * stay answerable: an item is held at generation g when added_gen <= g and removed_gen is null or
 * above g. A save for generation g first undoes what an earlier save for g (or later) wrote: a
 * retried request replaces the answer it retries.
 */
import type { ExpressionBuilder, Kysely, Transaction } from 'kysely';
import type { Database } from './schema.ts';
import type { HeldChange } from './types.ts';

/** Ids per statement: well under SQLite's and PostgreSQL's bound-parameter limits. */
const CHUNK = 500;

function* chunks<T>(list: readonly T[]): Generator<T[]> {
  for (let i = 0; i < list.length; i += CHUNK) yield list.slice(i, i + CHUNK);
}

type Db = Kysely<Database> | Transaction<Database>;

interface Collection {
  userId: string;
  deviceId: string;
  collectionId: string;
}

/** The rows of one device's collection. */
const mine = (c: Collection) => (eb: ExpressionBuilder<Database, 'held_items'>) =>
  eb.and([eb('user_id', '=', c.userId), eb('device_id', '=', c.deviceId), eb('collection_id', '=', c.collectionId)]);

/** Which of `itemIds` the device holds at generation `gen`. */
export async function heldAmong(db: Db, c: Collection, gen: number, itemIds: readonly string[]): Promise<Set<string>> {
  const held = new Set<string>();
  for (const part of chunks([...new Set(itemIds)])) {
    const rows = await db
      .selectFrom('held_items')
      .select('item_id')
      .where(mine(c))
      .where('item_id', 'in', part)
      .where('added_gen', '<=', gen)
      .where((eb) => eb.or([eb('removed_gen', 'is', null), eb('removed_gen', '>', gen)]))
      .execute();
    for (const r of rows) held.add(r.item_id);
  }
  return held;
}

/**
 * Writes what the answer of generation `change.gen` changed, inside the transaction that saves
 * that answer's sync state. Rows no kept generation can see are dropped.
 */
export async function applyHeldChange(trx: Transaction<Database>, c: Collection, change: HeldChange): Promise<void> {
  const { gen } = change;
  // An earlier answer for this generation (the request is a retry) is replaced by this one.
  await trx.deleteFrom('held_items').where(mine(c)).where('added_gen', '>=', gen).where('added_gen', '>', 0).execute();
  await trx.updateTable('held_items').where(mine(c)).set({ removed_gen: null }).where('removed_gen', '>=', gen).execute();
  // Rows held by no generation from `keepFrom` on are history nothing can ask about again.
  await trx.deleteFrom('held_items').where(mine(c)).where('removed_gen', '<=', change.keepFrom).execute();
  for (const part of chunks(change.remove)) {
    await trx.updateTable('held_items').where(mine(c)).set({ removed_gen: gen }).where('item_id', 'in', part).where('removed_gen', 'is', null).execute();
  }
  for (const part of chunks([...new Set(change.add)])) {
    await trx
      .insertInto('held_items')
      .values(part.map((id) => ({ user_id: c.userId, device_id: c.deviceId, collection_id: c.collectionId, item_id: id, added_gen: gen, removed_gen: null })))
      // After the undo and the clean-up above every remaining row is held: nothing to change.
      .onConflict((oc) => oc.columns(['user_id', 'device_id', 'collection_id', 'item_id']).doNothing())
      .execute();
  }
}

/** Held at every generation, outside any Sync: the record made for a state saved before held items were kept. */
export async function holdAlways(db: Kysely<Database>, c: Collection, itemIds: readonly string[]): Promise<void> {
  await db.transaction().execute(async (trx) => {
    for (const part of chunks([...new Set(itemIds)])) {
      await trx
        .insertInto('held_items')
        .values(part.map((id) => ({ user_id: c.userId, device_id: c.deviceId, collection_id: c.collectionId, item_id: id, added_gen: 0, removed_gen: null })))
        .onConflict((oc) => oc.columns(['user_id', 'device_id', 'collection_id', 'item_id']).doUpdateSet({ added_gen: 0, removed_gen: null }))
        .execute();
    }
  });
}

/**
 * The end of a durability run: the store, opened afresh after the last (clean) stop, is held to
 * the ledger of what clients were told, and each device's view to the store.
 *
 * - Every acknowledged delivery is stored exactly once (by Message-ID, over all folders); an
 *   unacknowledged one at most once (cut after the commit but before the 250: the MTA would
 *   send it again, RFC 5321 6.1, which is the one duplicate SMTP allows).
 * - Every acknowledged client Add exists once with the ServerId the device was given, unless an
 *   acknowledged Delete removed it; an unacknowledged Add at most once.
 * - Acknowledged Changes and Deletes hold: a contact's LastName is its last acknowledged version
 *   or one sent after it; acknowledged Read is read; a deleted mail is in Deleted Items; a moved
 *   one in Archive under the DstMsgId the device was given.
 * - Each device, synced to the end from its last SyncKey, holds exactly the live items of each
 *   folder, and was never sent an Add of an item it held (no lost and no duplicated item in the
 *   device's model).
 */
import type { Item } from '../../src/ports/types.ts';
import type { Store } from '../../src/store/types.ts';
import { SYNCED_TYPES, type DurableDevice } from './device.ts';
import type { Ledger } from './ledger.ts';

export interface Verification {
  /** Every breach of a guarantee, one line each. */
  losses: string[];
  storedMail: number;
  storedContacts: number;
  /** Deliveries cut before their 250 that the store has anyway. */
  unackedStored: number;
  unackedAddsStored: number;
}

export async function verify(store: Store, userId: string, ledger: Ledger, devices: DurableDevice[]): Promise<Verification> {
  const losses: string[] = [];
  const lose = (s: string) => losses.length < 200 && losses.push(s);
  const folders = await store.listFolders(userId);
  const typeOf = new Map(folders.map((f) => [f.id, f.displayName === 'Archive' ? 12 : f.type]));
  const live: Item[] = [];
  for (const f of folders) live.push(...(await store.listChangesSince(userId, f.id, 0, 1_000_000)).filter((i) => !i.deleted));

  const byMessageId = new Map<string, Item[]>();
  const byMarker = new Map<string, Item[]>();
  for (const item of live) {
    const mid = item.data['messageId'];
    if (typeof mid === 'string') byMessageId.set(mid, [...(byMessageId.get(mid) ?? []), item]);
    const first = item.data['firstName'];
    if (typeof first === 'string') byMarker.set(first, [...(byMarker.get(first) ?? []), item]);
  }

  let unackedStored = 0;
  for (const rec of ledger.mail.values()) {
    const found = byMessageId.get(rec.messageId) ?? [];
    if (rec.delivery !== 'acked') {
      if (found.length === 1) unackedStored++;
      if (found.length > 1) lose(`delivery ${rec.n} (not acknowledged) stored ${found.length} times`);
      continue;
    }
    if (found.length !== 1) {
      lose(`acknowledged delivery ${rec.n} stored ${found.length} times`);
      continue;
    }
    const item = found[0]!;
    const where = typeOf.get(item.folderId);
    if (rec.readAcked && item.data['read'] !== true && !(rec.moveSent || rec.deleteSent)) lose(`mail ${rec.n}: acknowledged Read is not stored`);
    if (rec.deleteAcked && where !== 4) lose(`mail ${rec.n}: acknowledged Delete, but the message is in folder type ${where}`);
    if (rec.moveAcked && (where !== 12 || item.serverId !== rec.moveDst)) lose(`mail ${rec.n}: acknowledged move to ${rec.moveDst}, found ${item.serverId} in folder type ${where}`);
    if (!rec.deleteSent && !rec.moveSent && where !== 2) lose(`mail ${rec.n}: nothing moved it, yet it is in folder type ${where}`);
  }

  let unackedAddsStored = 0;
  for (const rec of ledger.contacts.values()) {
    const found = byMarker.get(rec.marker) ?? [];
    if (!rec.addAcked) {
      if (found.length === 1) unackedAddsStored++;
      if (found.length > 1) lose(`client Add ${rec.clientId} (not acknowledged) stored ${found.length} times`);
      continue;
    }
    if (rec.deleteAcked) {
      if (found.length) lose(`contact ${rec.clientId}: acknowledged Delete, still stored ${found.length} time(s)`);
      continue;
    }
    if (rec.deleteSent && found.length === 0) continue;
    if (found.length !== 1) {
      lose(`acknowledged client Add ${rec.clientId} stored ${found.length} times`);
      continue;
    }
    const item = found[0]!;
    if (item.serverId !== rec.serverId) lose(`client Add ${rec.clientId}: device was given ${rec.serverId}, store has ${item.serverId}`);
    const version = /^v(\d+)$/.exec(String(item.data['lastName'] ?? ''))?.[1];
    const allowed = rec.versionsSent.slice(rec.versionsSent.indexOf(rec.ackedVersion));
    if (version === undefined || !allowed.includes(Number(version))) {
      lose(`contact ${rec.clientId}: LastName v${version}, acknowledged v${rec.ackedVersion} (sent ${rec.versionsSent.join(',')})`);
    }
  }

  for (const dup of ledger.deviceDuplicates) lose(`duplicate on a device: ${dup}`);
  for (const d of devices) {
    for (const type of SYNCED_TYPES) {
      const serverId = d.folder.get(type);
      if (!serverId) continue;
      const folder = folders.find((f) => f.serverId === serverId);
      const want = new Set(live.filter((i) => i.folderId === folder?.id).map((i) => i.serverId));
      const has = new Set(d.dev.view(serverId).items.keys());
      const missing = [...want].filter((s) => !has.has(s));
      const extra = [...has].filter((s) => !want.has(s));
      if (missing.length || extra.length) {
        lose(`device ${d.index} folder type ${type}: ${missing.length} item(s) missing (${missing.slice(0, 5).join(' ')}), ${extra.length} not on the server (${extra.slice(0, 5).join(' ')})`);
      }
    }
  }
  return {
    losses,
    storedMail: byMessageId.size,
    storedContacts: byMarker.size,
    unackedStored,
    unackedAddsStored,
  };
}

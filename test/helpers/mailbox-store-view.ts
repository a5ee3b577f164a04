/**
 * For the e2e suites run on another mailbox backend (the in-memory one): the test's view of the
 * store, whose mailbox-content methods (folders, items, the change feed) go to the user's Mailbox
 * from the provider, and everything else (users, devices, sync states, directory) to easd's own
 * store, as the server itself sees them. A suite written against `srv.store` then seeds and
 * checks the mailbox the server really serves, without a line changed.
 */
import type { Mailbox, MailboxProvider } from '../../src/ports/mailbox.ts';
import type { ContentStore, Store } from '../../src/ports/store.ts';
import type { NewFolder, NewItem } from '../../src/ports/types.ts';

type ContentMethods = Exclude<keyof ContentStore, 'mail' | 'search' | 'subscribeChanges' | 'writeToken'>;

/** How each content method of the store reaches a Mailbox (the user id comes first, or in the new row). */
const ROUTES: { [K in ContentMethods]: (open: (userId: string) => Mailbox) => ContentStore[K] } = {
  createFolder: (open) => (f: NewFolder) => {
    const { userId, ...rest } = f;
    return open(userId).createFolder(rest);
  },
  listFolders: (open) => (userId) => open(userId).listFolders(),
  getFolder: (open) => (userId, id) => open(userId).getFolder(id),
  getFolderByServerId: (open) => (userId, sid) => open(userId).getFolderByServerId(sid),
  updateFolder: (open) => (userId, id, patch) => open(userId).updateFolder(id, patch),
  deleteFolder: (open) => (userId, id) => open(userId).deleteFolder(id),
  getHierarchyModseq: (open) => (userId) => open(userId).hierarchyModseq(),
  listFolderChangesSince: (open) => (userId, modseq) => open(userId).folderChangesSince(modseq),
  putItem: (open) => (i: NewItem) => {
    const { userId, ...rest } = i;
    return open(userId).putItem(rest);
  },
  getItem: (open) => (userId, id) => open(userId).getItem(id),
  getItemByServerId: (open) => (userId, sid, tomb) => open(userId).getItemByServerId(sid, tomb),
  getItemsByUid: (open) => (userId, uid) => open(userId).getItemsByUid(uid),
  updateItem: (open) => (userId, id, patch) => open(userId).updateItem(id, patch),
  deleteItem: (open) => (userId, id) => open(userId).deleteItem(id),
  moveItem: (open) => (userId, id, to, sid) => open(userId).moveItem(id, to, sid),
  listChangesSince: (open) => (userId, folderId, modseq, limit) => open(userId).changesSince(folderId, modseq, limit),
};

export function storeWithMailboxes(store: Store, provider: MailboxProvider): Store {
  const open = (userId: string) => provider.open(userId);
  const routed = new Map<PropertyKey, unknown>(Object.entries(ROUTES).map(([name, route]) => [name, route(open)]));
  return new Proxy(store, {
    get(target, prop) {
      if (routed.has(prop)) return routed.get(prop);
      const value = Reflect.get(target, prop, target) as unknown;
      // The store's methods need the real store as `this` (private fields).
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
}

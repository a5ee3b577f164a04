/**
 * Tests and benchmarks seed easd's own store by user id: the default folders of a user's mailbox,
 * made through the Mailbox port over the store (as FolderSync and delivery make them).
 */
import type { ContentStore } from '../../src/ports/store.ts';
import type { Folder } from '../../src/ports/types.ts';
import { StoreMailbox } from '../../src/store/store-mailbox.ts';

export function ensureDefaultFolders(store: ContentStore, userId: string): Promise<Folder[]> {
  return new StoreMailbox(store, userId).ensureDefaultFolders();
}

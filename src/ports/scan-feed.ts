/**
 * Mailbox.scan for a backend whose change feed is cheap to page: every live item of a folder,
 * read page by page through `changesSince` from the start, tombstones left out. Each page is a
 * consistent read, so an item changed during the scan is met at most once more, later, never
 * lost.
 */
import type { Mailbox, ScanOptions } from './mailbox.ts';
import { isStoreError, type Item } from './types.ts';

const SCAN_PAGE = 1000;

export async function* scanFeed(mailbox: Pick<Mailbox, 'changesSince'>, folderId: string, options: ScanOptions = {}): AsyncIterable<Item> {
  const limit = options.limit ?? Infinity;
  const pageSize = options.pageSize ?? SCAN_PAGE;
  // Checked before reading: the count below is tested only after an item was yielded.
  if (limit <= 0) return;
  let cursor = 0;
  let yielded = 0;
  for (;;) {
    let page: Item[];
    try {
      page = await mailbox.changesSince(folderId, cursor, pageSize);
    } catch (err) {
      // A folder deleted (or never there, or another user's) has nothing to read.
      if (isStoreError(err, 'not_found')) return;
      throw err;
    }
    for (const item of page) {
      if (item.deleted) continue;
      yield item;
      if (++yielded >= limit) return;
    }
    if (page.length < pageSize) return;
    cursor = page[page.length - 1]!.modseq;
  }
}

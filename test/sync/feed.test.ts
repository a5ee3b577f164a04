/**
 * The rules that turn a change-feed entry into a command for a device (src/sync/feed.ts), pure:
 * Add exactly when the device does not hold a live item inside its window, whatever the item's
 * sequence numbers; Change only of what it holds; Delete and SoftDelete only of what it holds;
 * its own writes are not news; a reread sends nothing the device already has.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Item } from '../../src/store/types.ts';
import { classify, OWN_DELETE, planFeed, WINDOW_AGING_MS } from '../../src/sync/feed.ts';

const item = (over: Partial<Item>): Item => ({
  id: 'i1',
  userId: 'u',
  folderId: 'f',
  serverId: 's1',
  class: 'Email',
  data: {},
  uid: null,
  modseq: 50,
  createdModseq: 5,
  deleted: false,
  createdAt: new Date(0),
  updatedAt: new Date(0),
  ...over,
});
const none = new Map<string, number>();

describe('classify', () => {
  it('an item created long before the device\'s sequence and changed after it is an Add when the device does not hold it', () => {
    // The paging bug: created at 5, changed at 50, met by a device whose cursor passed 5 long ago.
    assert.equal(classify(item({ createdModseq: 5, modseq: 50 }), false, true, none, undefined), 'Add');
    assert.equal(classify(item({ createdModseq: 5, modseq: 50 }), true, true, none, undefined), 'Change');
  });
  it('tombstones and items outside the window are news only for a device that holds them', () => {
    assert.equal(classify(item({ deleted: true }), true, true, none, undefined), 'Delete');
    assert.equal(classify(item({ deleted: true }), false, true, none, undefined), undefined);
    assert.equal(classify(item({}), true, false, none, undefined), 'SoftDelete');
    assert.equal(classify(item({}), false, false, none, undefined), undefined);
  });
  it('the device\'s own version and its own delete are not news; a later version is', () => {
    assert.equal(classify(item({ modseq: 50 }), true, true, new Map([['i1', 50]]), undefined), undefined);
    assert.equal(classify(item({ modseq: 51 }), true, true, new Map([['i1', 50]]), undefined), 'Change');
    assert.equal(classify(item({ deleted: true }), true, true, new Map([['i1', OWN_DELETE]]), undefined), undefined);
    // Its own version, outside the window it now asks for, leaves the device.
    assert.equal(classify(item({ modseq: 50 }), true, false, new Map([['i1', 50]]), undefined), 'SoftDelete');
  });
  it('a reread sends what the device lacks, never again what it has', () => {
    assert.equal(classify(item({ modseq: 50 }), true, true, none, 60), undefined);
    assert.equal(classify(item({ modseq: 70 }), true, true, none, 60), 'Change');
    assert.equal(classify(item({ modseq: 50 }), false, true, none, 60), 'Add');
    assert.equal(classify(item({ modseq: 50 }), true, false, none, 60), 'SoftDelete');
  });
});

describe('planFeed', () => {
  const now = 1_000_000_000_000;
  it('the same window: the feed resumes where the device is', () => {
    assert.deepEqual(planFeed({ modseq: 40, filterType: 3, windowAt: now - 1000 }, 3, now), { since: 40, rescanTo: undefined, windowAt: now - 1000 });
    assert.deepEqual(planFeed({ modseq: 40 }, undefined, now), { since: 40, rescanTo: undefined, windowAt: undefined });
  });
  it('a FilterType change rereads from the start up to where the device had been', () => {
    assert.deepEqual(planFeed({ modseq: 40, filterType: 3, windowAt: now - 1000 }, 5, now), { since: 0, rescanTo: 40, windowAt: now });
    assert.deepEqual(planFeed({ modseq: 40, filterType: 3 }, undefined, now), { since: 0, rescanTo: 40, windowAt: undefined });
    // A change in the middle of a reread keeps the highest point reached.
    assert.deepEqual(planFeed({ modseq: 10, rescanTo: 40, filterType: 3 }, 5, now), { since: 0, rescanTo: 40, windowAt: now });
    // Nothing synced yet: nothing to reread.
    assert.deepEqual(planFeed({ modseq: 0, filterType: 3 }, 5, now), { since: 0, rescanTo: undefined, windowAt: now });
  });
  it('the same window a day later rereads (items aged out of it)', () => {
    assert.deepEqual(planFeed({ modseq: 40, filterType: 3, windowAt: now - WINDOW_AGING_MS }, 3, now), { since: 0, rescanTo: 40, windowAt: now });
    assert.deepEqual(planFeed({ modseq: 40, filterType: 3, windowAt: now - WINDOW_AGING_MS + 1 }, 3, now).since, 40);
  });
});

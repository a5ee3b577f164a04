/** What a quarantined device may see, and when an access change restarts its synchronization. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { QUARANTINE_COMMANDS, quarantineRestriction, restartsSync } from '../../src/devices/quarantine.ts';
import { computeHierarchyChanges, EMPTY_HIERARCHY_STATE } from '../../src/sync/hierarchy.ts';
import type { Folder } from '../../src/store/types.ts';

describe('quarantine restriction', () => {
  const r = quarantineRestriction('DEV1');

  it('shows the Inbox and only the notice about this device', () => {
    assert.equal(r.folder({ type: 2 }), true);
    for (const type of [3, 4, 5, 6, 8, 9, 12]) assert.equal(r.folder({ type }), false);
    assert.equal(r.item({ subject: 'x', quarantineNotice: 'DEV1' }), true);
    assert.equal(r.item({ subject: 'x', quarantineNotice: 'DEV2' }), false);
    assert.equal(r.item({ subject: 'x' }), false);
    assert.equal(r.readOnly, true);
    assert.deepEqual([...QUARANTINE_COMMANDS].sort(), ['FolderSync', 'GetItemEstimate', 'Ping', 'Provision', 'Settings', 'Sync']);
  });

  it('restarts synchronization on entering or leaving quarantine only', () => {
    assert.equal(restartsSync('quarantine', 'allow'), true);
    assert.equal(restartsSync('quarantine', 'block'), true);
    assert.equal(restartsSync('allow', 'quarantine'), true);
    assert.equal(restartsSync(null, 'quarantine'), false, 'a new device has nothing to restart');
    assert.equal(restartsSync('quarantine', 'quarantine'), false, 'a new reason alone changes nothing');
    assert.equal(restartsSync('allow', 'block'), false);
  });

  it('a hierarchy diff with the restriction lists only the Inbox but passes every change', () => {
    const folder = (id: string, type: number, seq: number): Folder =>
      ({ id, serverId: `s${id}`, parentId: null, displayName: id, type, hierarchyModseq: seq, deleted: false }) as unknown as Folder;
    const rows = [folder('inbox', 2, 1), folder('drafts', 3, 2), folder('contacts', 9, 3)];
    const diff = computeHierarchyChanges(EMPTY_HIERARCHY_STATE, rows, () => undefined, r.folder);
    assert.deepEqual(diff.changes.map((c) => c.serverId), ['sinbox']);
    assert.equal(diff.next.modseq, 3);
    assert.deepEqual(diff.next.known, ['sinbox']);
  });
});

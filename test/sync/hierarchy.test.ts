/**
 * The FolderSync change computation (src/sync/hierarchy.ts), pure: folder rows in, Changes and
 * the next state out.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Folder } from '../../src/store/types.ts';
import {
  changesElement,
  computeHierarchyChanges,
  EMPTY_HIERARCHY_STATE,
  hierarchyStateData,
  isValidFolderName,
  parseHierarchyState,
  sameFolderName,
  subtree,
  UnresolvedParentError,
  withOwnAdd,
  withOwnDelete,
  withOwnUpdate,
  type HierarchyState,
} from '../../src/sync/hierarchy.ts';
import { toXml } from '../../src/wbxml/index.ts';

const T0 = new Date('2025-03-01T08:00:00Z');

/** A folder row; id "f-<serverId>" so parents are easy to name. */
function row(serverId: string, hm: number, opts: { parent?: string; name?: string; type?: number; deleted?: boolean } = {}): Folder {
  return {
    id: `f-${serverId}`,
    userId: 'u1',
    parentId: opts.parent ? `f-${opts.parent}` : null,
    serverId,
    displayName: opts.name ?? serverId.toUpperCase(),
    type: opts.type ?? 12,
    modseq: 0,
    hierarchyModseq: hm,
    deleted: opts.deleted ?? false,
    createdAt: T0,
    updatedAt: T0,
  };
}

/** Resolves "f-x" -> "x" (every folder of the mailbox, as the store's live folders would). */
const byConvention = (id: string) => (id.startsWith('f-') ? id.slice(2) : undefined);
const none = () => undefined;

const state = (modseq: number, known: string[], seen: Record<string, number> = {}, parents: Record<string, string> = {}): HierarchyState => ({ modseq, known, seen, parents, owed: [] });

/** Changes as compact strings: "Add x<-0 X 12", "Update y<-x Y 12", "Delete z". */
function summary(changes: ReturnType<typeof computeHierarchyChanges>['changes']): string[] {
  return changes.map((c) => (c.kind === 'Delete' ? `Delete ${c.serverId}` : `${c.kind} ${c.serverId}<-${c.parentId} ${c.displayName} ${c.type}`));
}

describe('computeHierarchyChanges', () => {
  it('sends every live folder as an Add from the empty state, ParentId "0" at the root, and skips tombstones', () => {
    const rows = [
      row('inbox', 1, { name: 'Inbox', type: 2 }),
      row('old', 2, { deleted: true }),
      row('sub', 3, { parent: 'inbox', name: 'Sub' }),
      row('cal', 4, { name: 'Calendar', type: 8 }),
    ];
    const { changes, next } = computeHierarchyChanges(EMPTY_HIERARCHY_STATE, rows, none);
    assert.deepEqual(summary(changes), ['Add inbox<-0 Inbox 2', 'Add sub<-inbox Sub 12', 'Add cal<-0 Calendar 8']);
    assert.deepEqual(next, { modseq: 4, known: ['inbox', 'sub', 'cal'], seen: {}, parents: { inbox: '0', sub: 'inbox', cal: '0' }, owed: [] });
  });

  it('live & known -> Update, tombstone & known -> Delete, tombstone & unknown -> nothing; rows at or below modseq are ignored', () => {
    const rows = [
      row('a', 3, { name: 'A' }),
      row('b', 5, { name: 'B renamed' }),
      row('c', 6, { deleted: true }),
      row('d', 7, { deleted: true }),
      row('e', 8, { parent: 'a', name: 'E' }),
    ];
    const { changes, next } = computeHierarchyChanges(state(4, ['a', 'b', 'c']), rows, byConvention);
    assert.deepEqual(summary(changes), ['Update b<-0 B renamed 12', 'Delete c', 'Add e<-a E 12']);
    assert.deepEqual(new Set(next.known), new Set(['a', 'b', 'e']));
    assert.equal(next.modseq, 8);
  });

  it('keeps the state when nothing changed', () => {
    const s = state(9, ['a', 'b']);
    const { changes, next } = computeHierarchyChanges(s, [], byConvention);
    assert.deepEqual(changes, []);
    assert.deepEqual(next, s);
  });

  it('moves the modseq past changes that produce nothing (a folder created and deleted in between)', () => {
    const { changes, next } = computeHierarchyChanges(state(2, ['a']), [row('tmp', 4, { deleted: true })], byConvention);
    assert.deepEqual(changes, []);
    assert.equal(next.modseq, 4);
  });

  it('names an unchanged parent by the ServerId the caller resolves, and throws when it cannot', () => {
    const rows = [row('child', 5, { parent: 'inbox' })];
    const { changes } = computeHierarchyChanges(state(4, ['inbox']), rows, byConvention);
    assert.deepEqual(summary(changes), ['Add child<-inbox CHILD 12']);
    assert.throws(() => computeHierarchyChanges(state(4, ['inbox']), rows, none), UnresolvedParentError);
  });

  it('adds a new parent before a child whose row comes first (parent renamed after the child was created)', () => {
    const rows = [row('child', 2, { parent: 'p' }), row('p', 3, { name: 'Parent renamed' })];
    const { changes } = computeHierarchyChanges(EMPTY_HIERARCHY_STATE, rows, none);
    assert.deepEqual(summary(changes), ['Add p<-0 Parent renamed 12', 'Add child<-p CHILD 12']);
  });

  it('adds a new folder before a known folder is moved into it, whatever the row order', () => {
    const rows = [row('k', 5, { parent: 'n', name: 'K' }), row('n', 6, { name: 'N renamed' })];
    const { changes } = computeHierarchyChanges(state(3, ['k']), rows, none);
    assert.deepEqual(summary(changes), ['Add n<-0 N renamed 12', 'Update k<-n K 12']);
  });

  it('moves a folder out of a parent before deleting the parent, and deletes subfolders before their parent', () => {
    const rows = [
      row('keep', 5, { parent: 'q', name: 'Keep' }), // moved out of p into q
      row('p', 6, { deleted: true }),
      row('pc', 7, { parent: 'p', deleted: true }),
      row('pcc', 8, { parent: 'pc', deleted: true }),
    ];
    const { changes, next } = computeHierarchyChanges(state(4, ['q', 'p', 'pc', 'pcc', 'keep']), rows, byConvention);
    assert.deepEqual(summary(changes), ['Update keep<-q Keep 12', 'Delete pcc', 'Delete pc', 'Delete p']);
    assert.deepEqual(new Set(next.known), new Set(['q', 'keep']));
  });

  it('deletes a folder before a new sibling takes its name', () => {
    const rows = [row('x1', 5, { deleted: true, name: 'X' }), row('x2', 6, { name: 'X' })];
    const { changes } = computeHierarchyChanges(state(4, ['x1']), rows, none);
    assert.deepEqual(summary(changes), ['Delete x1', 'Add x2<-0 X 12']);
  });

  it('does not echo a folder the device created or updated itself, but sends later changes of it', () => {
    let s = withOwnAdd(state(4, ['a']), { serverId: 'mine', hierarchyModseq: 6 });
    s = withOwnUpdate(s, { serverId: 'a', hierarchyModseq: 7 });
    assert.deepEqual(s, { modseq: 4, known: ['a', 'mine'], seen: { mine: 6, a: 7 }, parents: { mine: '0', a: '0' }, owed: [] });

    // Someone else's change at 5 is still delivered; the device's own changes at 6 and 7 are not.
    const first = computeHierarchyChanges(s, [row('other', 5), row('mine', 6, { name: 'Mine' }), row('a', 7, { name: 'A2' })], byConvention);
    assert.deepEqual(summary(first.changes), ['Add other<-0 OTHER 12']);
    assert.deepEqual(first.next, { modseq: 7, known: ['a', 'mine', 'other'], seen: {}, parents: { mine: '0', a: '0', other: '0' }, owed: [] }, 'seen entries at or below modseq are dropped');

    // A later rename of the device's folder by someone else is an Update.
    const later = computeHierarchyChanges(s, [row('other', 5), row('a', 7, { name: 'A2' }), row('mine', 9, { name: 'Mine 2' })], byConvention);
    assert.deepEqual(summary(later.changes), ['Add other<-0 OTHER 12', 'Update mine<-0 Mine 2 12']);
  });

  it('keeps seen entries above the new modseq (an own change not reached by this diff yet)', () => {
    const s = withOwnAdd(state(4, []), { serverId: 'mine', hierarchyModseq: 9 });
    const { next } = computeHierarchyChanges(s, [row('other', 5)], byConvention);
    assert.deepEqual(next.seen, { mine: 9 });
  });

  it('does not echo a delete the device made itself', () => {
    // A state of an older release (no parents recorded): the server's subtree is taken.
    const s = withOwnDelete(state(4, ['a', 'p', 'pc'], { pc: 3 }), 'p', ['p', 'pc'], new Set(['a']));
    assert.deepEqual(s, { modseq: 4, known: ['a'], seen: {}, parents: {}, owed: [] });
    const { changes } = computeHierarchyChanges(s, [row('p', 5, { deleted: true }), row('pc', 6, { parent: 'p', deleted: true })], byConvention);
    assert.deepEqual(changes, []);
  });

  it('sorts rows by hierarchy sequence itself', () => {
    const { changes } = computeHierarchyChanges(EMPTY_HIERARCHY_STATE, [row('b', 2), row('a', 1)], none);
    assert.deepEqual(summary(changes), ['Add a<-0 A 12', 'Add b<-0 B 12']);
  });
});

describe('hierarchy state', () => {
  it('round-trips through the stored JSON', () => {
    const s = { ...state(12, ['a', 'b'], { b: 14 }, { a: '0', b: 'a' }), owed: ['c'] };
    assert.deepEqual(parseHierarchyState(hierarchyStateData(s)), s);
    // A state of an older release: no parents, nothing owed.
    assert.deepEqual(parseHierarchyState({ modseq: 0, known: [] }), { modseq: 0, known: [], seen: {}, parents: {}, owed: [] });
  });

  it('rejects a corrupt state', () => {
    for (const bad of [{}, { modseq: -1, known: [] }, { modseq: 1.5, known: [] }, { modseq: '3', known: [] }, { modseq: 1, known: [1] }, { modseq: 1, known: [], seen: [] }, { modseq: 1, known: [], seen: { a: 'x' } }]) {
      assert.equal(parseHierarchyState(bad as never), null, JSON.stringify(bad));
    }
  });
});

describe('Changes element', () => {
  it('has Count first, then the entries with ServerId, ParentId, DisplayName, Type (MS-ASCMD 2.2.3.25)', () => {
    const xml = toXml(
      changesElement([
        { kind: 'Add', serverId: 's1', parentId: '0', displayName: 'Work', type: 12 },
        { kind: 'Update', serverId: 's2', parentId: 's1', displayName: 'Old', type: 13 },
        { kind: 'Delete', serverId: 's3' },
      ]),
    );
    const compact = xml.replace(/>\s+</g, '><').replace(/ xmlns(:\w+)?="[^"]*"/g, '');
    assert.match(compact, /<Count>3<\/Count><Add><ServerId>s1<\/ServerId><ParentId>0<\/ParentId><DisplayName>Work<\/DisplayName><Type>12<\/Type><\/Add>/);
    assert.match(compact, /<Update><ServerId>s2<\/ServerId><ParentId>s1<\/ParentId><DisplayName>Old<\/DisplayName><Type>13<\/Type><\/Update><Delete><ServerId>s3<\/ServerId><\/Delete>/);
  });

  it('says Count 0 when nothing changed', () => {
    assert.match(toXml(changesElement([])), /<Count>0<\/Count>/);
  });
});

describe('folder names and subtrees', () => {
  it('accepts 1 to 256 characters (MS-ASCMD 2.2.3.49.3), counting code points, and no blank names', () => {
    assert.equal(isValidFolderName('a'), true);
    assert.equal(isValidFolderName('x'.repeat(256)), true);
    assert.equal(isValidFolderName('x'.repeat(257)), false);
    assert.equal(isValidFolderName('😀'.repeat(256)), true, '256 characters of two UTF-16 units each');
    assert.equal(isValidFolderName(''), false);
    assert.equal(isValidFolderName('   '), false);
  });

  it('compares sibling names case-insensitively', () => {
    assert.equal(sameFolderName('Projects', 'PROJECTS'), true);
    assert.equal(sameFolderName('Über', 'über'), true);
    assert.equal(sameFolderName('Projects', 'Projects 2'), false);
  });

  it('lists a folder and its descendants', () => {
    const folders = [row('a', 1), row('b', 2, { parent: 'a' }), row('c', 3, { parent: 'b' }), row('d', 4)];
    assert.deepEqual(
      subtree(folders, 'f-a').map((f) => f.serverId),
      ['a', 'b', 'c'],
    );
  });
});

/**
 * The reference model of one user's folder hierarchy for the FolderSync model test, written from
 * MS-ASCMD (not from easd's code): a tree of folders by ServerId, and the Status each of
 * FolderCreate (2.2.1.3), FolderUpdate (2.2.1.6) and FolderDelete (2.2.1.4) must answer.
 *
 * The same tree class is a device's own picture of the hierarchy (what it has applied from
 * FolderSync responses and from its own successful writes).
 *
 * Choices the specification leaves open, made explicit here:
 * - Sibling names compare case-insensitively after NFC normalisation (Exchange's behaviour;
 *   MS-ASCMD 2.2.3.49.4 asks for unique names within a folder without defining "same").
 * - When several failures apply, the first in this order is answered: sync key (9), the folder
 *   (FolderUpdate/FolderDelete: 4), a special folder (FolderUpdate 2, FolderDelete 3), the parent
 *   (5), a move under itself or a descendant (10: MS-ASCMD names no status for it; easd answers
 *   10, "incorrectly formatted request"), the name (2).
 * - Deleting a folder deletes its subfolders (2.2.1.4 only says the folder with that ServerId is
 *   deleted; a folder cannot outlive its parent, and Exchange deletes the subtree). A FolderSync
 *   Delete (2.2.3.42.1) names one folder; the model expects an explicit Delete of every deleted folder the device has,
 *   subfolders before their parent, so a client that removes a deleted folder's subtree itself
 *   and one that removes exactly what it is told both end with the server's tree, and neither is
 *   told to delete a folder it no longer has.
 */

export const ROOT = '0';

export interface MFolder {
  serverId: string;
  /** The parent's ServerId, ROOT at the top. */
  parentId: string;
  displayName: string;
  type: number;
  /** One of the folders a new mailbox starts with (a default folder: no client may change it). */
  isDefault?: boolean;
}

/**
 * A default folder of a new mailbox: one of the reserved types, or easd's Junk E-mail (a mail
 * folder, type 12, at the root: README "Receiving mail").
 */
export const isNewMailboxFolder = (f: Pick<MFolder, 'type' | 'displayName' | 'parentId'>): boolean =>
  isDefaultType(f.type) || (f.type === 12 && f.displayName === 'Junk E-mail' && f.parentId === ROOT);

/** A folder no client may rename, move or delete: the defaults. */
export const isProtected = (f: MFolder): boolean => f.isDefault === true || isDefaultType(f.type);

/** Folder types reserved for default folders (MS-ASCMD 2.2.3.186.2): 2-11 and 19. */
export const isDefaultType = (type: number): boolean => (type >= 2 && type <= 11) || type === 19;

export const sameName = (a: string, b: string): boolean => a.normalize('NFC').toLowerCase() === b.normalize('NFC').toLowerCase();

export class FolderTree {
  readonly folders = new Map<string, MFolder>();

  has(serverId: string): boolean {
    return this.folders.has(serverId);
  }

  get(serverId: string): MFolder | undefined {
    return this.folders.get(serverId);
  }

  /** The folder and its descendants, the folder first. */
  subtree(serverId: string): string[] {
    if (!this.folders.has(serverId)) return [];
    const out = [serverId];
    for (let i = 0; i < out.length; i++) for (const f of this.folders.values()) if (f.parentId === out[i]) out.push(f.serverId);
    return out;
  }

  hasChildren(serverId: string): boolean {
    for (const f of this.folders.values()) if (f.parentId === serverId) return true;
    return false;
  }

  /** Whether a folder other than `except` under `parentId` has this name. */
  nameTaken(parentId: string, name: string, except?: string): boolean {
    for (const f of this.folders.values()) if (f.parentId === parentId && f.serverId !== except && sameName(f.displayName, name)) return true;
    return false;
  }

  set(f: MFolder): void {
    this.folders.set(f.serverId, { serverId: f.serverId, parentId: f.parentId, displayName: f.displayName, type: f.type, ...(f.isDefault ? { isDefault: true } : {}) });
  }

  /** Removes the folder with its subtree; returns the ServerIds removed. */
  removeSubtree(serverId: string): string[] {
    const gone = this.subtree(serverId);
    for (const sid of gone) this.folders.delete(sid);
    return gone;
  }

  clear(): void {
    this.folders.clear();
  }

  /** Folders in a canonical order (by ServerId) for comparisons. */
  sorted(): MFolder[] {
    // What a device can see of a folder (whether it is a default is the server's knowledge).
    return [...this.folders.values()].map(({ isDefault: _, ...f }) => f).sort((a, b) => (a.serverId < b.serverId ? -1 : a.serverId > b.serverId ? 1 : 0));
  }

  /** Problems of shape: a parent that is not in the tree, or a cycle. */
  shapeProblems(): string[] {
    const out: string[] = [];
    for (const f of this.folders.values()) {
      if (f.parentId !== ROOT && !this.folders.has(f.parentId)) out.push(`${f.serverId} has parent ${f.parentId}, which is not there`);
      const seen = new Set<string>();
      for (let at: string = f.parentId; at !== ROOT && this.folders.has(at); at = this.folders.get(at)!.parentId) {
        if (seen.has(at) || at === f.serverId) {
          out.push(`${f.serverId} is in a cycle`);
          break;
        }
        seen.add(at);
      }
    }
    return out;
  }
}

// ---------------------------------------------------------------- expected statuses

/** MS-ASCMD 2.2.3.177.3 Status (FolderCreate). */
export function expectCreate(tree: FolderTree, keyCurrent: boolean, parentId: string, name: string): number {
  if (!keyCurrent) return 9;
  if (parentId !== ROOT && !tree.has(parentId)) return 5;
  if (tree.nameTaken(parentId, name)) return 2;
  return 1;
}

/** MS-ASCMD 2.2.3.177.6 Status (FolderUpdate). */
export function expectUpdate(tree: FolderTree, keyCurrent: boolean, serverId: string, parentId: string, name: string): number {
  if (!keyCurrent) return 9;
  const f = tree.get(serverId);
  if (!f) return 4;
  if (isProtected(f)) return 2;
  if (parentId !== ROOT && !tree.has(parentId)) return 5;
  if (parentId !== ROOT && tree.subtree(serverId).includes(parentId)) return 10;
  if (tree.nameTaken(parentId, name, serverId)) return 2;
  return 1;
}

/** MS-ASCMD 2.2.3.177.4 Status (FolderDelete). */
export function expectDelete(tree: FolderTree, keyCurrent: boolean, serverId: string): number {
  if (!keyCurrent) return 9;
  const f = tree.get(serverId);
  if (!f) return 4;
  if (isProtected(f)) return 3;
  return 1;
}

/** What the store API must do for a server-side write: succeed, or throw StoreError with this code. */
export type StoreOutcome = 'ok' | 'not_found' | 'conflict' | 'invalid';

export function expectStoreCreate(tree: FolderTree, parentId: string, name: string): StoreOutcome {
  if (parentId !== ROOT && !tree.has(parentId)) return 'not_found';
  return tree.nameTaken(parentId, name) ? 'conflict' : 'ok';
}

export function expectStoreUpdate(tree: FolderTree, serverId: string, parentId: string, name: string): StoreOutcome {
  if (!tree.has(serverId) || (parentId !== ROOT && !tree.has(parentId))) return 'not_found';
  if (parentId !== ROOT && tree.subtree(serverId).includes(parentId)) return 'invalid';
  return tree.nameTaken(parentId, name, serverId) ? 'conflict' : 'ok';
}

// ---------------------------------------------------------------- applying a FolderSync answer

export type HierarchyChange =
  | { kind: 'Add' | 'Update'; serverId: string; parentId: string; displayName: string; type: number }
  | { kind: 'Delete'; serverId: string };

/**
 * Applies a FolderSync response's Changes to a device's tree, in order, as a strict client
 * would, and returns every breach of the protocol seen: an Add of a folder the device has, an
 * Update or Delete of one it does not have, a ParentId the device does not have, a Delete of a
 * folder whose subfolders are still on the device (see the header), a tree left with a cycle.
 * Each change is still applied as far as it can be, so later checks see what a lenient client
 * would have.
 */
export function applyStrictly(view: FolderTree, changes: readonly HierarchyChange[]): string[] {
  const problems: string[] = [];
  for (const c of changes) {
    if (c.kind === 'Delete') {
      if (!view.has(c.serverId)) problems.push(`Delete of ${c.serverId}, which the device does not have`);
      else if (view.hasChildren(c.serverId)) problems.push(`Delete of ${c.serverId} while its subfolders ${view.subtree(c.serverId).slice(1).join(', ')} are still on the device`);
      view.removeSubtree(c.serverId);
      continue;
    }
    if (c.kind === 'Add' && view.has(c.serverId)) problems.push(`Add of ${c.serverId}, which the device has`);
    if (c.kind === 'Update' && !view.has(c.serverId)) problems.push(`Update of ${c.serverId}, which the device does not have`);
    if (c.parentId !== ROOT && !view.has(c.parentId)) problems.push(`${c.kind} of ${c.serverId} under ${c.parentId}, which the device does not have`);
    view.set({ serverId: c.serverId, parentId: c.parentId, displayName: c.displayName, type: c.type });
  }
  problems.push(...view.shapeProblems());
  return problems;
}

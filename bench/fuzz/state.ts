/**
 * What a fuzzing device knows, kept up to date from the answers to its unmutated requests
 * (FolderSync: collections and their roles; Sync: sync keys, item ids, attachment references),
 * so that valid requests stay valid and mutations start from real ids.
 */
import { decodeWbxml, isElement, type WbxmlElement, type WbxmlNode } from '../../src/wbxml/index.ts';
import type { DeviceState } from './corpus.ts';

/** FolderHierarchy Type -> role (MS-ASCMD 2.2.3.186.3). */
const ROLES: Record<string, string> = { '2': 'inbox', '3': 'drafts', '4': 'deleted', '5': 'sent', '7': 'tasks', '8': 'calendar', '9': 'contacts', '10': 'notes' };
const CAP = 200;

const txt = (e: WbxmlElement | undefined): string | undefined => {
  if (!e) return undefined;
  const t = e.children.find((c): c is string => typeof c === 'string');
  return t;
};
const kid = (e: WbxmlElement, name: string) => e.children.find((c): c is WbxmlElement => isElement(c) && c.name === name);

function each(node: WbxmlNode, fn: (e: WbxmlElement) => void): void {
  if (!isElement(node)) return;
  fn(node);
  for (const c of node.children) each(c, fn);
}

/** Learns from a WBXML answer; returns false when the body is not WBXML it can read. */
export function learn(s: DeviceState, body: Buffer): boolean {
  let tree: WbxmlElement;
  try {
    tree = decodeWbxml(body);
  } catch {
    return false;
  }
  if (tree.name === 'FolderSync') {
    const sk = txt(kid(tree, 'SyncKey'));
    if (sk) s.folderSyncKey = sk;
    each(tree, (e) => {
      if (e.name !== 'Add' || e.ns !== 'FolderHierarchy') return;
      const role = ROLES[txt(kid(e, 'Type')) ?? ''];
      const id = txt(kid(e, 'ServerId'));
      if (role && id && !s.folders[role]) s.folders[role] = id;
    });
  }
  each(tree, (e) => {
    if (e.name === 'Collection' && e.ns === 'AirSync') {
      const sk = txt(kid(e, 'SyncKey'));
      const id = txt(kid(e, 'CollectionId'));
      if (sk && id) s.syncKeys.set(id, sk);
    } else if (e.name === 'ServerId' && e.ns === 'AirSync') {
      const id = txt(e);
      if (id && s.items.length < CAP && !s.items.includes(id)) s.items.push(id);
    } else if (e.name === 'FileReference') {
      const ref = txt(e);
      if (ref && s.fileRefs.length < CAP && !s.fileRefs.includes(ref)) s.fileRefs.push(ref);
    } else if (e.name === 'PolicyKey' && e.ns === 'Provision') {
      const k = txt(e);
      if (k && /^\d+$/.test(k)) s.policyKey = k;
    }
  });
  return true;
}

export function newDevice(deviceId: string, email: string, password: string, other: string): DeviceState {
  return { deviceId, deviceType: 'FuzzPhone', email, password, other, folderSyncKey: '0', folders: {}, syncKeys: new Map(), items: [], fileRefs: [], foreign: [] };
}

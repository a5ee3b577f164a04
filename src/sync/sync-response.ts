/**
 * The Collection element of a Sync response (MS-ASCMD 2.2.3.29.2), built at the edge of the
 * engine: the pass decides (sync-pass.ts), this only writes it down.
 */
import { el, type WbxmlElement } from '../wbxml/tree.ts';

export function collectionElement(syncKey: string, collectionId: string, status: number, rest: WbxmlElement[] = []): WbxmlElement {
  // Child order of the response Collection: SyncKey, CollectionId, Status, MoreAvailable,
  // Commands, Responses (MS-ASCMD 2.2.3.29.2).
  return el('AirSync', 'Collection', el('AirSync', 'SyncKey', syncKey), el('AirSync', 'CollectionId', collectionId), el('AirSync', 'Status', status), rest);
}

/** A collection that was synced: MoreAvailable, the server's Commands, the Responses to the client's. */
export function syncedCollection(syncKey: string, collectionId: string, status: number, moreAvailable: boolean, commands: WbxmlElement[], responses: WbxmlElement[]): WbxmlElement {
  const rest: WbxmlElement[] = [];
  if (moreAvailable) rest.push(el('AirSync', 'MoreAvailable'));
  if (commands.length) rest.push(el('AirSync', 'Commands', commands));
  if (responses.length) rest.push(el('AirSync', 'Responses', responses));
  return collectionElement(syncKey, collectionId, status, rest);
}

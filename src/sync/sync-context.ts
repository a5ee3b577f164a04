/**
 * What a collection Sync is worked out with: the request's context and the statuses it answers
 * with (shared by collection-sync.ts and client-commands.ts).
 */
import type { ConversionError } from '../classes/types.ts';
import type { EasVersion } from '../eas/versions.ts';
import type { Mailbox } from '../ports/mailbox.ts';
import type { DeviceStateStore } from '../ports/store.ts';
import type { Device, Folder, Item, User } from '../ports/types.ts';
import type { WbxmlElement } from '../wbxml/tree.ts';
import type { ItemFilter } from './feed.ts';
import type { KeyedLock } from './keyed-lock.ts';

/** Sync statuses (MS-ASCMD 2.2.3.177.17). */
export const SyncStatus = {
  Success: 1,
  InvalidSyncKey: 3,
  ProtocolError: 4,
  ServerError: 5,
  ConversionError: 6,
  Conflict: 7,
  NotFound: 8,
  HierarchyChanged: 12,
  Incomplete: 13,
  InvalidWait: 14,
  TooManyCollections: 15,
  Retry: 16,
} as const;

export interface SyncContext {
  /** The user's mailbox: the folders and items synchronized. */
  mailbox: Mailbox;
  /** The device's state (sync keys, what it holds, client Add ids), always easd's own store. */
  deviceState: DeviceStateStore;
  user: User;
  device: Device;
  version: EasVersion;
  /** The user's live folders, read once per request. */
  folders: Folder[];
  /** Runs after a client Add or Change is stored, or found unchanged (a draft with Send: src/mail/send-draft.ts). */
  onClientWrite?: (folder: Folder, item: Item, appData: WbxmlElement) => Promise<void>;
  /**
   * Runs after a client Add, Change or Delete of an item is stored, with the item before and
   * after (undefined for an Add / a Delete): meetings organised from a device
   * (src/meetings/meeting-organizer.ts).
   */
  onClientItemChange?: (folder: Folder, before: Item | undefined, after: Item | undefined) => Promise<void>;
  /**
   * Told of every item of the folder that could not be converted for this device and was
   * skipped (kb-2.4): the caller logs it and tells the user (src/sync/failure-notice.ts).
   */
  onUnconvertible?: (folder: Folder, item: Item, err: ConversionError) => void;
  /**
   * A restricted device (a quarantined one, src/devices/quarantine.ts) is sent only the items
   * `visible` allows (others are passed over, not sent), may Fetch only those, and with
   * `readOnly` its Add, Change and Delete are each refused with Status 7 (MS-ASCMD 2.2.3.177.17,
   * 2.2.3.34: the object the client sent was discarded), changing nothing.
   */
  visible?: ItemFilter;
  readOnly?: boolean;
  /**
   * The request's clock (epoch ms), read once per collection: the FilterType window is laid and
   * aged by it (feed.ts planFeed, WINDOW_AGING_MS). Production passes Date.now; tests fix it.
   */
  now: () => number;
  /**
   * One device's requests for one collection run one at a time under this lock (collection-sync.ts).
   * One per process, from the composition root: two easd nodes sharing PostgreSQL do not share
   * it (a retry sent to the other node can still race).
   */
  locks: KeyedLock;
  /** Largest contact picture a device may store, in bytes of image (ConvertContext.pictureMaxBytes). */
  pictureMaxBytes?: number;
  /**
   * Told of each malformed optional element left out of a device's item that was kept
   * (ConvertContext.dropped): the caller logs it (warn).
   */
  onDropped?: (folder: Folder, element: string, reason: string) => void;
}


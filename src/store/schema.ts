/**
 * Kysely table types, shared by the SQLite and PostgreSQL backends.
 *
 * Column types are chosen to read back the same on both dialects, with explicit conversion in
 * kysely-shared.ts where they do not:
 * - ids and timestamps are text (timestamps as ISO 8601 UTC, `Date#toISOString()`, which sorts);
 * - counters are bigint: SQLite returns a number, pg returns int8 as a string -> `Int8`;
 * - flags are integer 0/1 (SQLite has no boolean);
 * - JSON is text on both (parsed and serialized by the store, never by the driver).
 */
import type { ColumnType, Generated } from 'kysely';

/** bigint column: read as number (SQLite) or string (pg int8); written as number. */
export type Int8 = ColumnType<number | string, number | undefined, number>;

export interface UsersTable {
  id: string;
  email: string;
  display_name: string | null;
  password_hash: string;
  /** Per-user folder hierarchy change sequence. */
  hierarchy_modseq: Int8;
  created_at: string;
}

export interface FoldersTable {
  id: string;
  user_id: string;
  parent_id: string | null;
  server_id: string;
  display_name: string;
  type: number;
  /** Highest item change sequence in this folder. */
  modseq: Int8;
  /** User hierarchy sequence of this folder's last change. */
  hierarchy_modseq: Int8;
  deleted: ColumnType<number, number | undefined, number>;
  created_at: string;
  updated_at: string;
}

export interface ItemsTable {
  id: string;
  user_id: string;
  folder_id: string;
  server_id: string;
  class: string;
  /** JSON object as text. */
  data: string;
  uid: string | null;
  modseq: Int8;
  /** Folder sequence at which the item was created (putItem, or the target side of moveItem). */
  created_modseq: Int8;
  deleted: ColumnType<number, number | undefined, number>;
  created_at: string;
  updated_at: string;
}

export interface DevicesTable {
  user_id: string;
  device_id: string;
  device_type: string;
  user_agent: string | null;
  protocol_version: string | null;
  first_seen: string;
  last_seen: string;
  /** SyncKey 0 resets after the first sync (Device.syncResets). */
  sync_resets: ColumnType<number, number | undefined, number>;
}

export interface DeviceDataTable {
  user_id: string;
  device_id: string;
  name: string;
  /** JSON object as text. */
  data: string;
  updated_at: string;
}

export interface SyncStatesTable {
  user_id: string;
  device_id: string;
  /** A folder id, or '' (HIERARCHY_COLLECTION) for the folder hierarchy. */
  collection_id: string;
  sync_key: string;
  /** JSON object as text. */
  data: string;
  created_at: string;
}

/** What a device holds of a collection, by sync-key generation (migration 0015; held-items-store.ts). */
export interface HeldItemsTable {
  user_id: string;
  device_id: string;
  collection_id: string;
  item_id: string;
  /** The generation (sync key counter) whose answer gave the device the item; 0: every generation. */
  added_gen: number;
  /** The generation whose answer took it away; null while held. */
  removed_gen: number | null;
}

export interface ClientAddsTable {
  user_id: string;
  device_id: string;
  collection_id: string;
  client_id: string;
  item_id: string;
  created_at: string;
}

/** Directory fields of a user (migration 0006; directory-store.ts). */
export interface UserDirectoryTable {
  user_id: string;
  first_name: string | null;
  last_name: string | null;
  title: string | null;
  phone: string | null;
  mobile_phone: string | null;
  home_phone: string | null;
  office: string | null;
  company: string | null;
  /** Base64 of the picture bytes. */
  picture: string | null;
  picture_size: ColumnType<number, number | undefined, number>;
  updated_at: string;
}

/** Additional addresses of users; `address` lowercased, unique across users. */
export interface UserAliasesTable {
  address: string;
  user_id: string;
  created_at: string;
}

export interface OofSettingsTable {
  user_id: string;
  /** JSON object as text (OofSettings). */
  data: string;
  updated_at: string;
}

/** The last automatic reply per user and sender (lowercased). */
export interface AutoRepliesTable {
  user_id: string;
  sender: string;
  sent_at: string;
}

export interface SentClientIdsTable {
  user_id: string;
  device_id: string;
  /** ComposeMail ClientId of a message the device sent (sending-store.ts). */
  client_id: string;
  created_at: string;
}

export interface SearchPositionsTable {
  user_id: string;
  folder_id: string;
  /** Folder change sequence up to which the full-text index holds the folder (search-store.ts). */
  indexed_modseq: Int8;
}

export interface DevicePoliciesTable {
  name: string;
  /** JSON object as text (src/devices/policy.ts settings). */
  settings: string;
  revision: Int8;
  updated_at: string;
}

export interface DevicePolicyAssignmentsTable {
  user_id: string;
  policy_name: string;
  updated_at: string;
}

export interface DeviceSettingsTable {
  name: string;
  value: string;
}

export interface DeviceAccessRulesTable {
  id: string;
  field: string;
  pattern: string;
  access: string;
  created_at: string;
}

export interface DeviceStatesTable {
  user_id: string;
  device_id: string;
  /** JSON object as text (src/devices/device-state.ts). */
  data: string;
  updated_at: string;
}

/** Mail content kept once by content (migration 0003_mail; mail-store.ts). */
export interface MailBlobsTable {
  sha256: string;
  size: Int8;
  /** The bytes when `chunks` is 0; empty otherwise. */
  data: Buffer;
  created_at: string;
  /** How many rows of mail_blob_chunks hold the bytes (migration 0016_blob_chunks); 0: in `data`. */
  chunks: Generated<number>;
}

/** A piece of a large blob (migration 0016_blob_chunks): chunk `seq` (from 0) of blob `sha256`. */
export interface MailBlobChunksTable {
  sha256: string;
  seq: number;
  data: Buffer;
}

/** Users that are resource mailboxes, rooms or equipment (migration 0012_resources; directory-store.ts). */
export interface UserResourcesTable {
  user_id: string;
  kind: string;
  updated_at: string;
}

/** Users' S/MIME certificates, DER (migration 0014_certificates; directory-store.ts). */
export interface UserCertificatesTable {
  user_id: string;
  /** SHA-256 of `der`, lowercase hex. */
  fingerprint: string;
  der: Buffer;
  created_at: string;
}

/** Users and domains homed on another deployment (migration 0010_homes; homes-store.ts). */
export interface UserHomesTable {
  user_id: string;
  url: string;
  updated_at: string;
}

export interface DomainHomesTable {
  domain: string;
  url: string;
  updated_at: string;
}

/** Mailbox logging (migration 0010_homes; mailbox-log-store.ts). */
export interface MailboxLogSettingsTable {
  user_id: string;
  until: string;
  updated_at: string;
}

export interface MailboxLogEntriesTable {
  id: string;
  user_id: string;
  at: string;
  device_id: string | null;
  cmd: string | null;
  http_status: number;
  /** JSON object as text. */
  meta: string;
  request: string | null;
  response: string | null;
}

/** Throttle blocks and loop flags per device (migration 0009_protection; protection-store.ts). */
export interface DeviceProtectionTable {
  user_id: string;
  device_id: string;
  throttles: Int8;
  last_throttle_at: string | null;
  last_throttle_reason: string | null;
  throttled_until: string | null;
  loops: Int8;
  last_loop_at: string | null;
  last_loop_command: string | null;
}

/** Account lockouts (migration 0017, src/ports/protection.ts AccountLockoutRecord). */
export interface AccountLockoutsTable {
  login: string;
  started_at: string | null;
  blocked_until: string | null;
  failures: Int8;
  last_address: string | null;
  blocks: Int8;
  unlocked_at: string | null;
  admit_device: string | null;
  admit_until: string | null;
}

/** Items the user was told could not be synchronized (kb-2.4), once each. */
export interface SyncFailureNoticesTable {
  user_id: string;
  item_id: string;
  notified_at: string;
}

export interface Database {
  users: UsersTable;
  folders: FoldersTable;
  items: ItemsTable;
  devices: DevicesTable;
  device_data: DeviceDataTable;
  sync_states: SyncStatesTable;
  client_adds: ClientAddsTable;
  held_items: HeldItemsTable;
  sync_failure_notices: SyncFailureNoticesTable;
  sent_client_ids: SentClientIdsTable;
  search_positions: SearchPositionsTable;
  user_directory: UserDirectoryTable;
  user_aliases: UserAliasesTable;
  oof_settings: OofSettingsTable;
  auto_replies: AutoRepliesTable;
  device_policies: DevicePoliciesTable;
  device_policy_assignments: DevicePolicyAssignmentsTable;
  device_settings: DeviceSettingsTable;
  device_access_rules: DeviceAccessRulesTable;
  device_states: DeviceStatesTable;
  device_protection: DeviceProtectionTable;
  account_lockouts: AccountLockoutsTable;
  mail_blobs: MailBlobsTable;
  mail_blob_chunks: MailBlobChunksTable;
  user_homes: UserHomesTable;
  user_resources: UserResourcesTable;
  user_certificates: UserCertificatesTable;
  domain_homes: DomainHomesTable;
  mailbox_log_settings: MailboxLogSettingsTable;
  mailbox_log_entries: MailboxLogEntriesTable;
}

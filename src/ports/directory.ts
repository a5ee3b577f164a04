/**
 * The directory and per-user settings area of the store: what the organisation's address book
 * says about each user (names, title, phones, office, company, additional addresses, a picture),
 * the user's out-of-office settings, and the history of automatic replies sent for them.
 *
 * Nothing here knows EAS: the GAL search, ResolveRecipients and Settings commands map these
 * records to protocol elements (src/directory/, src/settings/, src/commands/).
 */

/** Largest picture the directory keeps (bytes). Exchange's own limit for a user photo is 100 KB. */
export const MAX_PICTURE_BYTES = 100 * 1024;

/** The editable text fields of a directory entry, beside the display name kept on the user. */
export const PROFILE_FIELDS = ['firstName', 'lastName', 'title', 'phone', 'mobilePhone', 'homePhone', 'office', 'company'] as const;
export type ProfileField = (typeof PROFILE_FIELDS)[number];

/**
 * A resource mailbox (src/calendar/resource-booking.ts): a room or a piece of equipment that
 * books itself, accepting meeting requests when free and declining conflicts.
 */
export const RESOURCE_KINDS = ['room', 'equipment'] as const;
export type ResourceKind = (typeof RESOURCE_KINDS)[number];

/** Largest certificate the directory keeps (DER bytes); real S/MIME certificates are 1-4 KB. */
export const MAX_CERTIFICATE_BYTES = 64 * 1024;
/** Most certificates one user may have. */
export const MAX_CERTIFICATES_PER_USER = 32;

/** A stored S/MIME certificate: the bytes only; parsing is src/directory/certificates.ts's. */
export interface StoredCertificate {
  /** SHA-256 of the DER bytes, lowercase hex. */
  fingerprint: string;
  der: Buffer;
  createdAt: Date;
}

/** One user as the directory shows them. */
export interface DirectoryEntry {
  userId: string;
  /** The user's primary (login) address, lowercased. */
  email: string;
  displayName: string | null;
  firstName: string | null;
  lastName: string | null;
  title: string | null;
  phone: string | null;
  mobilePhone: string | null;
  homePhone: string | null;
  office: string | null;
  company: string | null;
  /** Additional addresses the user receives mail at (lowercased, sorted). */
  aliases: string[];
  /** Size of the stored picture in bytes, 0 when there is none (the bytes come from getPicture). */
  pictureSize: number;
}

/**
 * A change to a directory entry: a field given as a string sets it, null clears it, absent keeps
 * it. Empty strings clear too.
 */
export type DirectoryPatch = { displayName?: string | null } & { [K in ProfileField]?: string | null };

/** Out-of-office state: off, on until turned off, or on between start and end. */
export type OofState = 'disabled' | 'global' | 'scheduled';

/** The reply for one audience. */
export interface OofMessage {
  enabled: boolean;
  /** The reply text, in `bodyType`. */
  message: string;
  bodyType: 'text' | 'html';
}

export interface OofSettings {
  state: OofState;
  /** ISO 8601 UTC; set only when state is 'scheduled'. */
  start: string | null;
  end: string | null;
  /** Senders inside the organisation (same domain as the user, or a local user). */
  internal: OofMessage | null;
  /** Outside senders the user knows (in the user's contacts). */
  externalKnown: OofMessage | null;
  /** Any other outside sender. */
  externalUnknown: OofMessage | null;
}

export interface DirectoryStore {
  /** Distinct domains (lowercased) of the users' primary addresses and aliases (the domains mail is accepted for). */
  listUserDomains(): Promise<string[]>;
  /** The user's directory entry, or null for an unknown user. */
  getEntry(userId: string): Promise<DirectoryEntry | null>;
  /**
   * Every user's entry, ordered by email (pictures not loaded). With `containing`, only entries
   * whose primary address, display name, first or last name or an alias contains that text,
   * ASCII case-insensitively (a cheap superset for a caller that matches more precisely).
   */
  listEntries(opts?: { containing?: string }): Promise<DirectoryEntry[]>;
  /** Applies the patch; throws StoreError 'not_found' for an unknown user. */
  updateEntry(userId: string, patch: DirectoryPatch): Promise<DirectoryEntry>;
  /**
   * Adds an additional address. Throws 'invalid' for an empty address or more than 256
   * characters, 'conflict' when it is any user's address or alias already (the user's own alias
   * is not a conflict: adding it again does nothing), 'not_found' for an unknown user. The other
   * way round, AccountsStore.createUser refuses an address that is an alias.
   */
  addAlias(userId: string, address: string): Promise<void>;
  /** Removes an additional address; returns whether the user had it. */
  removeAlias(userId: string, address: string): Promise<boolean>;
  /** The user whose primary address or alias this is (case-insensitive), or null. */
  findUserIdByAddress(address: string): Promise<string | null>;
  /**
   * Sets the picture (null removes it). Throws 'invalid' when it is empty or larger than
   * MAX_PICTURE_BYTES, 'not_found' for an unknown user.
   */
  setPicture(userId: string, picture: Buffer | null): Promise<void>;
  getPicture(userId: string): Promise<Buffer | null>;

  /**
   * Adds an S/MIME certificate (DER bytes, checked by the caller). Returns false when the user has
   * it already. Throws 'invalid' when empty, larger than MAX_CERTIFICATE_BYTES or past
   * MAX_CERTIFICATES_PER_USER, 'not_found' for an unknown user.
   */
  addCertificate(userId: string, der: Buffer): Promise<boolean>;
  /** The user's certificates, oldest first (none for an unknown user). */
  listCertificates(userId: string): Promise<StoredCertificate[]>;
  /** Removes all of the user's certificates; returns how many there were. */
  removeCertificates(userId: string): Promise<number>;

  /** Whether the user is a resource mailbox, and which kind; null for a person (the default). */
  getResource(userId: string): Promise<ResourceKind | null>;
  /** Marks the user a resource (null: a person again). Throws 'not_found' for an unknown user, 'invalid' for another kind. */
  setResource(userId: string, kind: ResourceKind | null): Promise<void>;

  /** The user's out-of-office settings, or null when never set. */
  getOof(userId: string): Promise<OofSettings | null>;
  /**
   * Saves the settings and forgets the automatic replies sent so far, so a new absence answers
   * every sender again. Throws 'not_found' for an unknown user.
   */
  putOof(userId: string, oof: OofSettings): Promise<void>;
  /** When an automatic reply last went from this user to `sender` (lowercased), or null. */
  lastAutoReply(userId: string, sender: string): Promise<Date | null>;
  /**
   * Records a reply to `sender` at the store's clock, but only when none was recorded after
   * `notAfter` (atomic: of two concurrent deliveries one wins). Returns whether it recorded.
   */
  claimAutoReply(userId: string, sender: string, notAfter: Date): Promise<boolean>;
}

/**
 * Mailbox logging: for users an admin turned it on for, every ActiveSync request and its response
 * as XML text, kept for a set time (src/logging/mailbox-log.ts captures; `easd logging` reads).
 * Nothing here knows EAS: entries are text the capture made.
 */

/** How long entries are kept by default, and how long logging stays on when no time is given. */
export const DEFAULT_MAILBOX_LOG_HOURS = 72;

export interface NewMailboxLogEntry {
  userId: string;
  deviceId: string | null;
  cmd: string | null;
  httpStatus: number;
  /** The request line, headers (never Authorization), response headers, timing. */
  meta: Record<string, unknown>;
  request: string | null;
  response: string | null;
}

export interface MailboxLogEntry extends NewMailboxLogEntry {
  id: string;
  at: Date;
}

export interface MailboxLogSetting {
  userId: string;
  /** Logging stops by itself at this time. */
  until: Date;
}

export interface MailboxLogStore {
  /** Turns logging on for the user until `until` (replacing an earlier end). Throws 'not_found' for an unknown user. */
  enable(userId: string, until: Date): Promise<void>;
  /** Turns logging off; the entries stay until pruned. Returns whether it was on. */
  disable(userId: string): Promise<boolean>;
  /** Users whose logging has not ended yet (until after the store's clock). */
  listEnabled(): Promise<MailboxLogSetting[]>;
  /** The user's setting, also when it has ended; null when never turned on. */
  getSetting(userId: string): Promise<MailboxLogSetting | null>;
  /** Appends an entry at the store's clock. */
  append(entry: NewMailboxLogEntry): Promise<void>;
  /** The user's entries at or after `since`, oldest first, at most `limit` (default 1,000, the newest ones). */
  list(userId: string, opts?: { since?: Date; limit?: number }): Promise<MailboxLogEntry[]>;
  /** Deletes every entry written before `before`; returns how many. */
  prune(before: Date): Promise<number>;
}

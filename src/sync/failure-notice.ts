/**
 * kb-2.4: an item that cannot be converted for a device is skipped without stalling its folder
 * (src/sync/collection-sync.ts), logged, and the user is told once per item by a message in
 * their Inbox naming the folder, the item class and the subject, so the item does not go
 * missing on the phone without anyone knowing why.
 */
import type { Logger } from 'pino';
import type { ConversionError } from '../classes/types.ts';
import type { Folder, Item, JsonObject, User } from '../ports/types.ts';
import type { Mailbox } from '../ports/mailbox.ts';
import type { DeviceStateStore } from '../ports/store.ts';

/** FolderSync type of the Inbox (MS-ASCMD 2.2.3.186.3). */
const INBOX_TYPE = 2;

/** A readable name of the item: its subject, or for a contact its name. */
export function itemTitle(item: Pick<Item, 'class' | 'data'>): string {
  const d = item.data;
  const s = (k: string) => (typeof d[k] === 'string' ? (d[k] as string).trim() : '');
  if (item.class === 'Contacts') {
    return s('fileAs') || [s('firstName'), s('lastName')].filter(Boolean).join(' ') || s('companyName') || s('email1Address') || '(no name)';
  }
  return s('subject') || '(no subject)';
}

/** The notice as stored Email data (a plain text message from the server). */
export function failureNoticeData(user: Pick<User, 'email'>, folder: Pick<Folder, 'displayName'>, item: Pick<Item, 'class' | 'data'>, reason: string, now: Date): JsonObject {
  const domain = user.email.includes('@') ? user.email.slice(user.email.lastIndexOf('@') + 1) : 'localhost';
  const title = itemTitle(item);
  const text = [
    'An item in your mailbox could not be synchronized to one of your devices, so that device does not show it.',
    'It is still on the server and on your other devices.',
    '',
    `Folder: ${folder.displayName}`,
    `Item type: ${item.class}`,
    `Subject: ${title}`,
    `Reason: ${reason}`,
    '',
    'You are told once for each such item.',
  ].join('\n');
  return {
    subject: `Could not synchronize "${title}"`,
    from: `"easd" <postmaster@${domain}>`,
    to: user.email,
    displayTo: user.email,
    dateReceived: now.toISOString(),
    importance: 1,
    read: false,
    messageClass: 'IPM.Note',
    body: { text },
  };
}

/** Logs the skipped item and, the first time for this item, puts the notice in the user's Inbox. */
export async function reportUnconvertible(mailbox: Mailbox, deviceState: Pick<DeviceStateStore, 'markSyncFailureNoticed'>, user: User, folder: Folder, item: Item, err: ConversionError, log: Logger, now = new Date()): Promise<void> {
  log.warn({ itemId: item.id, serverId: item.serverId, folder: folder.serverId, itemClass: item.class, reason: err.message }, 'item cannot be converted for this device: skipped');
  if (!(await deviceState.markSyncFailureNoticed(user.id, item.id))) return;
  const inbox = (await mailbox.listFolders()).find((f) => f.type === INBOX_TYPE);
  if (!inbox) return;
  await mailbox.putItem({ folderId: inbox.id, class: 'Email', data: failureNoticeData(user, folder, item, err.message, now) });
}

/**
 * What a quarantined device sees (the Exchange behaviour of the ABQ quarantine): it may connect
 * and synchronize, but its mailbox looks like one folder, the Inbox, holding one message, the
 * notice that this device is quarantined. Everything else appears once the admin allows it.
 *
 * The gate (provision-gate.ts) lets a quarantined device run QUARANTINE_COMMANDS and puts a
 * `Restriction` on the command's context; FolderSync, Sync and Ping consult only that
 * restriction (no other part of the engine knows about quarantine), and so does GetItemEstimate. Pure.
 *
 * Leaving or entering quarantine drops the device's sync states (manager.ts), so the hierarchy
 * and collection states it built under one view of the mailbox are never continued under the
 * other: its next FolderSync gets Status 9 and its Syncs Status 3 (MS-ASCMD 2.2.3.177.5,
 * 2.2.3.177.17), and it starts again from SyncKey 0, once.
 */
import type { Restriction } from '../protocol/command.ts';

/** Commands a quarantined device may run (the others keep 129, MS-ASCMD 2.2.2). */
export const QUARANTINE_COMMANDS: ReadonlySet<string> = new Set(['FolderSync', 'Sync', 'GetItemEstimate', 'Ping', 'Provision', 'Settings']);

/** Item data field marking the quarantine notice, with the id of the device it is about. */
export const QUARANTINE_NOTICE_FIELD = 'quarantineNotice';

const INBOX_TYPE = 2;

/** The view of a quarantined device: the Inbox, holding only this device's notice. */
export function quarantineRestriction(deviceId: string): Restriction {
  return {
    reason: 'device quarantined',
    folder: (f) => f.type === INBOX_TYPE,
    item: (data) => data[QUARANTINE_NOTICE_FIELD] === deviceId,
    readOnly: true,
  };
}

/** Whether an access change must restart the device's synchronization: into or out of quarantine. */
export function restartsSync(before: string | null, after: string): boolean {
  return before !== null && before !== after && (before === 'quarantine' || after === 'quarantine');
}

import { folderCreate } from './folder-create.ts';
import { folderDelete } from './folder-delete.ts';
import { folderUpdate } from './folder-update.ts';
import { folderSync } from './foldersync.ts';
import { getItemEstimate } from './get-item-estimate.ts';
import { find } from './find.ts';
import { moveItems } from './move-items.ts';
import { ping } from './ping.ts';
import { search } from './search.ts';
import { sendMail } from './send-mail.ts';
import { smartForward } from './smart-forward.ts';
import { smartReply } from './smart-reply.ts';
import { provision } from './provision.ts';
import { resolveRecipients } from './resolve-recipients.ts';
import { settings } from './settings.ts';
import { sync } from './sync.ts';
import { getAttachment } from './get-attachment.ts';
import { itemOperations } from './item-operations.ts';
import { meetingResponse } from './meeting-response.ts';
import { validateCert } from './validate-cert.ts';
import type { CommandHandler } from './types.ts';

/**
 * The composition of command handlers: one module per command (MS-ASCMD 2.2.1), registered here
 * by name. A command of src/eas/commands.ts with no handler here is answered with HTTP 501
 * (MS-ASHTTP 2.2.2.1.1) until its issue lands.
 */
export function commandHandlers(): Map<string, CommandHandler> {
  return new Map<string, CommandHandler>([
    ['FolderSync', folderSync],
    ['FolderCreate', folderCreate],
    ['FolderUpdate', folderUpdate],
    ['FolderDelete', folderDelete],
    ['Sync', sync],
    ['GetItemEstimate', getItemEstimate],
    ['Ping', ping],
    ['SendMail', sendMail],
    ['SmartReply', smartReply],
    ['SmartForward', smartForward],
    ['MoveItems', moveItems],
    ['Search', search],
    ['Find', find],
    ['Provision', provision],
    ['ResolveRecipients', resolveRecipients],
    ['Settings', settings],
    ['ItemOperations', itemOperations],
    ['GetAttachment', getAttachment],
    ['MeetingResponse', meetingResponse],
    ['ValidateCert', validateCert],
  ]);
}

/**
 * GetAttachment (MS-ASCMD 2.2.1.7; protocol 12.0-14.1, replaced by ItemOperations Fetch in
 * 16.0): the AttachmentName query parameter carries the attachment's FileReference
 * (MS-ASAIRS 2.2.2.24.1); the response body is the attachment's bytes with its Content-Type.
 *
 * There is no WBXML status: an attachment that does not exist, or that belongs to another user
 * (looked up only among the requesting user's items, so it reveals nothing), is answered with
 * HTTP 500, as Exchange does; a request without AttachmentName with HTTP 400.
 */
import { resolveFileReference } from './item-operations.ts';
import type { CommandHandler, CommandResult } from './types.ts';

export const getAttachment: CommandHandler = async (ctx): Promise<CommandResult> => {
  const name = ctx.params.attachmentName;
  if (name === undefined || name === '') return { httpStatus: 400, logFields: { reason: 'no AttachmentName' } };
  const att = await resolveFileReference(ctx.mailbox, name);
  // The client's mistake, answered as the protocol says: logged at warn (src/logging/request-log.ts).
  if (!att) return { httpStatus: 500, clientFault: true, logFields: { reason: 'attachment not found' } };
  return { raw: { contentType: att.contentType, data: att.data }, logFields: { bytes: att.data.length } };
};

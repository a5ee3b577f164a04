/**
 * SmartReply (MS-ASCMD 2.2.1.19): sends the device's reply with the original message quoted
 * below it, unless ReplaceMime says the device's MIME is already the whole message. The Source
 * (ItemId + FolderId, LongId, or the 12.x ItemId/CollectionId query parameters) must be one of
 * the user's messages. Both request forms and every status: src/mail/send.ts.
 */
import { handleSend } from '../mail/send.ts';
import type { CommandHandler } from './types.ts';

export const smartReply: CommandHandler = (ctx) => handleSend(ctx, 'reply');

/**
 * SmartForward (MS-ASCMD 2.2.1.18): sends the device's message with the original message and
 * the original's attachments appended, unless ReplaceMime says the device's MIME is already the
 * whole message. Both request forms and every status: src/mail/send.ts.
 */
import { handleSend } from '../mail/send.ts';
import type { CommandHandler } from './types.ts';

export const smartForward: CommandHandler = (ctx) => handleSend(ctx, 'forward');

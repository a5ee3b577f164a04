/**
 * SendMail (MS-ASCMD 2.2.1.17): sends a message the device wrote, as written (only From, Sender
 * and Bcc are looked at, src/mail/compose.ts). Both request forms and every status: src/mail/send.ts.
 */
import { handleSend } from '../mail/send.ts';
import type { CommandHandler } from './types.ts';

export const sendMail: CommandHandler = (ctx) => handleSend(ctx, 'send');

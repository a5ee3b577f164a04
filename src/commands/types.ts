/**
 * The command contract (src/protocol/command.ts) bound to the services the commands are handed
 * (src/commands/services.ts): what every handler in this folder and the HTTP route use.
 */
import type * as Protocol from '../protocol/command.ts';
import type { Services } from './services.ts';

export type { CommandResult, Park } from '../protocol/command.ts';

/** Everything a command handler gets: who asks, from which device, what they sent. */
export type CommandContext = Protocol.CommandContext<Services>;

export type CommandHandler = Protocol.CommandHandler<Services>;

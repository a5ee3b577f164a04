/**
 * The contract between the HTTP layer and the commands: what a handler is given and what it
 * answers. It sits below both (and below the device protections and mail code that wrap or serve
 * handlers), so none of them imports the other's folder for it.
 *
 * `S` is the services a handler needs beyond the store. The commands' full set is
 * src/commands/services.ts (src/commands/types.ts binds it); code below the commands names only
 * the members it uses, e.g. `CommandContext<{ outbound?: OutboundMail }>`.
 */
import type { Logger } from 'pino';
import type { EasVersion } from '../eas/versions.ts';
import type { Device, Folder, JsonObject, User } from '../ports/types.ts';
import type { Mailbox } from '../ports/mailbox.ts';
import type { AccountsStore, DeviceStateStore, ServerStore } from '../ports/store.ts';
import type { WbxmlElement } from '../wbxml/tree.ts';
import type { EasRequestParams } from './request.ts';
import type { Watch } from './watch.ts';

/** What a restricted (quarantined) device may see; handlers ask nothing else (src/devices/quarantine.ts). */
export interface Restriction {
  /** Why (for logs). */
  reason: string;
  /** The folders the device is shown (FolderSync, Sync, Ping). */
  folder(f: Pick<Folder, 'type'>): boolean;
  /** The items the device is shown, by their data. */
  item(data: JsonObject): boolean;
  /** Client Add/Change/Delete are refused per item and change nothing. */
  readOnly: boolean;
}

/** Everything a command handler gets: who asks, from which device, what they sent. */
export interface CommandContext<S = unknown> {
  params: EasRequestParams;
  version: EasVersion;
  user: User;
  device: Device;
  /** The decoded WBXML request, when the request carried one. */
  request?: WbxmlElement;
  /** The raw request body (MIME for 12.x SendMail, empty for an empty Ping or Sync). */
  rawBody: Buffer;
  contentType?: string;
  /** The user's mailbox (src/ports/mailbox.ts): content goes through it, whatever keeps it. */
  readonly mailbox: Mailbox;
  /** The device's state (partnership, sync states, what it holds): easd's own store. */
  readonly deviceState: DeviceStateStore;
  /** Users and the directory (GAL, aliases, out of office). */
  readonly accounts: AccountsStore;
  /** Server-wide state: device policies and rules, protection records, mailbox logging, homes. */
  readonly server: ServerStore;
  /** Configured services beyond the store (src/commands/services.ts). */
  services: S;
  log: Logger;
  /** Resolves when the client has gone away (for held Ping and Sync with Wait). */
  aborted: AbortSignal;
  /**
   * Set by the provisioning gate for a quarantined device: what it may see (src/devices/quarantine.ts).
   * FolderSync, Sync and Ping consult it; the gate refuses other commands.
   */
  restricted?: Restriction;
}

export interface CommandResult {
  /** HTTP status, 200 unless said otherwise. */
  httpStatus?: number;
  /** WBXML response body. */
  body?: WbxmlElement;
  /** A non-WBXML body (ItemOperations multipart, GetAttachment). */
  raw?: { contentType: string; data: Buffer };
  headers?: Record<string, string>;
  /** The command's top-level Status, for the request log. */
  easStatus?: number | string;
  /** Item counts and similar, for the request log. */
  logFields?: Record<string, number | string>;
  /**
   * The answer refuses what the client sent (a malformed request, an item that is not there),
   * so the request line is logged at warn whatever the HTTP status. Before 14.0 some such
   * refusals are HTTP 500 by the protocol (SendMail, SmartReply and SmartForward have no
   * response body, MS-ASCMD 2.2.1.17-19, and an unknown item or recipient is a 500 there);
   * without this flag a 5xx is easd's own fault and logged at error.
   */
  clientFault?: boolean;
  /**
   * Nothing to answer yet: hold the request until the watch sees a change that `recheck` turns
   * into an answer, or until the deadline (src/http/parked-requests.ts). Held Pings use this.
   */
  park?: Park;
}

/** A held request, kept small: it lives as long as the heartbeat (up to an hour). */
export interface Park {
  /** Made before the command looked, so a change in between is not missed. */
  watch: Watch;
  /** Epoch ms at which `timeout()` answers. */
  deadline: number;
  /** Looks again after a change: an answer, or undefined to stay held. */
  recheck(): Promise<CommandResult | undefined>;
  /** The answer when the deadline passes or the server closes. */
  timeout(): CommandResult;
  /** The answer when recheck fails (default: the timeout answer). */
  failed?(): CommandResult;
}

export type CommandHandler<S = unknown> = (ctx: CommandContext<S>) => Promise<CommandResult>;

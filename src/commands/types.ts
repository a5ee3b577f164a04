import type { Logger } from 'pino';
import type { EasVersion } from '../eas/versions.ts';
import type { EasRequestParams } from '../http/query.ts';
import type { Device, User } from '../ports/types.ts';
import type { Store } from '../ports/store.ts';
import type { WbxmlElement } from '../wbxml/tree.ts';
import type { Services } from './services.ts';
import type { Watch } from '../sync/change-hub.ts';
import type { Restriction } from '../devices/quarantine.ts';

/** Everything a command handler gets: who asks, from which device, what they sent. */
export interface CommandContext {
  params: EasRequestParams;
  version: EasVersion;
  user: User;
  device: Device;
  /** The decoded WBXML request, when the request carried one. */
  request?: WbxmlElement;
  /** The raw request body (MIME for 12.x SendMail, empty for an empty Ping or Sync). */
  rawBody: Buffer;
  contentType?: string;
  store: Store;
  /** Configured services beyond the store (src/commands/services.ts). */
  services: Services;
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

export type CommandHandler = (ctx: CommandContext) => Promise<CommandResult>;

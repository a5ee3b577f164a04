import type { Logger } from 'pino';
import type { Services } from '../commands/services.ts';
import type { CommandContext } from '../commands/types.ts';
import type { EasVersion } from '../eas/versions.ts';
import type { Device, User } from '../ports/types.ts';
import type { Mailbox, MailboxCredentials } from '../ports/mailbox.ts';
import type { AccountsStore, DeviceStateStore, ServerStore } from '../ports/store.ts';
import type { Restriction } from '../protocol/command.ts';
import type { EasRequestParams } from '../protocol/request.ts';
import { decodeWbxml, type WbxmlElement } from '../wbxml/index.ts';

/**
 * The owners a request reaches besides its mailbox, all in easd's own store: the mailbox
 * content is reached only through `services.mailboxes`, whatever keeps it.
 */
export type RequestStores = AccountsStore & DeviceStateStore & ServerStore;

/** What the route knows of a request when it hands it to a command. */
export interface RequestContextInit {
  params: EasRequestParams;
  /** The command's canonical name (params.cmd as the device spelled it), for the log. */
  commandName: string;
  version: EasVersion;
  user: User;
  device: Device;
  rawBody: Buffer;
  contentType: string | undefined;
  /** Whether the body is WBXML to decode (MS-ASHTTP 2.2.1.1.2.4 Content-Type). */
  isWbxml: boolean;
  store: RequestStores;
  services: Services;
  log: Logger;
  /**
   * The response: its 'close' is the client going away (the request's own 'close' has already
   * fired once its body was read, Node 16+).
   */
  response: { destroyed: boolean; once(event: 'close', fn: () => void): unknown; off(event: 'close', fn: () => void): unknown };
  /** Controllers of requests that may wait, so closing the server can abort them. */
  held: Set<AbortController>;
  /** The request's credentials, for a mailbox backend that logs in (MailboxProvider.open). */
  credentials?: MailboxCredentials;
}

/**
 * The CommandContext of one ActiveSync request. What most requests never use is made on first
 * read: the decoded WBXML tree (a repeated quiet Sync is answered from its bytes), the child
 * logger (memory for every held Ping) and the abort signal (for a command that works long; held
 * Pings and Syncs with Wait are parked instead). A class with accessors on its prototype, so a
 * request costs one object, not a closure per accessor: a phone polls all day, and this runs for
 * every poll.
 */
export class RequestContext implements CommandContext {
  readonly params: EasRequestParams;
  readonly version: EasVersion;
  readonly user: User;
  readonly device: Device;
  readonly rawBody: Buffer;
  readonly contentType: string | undefined;
  /** easd's own store, handed to commands by owner (deviceState, accounts, server). */
  readonly #store: RequestStores;
  readonly services: Services;
  restricted?: Restriction;
  readonly #commandName: string;
  readonly #isWbxml: boolean;
  readonly #baseLog: Logger;
  #response: RequestContextInit['response'];
  readonly #held: Set<AbortController>;
  #decoded: WbxmlElement | undefined | null = null;
  #mailbox: Mailbox | undefined;
  #credentials: MailboxCredentials | undefined;
  #log: Logger | undefined;
  #abort: AbortController | undefined;
  #onClose: (() => void) | undefined;

  constructor(init: RequestContextInit) {
    this.params = init.params;
    this.version = init.version;
    this.user = init.user;
    this.device = init.device;
    this.rawBody = init.rawBody;
    this.contentType = init.contentType;
    this.#store = init.store;
    this.services = init.services;
    this.#commandName = init.commandName;
    this.#isWbxml = init.isWbxml;
    this.#baseLog = init.log;
    this.#response = init.response;
    this.#held = init.held;
    this.#credentials = init.credentials;
  }

  /** The decoded body; throws WbxmlError when it is malformed (the route answers 400). */
  get request(): WbxmlElement | undefined {
    if (this.#decoded === null) this.#decoded = this.#isWbxml ? decodeWbxml(this.rawBody) : undefined;
    return this.#decoded;
  }

  get deviceState(): DeviceStateStore {
    return this.#store;
  }

  get accounts(): AccountsStore {
    return this.#store;
  }

  get server(): ServerStore {
    return this.#store;
  }

  /** The user's mailbox, opened on first use (a quiet repeat or a Ping answered from state never opens it). */
  get mailbox(): Mailbox {
    return (this.#mailbox ??= this.services.mailboxes.open(this.user.id, this.#credentials));
  }

  get log(): Logger {
    return (this.#log ??= this.#baseLog.child({ cmd: this.#commandName, user: this.user.email, deviceId: this.params.deviceId }));
  }

  get aborted(): AbortSignal {
    if (!this.#abort) {
      const abort = (this.#abort = new AbortController());
      if (this.#response.destroyed) abort.abort();
      this.#onClose = () => abort.abort();
      this.#response.once('close', this.#onClose);
      this.#held.add(abort);
    }
    return this.#abort.signal;
  }

  /**
   * Once the command has answered: the signal no longer needs the response or the server. A
   * parked command (a Sync with Wait) may keep this context for its whole hold, so it also lets
   * go of the response (which names the request and its connection) and of the decoded body.
   */
  release(): void {
    if (this.#abort) {
      this.#held.delete(this.#abort);
      this.#response.off('close', this.#onClose!);
    }
    this.#response = RELEASED;
    this.#decoded = null;
    this.#credentials = undefined;
  }
}

/** The response of a released context: gone, as far as the command is concerned. */
const RELEASED: RequestContextInit['response'] = { destroyed: true, once: () => undefined, off: () => undefined };

/**
 * The composition root: every long-lived service of a running easd is built here, once, and
 * handed down. `easd serve` and the test server (test/helpers/server.ts) both call
 * buildRuntime, so the end-to-end tests run the production wiring. Nothing below this file makes
 * a service of its own (no per-store singletons, no defaults inside commands); buildServer only
 * assembles the HTTP routes around what it is given.
 */
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { Authenticator } from '../auth/authenticator.ts';
import { StoredAccounts } from '../auth/stored-accounts.ts';
import { FreeBusyCache, QuietAnswers } from '../commands/answer-caches.ts';
import { commandHandlers } from '../commands/index.ts';
import type { Services } from '../commands/services.ts';
import type { CommandHandler } from '../commands/types.ts';
import { devicesByAccess } from '../devices/device-state.ts';
import { DeviceManager } from '../devices/manager.ts';
import { Protection } from '../devices/protection.ts';
import { SeenDevices } from '../devices/seen-devices.ts';
import { countDevicesWith, mailIn, relayMessages, timedStore } from '../http/metrics.ts';
import { HomeDirectory } from '../http/redirect.ts';
import { buildServer, type ServerConfig } from '../http/server.ts';
import { MailboxLogCapture } from '../logging/mailbox-log.ts';
import { deliverMessage, type AfterDeliveryHook, type DeliveryOptions, type DeliveryTargets } from '../mail/deliver.ts';
import { DEFAULT_JUNK_RULES, type JunkRule } from '../mail/junk.ts';
import { createMailListener, DEFAULT_MAX_MESSAGE_BYTES, type MailListener } from '../mail/lmtp-server.ts';
import { createOutboundMail, type OutboundMail, type RelayConfig } from '../mail/relay.ts';
import { meetingHook } from '../meetings/meeting-hook.ts';
import type { MailboxProvider } from '../ports/mailbox.ts';
import { autoReplyHook } from '../settings/auto-reply-hook.ts';
import { StoreMailboxProvider } from '../store/store-mailbox.ts';
import type { Store } from '../store/types.ts';
import { ChangeHub } from '../sync/change-hub.ts';
import { DEFAULT_PICTURE_MAX_BYTES } from '../classes/contacts.ts';
import { KeyedLock } from '../sync/keyed-lock.ts';
import type { TrustStore } from '../directory/validate-chain.ts';
import { loadTrustStore } from './trust-store.ts';

export interface RuntimeConfig {
  server: ServerConfig;
  /** Mail domains accepted besides the users' own (`--accepted-domain`). */
  acceptedDomains?: readonly string[];
  /** Largest message taken in over LMTP/SMTP. */
  maxMessageBytes?: number;
  /** Where mail for outside recipients goes (`--smtp-relay`); without one it is refused. */
  relay?: RelayConfig;
  /** Told of quarantined devices (`--admin-email`). */
  adminEmail?: string;
  /**
   * Whether the built-in policy requires provisioning (default true, as Exchange does);
   * `--no-provisioning` turns it off.
   */
  requireProvisioning?: boolean;
  /** Headers that file a delivered message as junk (`--junk-header`); default DEFAULT_JUNK_RULES, [] for none. */
  junkRules?: readonly JunkRule[];
  /** Largest contact picture a device may store, in bytes of image (`--max-contact-picture-size`). */
  maxContactPictureBytes?: number;
  /** Roots and CRLs for ValidateCert (`--trust-store`); default node's roots. */
  trustStore?: TrustStore;
  /** Most meetings one delivered message may add or change (`--max-events-per-message`; src/meetings/meeting-limit.ts). */
  maxEventsPerMessage?: number;
}

/** What the caller already has: the open store and the logger, and what a test replaces. */
export interface RuntimeParts {
  store: Store;
  log: Logger;
  /** Whose mailboxes the EAS engine serves; default easd's own store. */
  mailboxes?: MailboxProvider;
  /** Command handlers; default the production map. */
  handlers?: Map<string, CommandHandler>;
  /**
   * Replacements for services built from the store (a test's device manager with a fake clock,
   * an outbound that records). Called once, after the defaults are built, with the store and
   * the delivery options (whose afterDelivery hooks include out-of-office and meetings).
   */
  override?: (store: Store, delivery: DeliveryOptions) => Partial<Services> | Promise<Partial<Services>>;
}

export interface Runtime {
  readonly store: Store;
  readonly log: Logger;
  readonly services: Services;
  readonly app: FastifyInstance;
  /** Options every delivery uses (LMTP, SMTP, local recipients of sent mail). */
  readonly delivery: DeliveryOptions;
  /** Where every delivery finds its recipients (the accounts) and writes their mail (the mailboxes). */
  readonly deliveryTargets: DeliveryTargets;
  /** Starts taking mail in over LMTP or SMTP; returns the bound port. Closed with the runtime. */
  listenMail(protocol: 'lmtp' | 'smtp', host: string, port: number): Promise<number>;
  /** Closes the HTTP server, the mail listeners and outbound mail (not the store, which the caller opened). */
  close(): Promise<void>;
}

export async function buildRuntime(config: RuntimeConfig, parts: RuntimeParts): Promise<Runtime> {
  const { store, log } = parts;
  const acceptedDomains = config.acceptedDomains ?? [];
  // Mail in (src/mail/deliver.ts): one set of delivery options for LMTP/SMTP and for local
  // recipients of sent mail; out of office and meetings add their hooks below.
  const afterDelivery: AfterDeliveryHook[] = [];
  const junkRules = config.junkRules ?? DEFAULT_JUNK_RULES;
  const delivery: DeliveryOptions = { acceptedDomains, afterDelivery, junkRules, log };
  const requestStore = config.server.metrics ? timedStore(store) : store;
  const mailboxes = parts.mailboxes ?? new StoreMailboxProvider(requestStore, (err) => log.error({ err }, 'a change listener failed'));
  // Recipients are the store's users; their mail goes into the mailboxes the EAS engine serves.
  const deliveryTargets: DeliveryTargets = { accounts: store, mailboxes };
  const services: Services = {
    // Mail out (src/mail/relay.ts): local recipients through the same delivery as LMTP, the rest
    // through the relay. Without a relay, mail for outside recipients is refused (SendMail 120).
    outbound: createOutboundMail({
      accounts: store,
      log,
      deliverLocal: (m) => deliverMessage(deliveryTargets, m, delivery),
      acceptedDomains,
      ...(config.relay ? { relay: config.relay } : {}),
      ...(config.server.metrics ? { onRelayResult: (result: 'sent' | 'failed' | 'too_large') => relayMessages.inc({ result }) } : {}),
    }),
    // Device management (src/devices): policies, access rules, wipe; quarantine notices to the admin.
    devices: new DeviceManager(store, mailboxes, { ...(config.adminEmail ? { adminEmail: config.adminEmail } : {}), requireProvisioning: config.requireProvisioning !== false, log }),
    mailboxes,
    // Search and Find: the SQL store's full-text index over its own mailboxes (src/mail/search.ts).
    searchIndex: store.search,
    // Held Pings and Syncs with Wait: one subscription per user with something held.
    changes: new ChangeHub(mailboxes),
    syncLocks: new KeyedLock(),
    quietAnswers: new QuietAnswers(),
    freeBusy: new FreeBusyCache(),
    contactPictureMaxBytes: config.maxContactPictureBytes ?? DEFAULT_PICTURE_MAX_BYTES,
    trustStore: config.trustStore ?? loadTrustStore(undefined),
    // The store's token covers its own mailboxes; another provider's is combined with it. Only
    // ctx.mailbox is asked lazily, so the store-backed path never opens a mailbox for it.
    writeToken: parts.mailboxes ? (ctx) => combinedToken(requestStore.writeToken(), ctx.mailbox.writeToken()) : () => requestStore.writeToken(),
  };
  if (config.server.metrics) countDevicesWith(() => devicesByAccess(store.devices));
  const built = services.outbound;
  Object.assign(services, await parts.override?.(store, delivery));
  if (services.outbound !== built) built?.close();
  // Out of office (src/settings/auto-reply-hook.ts) and meetings through mail (src/meetings/):
  // hooks on delivery, answering through whichever outbound the services hold.
  afterDelivery.push(autoReplyHook({ accounts: store, mailboxes, outbound: () => services.outbound, log }));
  afterDelivery.push(
    meetingHook({ accounts: store, mailboxes, log, outbound: () => services.outbound, ...(config.maxEventsPerMessage !== undefined ? { maxEventsPerMessage: config.maxEventsPerMessage } : {}) }),
  );

  // Authentication through the accounts port: easd's own users and their password hashes.
  const authenticator = new Authenticator(new StoredAccounts(store));
  // One per process: budgets, loops and failed logins are counted in memory (README "Protection").
  const protection = new Protection(config.server.protection ?? {}, store, log);
  const cacheMs = config.server.accountCacheMs;
  const app = buildServer({
    // Metrics (off unless asked for) time the store calls of requests through a wrapper.
    store: requestStore,
    log,
    services,
    config: config.server,
    handlers: parts.handlers ?? commandHandlers(),
    authenticator,
    protection,
    homes: new HomeDirectory(store, { cacheMs }),
    mailboxLog: new MailboxLogCapture(store, log, { cacheMs }),
    seenDevices: new SeenDevices(requestStore),
  });

  const listeners: MailListener[] = [];
  return {
    store,
    log,
    services,
    app,
    delivery,
    deliveryTargets,
    async listenMail(protocol, host, port) {
      const listener = createMailListener({
        ...deliveryTargets,
        log,
        protocol,
        acceptedDomains,
        maxMessageBytes: config.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES,
        afterDelivery,
        junkRules,
        ...(config.server.metrics ? { onRecipientResult: (result: 'accepted' | 'refused' | 'deferred') => mailIn.inc({ protocol, result }) } : {}),
      });
      listeners.push(listener);
      return listener.listen(host, port);
    },
    async close() {
      try {
        await app.close();
      } finally {
        for (const l of listeners) await l.close();
        services.outbound?.close();
      }
    },
  };
}

type Token = string | undefined | Promise<string | undefined>;

/** Two write tokens as one: undefined when either backend cannot tell. */
function combinedToken(a: Token, b: Token): Token {
  if (typeof a === 'object' || typeof b === 'object') {
    return Promise.all([a, b]).then(([x, y]) => (x === undefined || y === undefined ? undefined : `${x}|${y}`));
  }
  return a === undefined || b === undefined ? undefined : `${a}|${b}`;
}

/**
 * A real easd HTTP server on loopback for one test: a temporary SQLite store, a pino logger that
 * collects every log line (parsed) in an array, the production composition (`buildRuntime`,
 * src/cli/runtime.ts) with the production handler map or a given one, and users created with
 * hashed passwords.
 *
 *   const srv = await startTestServer({ users: [{ email: 'a@example.com', password: 'pw-a-123456' }] });
 *   try { ... fetch(srv.endpoint) ...; srv.requestLogs() } finally { await srv.close(); }
 */
import type { FastifyInstance } from 'fastify';
import { pino, type Level, type Logger } from 'pino';
import { hashPassword } from '../../src/auth/password.ts';
import { commandHandlers } from '../../src/commands/index.ts';
import type { Services } from '../../src/commands/services.ts';
import { buildRuntime, type Runtime, type RuntimeConfig } from '../../src/cli/runtime.ts';
import type { DeliveryOptions } from '../../src/mail/deliver.ts';
import type { MailboxProvider } from '../../src/ports/mailbox.ts';
import type { CommandHandler } from '../../src/commands/types.ts';
import { ENDPOINT } from '../../src/http/activesync.ts';
import { DEFAULT_MAX_REQUEST_BYTES, type ServerConfig } from '../../src/http/server.ts';
import type { Store, User } from '../../src/store/types.ts';
import { openTempPostgresStore, openTempSqliteStore } from './db.ts';
import { storeWithMailboxes } from './mailbox-store-view.ts';
import { MemoryMailboxProvider } from './memory-mailbox.ts';
import { duplicateKeys } from './log-keys.ts';

/** One parsed pino line: `msg`, `level` (number) and whatever fields the caller logged. */
export type LogLine = Record<string, unknown> & { level: number; msg?: string };

/** The field collectingLogger adds to a line that wrote a key twice (the keys, comma-separated). */
export const DUPLICATE_KEYS = '__duplicateKeys';

export interface TestUser {
  email: string;
  password: string;
  displayName?: string;
}

export interface TestServerOptions {
  /** Command handlers; default `commandHandlers()` (what `easd serve` uses). */
  handlers?: Map<string, CommandHandler>;
  /** Overrides of the server config (default: maxRequestBytes DEFAULT_MAX_REQUEST_BYTES, no proxy, no TLS). */
  config?: Partial<ServerConfig>;
  /** Users to create before the server starts. */
  users?: TestUser[];
  /** Logger level; default 'trace', so tests see every line (and can check none leaks a secret). */
  logLevel?: Level;
  /**
   * Store backend: a temp SQLite file (default) or a fresh PostgreSQL schema, dropped on close;
   * 'memory': the mailboxes in memory (test/helpers/memory-mailbox.ts) with easd's own state in a
   * temp SQLite file, and `store` a view that reaches the mailboxes for folders and items.
   */
  backend?: 'sqlite' | 'postgres' | 'memory';
  /**
   * Replacements for the services the composition root builds, made once the store is open
   * (they usually need it), e.g. `services: (store, _, mailboxes) => ({ devices: new DeviceManager(store, mailboxes, { now }) })`.
   * `delivery` holds the production delivery options (with the out-of-office and meeting hooks);
   * `mailboxes` opens the mailboxes the server serves (whichever backend), once it is built.
   */
  services?: (store: Store, delivery: DeliveryOptions, mailboxes: MailboxProvider) => Partial<Services> | Promise<Partial<Services>>;
  /** Whose mailboxes the server serves: easd's own store (default) or another provider (e.g. in memory). */
  mailboxes?: (store: Store) => MailboxProvider;
  /** The rest of the runtime's configuration, as `easd serve` would pass it (junk rules, accepted domains, ...). */
  runtimeConfig?: Omit<RuntimeConfig, 'server'>;
}

export interface TestServer {
  /** Base URL, e.g. http://127.0.0.1:41234 (https:// when config.tls is set). */
  url: string;
  /** url + /Microsoft-Server-ActiveSync. */
  endpoint: string;
  app: FastifyInstance;
  /** The composition the server runs (services, delivery options). */
  runtime: Runtime;
  store: Store;
  /** Every log line written so far, parsed, in order. */
  logs: LogLine[];
  /** The users created from options.users, by lowercased email. */
  users: Map<string, User>;
  /** The one-per-request lines (msg "request"), optionally only those after index `from` of `logs`. */
  requestLogs(from?: number): LogLine[];
  /** Closes the server and the store and removes the temp directory. Safe to call twice. */
  close(): Promise<void>;
  /** The PostgreSQL schema of the store (backend 'postgres'), so a second node can open it. */
  pgSchema?: string;
}

/** A pino destination that parses each JSON line into `into`. */
export function collectingLogger(into: LogLine[], level: Level = 'trace'): Logger {
  const stream = {
    write(chunk: string) {
      for (const line of chunk.split('\n')) {
        if (line.trim() === '') continue;
        const parsed = JSON.parse(line) as LogLine;
        // A key written twice loses a value in every log collector: marked, and a test server
        // refuses to close cleanly with such a line (startTestServer).
        const dupes = duplicateKeys(line);
        if (dupes.length > 0) parsed[DUPLICATE_KEYS] = dupes.join(',');
        into.push(parsed);
      }
    },
  };
  return pino({ level }, stream);
}

export async function startTestServer(opts: TestServerOptions = {}): Promise<TestServer> {
  const temp = opts.backend === 'postgres' ? await openTempPostgresStore() : await openTempSqliteStore();
  const logs: LogLine[] = [];
  let runtime: Runtime | undefined;
  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    try {
      if (runtime) await runtime.close();
    } finally {
      await temp.cleanup();
    }
    const doubled = logs.filter((l) => l[DUPLICATE_KEYS] !== undefined);
    if (doubled.length > 0) {
      throw new Error(`log lines with a key written twice (${String(doubled[0]![DUPLICATE_KEYS])}): ${doubled.map((l) => l.msg).join(' | ')}`);
    }
  };
  try {
    const users = new Map<string, User>();
    for (const u of opts.users ?? []) {
      const user = await temp.store.createUser({
        email: u.email,
        passwordHash: await hashPassword(u.password),
        displayName: u.displayName ?? null,
      });
      users.set(user.email, user);
    }
    const mailboxes = opts.mailboxes?.(temp.store) ?? (opts.backend === 'memory' ? new MemoryMailboxProvider() : undefined);
    const config: ServerConfig = { maxRequestBytes: DEFAULT_MAX_REQUEST_BYTES, trustProxy: false, ...opts.config };
    // The runtime's own provider, reached once it exists: replacements are made while it is being
    // built, and use mailboxes only later (a delivery, a device notice).
    const served: MailboxProvider = {
      open: (userId, credentials) => runtime!.services.mailboxes.open(userId, credentials),
      watch: (userId, folderIds, onChange) => runtime!.services.mailboxes.watch(userId, folderIds, onChange),
    };
    runtime = await buildRuntime(
      // Provisioning is off for the built-in policy unless a test asks for the default (true):
      // the tests of other behaviours use devices that do not provision; test/e2e/provision-*
      // and test/e2e/provision-default.test.ts test the default.
      { requireProvisioning: false, ...opts.runtimeConfig, server: config },
      {
        store: temp.store,
        log: collectingLogger(logs, opts.logLevel),
        handlers: opts.handlers ?? commandHandlers(),
        ...(mailboxes ? { mailboxes } : {}),
        ...(opts.services ? { override: (store: Store, delivery: DeliveryOptions) => opts.services!(store, delivery, served) } : {}),
      },
    );
    const { app } = runtime;
    await app.listen({ host: '127.0.0.1', port: 0 });
    const address = app.server.address();
    if (!address || typeof address !== 'object') throw new Error('server has no TCP address');
    const url = `${config.tls ? 'https' : 'http'}://127.0.0.1:${address.port}`;
    return {
      url,
      endpoint: url + ENDPOINT,
      app,
      runtime,
      store: mailboxes ? storeWithMailboxes(temp.store, mailboxes) : temp.store,
      logs,
      users,
      requestLogs: (from = 0) => logs.slice(from).filter((l) => l.msg === 'request'),
      pgSchema: 'schema' in temp ? temp.schema : undefined,
      close,
    };
  } catch (err) {
    await close().catch(() => {});
    throw err;
  }
}

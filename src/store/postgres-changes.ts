/**
 * Change notifications across easd nodes with PostgreSQL LISTEN/NOTIFY.
 *
 * A write runs `SELECT pg_notify(channel, payload)` inside its transaction: PostgreSQL delivers
 * it on commit only, to every connection listening on the channel, in commit order. Each store
 * keeps one dedicated connection (not from the pool) that LISTENs and dispatches to the local
 * listeners; the node hears its own writes that way too, so nothing is dispatched in-process.
 *
 * The LISTEN connection is made (and LISTEN done) before openPostgresStore returns, so a change
 * committed after subscribeChanges() returned is heard. If the connection is lost it is
 * reconnected with a backoff; notifications committed meanwhile are lost (onError is told).
 * A heartbeat query finds a connection that died silently.
 */
import { createHash } from 'node:crypto';
import pg from 'pg';
import { sql, type Transaction } from 'kysely';
import { defaultOnError, Listeners, type ChangeBus, type ChangeOptions } from './changes.ts';
import type { Database } from './schema.ts';
import type { ChangeEvent, ChangeListener } from './types.ts';

/** PostgreSQL identifiers (and so channel names) are at most 63 bytes. */
const MAX_IDENTIFIER = 63;
const CHANNEL_PREFIX = 'easd_changes';

/**
 * The channel of the store whose tables live in `schema`: `easd_changes_<schema>`, so stores of
 * different schemas (deployments, parallel test runs) in one database do not hear each other.
 * A schema name that is not plain lowercase, or too long, is sanitized and made unique with a
 * hash of the original.
 */
export function changeChannel(schema: string): string {
  const plain = `${CHANNEL_PREFIX}_${schema}`;
  if (/^[a-z_][a-z0-9_]*$/.test(schema) && plain.length <= MAX_IDENTIFIER) return plain;
  const hash = createHash('sha256').update(schema).digest('hex').slice(0, 16);
  const sanitized = schema.toLowerCase().replace(/[^a-z0-9_]/g, '_');
  return `${CHANNEL_PREFIX}_${sanitized}`.slice(0, MAX_IDENTIFIER - hash.length - 1) + '_' + hash;
}

export interface PgChangeBusOptions extends ChangeOptions {
  /** Connection settings of the LISTEN connection (the pool's, without the pool options). */
  client: pg.ClientConfig;
  channel: string;
  /** First reconnect delay, doubled up to maxReconnectDelayMs. Default 250 ms. */
  reconnectDelayMs?: number;
  /** Default 30 s. */
  maxReconnectDelayMs?: number;
  /** How often the LISTEN connection is checked with a query. Default 30 s. */
  heartbeatMs?: number;
}

/** Payload: JSON [userId, folderId|null]; ids are the store's UUIDs, far below NOTIFY's 8000 bytes. */
function encode(e: ChangeEvent): string {
  return JSON.stringify([e.userId, e.folderId]);
}

function decode(payload: string | undefined): ChangeEvent | undefined {
  try {
    const v: unknown = JSON.parse(payload ?? '');
    if (Array.isArray(v) && v.length === 2 && typeof v[0] === 'string' && (typeof v[1] === 'string' || v[1] === null)) {
      return { userId: v[0], folderId: v[1] };
    }
  } catch {
    // Reported below.
  }
  return undefined;
}

export class PgChangeBus implements ChangeBus {
  readonly #opts: PgChangeBusOptions;
  readonly #onError: (err: unknown) => void;
  readonly #listeners: Listeners;
  #client: pg.Client | undefined;
  #connecting: Promise<void> | undefined;
  #reconnectTimer: NodeJS.Timeout | undefined;
  #heartbeatTimer: NodeJS.Timeout | undefined;
  #failures = 0;
  #closed = false;

  constructor(opts: PgChangeBusOptions) {
    this.#opts = opts;
    this.#onError = opts.onError ?? defaultOnError;
    this.#listeners = new Listeners(this.#onError);
  }

  get channel(): string {
    return this.#opts.channel;
  }

  /** Connects and LISTENs; rejects if that fails (the store does not open). */
  async start(): Promise<void> {
    await this.#connect();
  }

  async publish(trx: Transaction<Database>, events: readonly ChangeEvent[]): Promise<void> {
    if (events.length === 0) return;
    await sql`select pg_notify(${this.#opts.channel}, p) from unnest(${events.map(encode)}::text[]) with ordinality as t(p, n) order by n`.execute(
      trx,
    );
  }

  /** Delivery happens when the LISTEN connection hears the NOTIFY. */
  committed(): void {}

  subscribe(listener: ChangeListener): () => void {
    return this.#listeners.add(listener);
  }

  async close(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#reconnectTimer);
    this.#reconnectTimer = undefined;
    await this.#connecting?.catch(() => {});
    this.#stopHeartbeat();
    const client = this.#client;
    this.#client = undefined;
    this.#listeners.clear();
    await client?.end().catch(() => {});
  }

  #connect(): Promise<void> {
    const attempt = (async () => {
      const client = new pg.Client({
        application_name: `easd:${this.#opts.channel}`.slice(0, MAX_IDENTIFIER),
        keepAlive: true,
        keepAliveInitialDelayMillis: 30_000,
        ...this.#opts.client,
      });
      // Registered before connect: an 'error' event without a listener would crash the process.
      client.on('error', (err) => this.#lost(client, err));
      client.on('end', () => this.#lost(client, new Error('connection closed')));
      client.on('notification', (msg) => {
        if (msg.channel !== this.#opts.channel) return;
        const event = decode(msg.payload);
        if (event) this.#listeners.dispatch(event);
        else this.#onError(new Error(`malformed change notification on ${msg.channel}: ${JSON.stringify(msg.payload)}`));
      });
      try {
        await client.connect();
        await client.query(`listen "${this.#opts.channel}"`);
      } catch (err) {
        await client.end().catch(() => {});
        throw err;
      }
      if (this.#closed) {
        await client.end().catch(() => {});
        return;
      }
      this.#client = client;
      this.#failures = 0;
      this.#startHeartbeat(client);
    })();
    this.#connecting = attempt;
    return attempt.finally(() => {
      if (this.#connecting === attempt) this.#connecting = undefined;
    });
  }

  /** The current connection failed: drop it and reconnect. Events of other clients are stale. */
  #lost(client: pg.Client, err: unknown): void {
    if (client !== this.#client) return;
    this.#client = undefined;
    this.#stopHeartbeat();
    client.end().catch(() => {});
    if (this.#closed) return;
    this.#onError(new Error(`LISTEN connection on ${this.#opts.channel} lost; reconnecting (changes meanwhile are not notified)`, { cause: err }));
    this.#scheduleReconnect();
  }

  #scheduleReconnect(): void {
    if (this.#closed || this.#reconnectTimer !== undefined) return;
    const base = this.#opts.reconnectDelayMs ?? 250;
    const max = this.#opts.maxReconnectDelayMs ?? 30_000;
    const delay = Math.min(max, base * 2 ** Math.min(this.#failures, 20)) * (0.75 + Math.random() / 2);
    this.#failures += 1;
    this.#reconnectTimer = setTimeout(() => {
      this.#reconnectTimer = undefined;
      if (this.#closed) return;
      this.#connect().catch((err: unknown) => {
        if (this.#closed) return;
        this.#onError(new Error(`LISTEN connection on ${this.#opts.channel}: reconnect failed`, { cause: err }));
        this.#scheduleReconnect();
      });
    }, delay);
    // The pool and the server keep the process alive when it has work; a retry alone must not.
    this.#reconnectTimer.unref();
  }

  #startHeartbeat(client: pg.Client): void {
    const every = this.#opts.heartbeatMs ?? 30_000;
    this.#heartbeatTimer = setInterval(() => {
      // pg honours query_timeout per query; its QueryConfig type does not declare it.
      const query = { text: 'select 1', query_timeout: Math.max(1000, Math.min(10_000, every)) } as pg.QueryConfig;
      client.query(query).catch((err: unknown) => this.#lost(client, err));
    }, every);
    this.#heartbeatTimer.unref();
  }

  #stopHeartbeat(): void {
    clearInterval(this.#heartbeatTimer);
    this.#heartbeatTimer = undefined;
  }
}

/**
 * Change notifications (Store.subscribeChanges): how a committed write reaches the listeners.
 *
 * KyselyStore (KyselyMailboxContent.write) collects a write's ChangeEvents while its transaction
 * runs, then
 * - calls `publish(trx, events)` as the transaction's last statement (PostgreSQL: pg_notify,
 *   which the server delivers on commit only, to every listening connection, this node's too);
 * - calls `committed(events)` after the commit (SQLite: dispatch to the in-process listeners).
 * A rolled-back write reaches neither.
 */
import type { Transaction } from 'kysely';
import type { Database } from './schema.ts';
import type { ChangeEvent, ChangeListener } from './types.ts';

/** Options of both backends for the change-notification machinery. */
export interface ChangeOptions {
  /**
   * Errors that must not fail a write: a listener that threw, and (PostgreSQL) the LISTEN
   * connection lost or failing to reconnect. Default: console.warn.
   */
  onError?: (err: unknown) => void;
}

export interface ChangeBus {
  /** Runs inside the write's transaction, after its last write. */
  publish(trx: Transaction<Database>, events: readonly ChangeEvent[]): Promise<void>;
  /** Runs after the write's transaction committed; never throws. */
  committed(events: readonly ChangeEvent[]): void;
  subscribe(listener: ChangeListener): () => void;
  close(): Promise<void>;
}

export function defaultOnError(err: unknown): void {
  console.warn('easd store: change notification:', err);
}

/** The subscribed listeners; a throwing (or rejecting) listener is reported, never rethrown. */
export class Listeners {
  readonly #listeners = new Set<ChangeListener>();
  readonly #onError: (err: unknown) => void;

  constructor(onError: (err: unknown) => void) {
    this.#onError = onError;
  }

  add(listener: ChangeListener): () => void {
    // A wrapper, so the same function subscribed twice is two subscriptions.
    const entry: ChangeListener = (e) => listener(e);
    this.#listeners.add(entry);
    return () => {
      this.#listeners.delete(entry);
    };
  }

  dispatch(event: ChangeEvent): void {
    // A snapshot: a listener may unsubscribe (itself or others) or subscribe while we iterate.
    for (const listener of [...this.#listeners]) {
      if (!this.#listeners.has(listener)) continue;
      try {
        const r: unknown = listener({ ...event });
        if (r !== null && typeof r === 'object' && typeof (r as PromiseLike<unknown>).then === 'function') {
          (r as PromiseLike<unknown>).then(undefined, (err: unknown) => this.#report(err));
        }
      } catch (err) {
        this.#report(err);
      }
    }
  }

  clear(): void {
    this.#listeners.clear();
  }

  #report(err: unknown): void {
    try {
      this.#onError(new Error('a change listener failed', { cause: err }));
    } catch {
      // The error hook itself failed: nothing left to tell.
    }
  }
}

/** In-process delivery (SQLite): listeners are called synchronously right after the commit. */
export class LocalChangeBus implements ChangeBus {
  readonly #listeners: Listeners;

  constructor(opts: ChangeOptions = {}) {
    this.#listeners = new Listeners(opts.onError ?? defaultOnError);
  }

  async publish(): Promise<void> {}

  committed(events: readonly ChangeEvent[]): void {
    for (const e of events) this.#listeners.dispatch(e);
  }

  subscribe(listener: ChangeListener): () => void {
    return this.#listeners.add(listener);
  }

  async close(): Promise<void> {
    this.#listeners.clear();
  }
}

/** A write's events, without duplicates, in first-seen order. */
export class ChangeSet {
  readonly #events = new Map<string, ChangeEvent>();

  add(userId: string, folderId: string | null): void {
    const key = JSON.stringify([userId, folderId]);
    if (!this.#events.has(key)) this.#events.set(key, { userId, folderId });
  }

  list(): ChangeEvent[] {
    return [...this.#events.values()];
  }
}

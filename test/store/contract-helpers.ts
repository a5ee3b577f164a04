/**
 * What the store contract's parts share (contract.ts and the contract-*.ts suites, one per
 * owner): the harness a backend provides, the per-test fixture, and helpers to check errors and
 * wait for change notifications.
 */
import assert from 'node:assert/strict';
import type { ChangeOptions } from '../../src/store/changes.ts';
import type { AccountsStore, ContentStore, DeviceStateStore } from '../../src/ports/store.ts';
import { StoreError, type ChangeEvent, type Device, type Folder, type Store, type StoreErrorCode, type StoreOptions, type User } from '../../src/store/types.ts';
import { FakeClock } from '../helpers/fake-clock.ts';

export interface OpenedStore {
  store: Store;
  cleanup: () => Promise<void>;
  /** Opens a second Store on the same database; enables the migration idempotency test. */
  reopen?: () => Promise<Store>;
}

export type OpenStore = (opts?: StoreOptions & ChangeOptions) => Promise<OpenedStore>;

export { FakeClock };

/**
 * What a test gets besides the port under test. The store is opened whole; the tests reach it
 * through one owner's port at a time, so each suite states what that port promises. The other
 * owners' ports are here for setup and for the checks a promise makes across owners (deleting a
 * user deletes their folders and devices).
 */
export interface Fixture {
  clock: FakeClock;
  opened: OpenedStore;
  accounts: AccountsStore;
  content: ContentStore;
  deviceState: DeviceStateStore;
  /** A user with a made-up hash (through accounts). */
  mkUser(email?: string): Promise<User>;
  /** A folder of `user` (through content); an Inbox at the top by default. */
  mkFolder(user: User, displayName?: string, parentId?: string | null, type?: number): Promise<Folder>;
  /** A device of `user` (through device state), DEV1 by default. */
  mkDevice(user: User, deviceId?: string): Promise<Device>;
}

/** A suite's `test`: wraps a body that reaches the store as one owner's port `P`. */
export type PortTest<P> = (fn: (port: P, fx: Fixture) => Promise<void>, opts?: ChangeOptions) => () => Promise<void>;

/**
 * Wraps a test body: a fresh, empty store with a fake clock (and `opts`, such as an onError for
 * listener errors), always cleaned up.
 */
export function storeTest(open: OpenStore, fn: (fx: Fixture) => Promise<void>, opts: ChangeOptions = {}): () => Promise<void> {
  return async () => {
    const clock = new FakeClock();
    const opened = await open({ ...opts, now: clock.now });
    const accounts: AccountsStore = opened.store;
    const content: ContentStore = opened.store;
    const deviceState: DeviceStateStore = opened.store;
    try {
      await fn({
        clock,
        opened,
        accounts,
        content,
        deviceState,
        mkUser: (email = 'alice@example.com') => accounts.createUser({ email, passwordHash: 'scrypt$hash-of-' + email, displayName: 'Someone' }),
        mkFolder: (user, displayName = 'Inbox', parentId = null, type = 2) => content.createFolder({ userId: user.id, parentId, displayName, type }),
        mkDevice: (user, deviceId = 'DEV1') => deviceState.upsertDevice({ userId: user.id, deviceId, deviceType: 'iPhone' }),
      });
    } finally {
      await opened.cleanup();
    }
  };
}

export async function rejectsWith(p: Promise<unknown>, code: StoreErrorCode): Promise<void> {
  await assert.rejects(p, (err: unknown) => {
    assert.ok(err instanceof StoreError, `expected StoreError, got ${String(err)}`);
    assert.equal(err.code, code);
    return true;
  });
}

/** How long a test waits for an expected change notification before failing. */
export const NOTIFY_TIMEOUT_MS = 5000;

/**
 * Records the change notifications a store delivers. Both backends deliver in commit order
 * (SQLite synchronously after the commit, PostgreSQL when the NOTIFY arrives), so sequential
 * writes can be checked step by step.
 */
export function watchChanges(store: Pick<ContentStore, 'subscribeChanges'>) {
  const events: ChangeEvent[] = [];
  let wake: (() => void) | undefined;
  const off = store.subscribeChanges((e) => {
    events.push(e);
    wake?.();
  });
  /** Resolves once `n` events have arrived in all; fails after a timeout instead of hanging. */
  const until = async (n: number, what: string, ms = NOTIFY_TIMEOUT_MS): Promise<void> => {
    const deadline = Date.now() + ms;
    while (events.length < n) {
      const left = deadline - Date.now();
      if (left <= 0) assert.fail(`timed out after ${ms} ms waiting for ${what}; events so far: ${JSON.stringify(events)}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      wake = undefined;
    }
  };
  return { events, off, until };
}

/** Orders change events, to compare the events of one write whatever order they came in. */
export const byKey = (a: ChangeEvent, b: ChangeEvent) => JSON.stringify(a).localeCompare(JSON.stringify(b));

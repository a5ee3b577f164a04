/**
 * What the mailbox contract's parts share: the harness a backend provides, the per-test fixture,
 * and helpers to check errors and wait for push notifications.
 */
import assert from 'node:assert/strict';
import type { Mailbox, MailboxProvider } from '../../src/ports/mailbox.ts';
import { StoreError, type Folder, type Item, type StoreErrorCode } from '../../src/ports/types.ts';
import { FakeClock } from '../helpers/fake-clock.ts';

/** A backend under test: a provider with two users' (empty) mailboxes. */
export interface MailboxHarness {
  provider: MailboxProvider;
  /** Two users with empty mailboxes. */
  userIds: readonly [string, string];
  /**
   * Errors the provider reported from throwing listeners, when the harness collects them (the
   * listener-error test then checks they were reported, not only swallowed).
   */
  listenerErrors?: unknown[];
  /**
   * True when watch() reports exactly what was asked: only the watched folders (and the
   * hierarchy), only the user's, and nothing for a failed write. The port allows a backend to
   * report more (listeners filter), so these checks run only where the harness promises it.
   */
  exactWatch?: boolean;
  cleanup(): Promise<void>;
}

/** Opens a fresh backend whose timestamps come from `now` (a fake clock the tests move). */
export type MailboxSetup = (opts: { now: () => Date }) => Promise<MailboxHarness>;

export { FakeClock };

export interface Fixture {
  provider: MailboxProvider;
  harness: MailboxHarness;
  clock: FakeClock;
  /** The first user's mailbox. */
  a: Mailbox;
  /** The second user's mailbox. */
  b: Mailbox;
}

export type Run = (fn: (t: Fixture) => Promise<void>) => () => Promise<void>;

/** Wraps a test body: a fresh backend, always cleaned up. */
export function runner(setup: MailboxSetup): Run {
  return (fn) => async () => {
    const clock = new FakeClock();
    const harness = await setup({ now: clock.now });
    try {
      const [ua, ub] = harness.userIds;
      await fn({ provider: harness.provider, harness, clock, a: harness.provider.open(ua), b: harness.provider.open(ub) });
    } finally {
      await harness.cleanup();
    }
  };
}

export async function rejectsWith(p: Promise<unknown>, code: StoreErrorCode, what?: string): Promise<void> {
  await assert.rejects(
    p,
    (err: unknown) => {
      assert.ok(err instanceof StoreError, `${what ?? ''} expected StoreError ${code}, got ${String(err)}`);
      assert.equal(err.code, code, what);
      return true;
    },
    what,
  );
}

export const mkFolder = (mb: Mailbox, displayName = 'Inbox', parentId: string | null = null, type = 12, serverId?: string): Promise<Folder> =>
  mb.createFolder({ parentId, displayName, type, ...(serverId !== undefined ? { serverId } : {}) });

export const mkItem = (mb: Mailbox, folder: { id: string }, data: Item['data'] = {}, more: { serverId?: string; uid?: string | null } = {}) =>
  mb.putItem({ folderId: folder.id, class: 'Email', data, ...more });

export async function collect(it: AsyncIterable<Item>): Promise<Item[]> {
  const out: Item[] = [];
  for await (const i of it) out.push(i);
  return out;
}

/** How long a test waits for an expected notification before failing. */
const NOTIFY_TIMEOUT_MS = 5000;

/**
 * Records what a watch reports. Delivery may be synchronous (SQLite, memory) or later
 * (PostgreSQL's NOTIFY), so tests wait for a count rather than look right after a write.
 */
export function recorder() {
  const events: (string | null)[] = [];
  let wake: (() => void) | undefined;
  const onChange = (folderId: string | null): void => {
    events.push(folderId);
    wake?.();
  };
  /** Resolves once `pred` holds for what arrived; fails after a timeout instead of hanging. */
  const until = async (pred: (events: readonly (string | null)[]) => boolean, what: string): Promise<void> => {
    const deadline = Date.now() + NOTIFY_TIMEOUT_MS;
    while (!pred(events)) {
      const left = deadline - Date.now();
      if (left <= 0) assert.fail(`timed out waiting for ${what}; events so far: ${JSON.stringify(events)}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.min(left, 50));
        wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      wake = undefined;
    }
  };
  /** Waits until `folderId` (null: the hierarchy) has been reported at least `times` times in all. */
  const heard = (folderId: string | null, what: string, times = 1) =>
    until((ev) => ev.filter((e) => e === folderId).length >= times, what);
  return { events, onChange, until, heard };
}

export const ids = (rows: readonly { id: string }[]): string[] => rows.map((r) => r.id);
export const idSet = (rows: readonly { id: string }[]): Set<string> => new Set(ids(rows));

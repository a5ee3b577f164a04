/**
 * At start, a database that is not there yet (PostgreSQL still starting after a reboot, a
 * network not up, a container started before its database) is waited for with backoff instead
 * of failing the start, and the log says which database it waits for (its URL without the
 * password). What waiting cannot fix (a wrong password, a database that does not exist, a bad
 * URL) fails at once with the reason.
 */
import type { Logger } from 'pino';
import { isTransientStoreError } from '../ports/types.ts';

export interface WaitOptions {
  log: Logger;
  /** The database URL, for the log (the password is left out). */
  url: string;
  /** Give up after this long, ms; default 5 minutes (a service manager restarts easd after that). */
  maxWaitMs?: number;
  /** First delay, ms (doubling up to maxDelayMs); default 1 s. */
  firstDelayMs?: number;
  maxDelayMs?: number;
  sleep?: (ms: number) => Promise<void>;
  now?: () => number;
}

/** Opens the store, retrying while the failure is one that waiting can end. */
export async function waitForStore<T>(open: () => Promise<T>, o: WaitOptions): Promise<T> {
  const now = o.now ?? Date.now;
  const sleep = o.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  const deadline = now() + (o.maxWaitMs ?? 5 * 60_000);
  const database = redactUrl(o.url);
  let delay = o.firstDelayMs ?? 1_000;
  for (let attempt = 1; ; attempt++) {
    try {
      const store = await open();
      if (attempt > 1) o.log.info({ database, attempts: attempt }, 'the database is reachable');
      return store;
    } catch (err) {
      const reason = (err as Error).message;
      if (!isWaitable(err)) throw new Error(`cannot open the database ${database}: ${reason}`, { cause: err });
      if (now() + delay > deadline) throw new Error(`the database ${database} did not become reachable in time: ${reason}`, { cause: err });
      o.log.warn({ database, attempt, retryInMs: delay, reason }, `waiting for the database ${database}`);
      await sleep(delay);
      delay = Math.min(delay * 2, o.maxDelayMs ?? 30_000);
    }
  }
}

/** The URL with its password replaced, for logs and messages. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password !== '') u.password = '***';
    return u.toString();
  } catch {
    return '(an unreadable URL)';
  }
}

/**
 * A failure that may end by itself: the store's transient errors, a host name that does not
 * resolve yet, and PostgreSQL refusing connections while it starts or shuts down (57P03).
 */
function isWaitable(err: unknown): boolean {
  const code = (err as { code?: unknown }).code;
  return isTransientStoreError(err) || code === 'ENOTFOUND' || code === 'EAI_AGAIN' || code === 'EHOSTUNREACH' || code === 'ETIMEDOUT';
}

import { randomUUID } from 'node:crypto';

/**
 * Sync keys (MS-ASCMD 2.2.3.177): opaque strings of at most 64 characters to the client. easd
 * writes "{uuid}n": the uuid is new at every reset (SyncKey 0), so a key from before a reset can
 * never name a state after it, and n counts the exchanges since.
 */
const KEY = /^\{([0-9a-f-]{36})\}(\d{1,15})$/;

/** The key that answers SyncKey 0: a new generation, counter 1. */
export function firstSyncKey(): string {
  return `{${randomUUID()}}1`;
}

/** The key after `key`: same generation, counter + 1. */
export function nextSyncKey(key: string): string {
  const m = KEY.exec(key);
  if (!m) return firstSyncKey();
  return `{${m[1]}}${Number(m[2]) + 1}`;
}

/**
 * The key's counter: the generation of what the device holds (src/sync/held-view.ts). 0 for a
 * key easd did not write.
 */
export function keyGeneration(key: string): number {
  const m = KEY.exec(key);
  return m ? Number(m[2]) : 0;
}

/** Whether a string is a key easd could have issued (anything else is answered as invalid). */
export function isWellFormedSyncKey(key: string): boolean {
  return KEY.test(key);
}

/** The initial key a client sends to (re)start a collection or the hierarchy. */
export const INITIAL_SYNC_KEY = '0';

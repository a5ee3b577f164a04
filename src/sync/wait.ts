import type { Store } from '../store/types.ts';
import { changeHub } from './change-hub.ts';

export interface ChangeWaiter {
  /** True when a watched folder (or the hierarchy) changed, false at timeout or abort. */
  changed: Promise<boolean>;
  cancel(): void;
}

/**
 * Waits for a change to one of the user's folders (or their folder hierarchy) for at most
 * `timeoutMs`: the held half of Sync with Wait. It listens from the moment it is called, so a
 * change stored while the caller is still computing is not missed. `folderIds` null watches every
 * folder of the user (for when the caller does not know them yet). Held Pings do not use this:
 * they are parked without a pending promise (src/http/parked-requests.ts).
 */
export function waitForChange(store: Store, userId: string, folderIds: ReadonlySet<string> | null, timeoutMs: number, aborted?: AbortSignal): ChangeWaiter {
  let finish: (v: boolean) => void = () => {};
  const changed = new Promise<boolean>((resolve) => (finish = resolve));
  let done = false;
  const watch = changeHub(store).watch(userId, folderIds);
  const end = (v: boolean) => {
    if (done) return;
    done = true;
    clearTimeout(timer);
    watch.close();
    aborted?.removeEventListener('abort', onAbort);
    finish(v);
  };
  watch.holder = { changed: () => end(true) };
  const timer = setTimeout(() => end(false), timeoutMs);
  const onAbort = () => end(false);
  aborted?.addEventListener('abort', onAbort);
  if (aborted?.aborted) end(false);
  return { changed, cancel: () => end(false) };
}

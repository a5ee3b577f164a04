/**
 * kb-2.7, third form: two devices of one user add the same contact within a short time (an
 * address book imported on both, or a contact shared to both phones). Without a match the
 * folder ends with two copies, and each device receives the other's copy: a duplicate on both.
 *
 * A client Add of a contact is matched to an item of the folder when all of these hold:
 * - the class's match key (name, first e-mail, first phone; contacts.ts) is equal;
 * - the item came into the folder less than RECENT_ADD_WINDOW_MS ago;
 * - the device does not hold the item (held-view.ts: it was never sent to it, and it is not
 *   one of its own writes). A device adding a contact it already holds means a second copy,
 *   and gets one.
 * The matched Add is answered with the item's ServerId; the device keeps its copy as that
 * item, and the feed does not send it the item again.
 *
 * The window, 20 minutes: the second device sends its Add at its next sync. With push (Ping,
 * Sync Wait) that is seconds; a device on a schedule syncs every 15 minutes at the shortest
 * (the smallest "Fetch" interval of iOS and the default sync frequency of Android's Exchange
 * account), and a request can be retried once or twice after a network error. 20 minutes
 * covers one full schedule period with that margin. A longer window would start to merge
 * contacts a user entered twice on purpose days apart; those are kept as they are.
 *
 * Only Contacts use this: calendar items carry a UID of their own, and tasks and notes with
 * equal subjects entered on two devices are more often two things than one.
 */
import type { ItemConverter } from '../classes/types.ts';
import type { Folder, JsonObject } from '../ports/types.ts';
import type { Mailbox } from '../ports/mailbox.ts';
import type { HeldView } from './held-view.ts';

export const RECENT_ADD_WINDOW_MS = 20 * 60_000;
/** Most feed entries looked at once per request (a device far behind matches less, never wrongly). */
const MAX_SCAN = 5000;

export class RecentAddMatcher {
  private index: Map<string, { id: string }[]> | undefined;

  constructor(
    private readonly mailbox: Mailbox,
    private readonly folder: Folder,
    private readonly converter: ItemConverter,
    /** The device's folder sequence: every item it does not hold changed after it. */
    private readonly since: number,
    private readonly now: Date = new Date(),
  ) {}

  /** The id of a recent item equal to `data` that the device does not have, if any. */
  async find(data: JsonObject, held: HeldView): Promise<string | undefined> {
    const key = this.converter.matchKey(data);
    if (key === undefined) return undefined;
    if (!this.index) this.index = await this.build();
    const candidates = this.index.get(key) ?? [];
    await held.load(candidates.map((c) => c.id));
    return candidates.find((c) => !held.has(c.id))?.id;
  }

  private async build(): Promise<Map<string, { id: string }[]>> {
    const index = new Map<string, { id: string }[]>();
    const oldest = this.now.getTime() - RECENT_ADD_WINDOW_MS;
    let cursor = this.since;
    let seen = 0;
    while (seen < MAX_SCAN) {
      const page = await this.mailbox.changesSince(this.folder.id, cursor, 500);
      for (const item of page) {
        cursor = item.modseq;
        seen++;
        if (item.deleted || item.createdAt.getTime() < oldest) continue;
        const k = this.converter.matchKey(item.data);
        if (k === undefined) continue;
        const list = index.get(k) ?? [];
        list.push({ id: item.id });
        index.set(k, list);
      }
      if (page.length < 500) break;
    }
    return index;
  }
}

/**
 * Echoes: the server's version of an item sent back to the device whose Change the server took
 * only in part (kb-1.2). A device's Change of fields the server keeps for itself (an attendee
 * renaming its copy of someone else's meeting, a received message's From or Subject) is answered
 * as done (MS-ASCMD 2.2.3.24.3: a successful Change has no Response), but the device then shows
 * its own edit while every other device shows the server's. So the device is owed a Change with
 * the server's version: sent before the feed in the answer to that very Sync when the window has
 * room (as for a server-wins conflict, MS-ASCMD 2.2.3.34), otherwise by the next one, which the
 * device is told to make (MoreAvailable) and which GetItemEstimate and Ping count.
 *
 * An echo does not loop: the refused edit is remembered (a digest of what the device sent, with
 * the sequence of the version it was answered with). A device that sends the same refused edit
 * again while the item is unchanged gets no second echo; a new edit, or a new server version,
 * gets one. So a device that insists on its edit costs one echo per real edit, not endless traffic.
 */
import { createHash } from 'node:crypto';
import { loadForConversion } from '../classes/load-body.ts';
import { ConversionError, type ConvertContext, type ItemConverter } from '../classes/types.ts';
import type { Folder, Item } from '../ports/types.ts';
import type { Mailbox } from '../ports/mailbox.ts';
import { el, type WbxmlElement } from '../wbxml/tree.ts';
import { asConversionError, dueEchoes, type ItemFilter, type Unconvertible } from './feed.ts';
import type { HeldView } from './held-view.ts';

/** How many refused edits a collection state remembers (the oldest is forgotten first). */
export const REMEMBERED_REFUSALS = 64;

/** A digest of a client Change (its InstanceId and ApplicationData): equal for the same edit sent again. */
export function changeDigest(instanceId: string | undefined, appData: WbxmlElement): string {
  const h = createHash('sha256');
  h.update(instanceId ?? '');
  h.update('\0');
  h.update(JSON.stringify(appData, (_k, v: unknown) => (v instanceof Uint8Array ? Buffer.from(v).toString('base64') : v)));
  return h.digest('base64url').slice(0, 22);
}

/** The echoes of one collection Sync: those owed from before, those this request's Changes add, and the edits already answered. */
export class EchoBook {
  readonly #owed: string[];
  readonly #refused: Map<string, string>;

  constructor(owed: readonly string[] | undefined, refused: Record<string, string> | undefined) {
    this.#owed = [...(owed ?? [])];
    this.#refused = new Map(Object.entries(refused ?? {}));
  }

  /**
   * The device's Change of `item` (now at the version it was answered with) was taken only in
   * part: owe it the server's version, unless this very edit was answered with this version already.
   */
  refused(item: Item, digest: string): void {
    const mark = `${digest}@${item.modseq}`;
    if (this.#refused.get(item.id) === mark) return;
    this.#refused.delete(item.id);
    this.#refused.set(item.id, mark);
    while (this.#refused.size > REMEMBERED_REFUSALS) this.#refused.delete(this.#refused.keys().next().value!);
    if (!this.#owed.includes(item.id)) this.#owed.push(item.id);
  }

  owed(): string[] {
    return [...this.#owed];
  }

  /** The edits answered, to keep in the collection state. */
  remembered(): Record<string, string> {
    return Object.fromEntries(this.#refused);
  }
}

/**
 * The owed echoes as Change commands, at most `window` (`rest`: those that did not fit). Each
 * sent version is recorded in `sent` as the device's own, so the feed does not send it twice.
 */
export async function echoCommands(
  mailbox: Pick<Mailbox, 'getItem' | 'getBlob'>,
  folder: Folder,
  ids: readonly string[],
  filter: ItemFilter | undefined,
  held: HeldView,
  window: number,
  converter: ItemConverter,
  cctx: ConvertContext,
  sent: Map<string, number>,
  skipped?: Unconvertible,
): Promise<{ commands: WbxmlElement[]; rest: string[] }> {
  const commands: WbxmlElement[] = [];
  const items = await dueEchoes(mailbox, folder, ids, filter, held);
  let i = 0;
  for (; i < ids.length && commands.length < window; i++) {
    const item = items[i];
    if (!item) continue;
    let appData: WbxmlElement[];
    try {
      await loadForConversion(mailbox, [item], cctx); // raw MIME for BodyPreference Type 4, as the feed does
      appData = converter.toEas(item.data, cctx);
    } catch (err) {
      skipped?.(item, err instanceof ConversionError ? err : asConversionError(err, converter));
      continue;
    }
    commands.push(el('AirSync', 'Change', el('AirSync', 'ServerId', item.serverId), el('AirSync', 'ApplicationData', appData)));
    sent.set(item.id, item.modseq);
  }
  return { commands, rest: ids.slice(i) };
}

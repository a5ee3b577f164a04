/**
 * The attachment a FileReference names (MS-ASAIRS 2.2.2.24.1; attachments.ts builds them), for
 * ItemOperations Fetch and GetAttachment. Looked up only in the requesting user's own mailbox,
 * so another user's FileReference is answered exactly as an unknown one.
 * - mail: the Email item whose mailId (kept in its uid) the reference names;
 * - calendar: an item with that UID in a calendar (the user's own copy of the event).
 */
import type { Logger } from 'pino';
import type { Mailbox } from '../ports/mailbox.ts';
import type { Item, JsonObject } from '../ports/types.ts';
import { parseFileReference, storedAttachments } from './attachments.ts';

export interface ResolvedAttachment {
  item: Item;
  name: string;
  contentType: string;
  data: Buffer;
}

export async function resolveFileReference(mailbox: Pick<Mailbox, 'getItemsByUid' | 'getBlob'>, ref: string): Promise<ResolvedAttachment | null> {
  const parsed = parseFileReference(ref);
  if (!parsed) return null;
  const items = await mailbox.getItemsByUid(parsed.kind === 'mail' ? parsed.mailId : parsed.uid);
  for (const item of items) {
    if (parsed.kind === 'mail' ? item.class !== 'Email' || item.data['mailId'] !== parsed.mailId : item.class !== 'Calendar') continue;
    const att = storedAttachments(item.data).find((a) => a['index'] === parsed.index);
    const sha = att && typeof att['sha256'] === 'string' ? att['sha256'] : undefined;
    if (!att || !sha) continue;
    const data = await mailbox.getBlob(sha);
    if (!data) continue;
    return { item, name: text(att, 'name') ?? 'attachment', contentType: text(att, 'contentType') ?? 'application/octet-stream', data };
  }
  return null;
}

function text(a: JsonObject, key: string): string | undefined {
  const v = a[key];
  return typeof v === 'string' && v !== '' ? v : undefined;
}

/**
 * An item's attachments with their bytes, for writing them out (iCalendar ATTACH of an
 * invitation). One missing from the blob store is left out and logged.
 */
export async function loadAttachments(mailbox: Pick<Mailbox, 'getBlob'>, data: JsonObject, log: Pick<Logger, 'warn'>): Promise<Array<{ name: string; contentType: string; data: Buffer }>> {
  const out: Array<{ name: string; contentType: string; data: Buffer }> = [];
  for (const a of storedAttachments(data)) {
    const sha = text(a, 'sha256');
    const bytes = sha ? await mailbox.getBlob(sha) : null;
    if (!bytes) {
      log.warn({ attachment: text(a, 'name') }, 'an attachment is missing from the blob store; left out');
      continue;
    }
    out.push({ name: text(a, 'name') ?? 'attachment', contentType: text(a, 'contentType') ?? 'application/octet-stream', data: bytes });
  }
  return out;
}

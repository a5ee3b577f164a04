/**
 * Loads what the (pure, synchronous) Email converter needs from the blob store before toEas:
 * a delivered message keeps its raw MIME once in store.mail (the item JSON has only its sha256),
 * and the converter serves BodyPreference Type 4 from `data.body.mime`. So, only when the
 * client asked for MIME (and MIMESupport allows it), the raw message is read and put there, on
 * the item objects in hand (never written back to the store).
 */
import { isUtf8 } from 'node:buffer';
import type { ConvertContext } from './types.ts';
import type { Item, JsonObject } from '../ports/types.ts';
import type { Mailbox } from '../ports/mailbox.ts';

function wantsMime(cctx: ConvertContext): boolean {
  return cctx.mimeSupport !== undefined && cctx.mimeSupport !== 0 && cctx.bodyPreferences.some((p) => p.type === 4);
}

/** The sha256 of an Email item's raw message, if it has one in the blob store. */
export function mimeBlobOf(data: JsonObject): string | undefined {
  const m = data['mime'];
  if (m === null || typeof m !== 'object' || Array.isArray(m)) return undefined;
  const sha = m['sha256'];
  return typeof sha === 'string' ? sha : undefined;
}

/** Puts the raw MIME into `item.data.body.mime` of the Email items that need it for `cctx`. */
export async function loadForConversion(blobs: Pick<Mailbox, 'getBlob'>, items: readonly Item[], cctx: ConvertContext): Promise<void> {
  if (!wantsMime(cctx)) return;
  for (const item of items) {
    if (item.deleted || item.class !== 'Email') continue;
    const body = item.data['body'];
    if (body !== null && typeof body === 'object' && !Array.isArray(body) && typeof body['mime'] === 'string') continue;
    // MIMESupport 1: S/MIME messages only (MS-ASCMD 2.2.3.110); others are not read.
    if (cctx.mimeSupport === 1 && !String(item.data['messageClass'] ?? '').startsWith('IPM.Note.SMIME')) continue;
    const sha = mimeBlobOf(item.data);
    if (!sha) continue;
    const raw = await blobs.getBlob(sha);
    if (!raw) continue;
    const stored = body !== null && typeof body === 'object' && !Array.isArray(body) ? body : {};
    // Valid UTF-8 (7-bit MIME included) travels as text; other 8-bit bytes as opaque bytes, exactly
    // as received (body.ts StoredBody.mimeBytes), never through a lossy UTF-8 decode.
    item.data = isUtf8(raw)
      ? { ...item.data, body: { ...stored, mime: raw.toString('utf8') } }
      : { ...item.data, body: { ...stored, mime: raw.toString('latin1'), mimeBytes: true } };
  }
}

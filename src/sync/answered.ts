/**
 * The answer to a device's client commands, remembered with the state its response's key names,
 * so the same request sent again gets the same answer (MS-ASCMD 2.2.3.177.3 SyncKey: a client
 * that did not get the response resends the request with the same key, and the server must
 * answer it as it did the first time).
 *
 * Why remember, rather than recognise each command's effect afterwards: once the first attempt
 * has been applied the store no longer tells what the device asked from what it finds. A Delete
 * with DeletesAsMoves left the item in Deleted Items under another ServerId; a Change the class
 * completes from the clock (a task's DateCompleted) or acts on (a recurring task's next
 * occurrence, afterClientChange) reads as a newer version than the device has, that is a conflict
 * (Status 7), or is applied a second time; a saved draft sent by its Change (email2:Send) would
 * be sent twice. The first attempt's outcome is exact: per command its Response elements, and what
 * it made the device hold and own (the writes the feed must not send back, the refused edits
 * owed an echo). Replaying it writes nothing: each command has happened once.
 *
 * Interleavings: whatever another device (or the server) changed between the attempt and its
 * retry is news the feed sends on top of the replay, as it would after the first answer: the
 * device's own writes are recorded at the version it wrote (`touched`), so a later version of
 * the item is newer than that and is sent as a Change; an item it added or kept that is gone
 * since is held and so gets its Delete. The retry of one device's request runs under that
 * device's lock of the collection (collection-sync.ts), so nothing of its own interleaves.
 *
 * Only a request identical in its commands (and DeletesAsMoves) is a retry; a different one sent
 * with the same key is applied as new. Fetch is read-only and is worked out again (its answer may
 * be large and is not kept). Without a record (the server stopped between applying the commands
 * and saving their state) the commands run again, and client-commands.ts recognises the common
 * cases (a replayed Add by ClientId, a Delete of an item already gone, an unchanged Change).
 */
import { createHash } from 'node:crypto';
import type { JsonObject, JsonValue } from '../ports/types.ts';
import type { WbxmlElement, WbxmlNode } from '../wbxml/tree.ts';
import type { ClientCommand } from './sync-request.ts';

/** What a request's client commands answered and did, kept in the state of the key it was answered with. */
export interface AnsweredCommands {
  /** commandsDigest of the request. */
  digest: string;
  /** Per command in request order: its Response elements, or null for a Fetch (worked out again). */
  responses: Array<WbxmlElement[] | null>;
  /** The device's own writes after the commands (item id -> sequence, OWN_DELETE). */
  touched: Record<string, number>;
  /** What the commands gave the device and took from it (HeldView). */
  held: { add: string[]; remove: string[] };
  /** Echoes owed and refused edits remembered after the commands (echoes.ts). */
  echo: string[];
  refused: Record<string, string>;
}

/** A digest of a collection's client commands and its DeletesAsMoves: equal exactly for the same request sent again. */
export function commandsDigest(commands: readonly ClientCommand[], deletesAsMoves: boolean): string {
  const h = createHash('sha256');
  h.update(deletesAsMoves ? '1' : '0');
  h.update(JSON.stringify(commands, (_k, v: unknown) => (v instanceof Uint8Array ? Buffer.from(v).toString('base64') : v)));
  return h.digest('base64url').slice(0, 32);
}

/** The record as JSON for the collection state (opaque bytes as base64). */
export function answeredToJson(a: AnsweredCommands): JsonObject {
  return {
    digest: a.digest,
    responses: a.responses.map((r) => (r ? r.map(nodeToJson) : null)),
    touched: a.touched,
    held: { add: a.held.add, remove: a.held.remove },
    echo: a.echo,
    refused: a.refused,
  };
}

/** The record back from the collection state; undefined when absent or not one this code wrote. */
export function answeredFromJson(data: unknown): AnsweredCommands | undefined {
  if (!isObject(data) || typeof data.digest !== 'string' || !Array.isArray(data.responses)) return undefined;
  const held = isObject(data.held) ? data.held : {};
  const strings = (v: unknown) => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : []);
  try {
    return {
      digest: data.digest,
      responses: data.responses.map((r) => (Array.isArray(r) ? r.map((n) => jsonToNode(n) as WbxmlElement) : null)),
      touched: isObject(data.touched) ? (data.touched as Record<string, number>) : {},
      held: { add: strings(held.add), remove: strings(held.remove) },
      echo: strings(data.echo),
      refused: isObject(data.refused) ? (data.refused as Record<string, string>) : {},
    };
  } catch {
    return undefined; // not a record this code wrote: the commands are applied as new
  }
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function nodeToJson(n: WbxmlNode): JsonValue {
  if (typeof n === 'string') return n;
  if (n instanceof Uint8Array) return { b64: Buffer.from(n).toString('base64') };
  return { ns: n.ns, name: n.name, children: n.children.map(nodeToJson) };
}

function jsonToNode(v: unknown): WbxmlNode {
  if (typeof v === 'string') return v;
  if (isObject(v) && typeof v.b64 === 'string') return new Uint8Array(Buffer.from(v.b64, 'base64'));
  if (isObject(v) && typeof v.ns === 'string' && typeof v.name === 'string' && Array.isArray(v.children)) {
    return { ns: v.ns, name: v.name, children: v.children.map(jsonToNode) };
  }
  throw new Error('not a WBXML node');
}

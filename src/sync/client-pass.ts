/**
 * The client side of one collection Sync: the device's commands applied in order and answered
 * (client-commands.ts), or, for the same request sent again with the same key, the first
 * attempt's answer replayed (answered.ts).
 */
import type { ConvertContext, ItemConverter } from '../classes/types.ts';
import type { Folder } from '../ports/types.ts';
import type { WbxmlElement } from '../wbxml/tree.ts';
import { commandsDigest, type AnsweredCommands } from './answered.ts';
import { AddMatcher, applyClientCommand, refuseRestricted } from './client-commands.ts';
import { readState } from './collection-state.ts';
import { EchoBook } from './echoes.ts';
import type { HeldView } from './held-view.ts';
import type { RecentAddMatcher } from './recent-adds.ts';
import { nextSyncKey } from './sync-key.ts';
import type { CollectionOptions, CollectionRequest } from './sync-request.ts';
import type { SyncContext } from './sync-context.ts';

export interface ClientPassInput {
  ctx: SyncContext;
  req: CollectionRequest & { syncKey: string };
  folder: Folder;
  converter: ItemConverter;
  cctx: ConvertContext;
  options: CollectionOptions;
  /** The highest sequence whose versions the device has (a later version of a changed item conflicts). */
  seen: number;
  /** The device's own writes: those of the state, and this request's once applied. */
  touched: Map<string, number>;
  held: HeldView;
  /** Echoes owed and refused edits remembered, as the state behind the request's key has them. */
  echo: { owed: readonly string[] | undefined; refused: Record<string, string> | undefined };
  matcher?: AddMatcher;
  recent?: RecentAddMatcher;
}

export interface ClientPass {
  responses: WbxmlElement[];
  echoes: EchoBook;
  /** What to keep with the state this answer's key names (none without commands). */
  answered?: AnsweredCommands;
}

/** Applies (or replays) the request's client commands (MS-ASCMD 2.2.3.32 Commands). */
export async function clientPass(input: ClientPassInput): Promise<ClientPass> {
  const { ctx, req, folder, touched, held } = input;
  const deletesAsMoves = req.deletesAsMoves ?? true;
  if (req.commands.length === 0) return { responses: [], echoes: new EchoBook(input.echo.owed, input.echo.refused) };
  const digest = commandsDigest(req.commands, deletesAsMoves);
  const before = await answeredBefore(ctx, folder, req.syncKey, digest);
  if (before) {
    // A retry: the first attempt's answer and effects, nothing written again (answered.ts).
    for (const [id, seq] of Object.entries(before.touched)) touched.set(id, seq);
    for (const id of before.held.add) held.add(id);
    for (const id of before.held.remove) held.remove(id);
    const echoes = new EchoBook(before.echo, before.refused);
    const responses: WbxmlElement[] = [];
    for (const [i, cmd] of req.commands.entries()) {
      const kept = before.responses[i];
      if (kept) responses.push(...kept);
      else responses.push(...(await applyOne(input, cmd, deletesAsMoves, echoes)));
    }
    return { responses, echoes, answered: before };
  }
  const echoes = new EchoBook(input.echo.owed, input.echo.refused);
  const responses: WbxmlElement[] = [];
  const perCommand: Array<WbxmlElement[] | null> = [];
  for (const cmd of req.commands) {
    const answer = await applyOne(input, cmd, deletesAsMoves, echoes);
    responses.push(...answer);
    perCommand.push(cmd.kind === 'Fetch' ? null : answer);
  }
  // Taken before the feed runs: so far only the commands have changed what the device holds.
  const { add, remove } = held.change(held.gen);
  const answered: AnsweredCommands = { digest, responses: perCommand, touched: Object.fromEntries(touched), held: { add: [...add], remove: [...remove] }, echo: echoes.owed(), refused: echoes.remembered() };
  return { responses, echoes, answered };
}

async function applyOne(input: ClientPassInput, cmd: CollectionRequest['commands'][number], deletesAsMoves: boolean, echoes: EchoBook): Promise<WbxmlElement[]> {
  const { ctx, folder, converter, cctx, options, seen, touched, held, matcher, recent } = input;
  const refused = await refuseRestricted(ctx, folder, cmd);
  if (refused) return [refused];
  return applyClientCommand(ctx, folder, converter, cctx, options, seen, cmd, touched, held, deletesAsMoves, matcher, recent, echoes);
}

/**
 * The record of the same commands answered from `syncKey` before: kept in the state of the key
 * after it, which exists exactly when a request with this key was answered and the device has
 * not moved on (a request with the new key drops this one, Store.saveSyncState).
 */
async function answeredBefore(ctx: SyncContext, folder: Folder, syncKey: string, digest: string): Promise<AnsweredCommands | undefined> {
  const next = await ctx.deviceState.getSyncState(ctx.user.id, ctx.device.deviceId, folder.id, nextSyncKey(syncKey));
  const answered = next ? readState(next.data).answered : undefined;
  return answered?.digest === digest ? answered : undefined;
}

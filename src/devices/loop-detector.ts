/**
 * Loop detection (kb-1.8): a device that sends the same command with the same content again
 * and again (a MeetingResponse, a Sync carrying the same item Change, the same MoveItems) gets
 * the answer it got the first time, without the command being done again: no new mail, no store
 * growth. Past a threshold the device is flagged for the admin (`easd device show`).
 *
 * Only consecutive repeats count: per device and command the last request's fingerprint (command,
 * the query parameters that carry content, the body), how often it came in a row, and the answer
 * to it. A different request of that command starts over, so accept / decline / accept of one
 * meeting is done three times. A repeat after `windowMs` of quiet also starts over.
 *
 * Replaying the previous answer is what a retry should get anyway (a lost response), and only
 * successful answers (every Status in the answer is the command's success value) of commands
 * where it is safe take part; an error answer is never replayed, so a retry after a transient
 * failure is processed in full:
 * - always: MeetingResponse, MoveItems, FolderCreate, FolderUpdate, FolderDelete (their effect
 *   is done once; a repeat carries the same request or SyncKey and means "again");
 * - Sync only when it carries client changes (a Commands element) and does not wait: a Sync that
 *   only asks for news must be worked out each time (throttling budgets those, src/devices/throttle.ts);
 * - never: Ping and Sync with Wait/HeartbeatInterval (held: the answer depends on what happens
 *   while held), Provision (policy key handshake), FolderSync, GetItemEstimate, ItemOperations,
 *   Search, Find, Settings, ResolveRecipients, ValidateCert, GetAttachment (reads: a replay
 *   could show stale data, and repeating them does not grow the store); SendMail, SmartReply and
 *   SmartForward, whose ClientId already makes a repeat send nothing and answer Status 118
 *   (MS-ASCMD 2.2.3.26, 2.2.3.177.14).
 *
 * In-memory per process; with several nodes each node sees its own repeats.
 */
import { createHash } from 'node:crypto';
import { commandByName } from '../eas/commands.ts';
import type { CommandContext, CommandHandler, CommandResult } from '../protocol/command.ts';
import type { EasRequestParams } from '../protocol/request.ts';
import { child, children, isElement, text, type WbxmlElement } from '../wbxml/tree.ts';

export interface LoopConfig {
  enabled: boolean;
  /** Repeats answered by doing the command again before replays start (0: the first repeat is replayed). */
  replayAfter: number;
  /** Repeats in a row after which the device is flagged. */
  flagAfter: number;
  /** A repeat later than this after the previous request starts a new run, ms. */
  windowMs: number;
}

export const DEFAULT_LOOP: LoopConfig = { enabled: true, replayAfter: 0, flagAfter: 10, windowMs: 5 * 60_000 };

const ALWAYS = new Set(['MeetingResponse', 'MoveItems', 'FolderCreate', 'FolderUpdate', 'FolderDelete']);

/** The Status value of success: 3 for MoveItems (MS-ASCMD 2.2.3.177.9), 1 for the others. */
const successStatus = (command: string): string => (command === 'MoveItems' ? '3' : '1');

/** Whether every Status element in an answer is the command's success value. */
export function allSucceeded(command: string, body: WbxmlElement | undefined): boolean {
  if (!body) return true;
  const ok = successStatus(command);
  const walk = (e: WbxmlElement): boolean => {
    if (e.name === 'Status' && (text(e) ?? '').trim() !== ok) return false;
    for (const c of e.children) if (isElement(c) && !walk(c)) return false;
    return true;
  };
  return walk(body);
}

/** Whether replaying the previous answer to this command can be right: 'always', 'inspect' (Sync) or 'never'. */
export function replayPolicy(command: string): 'always' | 'inspect' | 'never' {
  if (ALWAYS.has(command)) return 'always';
  if (command === 'Sync') return 'inspect';
  return 'never';
}

/** A Sync that carries client changes and does not wait (MS-ASCMD 2.2.3.24 Commands, 2.2.3.189 Wait, 2.2.3.79.2 HeartbeatInterval). */
export function syncIsReplayable(request: WbxmlElement | undefined): boolean {
  if (!request) return false;
  if (child(request, 'Wait', 'AirSync') || child(request, 'HeartbeatInterval', 'AirSync')) return false;
  const collections = child(request, 'Collections', 'AirSync');
  if (!collections) return false;
  return children(collections, 'Collection', 'AirSync').some((c) => child(c, 'Commands', 'AirSync') !== undefined);
}

/** Whether a Sync answer carries server items (Commands in a Collection): those are not kept. */
function carriesServerItems(body: WbxmlElement | undefined): boolean {
  const collections = body ? child(body, 'Collections', 'AirSync') : undefined;
  return collections !== undefined && children(collections, 'Collection', 'AirSync').some((c) => child(c, 'Commands', 'AirSync') !== undefined);
}

/** A fingerprint of a request: command, the content-carrying query parameters, the body. */
export function fingerprint(
  command: string,
  params: Partial<Pick<EasRequestParams, 'collectionId' | 'itemId' | 'longId' | 'occurrence' | 'saveInSent' | 'acceptMultiPart' | 'attachmentName' | 'protocolVersion'>>,
  body: Buffer,
): string {
  const h = createHash('sha1');
  h.update(command).update('\0');
  // The version and AcceptMultiPart shape the answer; the policy key does not (the gate runs first).
  const p = params;
  h.update([p.protocolVersion, p.collectionId, p.itemId, p.longId, p.occurrence, p.attachmentName, p.saveInSent ? 'T' : 'F', p.acceptMultiPart ? 'M' : ''].map((v) => v ?? '').join('\0'));
  h.update('\0');
  h.update(body);
  return h.digest('base64');
}

interface Run {
  fingerprint: string;
  /** Requests in the run (1 for the first). */
  count: number;
  last: number;
  /** Whether the run's request may be replayed (decided once per run). */
  replayable: boolean | undefined;
  answer: CommandResult | undefined;
  flagged: boolean;
}

export type LoopDecision =
  | { replay: false; run: Run }
  | { replay: true; answer: CommandResult; /** Set once per run when it passes flagAfter. */ flag: boolean; count: number };

export class LoopDetector {
  readonly config: LoopConfig;
  readonly #now: () => number;
  readonly #runs = new Map<string, Run>();
  #sweepAt: number;

  constructor(config: Partial<LoopConfig> = {}, now: () => number = Date.now) {
    this.config = { ...DEFAULT_LOOP, ...config };
    this.#now = now;
    this.#sweepAt = now() + this.config.windowMs;
  }

  /**
   * Notes a request of a participating command. `replayable` is asked (once per run) when the
   * request repeats, so a Sync body is decoded only when it comes again.
   */
  observe(deviceKey: string, command: string, fp: string, replayable: () => boolean): LoopDecision {
    const now = this.#now();
    if (now >= this.#sweepAt) this.#sweep(now);
    const key = `${deviceKey}\0${command}`;
    let run = this.#runs.get(key);
    if (!run || run.fingerprint !== fp || now - run.last > this.config.windowMs) {
      run = { fingerprint: fp, count: 1, last: now, replayable: replayPolicy(command) === 'always' ? true : undefined, answer: undefined, flagged: false };
      this.#runs.set(key, run);
      return { replay: false, run };
    }
    run.count++;
    run.last = now;
    run.replayable ??= replayable();
    const repeats = run.count - 1;
    if (run.replayable && run.answer && repeats > this.config.replayAfter) {
      const flag = !run.flagged && repeats >= this.config.flagAfter;
      if (flag) run.flagged = true;
      return { replay: true, answer: run.answer, flag, count: run.count };
    }
    return { replay: false, run };
  }

  /**
   * Keeps the answer of a run's request for replays (only successful answers, see above). The
   * first Sync of a run is not inspected yet (its body is decoded only if it comes again): its
   * answer is kept when it is small, with no server items in it, which is what the answer to a
   * Sync carrying client changes usually is; a repeat that turns out not to be replayable never
   * uses it.
   */
  answered(run: Run, command: string, result: CommandResult): void {
    const plain = (result.httpStatus ?? 200) === 200 && !result.park && result.raw === undefined;
    const candidate = plain && (run.replayable === true || (run.replayable === undefined && !carriesServerItems(result.body)));
    run.answer = candidate && run.replayable !== false && allSucceeded(command, result.body) ? result : undefined;
  }

  get size(): number {
    return this.#runs.size;
  }

  #sweep(now: number): void {
    this.#sweepAt = now + this.config.windowMs;
    for (const [k, r] of this.#runs) if (now - r.last > this.config.windowMs) this.#runs.delete(k);
  }
}

/**
 * Wraps a command handler with loop detection (the route wraps the handler inside the
 * provisioning gate, so a blocked or wiped device is refused before any replay). `onFlag` records
 * the flag for the admin.
 */
export function withLoopDetection<S>(
  detector: LoopDetector,
  handler: CommandHandler<S> | undefined,
  onFlag: (ctx: CommandContext<S>, command: string, count: number) => void,
): CommandHandler<S> | undefined {
  if (!handler || !detector.config.enabled) return handler;
  return async (ctx) => {
    const command = commandByName(ctx.params.cmd)?.name ?? ctx.params.cmd;
    if (replayPolicy(command) === 'never') return handler(ctx);
    const fp = fingerprint(command, ctx.params, ctx.rawBody);
    const d = detector.observe(`${ctx.user.id}\0${ctx.device.deviceId}`, command, fp, () => syncIsReplayable(ctx.request));
    if (d.replay) {
      if (d.flag) onFlag(ctx, command, d.count);
      return { ...d.answer, logFields: { ...d.answer.logFields, loopReplay: d.count } };
    }
    const result = await handler(ctx);
    detector.answered(d.run, command, result);
    return result;
  };
}

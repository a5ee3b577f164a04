/** LoopDetector (src/devices/loop-detector.ts): consecutive identical requests, injected clock. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { allSucceeded, fingerprint, LoopDetector, replayPolicy, syncIsReplayable } from '../../src/devices/loop-detector.ts';
import { el } from '../../src/wbxml/tree.ts';

function clock(start = 1_000_000) {
  const c = { t: start, now: () => c.t };
  return c;
}

/** Runs n identical requests; returns how many were processed (not replayed) and the flags. */
function run(d: LoopDetector, n: number, command: string, fp: string, replayable = () => true, device = 'U\0D') {
  let processed = 0;
  let flags = 0;
  for (let i = 0; i < n; i++) {
    const r = d.observe(device, command, fp, replayable);
    if (r.replay) {
      if (r.flag) flags++;
      continue;
    }
    processed++;
    d.answered(r.run, command, { easStatus: 1, logFields: { n: processed } });
  }
  return { processed, flags };
}

describe('LoopDetector', () => {
  it('kb-1.8: 100 identical MeetingResponses are processed once, replayed after, flagged once', () => {
    const d = new LoopDetector({ flagAfter: 10 });
    const r = run(d, 100, 'MeetingResponse', 'fp1');
    assert.deepEqual(r, { processed: 1, flags: 1 });
  });

  it('replays the first answer', () => {
    const d = new LoopDetector();
    const first = d.observe('U\0D', 'FolderCreate', 'x', () => true);
    assert.equal(first.replay, false);
    if (!first.replay) d.answered(first.run, 'FolderCreate', { easStatus: 'first' });
    const second = d.observe('U\0D', 'FolderCreate', 'x', () => true);
    assert.equal(second.replay, true);
    if (second.replay) assert.equal(second.answer.easStatus, 'first');
  });

  it('a Sync with client changes is inspected on its first repeat and replayed from there', () => {
    const d = new LoopDetector();
    let inspected = 0;
    const r = run(d, 50, 'Sync', 'sync-change', () => (inspected++, true));
    assert.equal(r.processed, 1);
    assert.equal(inspected, 1, 'the body is decoded once per run');
  });

  it('the first answer of a Sync run is kept only when it carries no server items', () => {
    const A = 'AirSync';
    const coll = (...extra: ReturnType<typeof el>[]) => el(A, 'Sync', el(A, 'Collections', el(A, 'Collection', el(A, 'SyncKey', '3'), el(A, 'CollectionId', '1'), el(A, 'Status', 1), ...extra)));
    const withItems = coll(el(A, 'Commands', el(A, 'Add', el(A, 'ServerId', '1:1'))));
    for (const [body, replayedAt2] of [[coll(), true], [withItems, false]] as const) {
      const d = new LoopDetector();
      const r1 = d.observe('U\0D', 'Sync', 's', () => true);
      if (!r1.replay) d.answered(r1.run, 'Sync', { body });
      assert.equal(d.observe('U\0D', 'Sync', 's', () => true).replay, replayedAt2);
    }
  });

  it('a Sync that only asks for news is never replayed', () => {
    const d = new LoopDetector();
    let inspected = 0;
    const r = run(d, 50, 'Sync', 'poll', () => (inspected++, false));
    assert.equal(r.processed, 50);
    assert.equal(inspected, 1);
  });

  it('a different request in between starts over (accept, decline, accept are all done)', () => {
    const d = new LoopDetector();
    assert.equal(run(d, 1, 'MeetingResponse', 'accept').processed, 1);
    assert.equal(run(d, 1, 'MeetingResponse', 'decline').processed, 1);
    assert.equal(run(d, 1, 'MeetingResponse', 'accept').processed, 1);
  });

  it('devices and commands are counted apart', () => {
    const d = new LoopDetector();
    assert.equal(run(d, 3, 'MoveItems', 'same', () => true, 'U\0A').processed, 1);
    assert.equal(run(d, 3, 'MoveItems', 'same', () => true, 'U\0B').processed, 1);
    assert.equal(run(d, 3, 'FolderUpdate', 'same', () => true, 'U\0B').processed, 1);
  });

  it('a repeat after the window of quiet is done again', () => {
    const c = clock();
    const d = new LoopDetector({ windowMs: 1_000 }, c.now);
    assert.equal(run(d, 1, 'FolderDelete', 'x').processed, 1);
    c.t += 1_001;
    assert.equal(run(d, 1, 'FolderDelete', 'x').processed, 1);
    c.t += 3_000;
    d.observe('U\0Z', 'FolderDelete', 'y', () => true);
    assert.equal(d.size, 1, 'old runs are swept');
  });

  it('replayAfter lets some repeats through; error answers are not replayed', () => {
    const d = new LoopDetector({ replayAfter: 2 });
    assert.equal(run(d, 10, 'MoveItems', 'm').processed, 3);
    const e = new LoopDetector();
    for (let i = 0; i < 3; i++) {
      const r = e.observe('U\0D', 'MeetingResponse', 'bad', () => true);
      assert.equal(r.replay, false, 'an error answer is not replayed');
      if (!r.replay) e.answered(r.run, 'MeetingResponse', { httpStatus: 500 });
    }
    // A Status other than success anywhere in the answer (MoveItems succeeds with 3).
    const M = 'MoveItems';
    const answer = (...statuses: number[]) => ({ body: el(M, 'MoveItems', statuses.map((s) => el(M, 'Response', el(M, 'SrcMsgId', '1:1'), el(M, 'Status', s)))) });
    for (const [statuses, replayed] of [[[3, 3], true], [[3, 7], false]] as const) {
      const f = new LoopDetector();
      const r = f.observe('U\0D', M, 'm', () => true);
      if (!r.replay) f.answered(r.run, M, answer(...statuses));
      assert.equal(f.observe('U\0D', M, 'm', () => true).replay, replayed, statuses.join(','));
    }
    assert.equal(allSucceeded('FolderCreate', el('FolderHierarchy', 'FolderCreate', el('FolderHierarchy', 'Status', 1))), true);
    assert.equal(allSucceeded('FolderCreate', el('FolderHierarchy', 'FolderCreate', el('FolderHierarchy', 'Status', 9))), false);
  });

  it('which commands take part', () => {
    for (const c of ['MeetingResponse', 'MoveItems', 'FolderCreate', 'FolderUpdate', 'FolderDelete']) assert.equal(replayPolicy(c), 'always', c);
    assert.equal(replayPolicy('Sync'), 'inspect');
    for (const c of ['Ping', 'Provision', 'FolderSync', 'ItemOperations', 'Search', 'Settings', 'GetItemEstimate', 'SendMail', 'SmartReply', 'SmartForward']) assert.equal(replayPolicy(c), 'never', c);
  });

  it('syncIsReplayable: Commands without Wait/HeartbeatInterval', () => {
    const coll = (cmds: boolean) =>
      el('AirSync', 'Collection', el('AirSync', 'SyncKey', '5'), el('AirSync', 'CollectionId', '1'), cmds ? el('AirSync', 'Commands', el('AirSync', 'Delete', el('AirSync', 'ServerId', '1:1'))) : null);
    assert.equal(syncIsReplayable(el('AirSync', 'Sync', el('AirSync', 'Collections', coll(true)))), true);
    assert.equal(syncIsReplayable(el('AirSync', 'Sync', el('AirSync', 'Collections', coll(false)))), false);
    assert.equal(syncIsReplayable(el('AirSync', 'Sync', el('AirSync', 'Collections', coll(true)), el('AirSync', 'Wait', 5))), false);
    assert.equal(syncIsReplayable(el('AirSync', 'Sync', el('AirSync', 'Collections', coll(true)), el('AirSync', 'HeartbeatInterval', 300))), false);
    assert.equal(syncIsReplayable(undefined), false);
  });

  it('fingerprints differ by command, content parameters and body', () => {
    const b = Buffer.from('body');
    const base = fingerprint('SmartReply', { itemId: '1', saveInSent: true }, b);
    assert.equal(base, fingerprint('SmartReply', { itemId: '1', saveInSent: true }, Buffer.from('body')));
    assert.notEqual(base, fingerprint('SmartForward', { itemId: '1', saveInSent: true }, b));
    assert.notEqual(base, fingerprint('SmartReply', { itemId: '2', saveInSent: true }, b));
    assert.notEqual(base, fingerprint('SmartReply', { itemId: '1', saveInSent: false }, b));
    assert.notEqual(base, fingerprint('SmartReply', { itemId: '1', saveInSent: true }, Buffer.from('bodx')));
    assert.notEqual(base, fingerprint('SmartReply', { itemId: '1', saveInSent: true, acceptMultiPart: true }, b));
    assert.notEqual(base, fingerprint('SmartReply', { itemId: '1', saveInSent: true, protocolVersion: '14.1' }, b));
  });
});

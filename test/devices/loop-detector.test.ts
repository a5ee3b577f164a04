/** LoopDetector (src/devices/loop-detector.ts): consecutive identical requests, injected clock. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fingerprint, LoopDetector, replayPolicy, syncIsReplayable } from '../../src/devices/loop-detector.ts';
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
    d.answered(r.run, { easStatus: 1, logFields: { n: processed } });
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
    const first = d.observe('U\0D', 'SendMail', 'x', () => true);
    assert.equal(first.replay, false);
    if (!first.replay) d.answered(first.run, { easStatus: 'first' });
    const second = d.observe('U\0D', 'SendMail', 'x', () => true);
    assert.equal(second.replay, true);
    if (second.replay) assert.equal(second.answer.easStatus, 'first');
  });

  it('a Sync with client changes is inspected on its first repeat and replayed from the third', () => {
    const d = new LoopDetector();
    let inspected = 0;
    const r = run(d, 50, 'Sync', 'sync-change', () => (inspected++, true));
    assert.equal(r.processed, 2);
    assert.equal(inspected, 1, 'the body is decoded once per run');
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
    assert.equal(run(d, 3, 'SendMail', 'same', () => true, 'U\0A').processed, 1);
    assert.equal(run(d, 3, 'SendMail', 'same', () => true, 'U\0B').processed, 1);
    assert.equal(run(d, 3, 'SmartReply', 'same', () => true, 'U\0B').processed, 1);
  });

  it('a repeat after the window of quiet is done again', () => {
    const c = clock();
    const d = new LoopDetector({ windowMs: 1_000 }, c.now);
    assert.equal(run(d, 1, 'SendMail', 'x').processed, 1);
    c.t += 1_001;
    assert.equal(run(d, 1, 'SendMail', 'x').processed, 1);
    c.t += 3_000;
    d.observe('U\0Z', 'SendMail', 'y', () => true);
    assert.equal(d.size, 1, 'old runs are swept');
  });

  it('replayAfter lets some repeats through; failed answers are not replayed', () => {
    const d = new LoopDetector({ replayAfter: 2 });
    assert.equal(run(d, 10, 'MoveItems', 'm').processed, 3);
    const e = new LoopDetector();
    for (let i = 0; i < 3; i++) {
      const r = e.observe('U\0D', 'SendMail', 'bad', () => true);
      assert.equal(r.replay, false, 'an error answer is not replayed');
      if (!r.replay) e.answered(r.run, { httpStatus: 500 });
    }
  });

  it('which commands take part', () => {
    for (const c of ['MeetingResponse', 'SendMail', 'SmartReply', 'SmartForward', 'MoveItems', 'FolderCreate', 'FolderUpdate', 'FolderDelete']) assert.equal(replayPolicy(c), 'always', c);
    assert.equal(replayPolicy('Sync'), 'inspect');
    for (const c of ['Ping', 'Provision', 'FolderSync', 'ItemOperations', 'Search', 'Settings', 'GetItemEstimate']) assert.equal(replayPolicy(c), 'never', c);
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

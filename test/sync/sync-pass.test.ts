/**
 * The decisions of a Sync pass (src/sync/sync-pass.ts), pure: when the key moves, what MoreAvailable
 * says, and what the next state keeps, from the stored state, the request, the plan, what the
 * feed read and the device's own writes. No store, no server: the clock is a number given to
 * planFeed, as deviceView gives it the request's `now`.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { readState, stateToJson, type CollectionState } from '../../src/sync/collection-state.ts';
import { OWN_DELETE, planFeed, WINDOW_AGING_MS, type FeedPlan } from '../../src/sync/feed.ts';
import { decidePass, feedToRead, MAX_WINDOW_SIZE, passWindow, type FeedRead, type PassInput } from '../../src/sync/sync-pass.ts';
import { nextSyncKey } from '../../src/sync/sync-key.ts';
import type { CollectionOptions } from '../../src/sync/sync-request.ts';

const KEY = '{6f1c1b6e-5a0e-4c52-9d43-3f2d0c0c9a11}5';
const NOW = Date.UTC(2024, 4, 1, 12);

const stored = (over: Partial<CollectionState> = {}): CollectionState => ({ modseq: 10, options: {}, heldKept: true, ...over });
/** A read of the feed that found nothing new after the plan's sequence. */
const quiet = (plan: FeedPlan, over: Partial<FeedRead> = {}): FeedRead => ({ sent: 0, reached: plan.since, leaving: plan.leaving ?? [], more: false, ...over });
/** The plan deviceView makes for a state and the options the request goes on with. */
const planFor = (s: CollectionState, options: CollectionOptions, nowMs = NOW): FeedPlan => planFeed({ ...s, filterType: s.options.filterType }, options.filterType, nowMs);

/** A pass over `s` with nothing new unless `over` says so. */
function pass(s: CollectionState, over: Partial<PassInput> & { feedOver?: Partial<FeedRead> } = {}) {
  const request = over.request ?? { syncKey: KEY, commandsSent: false };
  const plan = over.plan ?? planFor(s, request.options ?? s.options);
  const feed = 'feed' in over ? over.feed : quiet(plan, over.feedOver);
  return decidePass({ stored: s, request, plan, feed, touched: over.touched ?? new Map(Object.entries(s.own ?? {})), ...(over.echoes ? { echoes: over.echoes } : {}) });
}

describe('sync pass: echoes (src/sync/echoes.ts)', () => {
  it('echoes that did not fit the window stay owed: MoreAvailable, the key moves, the state keeps them and the edits answered', () => {
    const d = pass(stored(), { request: { syncKey: KEY, commandsSent: true }, echoes: { owed: ['i1', 'i2'], refused: { i1: 'd1@11', i2: 'd2@12' } }, feedOver: { sent: 1, echo: ['i2'] } });
    assert.deepEqual([d.changed, d.moreAvailable, d.syncKey], [true, true, nextSyncKey(KEY)]);
    assert.deepEqual(d.next?.echo, ['i2']);
    assert.deepEqual(d.next?.refused, { i1: 'd1@11', i2: 'd2@12' });
  });

  it('an echo owed by a pass that asked for no changes is kept for the next one, without MoreAvailable (MS-ASCMD 2.2.3.79)', () => {
    const d = pass(stored(), { request: { syncKey: KEY, commandsSent: true }, feed: undefined, echoes: { owed: ['i1'], refused: { i1: 'd1@11' } } });
    assert.deepEqual([d.changed, d.moreAvailable], [true, false]);
    assert.deepEqual(d.next?.echo, ['i1']);
  });

  it('a quiet pass keeps the key with the refused edits remembered; once sent, an owed echo is dropped', () => {
    const s = stored({ refused: { i1: 'd1@11' } });
    assert.equal(pass(s).changed, false);
    const owed = stored({ echo: ['i1'], refused: { i1: 'd1@11' } });
    const d = pass(owed, { feedOver: { sent: 1, echo: [] } });
    assert.deepEqual([d.changed, d.moreAvailable, d.next?.echo, d.next?.refused], [true, false, [], { i1: 'd1@11' }]);
  });
});

describe('sync pass: when the key moves', () => {
  it('a quiet pass keeps the key and saves nothing', () => {
    const d = pass(stored());
    assert.deepEqual(d, { changed: false, syncKey: KEY, moreAvailable: false, position: 10 });
  });

  it('a pass that sends commands moves the key to the next of the same generation', () => {
    const d = pass(stored(), { feedOver: { sent: 2, reached: 14 } });
    assert.equal(d.changed, true);
    assert.equal(d.syncKey, '{6f1c1b6e-5a0e-4c52-9d43-3f2d0c0c9a11}6');
    assert.equal(d.next?.modseq, 14);
    assert.equal(d.position, 14);
  });

  it('anything sent moves the key, wherever the feed stopped', () => {
    const d = pass(stored(), { feedOver: { sent: 1 } });
    assert.equal(d.changed, true);
    assert.equal(d.syncKey, nextSyncKey(KEY));
  });

  it('a pass with client commands but no server changes moves the key (the device must learn the answers)', () => {
    const d = pass(stored(), { request: { syncKey: KEY, commandsSent: true } });
    assert.equal(d.changed, true);
    assert.equal(d.syncKey, nextSyncKey(KEY));
    assert.equal(d.next?.modseq, 10);
  });

  it('the feed moving on moves the key even when nothing in it was news', () => {
    const d = pass(stored(), { feedOver: { reached: 12 } });
    assert.equal(d.changed, true);
    assert.equal(d.next?.modseq, 12);
  });

  it('a change of options moves the key and is kept; the same options again, or none, do not', () => {
    const s = stored({ options: { mimeSupport: 0, bodyPreferences: [{ type: 2 }] } });
    const changedOptions: CollectionOptions = { mimeSupport: 2, bodyPreferences: [{ type: 2 }] };
    const d = pass(s, { request: { syncKey: KEY, commandsSent: false, options: changedOptions } });
    assert.equal(d.changed, true);
    assert.deepEqual(d.next?.options, changedOptions);
    assert.equal(pass(s, { request: { syncKey: KEY, commandsSent: false, options: { mimeSupport: 0, bodyPreferences: [{ type: 2 }] } } }).changed, false);
    assert.equal(pass(s, { request: { syncKey: KEY, commandsSent: false } }).changed, false);
  });

  it('window aging (windowAt a day old) moves the key and lays the window again now', () => {
    const s = stored({ options: { filterType: 2 }, windowAt: NOW - WINDOW_AGING_MS });
    const aged = planFor(s, s.options, NOW);
    const d = pass(s, { plan: aged, feed: quiet(aged, { reached: 10 }) });
    assert.equal(d.changed, true);
    assert.equal(d.next?.windowAt, NOW);
    // A moment less than a day: the same window, nothing to say.
    const young = planFor(s, s.options, NOW - 1);
    assert.equal(pass(s, { plan: young }).changed, false);
  });

  it('a state saved before held items were kept is saved again (with heldKept), even when quiet', () => {
    const s = stored({ heldKept: false });
    // adoptLegacyState: the folder read again from the start up to the old sequence.
    const plan: FeedPlan = { since: 0, rescanTo: 10 };
    const d = pass(s, { plan, feed: quiet(plan, { reached: 10 }) });
    assert.equal(d.changed, true);
    assert.equal(d.next?.heldKept, true);
    assert.equal(d.next?.rescanTo, undefined);
  });

  it('a rescanTo other than the stored one moves the key (the state behind the key changed)', () => {
    const plan: FeedPlan = { since: 10, rescanTo: 20 };
    const d = pass(stored(), { plan, feed: quiet(plan) });
    assert.equal(d.changed, true);
    assert.equal(d.next?.rescanTo, 20);
  });

  it('the owed SoftDeletes going away moves the key even when none was sent', () => {
    const s = stored({ leaving: ['a'] });
    const plan = planFor(s, s.options);
    assert.deepEqual(plan.leaving, ['a']);
    const d = pass(s, { plan, feed: quiet(plan, { leaving: [] }) });
    assert.equal(d.changed, true);
    assert.deepEqual(d.next?.leaving, []);
  });
});

describe('sync pass: MoreAvailable', () => {
  it('is said when the feed page stopped at the window', () => {
    const d = pass(stored(), { feedOver: { sent: 5, reached: 15, more: true } });
    assert.equal(d.moreAvailable, true);
  });

  it('with no room left in the response the device still hears there is more, and the key moves', () => {
    // The request's WindowSize spent on earlier collections: a window of 0, nothing sent.
    const d = pass(stored(), { feedOver: { more: true } });
    assert.equal(d.moreAvailable, true);
    assert.equal(d.changed, true);
  });

  it('is said when SoftDeletes are still owed, and the key moves for it even with nothing sent', () => {
    const d = pass(stored(), { feedOver: { leaving: ['a', 'b'] } });
    assert.equal(d.moreAvailable, true);
    assert.equal(d.changed, true);
    assert.deepEqual(d.next?.leaving, ['a', 'b']);
  });

  it('a request without GetChanges hears of no more, keeps its key and keeps what is owed', () => {
    const s = stored({ leaving: ['a'] });
    const d = pass(s, { feed: undefined });
    assert.deepEqual(d, { changed: false, syncKey: KEY, moreAvailable: false, position: 10 });
    // With client commands the owed SoftDeletes are carried into the next state.
    const withCommands = pass(s, { feed: undefined, request: { syncKey: KEY, commandsSent: true } });
    assert.equal(withCommands.moreAvailable, false);
    assert.deepEqual(withCommands.next?.leaving, ['a']);
  });
});

describe('sync pass: the next state', () => {
  it('rescanTo is kept while the feed is below it and cleared once the feed reaches it', () => {
    const s = stored({ options: { filterType: 3 } });
    // A FilterType change: the folder read again from the start.
    const plan = planFor(s, { filterType: 2 });
    assert.deepEqual([plan.since, plan.rescanTo], [0, 10]);
    const request = { syncKey: KEY, commandsSent: false, options: { filterType: 2 } };
    assert.equal(pass(s, { request, plan, feed: quiet(plan, { reached: 9, sent: 3, more: true }) }).next?.rescanTo, 10);
    assert.equal(pass(s, { request, plan, feed: quiet(plan, { reached: 10, sent: 3 }) }).next?.rescanTo, undefined);
  });

  it('own writes are kept only while the feed has not passed them', () => {
    const touched = new Map([['ahead', 20], ['at', 12], ['behind', 5]]);
    const d = pass(stored(), { touched, feedOver: { reached: 12 } });
    assert.deepEqual(d.next?.own, { ahead: 20 });
  });

  it('own deletes are kept only while more is available (their tombstone sequence is unknown)', () => {
    const touched = new Map([['gone', OWN_DELETE]]);
    assert.deepEqual(pass(stored(), { touched, feedOver: { reached: 12, sent: 1, more: true } }).next?.own, { gone: OWN_DELETE });
    assert.deepEqual(pass(stored(), { touched, feedOver: { reached: 12, sent: 1 } }).next?.own, {});
  });

  it('matchAdds is kept while more is available and dropped after the first full pass', () => {
    const s = stored({ modseq: 0, matchAdds: true });
    assert.equal(pass(s, { feedOver: { sent: 100, reached: 100, more: true } }).next?.matchAdds, true);
    assert.equal(pass(s, { feedOver: { sent: 7, reached: 107 } }).next?.matchAdds, undefined);
    assert.equal(pass(stored({ matchAdds: false }), { feedOver: { sent: 1, reached: 11, more: true } }).next?.matchAdds, undefined);
  });

  it('the stored options, Supported list and window go on when the request leaves them out', () => {
    const s = stored({ options: { filterType: 3, conflict: 0 }, supported: ['Contacts:JobTitle'], windowAt: NOW - 1000 });
    const d = pass(s, { feedOver: { sent: 1, reached: 11 } });
    assert.deepEqual(d.next?.options, { filterType: 3, conflict: 0 });
    assert.deepEqual(d.next?.supported, ['Contacts:JobTitle']);
    assert.equal(d.next?.windowAt, NOW - 1000);
    assert.equal(d.next?.heldKept, true);
  });
});

describe('sync pass: the window and whether to read the feed', () => {
  it('the window is the WindowSize, else MaxItems, else 100, at most 512 and what the request has left', () => {
    assert.equal(passWindow(25, { maxItems: 50 }, Infinity), 25);
    assert.equal(passWindow(undefined, { maxItems: 50 }, Infinity), 50);
    assert.equal(passWindow(undefined, {}, Infinity), 100);
    assert.equal(passWindow(10_000, {}, Infinity), MAX_WINDOW_SIZE);
    assert.equal(passWindow(25, {}, 3), 3);
  });

  it('a folder at the plan\'s sequence is not read unless the request wrote to it', () => {
    assert.equal(feedToRead(10, { since: 10 }, false), false);
    assert.equal(feedToRead(10, { since: 10 }, true), true);
    assert.equal(feedToRead(11, { since: 10 }, false), true);
    assert.equal(feedToRead(10, { since: 0, rescanTo: 10 }, false), true);
  });
});

// Random passes: a state, a request, the plan deviceView would make now, and a feed read from it.
const optionsArb = fc.record(
  { filterType: fc.constantFrom(0, 1, 2, 3, 5), mimeSupport: fc.constantFrom(0 as const, 1 as const, 2 as const), conflict: fc.constantFrom(0 as const, 1 as const) },
  { requiredKeys: [] },
);
const ids = fc.uniqueArray(fc.constantFrom('a', 'b', 'c', 'd', 'e'), { maxLength: 3 });
const passArb = fc
  .record({
    modseq: fc.nat(40),
    rescanTo: fc.option(fc.nat(40), { nil: undefined }),
    options: optionsArb,
    matchAdds: fc.boolean(),
    own: fc.dictionary(fc.constantFrom('a', 'b', 'c', 'x', 'y'), fc.integer({ min: -1, max: 60 })),
    windowAge: fc.option(fc.integer({ min: -1000, max: 2 * WINDOW_AGING_MS }), { nil: undefined }),
    leaving: ids,
    heldKept: fc.boolean(),
    requestOptions: fc.option(optionsArb, { nil: undefined, freq: 2 }),
    commandsSent: fc.boolean(),
    ownNow: fc.dictionary(fc.constantFrom('a', 'p', 'q'), fc.integer({ min: -1, max: 60 })),
    getChanges: fc.boolean(),
    sent: fc.nat(5),
    advance: fc.oneof(fc.constant(0), fc.nat(20)),
    // Undefined: the owed SoftDeletes as planned, none sent.
    feedLeaving: fc.option(ids, { nil: undefined, freq: 2 }),
    more: fc.boolean(),
  })
  .map((g) => {
    const s: CollectionState = { modseq: g.modseq, rescanTo: g.rescanTo, options: g.options, matchAdds: g.matchAdds, own: g.own, windowAt: g.windowAge === undefined ? undefined : NOW - g.windowAge, leaving: g.leaving, heldKept: g.heldKept };
    // adoptLegacyState, as deviceView does it before planning.
    const adopted = s.heldKept ? s : s.modseq === 0 ? { ...s, heldKept: true } : { ...s, heldKept: true, rescanTo: s.modseq, modseq: 0 };
    const plan = planFor(adopted, g.requestOptions ?? s.options);
    const feed: FeedRead | undefined = g.getChanges ? { sent: g.sent, reached: plan.since + g.advance, leaving: g.feedLeaving ?? plan.leaving ?? [], more: g.more } : undefined;
    const touched = new Map([...Object.entries(g.own), ...Object.entries(g.ownNow)]);
    const input: PassInput = { stored: s, request: { syncKey: KEY, options: g.requestOptions, commandsSent: g.commandsSent }, plan, feed, touched };
    return input;
  });

describe('sync pass: properties', () => {
  it('a pass that keeps its key tells the device nothing and saves nothing; one that moves it saves the state behind the new key', () => {
    fc.assert(
      fc.property(passArb, (input) => {
        const d = decidePass(input);
        if (!d.changed) {
          assert.equal(d.syncKey, KEY);
          assert.equal(d.next, undefined);
          assert.equal(d.moreAvailable, false);
          assert.equal(input.feed?.sent ?? 0, 0);
          assert.equal(input.request.commandsSent, false);
          assert.equal(d.position, input.stored.modseq);
        } else {
          assert.equal(d.syncKey, nextSyncKey(KEY));
          assert.equal(d.next?.modseq, d.position);
          assert.equal(d.next?.heldKept, true);
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('a state saved with nothing more to send is quiet when synced again with nothing new (at the same clock)', () => {
    fc.assert(
      fc.property(passArb, fc.boolean(), fc.boolean(), (input, resendOptions, getChanges) => {
        const d = decidePass(input);
        fc.pre(d.next !== undefined && !d.moreAvailable && d.next.leaving?.length === 0);
        // What the store gives back, and the pass after it: the same options again or none.
        const again = readState(stateToJson(d.next!));
        const options = resendOptions ? (input.request.options ?? input.stored.options) : undefined;
        const plan = planFor(again, options ?? again.options);
        const second = decidePass({
          stored: again,
          request: { syncKey: d.syncKey, options, commandsSent: false },
          plan,
          feed: getChanges ? quiet(plan) : undefined,
          touched: new Map(Object.entries(again.own ?? {})),
        });
        assert.equal(second.changed, false);
        assert.equal(second.syncKey, d.syncKey);
      }),
      { numRuns: 2000 },
    );
  });
});

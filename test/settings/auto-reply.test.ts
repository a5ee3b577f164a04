/**
 * The automatic-reply decision (RFC 3834): who gets a reply, with which text, and who never does.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { autoReplyFor, decideAutoReply, REPLY_PERIOD_MS, type InboundForReply } from '../../src/settings/auto-reply.ts';
import type { OofSettings } from '../../src/store/directory-types.ts';

const NOW = new Date('2026-03-03T12:00:00.000Z');
const OOF: OofSettings = {
  state: 'global',
  start: null,
  end: null,
  internal: { enabled: true, message: 'Internal: back Monday', bodyType: 'text' },
  externalKnown: { enabled: true, message: '<p>Known: back <b>Monday</b></p>', bodyType: 'html' },
  externalUnknown: { enabled: true, message: 'External: back Monday', bodyType: 'text' },
};

function msg(over: Partial<InboundForReply> & { hdr?: Record<string, string> } = {}): InboundForReply {
  const { hdr, ...rest } = over;
  return {
    returnPath: 'carol@outside.example',
    headers: new Map(Object.entries(hdr ?? {}).map(([k, v]) => [k.toLowerCase(), v])),
    subject: 'Lunch?',
    messageId: 'abc@outside.example',
    references: ['root@outside.example'],
    toAndCc: ['Ann <ann@example.com>'],
    userAddresses: ['ann@example.com', 'sales@example.com'],
    senderIsLocal: false,
    senderKnown: false,
    ...rest,
  };
}

const none = (d: ReturnType<typeof decideAutoReply>) => ('none' in d ? d.none : 'reply');

describe('autoReplyFor', () => {
  it('answers an external sender with the external text, to the return path, threaded and marked auto-replied', () => {
    const r = autoReplyFor(OOF, msg(), NOW, new Map());
    assert.ok(r);
    assert.equal(r.audience, 'externalUnknown');
    assert.equal(r.from, 'ann@example.com');
    assert.equal(r.to, 'carol@outside.example');
    assert.equal(r.subject, 'Automatic reply: Lunch?');
    assert.equal(r.text, 'External: back Monday');
    assert.equal(r.html, undefined);
    assert.deepEqual(r.headers, {
      'Auto-Submitted': 'auto-replied',
      'In-Reply-To': '<abc@outside.example>',
      References: '<root@outside.example> <abc@outside.example>',
      'X-Auto-Response-Suppress': 'All',
    });
  });

  it('internal senders (same domain, or a local user) get the internal text; known contacts the known text', () => {
    assert.equal(autoReplyFor(OOF, msg({ returnPath: '<bob@example.com>' }), NOW, new Map())?.text, 'Internal: back Monday');
    assert.equal(autoReplyFor(OOF, msg({ returnPath: 'dan@other.example', senderIsLocal: true }), NOW, new Map())?.audience, 'internal');
    const known = autoReplyFor(OOF, msg({ senderKnown: true }), NOW, new Map());
    assert.equal(known?.audience, 'externalKnown');
    assert.equal(known?.html, '<p>Known: back <b>Monday</b></p>');
    assert.equal(known?.text, 'Known: back Monday');
  });

  it('once per sender per period (7 days)', () => {
    const history = new Map([['carol@outside.example', new Date(NOW.getTime() - REPLY_PERIOD_MS + 1000)]]);
    assert.equal(none(decideAutoReply(OOF, msg({ returnPath: 'Carol@Outside.example' }), NOW, history)), 'already_replied');
    const old = new Map([['carol@outside.example', new Date(NOW.getTime() - REPLY_PERIOD_MS)]]);
    assert.ok(autoReplyFor(OOF, msg(), NOW, old));
    assert.equal(REPLY_PERIOD_MS, 7 * 24 * 3600 * 1000);
  });

  it('never to lists, bulk, automatic messages, bounces, robots or the user', () => {
    const cases: Array<[string, InboundForReply]> = [
      ['list_or_bulk', msg({ hdr: { 'List-Id': '<team.lists.example>' } })],
      ['list_or_bulk', msg({ hdr: { 'List-Unsubscribe': '<mailto:u@lists.example>' } })],
      ['list_or_bulk', msg({ hdr: { Precedence: 'bulk' } })],
      ['list_or_bulk', msg({ hdr: { Precedence: 'List' } })],
      ['list_or_bulk', msg({ hdr: { Precedence: 'junk' } })],
      ['auto_submitted', msg({ hdr: { 'Auto-Submitted': 'auto-replied' } })],
      ['auto_submitted', msg({ hdr: { 'Auto-Submitted': 'auto-generated; owner-email="x@y"' } })],
      ['auto_submitted', msg({ hdr: { 'X-Auto-Response-Suppress': 'DR, OOF' } })],
      ['no_return_path', msg({ returnPath: '<>' })],
      ['no_return_path', msg({ returnPath: '' })],
      ['robot_sender', msg({ returnPath: 'MAILER-DAEMON@outside.example' })],
      ['robot_sender', msg({ returnPath: 'owner-team@lists.example' })],
      ['robot_sender', msg({ returnPath: 'team-request@lists.example' })],
      ['own_address', msg({ returnPath: 'Sales@example.com' })],
      ['not_addressed', msg({ toAndCc: ['team@lists.example'] })],
    ];
    for (const [reason, m] of cases) assert.equal(none(decideAutoReply(OOF, m, NOW, new Map())), reason, JSON.stringify([...m.headers]) + m.returnPath);
    assert.ok(autoReplyFor(OOF, msg({ hdr: { 'Auto-Submitted': 'no' } }), NOW, new Map()), 'Auto-Submitted: no is a person');
    assert.ok(autoReplyFor(OOF, msg({ toAndCc: ['SALES@example.com'] }), NOW, new Map()), 'addressed to an alias');
  });

  it('off, outside the schedule, or the audience message off or empty: no reply', () => {
    assert.equal(none(decideAutoReply(null, msg(), NOW, new Map())), 'oof_off');
    assert.equal(none(decideAutoReply({ ...OOF, state: 'disabled' }, msg(), NOW, new Map())), 'oof_off');
    const scheduled = { ...OOF, state: 'scheduled' as const, start: '2026-03-04T00:00:00.000Z', end: '2026-03-10T00:00:00.000Z' };
    assert.equal(none(decideAutoReply(scheduled, msg(), NOW, new Map())), 'outside_schedule');
    assert.ok(autoReplyFor(scheduled, msg(), new Date('2026-03-04T00:00:00.000Z'), new Map()), 'start is inclusive');
    assert.equal(none(decideAutoReply(scheduled, msg(), new Date('2026-03-10T00:00:00.000Z'), new Map())), 'outside_schedule', 'end is exclusive');
    assert.equal(none(decideAutoReply({ ...OOF, externalUnknown: { enabled: false, message: 'x', bodyType: 'text' } }, msg(), NOW, new Map())), 'message_off');
    assert.equal(none(decideAutoReply({ ...OOF, externalUnknown: { enabled: true, message: '  ', bodyType: 'text' } }, msg(), NOW, new Map())), 'message_off');
    assert.equal(none(decideAutoReply({ ...OOF, externalUnknown: null }, msg(), NOW, new Map())), 'message_off');
  });

  it('a message without Message-ID still gets a reply, without In-Reply-To', () => {
    const r = autoReplyFor(OOF, msg({ messageId: undefined, references: [] }), NOW, new Map());
    assert.ok(r);
    assert.equal(r.headers['In-Reply-To'], undefined);
    assert.equal(r.headers.References, undefined);
  });
});

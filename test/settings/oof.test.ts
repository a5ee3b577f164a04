/**
 * Oof elements to and from stored settings, and the Text/HTML conversions of reply messages.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { applyOofSet, convertBody, htmlToText, OofRequestError, oofGetElement, parseEasDate, textToHtml } from '../../src/settings/oof.ts';
import type { OofSettings } from '../../src/store/directory-types.ts';
import { child, childText, children, el } from '../../src/wbxml/tree.ts';

const s = (name: string, ...kids: Parameters<typeof el>[2][]) => el('Settings', name, ...kids);

const STORED: OofSettings = {
  state: 'scheduled',
  start: '2026-03-02T08:00:00.000Z',
  end: '2026-03-09T17:00:00.000Z',
  internal: { enabled: true, message: 'in', bodyType: 'text' },
  externalKnown: null,
  externalUnknown: { enabled: false, message: '<b>out</b>', bodyType: 'html' },
};

describe('applyOofSet', () => {
  it('changes only what the Set names', () => {
    const next = applyOofSet(STORED, s('Set', s('OofMessage', s('AppliesToExternalKnown'), s('Enabled', 1), s('ReplyMessage', 'known'))));
    assert.equal(next.state, 'scheduled');
    assert.equal(next.start, STORED.start, 'a scheduled state keeps its times when the Set names no state');
    assert.deepEqual(next.internal, STORED.internal);
    assert.deepEqual(next.externalKnown, { enabled: true, message: 'known', bodyType: 'text' });
    assert.deepEqual(next.externalUnknown, STORED.externalUnknown);
  });

  it('state 1 drops the times; state 2 needs both, in order', () => {
    assert.deepEqual(applyOofSet(STORED, s('Set', s('OofState', 1), s('StartTime', '2026-03-02T08:00:00.000Z'))), { ...STORED, state: 'global', start: null, end: null });
    const kind = (set: ReturnType<typeof s>) => {
      try {
        applyOofSet(null, set);
        return 'ok';
      } catch (err) {
        assert.ok(err instanceof OofRequestError);
        return err.kind;
      }
    };
    assert.equal(kind(s('Set', s('OofState', 2))), 'conflicting');
    assert.equal(kind(s('Set', s('OofState', 2), s('StartTime', '2026-03-02T08:00:00.000Z'), s('EndTime', '2026-03-02T08:00:00.000Z'))), 'conflicting');
    assert.equal(kind(s('Set', s('OofState', 2), s('StartTime', '2026-03-02T08:00:00.000Z'), s('EndTime', '2026-03-03T08:00:00Z'))), 'ok');
    assert.equal(kind(s('Set', s('OofState', 'on'))), 'invalid');
    assert.equal(kind(s('Set', s('OofMessage', s('Enabled', 1)))), 'protocol');
    assert.equal(kind(s('Set', s('OofMessage', s('AppliesToInternal'), s('ReplyMessage', 'x'.repeat(70000))))), 'invalid');
  });

  it('parseEasDate takes the MS-ASDTYPE dateTime form only', () => {
    assert.equal(parseEasDate('2026-03-02T08:00:00.000Z'), '2026-03-02T08:00:00.000Z');
    assert.equal(parseEasDate('2026-03-02T08:00:00Z'), '2026-03-02T08:00:00.000Z');
    assert.equal(parseEasDate('2026-03-02'), undefined);
    assert.equal(parseEasDate('2026-13-45T08:00:00Z'), undefined);
  });
});

describe('oofGetElement', () => {
  it('lists state, times and the three audiences in the requested body type', () => {
    const get = oofGetElement(STORED, 'html');
    assert.deepEqual(children(get).map((c) => c.name), ['OofState', 'StartTime', 'EndTime', 'OofMessage', 'OofMessage', 'OofMessage']);
    const [internal, known, unknown] = children(get, 'OofMessage', 'Settings');
    assert.equal(childText(internal!, 'ReplyMessage', 'Settings'), 'in');
    assert.ok(child(internal!, 'AppliesToInternal', 'Settings'));
    assert.equal(childText(known!, 'Enabled', 'Settings'), '0');
    assert.equal(child(known!, 'ReplyMessage', 'Settings'), undefined);
    assert.equal(childText(unknown!, 'ReplyMessage', 'Settings'), '<b>out</b>');
    assert.equal(childText(unknown!, 'BodyType', 'Settings'), 'HTML');
  });
});

describe('body conversions', () => {
  it('text to HTML escapes and keeps line breaks; HTML to text drops markup and decodes entities', () => {
    assert.equal(textToHtml('a < b & c\nnext'), 'a &lt; b &amp; c<br>\r\nnext');
    assert.equal(htmlToText('<html><head><style>p{}</style></head><body><p>Hi&nbsp;&amp; bye</p><p>x&#233;&#x41;</p><script>x()</script></body></html>'), 'Hi & bye\nxéA');
    assert.equal(convertBody('same', 'text', 'text'), 'same');
  });
});

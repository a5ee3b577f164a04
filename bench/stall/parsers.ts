/**
 * Stall benchmark (issue 15 item 1): every parser that runs on the event loop over request (or
 * delivered) input, fed worst-case shapes of 1-5 MB — deep nesting, many tiny elements, long
 * lines, pathological repetitions. For each: wall time, and the longest the event loop was held
 * (the longest gap between ticks of a 1 ms timer, so an async parser that yields between chunks
 * shows its longest chunk), and that per KB of input. Measurements, not a test: nothing fails on a slow result.
 *
 *   node --import tsx bench/stall/parsers.ts [--mb 1] [--only autodiscover,wbxml,...] [--runs 3]
 *
 * Autodiscover is fed both the largest body its route takes (MAX_AUTODISCOVER_BYTES) and `--mb`
 * (which the route now refuses with 413 unread; shown for the parser's own bounds).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import * as autodiscoverXml from '../../src/http/autodiscover-xml.ts';
import { decodeWbxml } from '../../src/wbxml/index.ts';
import { parseICalendar } from '../../src/calendar/icalendar.ts';
import { parseVCards } from '../../src/contacts/vcard.ts';
import { parseMessage } from '../../src/mail/parse.ts';
import { composeSmartMessage, submissionFromDeviceMime } from '../../src/mail/compose.ts';
import { parseKql } from '../../src/mail/kql.ts';
import { htmlToText } from '../../src/classes/body.ts';

// Run against an older checkout (copy this file there) to get the "before" figures: the parser
// without its limits answers null for any failure.
const ad = autodiscoverXml as Partial<typeof autodiscoverXml> & Pick<typeof autodiscoverXml, 'parseAutodiscoverRequest'>;
const MAX_AUTODISCOVER_BYTES = ad.MAX_AUTODISCOVER_BYTES ?? 64 * 1024;
const readAutodiscoverRequest = ad.readAutodiscoverRequest ?? ((s: string) => (ad.parseAutodiscoverRequest(s) ? { ok: true } : { ok: false, reason: 'malformed' }));

const { values: args } = parseArgs({
  options: { mb: { type: 'string', default: '1' }, only: { type: 'string' }, runs: { type: 'string', default: '3' } },
});
const SIZE = Math.round(Number(args.mb) * 1024 * 1024);
const RUNS = Number(args.runs);
const only = args.only ? new Set(args.only.split(',')) : undefined;

/** `unit` repeated to about `size` characters. */
const fill = (unit: string, size: number) => unit.repeat(Math.max(1, Math.floor(size / unit.length)));

interface Case {
  parser: string;
  shape: string;
  input: () => string | Buffer;
  run: (input: string | Buffer) => unknown;
}

const sender = { email: 'ann@example.com', displayName: 'Ann', sendAs: new Set(['ann@example.com']) };
const original = { raw: Buffer.from('From: b@example.com\r\nTo: ann@example.com\r\nSubject: hi\r\n\r\nhello\r\n'), attachments: [] };
const mimeHead = 'From: ann@example.com\r\nTo: bob@example.com\r\nSubject: x\r\n';
const wbxmlHead = [0x03, 0x01, 0x6a, 0x00];
/** WBXML: Sync (page 0, tag 0x05) with content 0x45; Collection 0x0f -> 0x4f; END 0x01. */
const wbxml = (body: number[], repeat: number, tail: number[] = []) => {
  const b = Buffer.alloc(wbxmlHead.length + 1 + body.length * repeat + tail.length + 1);
  let p = 0;
  for (const x of wbxmlHead) b[p++] = x;
  b[p++] = 0x45;
  for (let i = 0; i < repeat; i++) for (const x of body) b[p++] = x;
  for (const x of tail) b[p++] = x;
  b[p++] = 0x01;
  return b;
};
const ics = (body: string) => `BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//x//x//EN\r\n${body}END:VCALENDAR\r\n`;
const vevent = (i: number) => `BEGIN:VEVENT\r\nUID:u${i}\r\nDTSTAMP:20260101T000000Z\r\nDTSTART:20260101T100000Z\r\nDTEND:20260101T110000Z\r\nSUMMARY:s\r\nEND:VEVENT\r\n`;
const ev = 'BEGIN:VEVENT\r\nUID:u\r\nDTSTAMP:20260101T000000Z\r\nDTSTART:20260101T100000Z\r\n';

const cases: Case[] = [];
const add = (parser: string, shape: string, input: () => string | Buffer, run: (i: any) => unknown) => cases.push({ parser, shape, input, run });

for (const [label, size] of [[`${MAX_AUTODISCOVER_BYTES / 1024} KiB`, MAX_AUTODISCOVER_BYTES - 64], [`${args.mb} MB`, SIZE]] as const) {
  const ad = (s: string) => readAutodiscoverRequest(s);
  add('autodiscover', `deep unclosed <a> (${label})`, () => fill('<a>', size), ad);
  add('autodiscover', `deep closed (${label})`, () => fill('<a>', size / 2) + fill('</a>', size / 2), ad);
  add('autodiscover', `tiny elements (${label})`, () => '<r>' + fill('<a/>', size - 8) + '</r>', ad);
  add('autodiscover', `attributes (${label})`, () => '<r ' + Array.from({ length: Math.floor(size / 12) }, (_, i) => `a${i}="x"`).join(' ') + '/>', ad);
  add('autodiscover', `entities (${label})`, () => '<r>' + fill('&amp;', size - 8) + '</r>', ad);
}
add('wbxml', 'nested Collection', () => wbxml([0x4f], SIZE), decodeWbxml);
add('wbxml', 'tiny elements', () => wbxml([0x0f], SIZE), decodeWbxml);
add('wbxml', 'tiny inline strings', () => wbxml([0x4f, 0x03, 0x78, 0x00, 0x01], SIZE / 5), decodeWbxml);
add('wbxml', 'entities', () => wbxml([0x4f, 0x02, 0x41, 0x01], SIZE / 4), decodeWbxml);
add('icalendar', 'many VEVENTs', () => ics(Array.from({ length: Math.floor(SIZE / 120) }, (_, i) => vevent(i)).join('')), (s) => parseICalendar(s));
add('icalendar', 'deep BEGIN nesting', () => ics(ev + fill('BEGIN:X\r\n', SIZE / 2) + fill('END:X\r\n', SIZE / 2) + 'END:VEVENT\r\n'), (s) => parseICalendar(s));
add('icalendar', 'one long folded line', () => ics(ev + 'DESCRIPTION:' + fill('xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\r\n ', SIZE) + '\r\nEND:VEVENT\r\n'), (s) => parseICalendar(s));
add('icalendar', 'one long unfolded line', () => ics(ev + 'DESCRIPTION:' + fill('x', SIZE) + '\r\nEND:VEVENT\r\n'), (s) => parseICalendar(s));
add('icalendar', 'many parameters', () => ics(ev + 'ATTENDEE' + fill(';X=y', SIZE) + ':mailto:a@b\r\nEND:VEVENT\r\n'), (s) => parseICalendar(s));
add('icalendar', 'escapes and commas', () => ics(ev + 'CATEGORIES:' + fill('\\,a,', SIZE) + '\r\nEND:VEVENT\r\n'), (s) => parseICalendar(s));
add('vcard', 'many cards', () => fill('BEGIN:VCARD\r\nVERSION:3.0\r\nFN:a\r\nN:a;b;;;\r\nEND:VCARD\r\n', SIZE), parseVCards);
add('vcard', 'deep BEGIN nesting', () => 'BEGIN:VCARD\r\nVERSION:3.0\r\nFN:a\r\n' + fill('BEGIN:X\r\n', SIZE / 2) + fill('END:X\r\n', SIZE / 2) + 'END:VCARD\r\n', parseVCards);
add('vcard', 'one long line', () => 'BEGIN:VCARD\r\nVERSION:3.0\r\nFN:a\r\nNOTE:' + fill('x', SIZE) + '\r\nEND:VCARD\r\n', parseVCards);
add('vcard', 'many properties', () => 'BEGIN:VCARD\r\nVERSION:3.0\r\nFN:a\r\n' + fill('EMAIL:a@b\r\n', SIZE) + 'END:VCARD\r\n', parseVCards);
add('vcard', 'semicolons', () => 'BEGIN:VCARD\r\nVERSION:3.0\r\nFN:a\r\nN:' + fill('a;', SIZE) + '\r\nEND:VCARD\r\n', parseVCards);
const mimeShapes: [string, () => Buffer][] = [
  ['one line, no newline', () => Buffer.from(mimeHead + '\r\n' + fill('x', SIZE))],
  ['many short lines', () => Buffer.from(mimeHead + '\r\n' + fill('x\r\n', SIZE))],
  ['huge header line', () => Buffer.from(mimeHead + 'X-Big: ' + fill('x', SIZE) + '\r\n\r\nhi\r\n')],
  ['many headers', () => Buffer.from(mimeHead + fill('X-A: b\r\n', SIZE) + '\r\nhi\r\n')],
  ['encoded words', () => Buffer.from('From: ann@example.com\r\nTo: bob@example.com\r\nSubject: ' + fill('=?utf-8?q?a?= ', SIZE) + '\r\n\r\nhi\r\n')],
  ['many recipients', () => Buffer.from('From: ann@example.com\r\nSubject: x\r\nTo: ' + fill('a@b.c, ', SIZE) + 'z@b.c\r\n\r\nhi\r\n')],
  ['many tiny parts', () => Buffer.from(mimeHead + 'Content-Type: multipart/mixed; boundary=b\r\n\r\n' + fill('--b\r\n\r\nx\r\n', SIZE) + '--b--\r\n')],
  ['deep multipart nesting', () => {
    const depth = Math.floor(SIZE / 60);
    let s = mimeHead;
    for (let i = 0; i < depth; i++) s += `Content-Type: multipart/mixed; boundary=b${i}\r\n\r\n--b${i}\r\n`;
    return Buffer.from(s + '\r\nx\r\n');
  }],
  ['html, many tags', () => Buffer.from(mimeHead + 'Content-Type: text/html\r\n\r\n' + fill('<p><b>x</b></p>\r\n', SIZE))],
  ['html, deep nesting', () => Buffer.from(mimeHead + 'Content-Type: text/html\r\n\r\n' + fill('<div>', SIZE))],
];
for (const [shape, input] of mimeShapes) {
  add('mime: delivery (parseMessage)', shape, input, (b) => parseMessage(b));
  add('mime: SendMail', shape, input, (b) => submissionFromDeviceMime(b, sender, 'example.com').catch(() => undefined));
  add('mime: SmartReply', shape, input, (b) => composeSmartMessage('reply', b, original as never, sender, 'example.com').catch(() => undefined));
}
for (const [label, size] of [['1,024 chars (the FreeText limit)', 1024], [`${args.mb} MB`, SIZE]] as const) {
  add('kql', `nested parentheses (${label})`, () => fill('(', size / 2) + 'a' + fill(')', size / 2), parseKql);
  add('kql', `many OR (${label})`, () => 'a' + fill(' OR a', size), parseKql);
  add('kql', `quotes and colons (${label})`, () => fill('subject:"a" ', size), parseKql);
  add('kql', `unbalanced (${label})`, () => fill('("a:', size), parseKql);
}
add('html-to-text (device bodies)', 'many "<"', () => fill('<', SIZE), htmlToText);
add('html-to-text (device bodies)', 'unterminated tags', () => fill('<a ', SIZE), htmlToText);
add('html-to-text (device bodies)', 'many tags', () => fill('<p>x</p>', SIZE), htmlToText);
add('html-to-text (device bodies)', 'unterminated comments', () => fill('<!--', SIZE), htmlToText);
add('html-to-text (device bodies)', 'entities', () => fill('&amp;&#65;', SIZE), htmlToText);

/** The longest gap between ticks of a 1 ms timer, from start() to stop(): the longest the event loop was held. */
function blockMeter() {
  let last = performance.now();
  let max = 0;
  let timer: NodeJS.Timeout | undefined;
  const tick = () => {
    const now = performance.now();
    max = Math.max(max, now - last);
    last = now;
    timer = setTimeout(tick, 1);
  };
  return {
    start: () => {
      last = performance.now();
      max = 0;
      timer = setTimeout(tick, 1);
    },
    stop: () => {
      clearTimeout(timer);
      return max;
    },
  };
}

const meter = blockMeter();
console.log(`| parser | shape | input KB | wall ms | longest block ms | ms/KB (block) | outcome |`);
console.log(`|---|---|---:|---:|---:|---:|---|`);
for (const c of cases) {
  if (only && !only.has(c.parser.split(/[: ]/)[0]!)) continue;
  const input = c.input();
  const kb = Buffer.byteLength(input as string) / 1024;
  let best = { wall: Infinity, block: Infinity };
  let outcome = 'ok';
  for (let r = 0; r < RUNS; r++) {
    await sleep(20);
    meter.start();
    await sleep(2);
    const t = performance.now();
    try {
      const v = (await c.run(input)) as { ok?: boolean; reason?: string } | undefined;
      if (v && v.ok === false) outcome = `refused: ${String(v.reason).slice(0, 60)}`;
    } catch (e) {
      outcome = `throws: ${String((e as Error).message).slice(0, 60)}`;
    }
    const wall = performance.now() - t;
    await sleep(5);
    const block = meter.stop();
    if (block < best.block) best = { wall, block };
  }
  console.log(`| ${c.parser} | ${c.shape} | ${kb.toFixed(0)} | ${best.wall.toFixed(1)} | ${best.block.toFixed(1)} | ${(best.block / kb).toFixed(3)} | ${outcome.replace(/\|/g, '/')} |`);
}

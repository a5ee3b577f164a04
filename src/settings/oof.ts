/**
 * Out-of-office settings as the Settings command carries them (MS-ASCMD 2.2.3.122 Oof), to and from
 * the store's OofSettings (src/store/directory-types.ts). Pure functions: the command does I/O.
 *
 * - OofState (2.2.3.124): 0 disabled, 1 global (on until turned off), 2 time-based (on between
 *   StartTime and EndTime). StartTime and EndTime are kept only with state 2; sent with another
 *   state they are accepted and not stored, as the spec says.
 * - OofMessage (2.2.3.123): one per audience, named by an empty AppliesToInternal,
 *   AppliesToExternalKnown or AppliesToExternalUnknown; Enabled 0/1, ReplyMessage, BodyType
 *   (2.2.3.17: "Text" or "HTML", compared case-insensitively). A Set changes only what it names:
 *   an audience it leaves out, or a field of an OofMessage it leaves out, keeps its stored value.
 * - Get names the BodyType the client wants; a message stored in the other type is converted
 *   (text to HTML by escaping, HTML to text by dropping markup).
 */
import type { OofMessage, OofSettings, OofState } from '../ports/directory.ts';
import { child, children, el, text, type WbxmlElement } from '../wbxml/tree.ts';

const NS = 'Settings';

/** Longest reply text kept (characters). Exchange caps an OOF message well below this. */
export const MAX_REPLY_LENGTH = 64 * 1024;

export const AUDIENCES = [
  ['internal', 'AppliesToInternal'],
  ['externalKnown', 'AppliesToExternalKnown'],
  ['externalUnknown', 'AppliesToExternalUnknown'],
] as const;
export type Audience = (typeof AUDIENCES)[number][0];

const STATES: Record<string, OofState> = { '0': 'disabled', '1': 'global', '2': 'scheduled' };
const STATE_NUMBER: Record<OofState, number> = { disabled: 0, global: 1, scheduled: 2 };

export const EMPTY_OOF: OofSettings = { state: 'disabled', start: null, end: null, internal: null, externalKnown: null, externalUnknown: null };

/** Why a Set was refused: 'protocol' (Status 2), 'invalid' (5) or 'conflicting' (6). */
export class OofRequestError extends Error {
  constructor(
    readonly kind: 'protocol' | 'invalid' | 'conflicting',
    message: string,
  ) {
    super(message);
  }
}

export function parseBodyType(v: string | undefined): 'text' | 'html' | undefined {
  const t = v?.trim().toLowerCase();
  return t === 'text' ? 'text' : t === 'html' ? 'html' : undefined;
}

/** MS-ASDTYPE 2.3 dateTime (2026-03-02T09:00:00.000Z) to ISO; undefined when malformed. */
export function parseEasDate(v: string | undefined): string | undefined {
  const s = v?.trim();
  if (!s || !/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,3})?Z$/.test(s)) return undefined;
  const d = new Date(s);
  return Number.isNaN(d.getTime()) ? undefined : d.toISOString();
}

/** Applies an Oof Set element to the current settings; throws OofRequestError. */
export function applyOofSet(current: OofSettings | null, set: WbxmlElement): OofSettings {
  const next: OofSettings = { ...(current ?? EMPTY_OOF) };
  const stateText = text(child(set, 'OofState', NS));
  if (stateText !== undefined) {
    const state = STATES[stateText.trim()];
    if (!state) throw new OofRequestError('invalid', `OofState ${stateText} is not 0, 1 or 2`);
    next.state = state;
  }
  const startEl = child(set, 'StartTime', NS);
  const endEl = child(set, 'EndTime', NS);
  const start = startEl ? parseEasDate(text(startEl)) : undefined;
  const end = endEl ? parseEasDate(text(endEl)) : undefined;
  if ((startEl && !start) || (endEl && !end)) throw new OofRequestError('invalid', 'StartTime or EndTime is not a dateTime');
  if (next.state === 'scheduled') {
    next.start = start ?? (stateText === undefined ? next.start : null);
    next.end = end ?? (stateText === undefined ? next.end : null);
    if (!next.start || !next.end) throw new OofRequestError('conflicting', 'OofState 2 needs StartTime and EndTime');
    if (next.end <= next.start) throw new OofRequestError('conflicting', 'EndTime is not after StartTime');
  } else {
    next.start = null;
    next.end = null;
  }
  for (const m of children(set, 'OofMessage', NS)) {
    const named = AUDIENCES.filter(([, tag]) => child(m, tag, NS) !== undefined);
    if (named.length !== 1) throw new OofRequestError('protocol', 'an OofMessage names exactly one audience');
    const key = named[0]![0];
    const before: OofMessage = next[key] ?? { enabled: false, message: '', bodyType: 'text' };
    const msg: OofMessage = { ...before };
    const enabled = text(child(m, 'Enabled', NS));
    if (enabled !== undefined) {
      if (enabled.trim() !== '0' && enabled.trim() !== '1') throw new OofRequestError('invalid', 'Enabled is not 0 or 1');
      msg.enabled = enabled.trim() === '1';
    }
    const reply = text(child(m, 'ReplyMessage', NS));
    if (reply !== undefined) {
      if (reply.length > MAX_REPLY_LENGTH) throw new OofRequestError('invalid', `ReplyMessage is longer than ${MAX_REPLY_LENGTH}`);
      msg.message = reply;
    }
    const bodyTypeText = text(child(m, 'BodyType', NS));
    if (bodyTypeText !== undefined) {
      const bt = parseBodyType(bodyTypeText);
      if (!bt) throw new OofRequestError('invalid', `BodyType ${bodyTypeText} is not Text or HTML`);
      msg.bodyType = bt;
    }
    next[key] = msg;
  }
  return next;
}

/** The Get element of an Oof Get response, messages in the requested body type. */
export function oofGetElement(oof: OofSettings | null, bodyType: 'text' | 'html'): WbxmlElement {
  const o = oof ?? EMPTY_OOF;
  const messages = AUDIENCES.map(([key, tag]) => {
    const m = o[key];
    const body = m ? convertBody(m.message, m.bodyType, bodyType) : '';
    return el(
      NS,
      'OofMessage',
      el(NS, tag),
      el(NS, 'Enabled', m?.enabled ? 1 : 0),
      body !== '' ? el(NS, 'ReplyMessage', body) : null,
      el(NS, 'BodyType', bodyType === 'html' ? 'HTML' : 'Text'),
    );
  });
  return el(
    NS,
    'Get',
    el(NS, 'OofState', STATE_NUMBER[o.state]),
    o.state === 'scheduled' && o.start ? el(NS, 'StartTime', o.start) : null,
    o.state === 'scheduled' && o.end ? el(NS, 'EndTime', o.end) : null,
    messages,
  );
}

export function escapeHtml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

export function textToHtml(s: string): string {
  return escapeHtml(s).replace(/\r?\n/g, '<br>\r\n');
}

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", nbsp: ' ' };

/** Plain text of simple HTML: line breaks for br/p/div/li, markup and head/style/script dropped. */
export function htmlToText(html: string): string {
  return html
    .replace(/<(head|style|script)\b[^>]*>[\s\S]*?<\/\1\s*>/gi, '')
    .replace(/<br\s*\/?>/gi, '\n')
    .replace(/<\/(p|div|li|h[1-6]|tr)\s*>/gi, '\n')
    .replace(/<[^>]*>/g, '')
    .replace(/&(#\d+|#x[0-9a-f]+|[a-z]+);/gi, (m, e: string) => {
      if (e[0] === '#') {
        const n = e[1] === 'x' || e[1] === 'X' ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10);
        return Number.isFinite(n) && n > 0 && n <= 0x10ffff ? String.fromCodePoint(n) : m;
      }
      return ENTITIES[e.toLowerCase()] ?? m;
    })
    .replace(/[ \t]+\n/g, '\n')
    .replace(/\n{3,}/g, '\n\n')
    .trim();
}

export function convertBody(body: string, from: 'text' | 'html', to: 'text' | 'html'): string {
  if (from === to) return body;
  return to === 'html' ? textToHtml(body) : htmlToText(body);
}

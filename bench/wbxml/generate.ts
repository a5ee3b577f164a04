/**
 * A deterministic, realistic ActiveSync Sync response for the WBXML benchmark.
 *
 * Shape (MS-ASCMD 2.2.1.21 Sync response, MS-ASEMAIL / MS-ASCAL / MS-ASAIRS items):
 *   AirSync:Sync > Collections >
 *     Collection (mail folder):     SyncKey, CollectionId, Status, Commands > Add x N (Email items)
 *     Collection (calendar folder): SyncKey, CollectionId, Status, Commands > Add x M (Calendar items)
 * Email items carry To/Cc/From/Subject/DateReceived/DisplayTo/ThreadTopic/Importance/Read,
 * an AirSyncBase:Body (plain text or HTML, a few KB, some non-ASCII text), MessageClass,
 * InternetCPID, Flag, ContentClass, NativeBodyType and Email2:ConversationId/ConversationIndex
 * as OPAQUE bytes. Calendar items carry attendees, recurrence on some, a body and the usual
 * scalar properties. Calendar items are about a sixth of the items (in their own collection, as
 * a server sends them: one collection per folder class).
 *
 * Everything comes from a seeded PRNG, so the same seed and size give the same bytes.
 */
import { el, encodeWbxml, type WbxmlElement } from '../../src/wbxml/index.ts';

/** mulberry32: small, fast, good enough for test data; deterministic for a given seed. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const FIRST = ['Alice', 'Bob', 'Chloé', 'Dmitri', 'Eva', 'François', 'Günther', 'Hana', 'Ingrid', 'José', 'Kenji', 'Łukasz', 'Maria', 'Nils', 'Olga', 'Priya', 'Søren', 'Tomás', 'Yuki', 'Zoë'];
const LAST = ['Andersson', 'Brown', 'Černý', 'Dubois', 'Eriksen', 'Fernández', 'García', 'Hoffmann', 'Ivanova', 'Jensen', 'Kowalski', 'Müller', 'Nakamura', 'O\'Brien', 'Petrović', 'Rossi', 'Schmidt', 'Tanaka', 'Weiß', 'Zhang'];
const DOMAINS = ['example.com', 'example.org', 'corp.example.net', 'mail.example.de', 'example.co.jp'];
const WORDS = (
  'the a of to and in is for on that with as this be by are from at it we our you will your can ' +
  'meeting project report budget quarter review deadline update schedule team client proposal draft ' +
  'invoice contract release server migration calendar agenda notes follow-up action items summary ' +
  'please thanks regards attached document presentation feedback question answer discussion decision ' +
  'approval travel office customer support ticket issue fix deploy test results performance numbers'
).split(' ');
// Some non-ASCII words so bodies exercise multi-byte UTF-8 (2-, 3- and 4-byte sequences).
const INTL = ['café', 'naïve', 'Größe', 'Straße', 'résumé', 'façade', 'Ärger', 'smörgåsbord', 'niño', 'Dziękuję', 'Привет', 'спасибо', 'Ελληνικά', 'こんにちは', '会議', '日本語', '报告', '회의', 'שלום', 'مرحبا', '€100', '±5%', '→', '✓', '😀', '🚀'];
const SUBJECTS = ['Quarterly review', 'Re: Budget proposal', 'Fwd: Contract draft', 'Team offsite agenda', 'Release notes 4.2', 'Invoice #', 'Server migration plan', 'Lunch on Friday?', 'Re: Re: Customer escalation', 'Weekly status', 'Réunion équipe', 'Besprechung Größe & Umfang', '会議の議題', 'Travel <approval> needed'];
const LOCATIONS = ['Room 101', 'Conference room "Fjord"', 'Online', 'Café Zentral, Wien', 'Building B / 3rd floor', '東京オフィス'];

export interface GeneratedSync {
  tree: WbxmlElement;
  wbxml: Buffer;
  emails: number;
  events: number;
}

/**
 * Builds Sync responses with growing item counts until the WBXML encoding is at least
 * `minBytes` long, and returns the tree and its encoding.
 */
export function generateSyncResponse(minBytes: number, seed: number): GeneratedSync {
  // A first guess from the average encoded item size (about 3.4 KB), then grow if short.
  let items = Math.max(8, Math.ceil(minBytes / 3400));
  for (;;) {
    const g = buildSync(items, seed);
    if (g.wbxml.length >= minBytes) return g;
    items = Math.ceil(items * (minBytes / g.wbxml.length) * 1.02) + 1;
  }
}

function buildSync(items: number, seed: number): GeneratedSync {
  const rnd = mulberry32(seed);
  const int = (lo: number, hi: number) => lo + Math.floor(rnd() * (hi - lo + 1));
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
  const chance = (p: number) => rnd() < p;

  const person = () => {
    const first = pick(FIRST);
    const last = pick(LAST);
    const local = `${first}.${last}`
      .normalize('NFD')
      .replace(/[^A-Za-z.]/g, '')
      .toLowerCase();
    return { name: `${first} ${last}`, email: `${local}@${pick(DOMAINS)}` };
  };
  const mailbox = (p: { name: string; email: string }) => `"${p.name}" <${p.email}>`;

  const sentence = () => {
    const n = int(6, 18);
    const ws: string[] = [];
    for (let i = 0; i < n; i++) ws.push(chance(0.06) ? pick(INTL) : pick(WORDS));
    const s = ws.join(' ');
    return s.charAt(0).toUpperCase() + s.slice(1) + (chance(0.1) ? ' (see A&B <notes>).' : '.');
  };
  const paragraphs = (bytes: number) => {
    const ps: string[] = [];
    let size = 0;
    while (size < bytes) {
      const n = int(2, 6);
      const ss: string[] = [];
      for (let i = 0; i < n; i++) ss.push(sentence());
      const p = ss.join(' ');
      ps.push(p);
      size += Buffer.byteLength(p) + 2;
    }
    return ps;
  };
  const isoDate = (t: number) => new Date(t).toISOString().replace(/\.\d{3}Z$/, '.000Z');
  const compactDate = (t: number) => new Date(t).toISOString().replace(/[-:]/g, '').replace(/\.\d{3}Z$/, 'Z');
  const bytes = (n: number) => {
    const b = new Uint8Array(n);
    for (let i = 0; i < n; i++) b[i] = Math.floor(rnd() * 256);
    return b;
  };
  const base = Date.UTC(2024, 0, 1);

  const body = (html: boolean, size: number) => {
    const ps = paragraphs(size);
    const data = html
      ? `<html><head><meta charset="utf-8"></head><body>${ps.map((p) => `<p>${p.replace(/&/g, '&amp;').replace(/</g, '&lt;')}</p>`).join('\n')}</body></html>`
      : ps.join('\r\n\r\n');
    const len = Buffer.byteLength(data);
    const truncated = chance(0.15);
    return el(
      'AirSyncBase',
      'Body',
      el('AirSyncBase', 'Type', html ? 2 : 1),
      el('AirSyncBase', 'EstimatedDataSize', truncated ? len + int(1000, 50000) : len),
      el('AirSyncBase', 'Truncated', truncated ? 1 : 0),
      el('AirSyncBase', 'Data', data),
    );
  };

  const email = (i: number) => {
    const from = person();
    const to = Array.from({ length: int(1, 4) }, person);
    const cc = chance(0.3) ? Array.from({ length: int(1, 3) }, person) : [];
    let subject = pick(SUBJECTS);
    if (subject.endsWith('#')) subject += String(int(1000, 99999));
    const topic = subject.replace(/^(Re|Fwd): /g, '');
    const flagged = chance(0.1);
    return el(
      'AirSync',
      'Add',
      el('AirSync', 'ServerId', `5:${i + 1}`),
      el(
        'AirSync',
        'ApplicationData',
        el('Email', 'To', to.map(mailbox).join(', ')),
        cc.length > 0 && el('Email', 'Cc', cc.map(mailbox).join(', ')),
        el('Email', 'From', mailbox(from)),
        el('Email', 'Subject', subject),
        el('Email', 'DateReceived', isoDate(base + i * 97_000 + int(0, 90_000))),
        el('Email', 'DisplayTo', to.map((p) => p.name).join('; ')),
        el('Email', 'ThreadTopic', topic),
        el('Email', 'Importance', int(0, 2)),
        el('Email', 'Read', chance(0.6) ? 1 : 0),
        body(chance(0.4), int(1000, 5000)),
        el('Email', 'MessageClass', 'IPM.Note'),
        el('Email', 'InternetCPID', 65001),
        flagged ? el('Email', 'Flag', el('Email', 'Status', 2), el('Email', 'FlagType', 'Follow up')) : el('Email', 'Flag'),
        el('Email', 'ContentClass', 'urn:content-classes:message'),
        el('AirSyncBase', 'NativeBodyType', chance(0.4) ? 2 : 1),
        el('Email2', 'ConversationId', bytes(16)),
        el('Email2', 'ConversationIndex', bytes(5 + 5 * int(0, 3))),
      ),
    );
  };

  const event = (i: number) => {
    const organizer = person();
    const start = base + int(0, 365) * 86_400_000 + int(8, 17) * 3_600_000;
    const end = start + int(1, 4) * 1_800_000;
    const attendees = Array.from({ length: int(1, 8) }, person);
    const recurring = chance(0.35);
    return el(
      'AirSync',
      'Add',
      el('AirSync', 'ServerId', `7:${i + 1}`),
      el(
        'AirSync',
        'ApplicationData',
        // EAS carries the TIME_ZONE_INFORMATION blob of Timezone as base64 text.
        el('Calendar', 'Timezone', Buffer.from(bytes(172)).toString('base64')),
        el('Calendar', 'DtStamp', compactDate(start - int(1, 30) * 86_400_000)),
        el('Calendar', 'StartTime', compactDate(start)),
        el('Calendar', 'Subject', pick(SUBJECTS)),
        el('Calendar', 'UID', Buffer.from(bytes(32)).toString('hex').toUpperCase()),
        el('Calendar', 'OrganizerName', organizer.name),
        el('Calendar', 'OrganizerEmail', organizer.email),
        el(
          'Calendar',
          'Attendees',
          attendees.map((a) =>
            el(
              'Calendar',
              'Attendee',
              el('Calendar', 'Email', a.email),
              el('Calendar', 'Name', a.name),
              el('Calendar', 'AttendeeStatus', pick([0, 2, 3, 4, 5])),
              el('Calendar', 'AttendeeType', int(1, 3)),
            ),
          ),
        ),
        el('Calendar', 'Location', pick(LOCATIONS)),
        el('Calendar', 'EndTime', compactDate(end)),
        recurring &&
          el(
            'Calendar',
            'Recurrence',
            el('Calendar', 'Type', 1),
            el('Calendar', 'Interval', int(1, 2)),
            el('Calendar', 'DayOfWeek', 1 << int(1, 5)),
            chance(0.5)
              ? el('Calendar', 'Until', compactDate(start + int(30, 300) * 86_400_000))
              : el('Calendar', 'Occurrences', int(2, 52)),
          ),
        body(false, int(200, 1500)),
        el('Calendar', 'Sensitivity', 0),
        el('Calendar', 'BusyStatus', 2),
        el('Calendar', 'AllDayEvent', 0),
        el('Calendar', 'Reminder', pick([5, 10, 15, 30])),
        el('Calendar', 'MeetingStatus', pick([0, 1, 3])),
        el('Calendar', 'ResponseRequested', 1),
        el('Calendar', 'ResponseType', int(0, 5)),
        el('Calendar', 'DisallowNewTimeProposal', 0),
        el('AirSyncBase', 'NativeBodyType', 1),
      ),
    );
  };

  const nEvents = Math.max(1, Math.round(items / 6));
  const nEmails = Math.max(1, items - nEvents);
  const adds: WbxmlElement[] = [];
  const calAdds: WbxmlElement[] = [];
  // Interleave generation so that the PRNG stream, not the order of calls, decides content.
  for (let i = 0, e = 0, c = 0; i < nEmails + nEvents; i++) {
    if (c < nEvents && (e >= nEmails || i % 6 === 5)) calAdds.push(event(c++));
    else adds.push(email(e++));
  }
  const collection = (id: string, syncKey: string, commands: WbxmlElement[]) =>
    el(
      'AirSync',
      'Collection',
      el('AirSync', 'SyncKey', syncKey),
      el('AirSync', 'CollectionId', id),
      el('AirSync', 'Status', 1),
      el('AirSync', 'Commands', commands),
    );
  const tree = el(
    'AirSync',
    'Sync',
    el('AirSync', 'Collections', collection('5', '{8a1c3f0e-2b7d-4e5a-9c61-0d3f2a7b9e14}2', adds), collection('7', '{3e9b7c21-5d4f-4a08-b1e2-6f0c8d9a2b35}2', calAdds)),
  );
  return { tree, wbxml: encodeWbxml(tree), emails: adds.length, events: calAdds.length };
}

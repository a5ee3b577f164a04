/**
 * Valid mail, iCalendar and vCard texts the fuzzer starts from (then mutates with mutate.ts):
 * what an MTA hands easd over LMTP, what a phone sends in SendMail, what `easd contacts import`
 * reads. Built from the request's random stream, so deterministic by seed.
 */
import type { Rng } from './rng.ts';

const WORDS = 'meeting project report update schedule review budget team customer order invoice agenda minutes draft final'.split(' ');

function words(r: Rng, n: number): string {
  const out: string[] = [];
  for (let i = 0; i < n; i++) out.push(r.pick(WORDS));
  return out.join(' ');
}

function stamp(r: Rng): string {
  const d = new Date(Date.UTC(2026, r.int(12), 1 + r.int(28), r.int(24), r.int(60)));
  return d.toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');
}

/** An iCalendar object: a meeting request (or reply, cancel, counter) with recurrence and a time zone. */
export function icalendar(r: Rng, organizer: string, attendee: string): string {
  const method = r.pick(['REQUEST', 'REQUEST', 'CANCEL', 'REPLY', 'COUNTER', 'PUBLISH']);
  const uid = `fuzz-${r.int(1e9)}@example.net`;
  const lines = [
    'BEGIN:VCALENDAR',
    'PRODID:-//fuzz//EN',
    'VERSION:2.0',
    `METHOD:${method}`,
    'BEGIN:VTIMEZONE',
    'TZID:Europe/Berlin',
    'BEGIN:STANDARD',
    'DTSTART:19701025T030000',
    'RRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU',
    'TZOFFSETFROM:+0200',
    'TZOFFSETTO:+0100',
    'END:STANDARD',
    'BEGIN:DAYLIGHT',
    'DTSTART:19700329T020000',
    'RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU',
    'TZOFFSETFROM:+0100',
    'TZOFFSETTO:+0200',
    'END:DAYLIGHT',
    'END:VTIMEZONE',
  ];
  const events = r.chance(0.1) ? r.range(2, 6) : 1;
  for (let i = 0; i < events; i++) {
    lines.push(
      'BEGIN:VEVENT',
      `UID:${uid}`,
      `DTSTAMP:${stamp(r)}Z`,
      `DTSTART;TZID=Europe/Berlin:${stamp(r)}`,
      `DTEND;TZID=Europe/Berlin:${stamp(r)}`,
      `SUMMARY:${words(r, 4)}`,
      `LOCATION:${words(r, 2)}`,
      `ORGANIZER;CN=Organizer:mailto:${organizer}`,
      `ATTENDEE;CN=Attendee;ROLE=REQ-PARTICIPANT;PARTSTAT=${r.pick(['NEEDS-ACTION', 'ACCEPTED', 'DECLINED', 'TENTATIVE'])};RSVP=TRUE:mailto:${attendee}`,
      `SEQUENCE:${r.int(5)}`,
    );
    if (i > 0) lines.push(`RECURRENCE-ID;TZID=Europe/Berlin:${stamp(r)}`);
    if (r.chance(0.5)) lines.push(r.pick(['RRULE:FREQ=WEEKLY;COUNT=10;BYDAY=MO,WE', 'RRULE:FREQ=DAILY;UNTIL=20270101T000000Z', 'RRULE:FREQ=MONTHLY;BYMONTHDAY=-1', 'RRULE:FREQ=YEARLY;INTERVAL=2']));
    if (r.chance(0.3)) lines.push(`EXDATE;TZID=Europe/Berlin:${stamp(r)}`);
    if (r.chance(0.3)) lines.push('BEGIN:VALARM', 'ACTION:DISPLAY', 'TRIGGER:-PT15M', 'END:VALARM');
    lines.push('END:VEVENT');
  }
  lines.push('END:VCALENDAR');
  return lines.join('\r\n') + '\r\n';
}

/** A vCard (3.0 or 4.0) with the fields easd maps (MS-ASCNTC), sometimes several in one file. */
export function vcard(r: Rng): string {
  const v4 = r.chance(0.5);
  const cards: string[] = [];
  const n = r.chance(0.2) ? r.range(2, 5) : 1;
  for (let i = 0; i < n; i++) {
    cards.push(
      [
        'BEGIN:VCARD',
        `VERSION:${v4 ? '4.0' : '3.0'}`,
        `UID:urn:uuid:${r.int(1e9)}`,
        'N:Martin;Alice;Q.;Dr.;Jr.',
        'FN:Alice Martin',
        `ORG:${words(r, 2)};${words(r, 1)}`,
        `TITLE:${words(r, 2)}`,
        v4 ? 'TEL;TYPE=work,voice;VALUE=uri:tel:+1-555-0100' : 'TEL;TYPE=WORK,VOICE:+1-555-0100',
        'TEL;TYPE=CELL:+1 555 0101',
        `EMAIL;TYPE=INTERNET:alice${r.int(100)}@example.net`,
        'ADR;TYPE=WORK:;;1 Main St;Springfield;IL;62701;USA',
        `BDAY:${v4 ? '--0412' : '1980-04-12'}`,
        'NOTE:first line\\nsecond line\\, with comma',
        'CATEGORIES:work,friends',
        r.chance(0.3) ? `PHOTO;${v4 ? 'MEDIATYPE=image/png:data:image/png;base64,' : 'ENCODING=b;TYPE=PNG:'}iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==` : 'URL:https://example.net/',
        'END:VCARD',
      ].join('\r\n'),
    );
  }
  return cards.join('\r\n') + '\r\n';
}

/** A MIME message: plain, alternative, with attachments, an invitation, a vCard or a forwarded message. */
export function mime(r: Rng, from: string, to: string): string {
  const subject = r.chance(0.2) ? `=?UTF-8?B?${Buffer.from(`Grüße ${words(r, 3)}`).toString('base64')}?=` : words(r, 5);
  const head = [
    `From: Sender <${from}>`,
    `To: <${to}>`,
    r.chance(0.3) ? `Cc: other@example.net, "Quoted, Name" <q@example.net>` : null,
    `Subject: ${subject}`,
    `Date: Tue, 08 Dec 2026 0${r.int(10)}:00:00 +0100`,
    `Message-ID: <${r.int(1e9)}.fuzz@example.net>`,
    r.chance(0.2) ? `In-Reply-To: <${r.int(1e9)}.fuzz@example.net>` : null,
    'MIME-Version: 1.0',
  ].filter((l): l is string => l !== null);
  const b = `b${r.int(1e9)}`;
  const kind = r.pick(['plain', 'alternative', 'attachment', 'invite', 'vcard', 'rfc822', 'qp']);
  let body: string[];
  switch (kind) {
    case 'plain':
      body = ['Content-Type: text/plain; charset=utf-8', '', words(r, 30)];
      break;
    case 'qp':
      body = ['Content-Type: text/plain; charset=iso-8859-1', 'Content-Transfer-Encoding: quoted-printable', '', 'caf=E9 =3D long line soft break=', 'continued here'];
      break;
    case 'alternative':
      body = [`Content-Type: multipart/alternative; boundary="${b}"`, '', `--${b}`, 'Content-Type: text/plain; charset=utf-8', '', words(r, 10), `--${b}`, 'Content-Type: text/html; charset=utf-8', '', `<html><body><p>${words(r, 10)}</p><img src="cid:x"></body></html>`, `--${b}--`];
      break;
    case 'attachment':
      body = [`Content-Type: multipart/mixed; boundary="${b}"`, '', `--${b}`, 'Content-Type: text/plain', '', words(r, 8), `--${b}`, 'Content-Type: application/pdf; name="report.pdf"', 'Content-Disposition: attachment; filename="report.pdf"', 'Content-Transfer-Encoding: base64', '', r.bytes(r.range(10, 600)).toString('base64'), `--${b}--`];
      break;
    case 'invite':
      body = [`Content-Type: multipart/alternative; boundary="${b}"`, '', `--${b}`, 'Content-Type: text/plain', '', 'invitation', `--${b}`, 'Content-Type: text/calendar; charset=utf-8; method=REQUEST', '', icalendar(r, from, to), `--${b}--`];
      break;
    case 'vcard':
      body = [`Content-Type: multipart/mixed; boundary="${b}"`, '', `--${b}`, 'Content-Type: text/plain', '', 'my card', `--${b}`, 'Content-Type: text/vcard; name="card.vcf"', 'Content-Disposition: attachment; filename="card.vcf"', '', vcard(r), `--${b}--`];
      break;
    default:
      body = [`Content-Type: multipart/mixed; boundary="${b}"`, '', `--${b}`, 'Content-Type: text/plain', '', 'forwarded', `--${b}`, 'Content-Type: message/rfc822', '', `From: x@example.net`, `Subject: inner ${words(r, 2)}`, '', words(r, 5), `--${b}--`];
  }
  return [...head, ...body].join('\r\n') + '\r\n';
}

/** The mobilesync (or Outlook) Autodiscover request (MS-ASCMD 2.2.1.1). */
export function autodiscoverXml(r: Rng, email: string): string {
  const outlook = r.chance(0.3);
  const ns = outlook ? 'http://schemas.microsoft.com/exchange/autodiscover/outlook/requestschema/2006' : 'http://schemas.microsoft.com/exchange/autodiscover/mobilesync/requestschema/2006';
  const schema = outlook ? 'http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a' : 'http://schemas.microsoft.com/exchange/autodiscover/mobilesync/responseschema/2006';
  return `<?xml version="1.0" encoding="utf-8"?>\n<Autodiscover xmlns="${ns}">\n<Request>\n<EMailAddress>${email}</EMailAddress>\n<AcceptableResponseSchema>${schema}</AcceptableResponseSchema>\n</Request>\n</Autodiscover>\n`;
}

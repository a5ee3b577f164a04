/** Meeting mail for the scenario tests. */

/** An invitation as mail clients send it: text and the text/calendar part with its METHOD (RFC 6047). */
export function invitation(o: { from: string; to: string; subject: string; ics: string; id: string }): Buffer {
  const method = /^METHOD:(\w+)/m.exec(o.ics)?.[1] ?? 'REQUEST';
  return Buffer.from(
    [
      `From: ${o.from}`,
      `To: ${o.to}`,
      `Subject: ${o.subject}`,
      `Message-ID: <${o.id}>`,
      'Date: Wed, 25 Feb 2026 09:00:00 +0000',
      'MIME-Version: 1.0',
      'Content-Type: multipart/alternative; boundary="b1"',
      '',
      '--b1',
      'Content-Type: text/plain; charset=utf-8',
      '',
      o.subject,
      '',
      '--b1',
      `Content-Type: text/calendar; charset="utf-8"; method=${method}`,
      'Content-Transfer-Encoding: 8bit',
      '',
      o.ics.trimEnd(),
      '',
      '--b1--',
      '',
    ].join('\r\n'),
  );
}

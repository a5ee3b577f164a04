/**
 * How much of one message's calendar data delivery turns into calendar items (issue 15 item 8):
 * at most `--max-events-per-message` meetings (iCalendar UIDs, each one calendar item created or
 * changed) per message, across all its text/calendar parts, and at most as many occurrence
 * changes (RECURRENCE-ID overrides) per meeting. One invitation carrying a thousand VEVENTs would
 * otherwise fill the calendar with a thousand items (and cost the CPU to convert them).
 *
 * What is left out is logged at warn and reported to the user once, by a notice in their Inbox
 * (as an item that cannot be synchronized is, kb-2.4: src/sync/failure-notice.ts), naming the
 * message and the first meetings left out. The message itself is delivered as it came.
 */
import type { OmittedEvents } from '../calendar/omitted-events.ts';
import type { JsonObject } from '../ports/types.ts';

/** Default of `--max-events-per-message`: far above any real invitation or calendar update. */
export const DEFAULT_MAX_EVENTS_PER_MESSAGE = 100;

/** FolderSync type of the Inbox (MS-ASCMD 2.2.3.186.3). */
export const INBOX_TYPE = 2;

/** The notice as stored Email data: a plain text message from the server to the recipient. */
export function omittedNoticeData(userEmail: string, message: { subject?: string; from?: string }, omitted: OmittedEvents, limit: number, now: Date): JsonObject {
  const domain = userEmail.includes('@') ? userEmail.slice(userEmail.lastIndexOf('@') + 1) : 'localhost';
  const title = message.subject?.trim() || '(no subject)';
  const lines = [
    'A message you received carries more calendar data than this server adds to a calendar from one message, so part of it is not in your calendar.',
    'The message itself is in your mailbox as it came.',
    '',
    `Message: ${title}`,
    ...(message.from ? [`From: ${message.from}`] : []),
    `Limit: ${limit} meetings per message, and ${limit} changed occurrences per meeting`,
  ];
  if (omitted.events > 0) {
    lines.push(`Meetings left out: ${omitted.events}`);
    for (const s of omitted.subjects) lines.push(`  - ${s}`);
    if (omitted.events > omitted.subjects.length) lines.push(`  - and ${omitted.events - omitted.subjects.length} more`);
  }
  if (omitted.overrides > 0) lines.push(`Changed occurrences left out: ${omitted.overrides}`);
  lines.push('', 'If you need them, ask the sender for smaller messages, or your administrator about --max-events-per-message.');
  return {
    subject: `Not all of "${title}" was added to your calendar`,
    from: `"easd" <postmaster@${domain}>`,
    to: userEmail,
    displayTo: userEmail,
    dateReceived: now.toISOString(),
    importance: 1,
    read: false,
    messageClass: 'IPM.Note',
    body: { text: lines.join('\n') },
  };
}

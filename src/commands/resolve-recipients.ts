/**
 * ResolveRecipients (MS-ASCMD 2.2.1.15): resolves the names or addresses a user typed (To) against
 * the directory, with optional certificates, free/busy and pictures.
 *
 * Resolution of one To: an address of a user (primary or alias) is that user alone; an address in
 * the user's contacts is that contact alone; otherwise the names and addresses matching by prefix
 * in the GAL (Recipient Type 1, src/directory/gal-search.ts) and then in the user's contacts
 * (Type 2, src/directory/contact-match.ts), a contact left out when its address is a GAL entry's
 * already listed. The directory and the contacts are read once per request.
 *
 * Status values (MS-ASCMD 2.2.3.177.12 Status (ResolveRecipients)):
 *   ResolveRecipients: 1 success; 5 protocol error (no To, more than MAX_TO To elements, a To
 *     longer than 256 characters, an option out of its range, Availability without a valid
 *     StartTime before EndTime); 6 server error (the client retries: a transient store failure).
 *   Response: 1 one recipient; 2 ambiguous, all suggestions returned; 3 ambiguous, more matched
 *     than MaxAmbiguousRecipients and that many are returned; 4 not found.
 *   Certificates (CertificateRetrieval 2 full, 3 mini; src/directory/certificates.ts): a local
 *     user (a GAL entry, or a contact whose address is a user's) answers 1 with the user's
 *     stored certificates valid now (expired ones never), 7 when there is none, 8 when they do
 *     not all fit under MaxCertificates; anyone else answers 7. Mini certificates (3) answer 7:
 *     the MiniCertificate BLOB has no published format.
 *   Availability (14.0+, 2.2.3.16): a recipient that is a local user (a GAL entry, or a contact
 *     whose address is a user's address or alias) answers 1 with MergedFreeBusy (2.2.3.107) for
 *     [StartTime, EndTime) computed from the items of that user's default Calendar folder (type
 *     8) with recurrences expanded (src/calendar/free-busy.ts); only the digits are disclosed,
 *     never subjects or other details (a user's answer for one range is kept while the folder's
 *     modseq is unchanged). Any other recipient answers 163 (free/busy could not be
 *     retrieved for this recipient); a transient store failure reading one calendar answers 162
 *     for that recipient; more than 100 resolved recipients answer 160 (too many recipients).
 *     Ambiguous results carry no Availability (2.2.3.16). EndTime defaults to StartTime + 7 days
 *     and must be at least 30 minutes and at most 42 days after StartTime (2.2.3.61.1; 42 days is
 *     Exchange 2010/2013's bound), else Status 5.
 *   Picture (14.1+): 1 with Data, 173 none, 174 larger than MaxSize, 175 MaxPictures reached
 *     (a directory user's picture, or a contact's own).
 */
import { versionNumber } from '../eas/versions.ts';
import { bareAddress } from '../directory/addresses.ts';
import { loadContactCandidates, contactMatches, type ContactRecipient } from '../directory/contact-match.ts';
import { matchGalEntries, pictureFor, PictureStatus, readPictureOptions, type GalPicture, type PictureOptions } from '../directory/gal-search.ts';
import { busyIntervals, mergedFreeBusy } from '../calendar/free-busy.ts';
import { certificatesElement } from '../directory/certificates.ts';
import type { DirectoryEntry } from '../ports/directory.ts';
import type { Mailbox } from '../ports/mailbox.ts';
import { isTransientStoreError, type JsonObject } from '../ports/types.ts';
import { child, children, el, text, type WbxmlElement } from '../wbxml/tree.ts';
import type { FreeBusyCache } from './answer-caches.ts';
import type { CommandHandler, CommandResult } from './types.ts';

const NS = 'ResolveRecipients';

export const ResolveStatus = { Success: 1, ProtocolError: 5, ServerError: 6 } as const;
export const ResponseStatus = { Resolved: 1, Ambiguous: 2, AmbiguousPartial: 3, NotFound: 4 } as const;
export const AvailabilityStatus = { Success: 1, TooManyRecipients: 160, GroupTooLarge: 161, Transient: 162, NotAvailable: 163 } as const;

/** Most To elements one request may carry (our bound; the spec's Availability limit is 100). */
export const MAX_TO = 1000;
const MAX_AVAILABILITY_RECIPIENTS = 100;
/** MS-ASCMD 2.2.3.61.1: EndTime at least 30 minutes after StartTime, at most 42 days; 7 days when absent. */
const MIN_AVAILABILITY_MS = 30 * 60_000;
const MAX_AVAILABILITY_MS = 42 * 86_400_000;
const DEFAULT_AVAILABILITY_MS = 7 * 86_400_000;
/** The default Calendar folder (MS-ASCMD 2.2.3.186.3 FolderSync Type 8). */
const CALENDAR_FOLDER_TYPE = 8;
/** Items read from a calendar per backend read. */
const CALENDAR_PAGE = 1000;
const MAX_TO_LENGTH = 256;
/** Suggestions for an ambiguous name when the request sets no MaxAmbiguousRecipients. */
const DEFAULT_MAX_AMBIGUOUS = 100;

interface Options {
  certificateRetrieval: 1 | 2 | 3;
  maxCertificates?: number;
  maxAmbiguous: number;
  availability?: { start: Date; end: Date };
  picture?: PictureOptions;
}

class ProtocolError extends Error {}

function failure(status: number, reason: string): CommandResult {
  return { body: el(NS, 'ResolveRecipients', el(NS, 'Status', status)), easStatus: status, logFields: { reason } };
}

function intOption(e: WbxmlElement | undefined, name: string, min: number, max: number): number | undefined {
  if (!e) return undefined;
  const v = (text(e) ?? '').trim();
  if (!/^\d{1,5}$/.test(v) || Number(v) < min || Number(v) > max) throw new ProtocolError(`${name} must be ${min}-${max}`);
  return Number(v);
}

/** MS-ASDTYPE 2.3 dateTime, e.g. 2026-03-02T09:00:00.000Z (the Z form devices send). */
function parseDateTime(v: string | undefined): Date | undefined {
  if (v === undefined || !/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,3})?Z$/.test(v.trim())) return undefined;
  const d = new Date(v.trim());
  return Number.isNaN(d.getTime()) ? undefined : d;
}

function readOptions(opts: WbxmlElement | undefined, version: number): Options {
  const o: Options = { certificateRetrieval: 1, maxAmbiguous: DEFAULT_MAX_AMBIGUOUS };
  if (!opts) return o;
  o.certificateRetrieval = (intOption(child(opts, 'CertificateRetrieval', NS), 'CertificateRetrieval', 1, 3) ?? 1) as 1 | 2 | 3;
  o.maxCertificates = intOption(child(opts, 'MaxCertificates', NS), 'MaxCertificates', 0, 9999);
  o.maxAmbiguous = intOption(child(opts, 'MaxAmbiguousRecipients', NS), 'MaxAmbiguousRecipients', 0, 9999) ?? DEFAULT_MAX_AMBIGUOUS;
  const avail = child(opts, 'Availability', NS);
  if (avail && version >= 140) {
    const start = parseDateTime(text(child(avail, 'StartTime', NS)));
    if (!start) throw new ProtocolError('Availability needs a valid StartTime');
    const endEl = child(avail, 'EndTime', NS);
    const end = endEl ? parseDateTime(text(endEl)) : new Date(start.getTime() + DEFAULT_AVAILABILITY_MS);
    if (!end) throw new ProtocolError('Availability EndTime is not a valid dateTime');
    const span = end.getTime() - start.getTime();
    if (span < MIN_AVAILABILITY_MS || span > MAX_AVAILABILITY_MS) throw new ProtocolError('Availability EndTime must be 30 minutes to 42 days after StartTime');
    o.availability = { start, end };
  }
  const pic = child(opts, 'Picture', NS);
  if (pic && version >= 141) {
    const p = readPictureOptions(pic, NS);
    if (!p) throw new ProtocolError('Picture MaxSize and MaxPictures must be numbers');
    o.picture = p;
  }
  return o;
}

/** A recipient found for a To: a directory entry (GAL) or one of the user's contacts. */
type Candidate = { type: 1; entry: DirectoryEntry } | { type: 2; contact: ContactRecipient };

interface Resolution {
  to: string;
  status: number;
  found: Candidate[];
}

function emailOf(c: Candidate): string {
  return c.type === 1 ? c.entry.email : c.contact.emailAddress;
}

function resolveOne(
  to: string,
  entries: readonly DirectoryEntry[],
  contacts: readonly (ContactRecipient & { tokens: string[] })[],
  maxAmbiguous: number,
): Resolution {
  if (to.includes('@')) {
    const a = bareAddress(to);
    const user = entries.find((e) => e.email === a || e.aliases.includes(a));
    if (user) return { to, status: ResponseStatus.Resolved, found: [{ type: 1, entry: user }] };
    const contact = contacts.find((c) => c.emailAddress === a);
    if (contact) return { to, status: ResponseStatus.Resolved, found: [{ type: 2, contact }] };
  }
  const gal = matchGalEntries(entries, to);
  const listed = new Set(gal.flatMap((e) => [e.email, ...e.aliases]));
  const found: Candidate[] = gal.map((entry) => ({ type: 1, entry }));
  for (const c of contacts) {
    if (contactMatches(c, to) && !listed.has(c.emailAddress)) {
      listed.add(c.emailAddress);
      found.push({ type: 2, contact: c });
    }
  }
  if (found.length === 0) return { to, status: ResponseStatus.NotFound, found: [] };
  if (found.length === 1) return { to, status: ResponseStatus.Resolved, found };
  if (found.length <= maxAmbiguous) return { to, status: ResponseStatus.Ambiguous, found };
  return { to, status: ResponseStatus.AmbiguousPartial, found: found.slice(0, maxAmbiguous) };
}

/** The live calendar items of a Calendar folder. */
async function calendarItems(mailbox: Mailbox, folderId: string): Promise<JsonObject[]> {
  const out: JsonObject[] = [];
  for await (const item of mailbox.scan(folderId, { pageSize: CALENDAR_PAGE })) if (item.class === 'Calendar') out.push(item.data);
  return out;
}

/**
 * Recent answers per user, valid while the calendar folder's modseq is unchanged (any change to
 * an item in it raises it): a phone planning a meeting asks the same range again and again, and
 * expanding a busy calendar costs milliseconds per user (bench/calendar/free-busy.ts). The
 * folder row is read every time, so the cache is never stale, also with several processes.
 */

/**
 * A local user's MergedFreeBusy for [from, to) (MS-ASCMD 2.2.3.107) from the default Calendar
 * folder (all free without one): digits only, no details.
 */
export async function userMergedFreeBusy(mailbox: Mailbox, freeBusyCache: FreeBusyCache, from: Date, to: Date): Promise<string> {
  const userId = mailbox.userId;
  const folder = (await mailbox.listFolders()).find((f) => f.type === CALENDAR_FOLDER_TYPE && !f.deleted);
  if (!folder) return mergedFreeBusy([], from, to);
  const hit = freeBusyCache.get(userId);
  if (hit && hit.folderId === folder.id && hit.modseq === folder.modseq && hit.from === from.getTime() && hit.to === to.getTime()) return hit.digits;
  const digits = mergedFreeBusy(busyIntervals(await calendarItems(mailbox, folder.id), from, to), from, to);
  freeBusyCache.set(userId, { folderId: folder.id, modseq: folder.modseq, from: from.getTime(), to: to.getTime(), digits });
  return digits;
}

/** A contact's picture under the same MaxSize/MaxPictures rules as a directory picture. */
function contactPicture(c: ContactRecipient, opts: PictureOptions, returned: { count: number }): GalPicture {
  if (!c.picture) return { status: PictureStatus.NoPicture };
  const data = Buffer.from(c.picture, 'base64');
  if (opts.maxSize !== undefined && data.length > opts.maxSize) return { status: PictureStatus.TooLarge };
  if (opts.maxPictures !== undefined && returned.count >= opts.maxPictures) return { status: PictureStatus.TooMany };
  returned.count++;
  return { status: PictureStatus.Success, data };
}

export const resolveRecipients: CommandHandler = async (ctx) => {
  const req = ctx.request;
  if (!req || req.ns !== NS || req.name !== 'ResolveRecipients') return failure(ResolveStatus.ProtocolError, 'no ResolveRecipients in the request');
  const version = versionNumber(ctx.version);
  const tos = children(req, 'To', NS).map((t) => (text(t) ?? '').trim());
  if (tos.length === 0) return failure(ResolveStatus.ProtocolError, 'no To');
  if (tos.length > MAX_TO) return failure(ResolveStatus.ProtocolError, `more than ${MAX_TO} To`);
  if (tos.some((t) => t === '' || t.length > MAX_TO_LENGTH)) return failure(ResolveStatus.ProtocolError, `a To is empty or longer than ${MAX_TO_LENGTH}`);
  let options: Options;
  try {
    options = readOptions(child(req, 'Options', NS), version);
  } catch (err) {
    if (err instanceof ProtocolError) return failure(ResolveStatus.ProtocolError, err.message);
    throw err;
  }

  try {
    const entries = await ctx.accounts.directory.listEntries();
    const contacts = await loadContactCandidates(ctx.mailbox);
    const resolutions = tos.map((to) => resolveOne(to, entries, contacts, options.maxAmbiguous));
    const resolvedCount = resolutions.reduce((n, r) => n + (r.status === ResponseStatus.Resolved ? r.found.length : 0), 0);
    const pictures = { count: 0 };
    // MaxCertificates bounds the certificates of the whole response (MS-ASCMD 2.2.3.101).
    const certificateBudget: { left?: number } = options.maxCertificates === undefined ? {} : { left: options.maxCertificates };
    // Local users by every address they receive at, so a contact naming one gets its free/busy.
    const userByAddress = new Map<string, string>();
    for (const e of entries) for (const a of [e.email, ...e.aliases]) userByAddress.set(a, e.userId);
    const freeBusy = new Map<string, Promise<string>>();
    const availabilityOf = async (c: Candidate, range: { start: Date; end: Date }): Promise<WbxmlElement> => {
      if (resolvedCount > MAX_AVAILABILITY_RECIPIENTS) return el(NS, 'Availability', el(NS, 'Status', AvailabilityStatus.TooManyRecipients));
      const userId = c.type === 1 ? c.entry.userId : userByAddress.get(bareAddress(c.contact.emailAddress));
      if (userId === undefined) return el(NS, 'Availability', el(NS, 'Status', AvailabilityStatus.NotAvailable));
      let pending = freeBusy.get(userId);
      // Another user's calendar, through their mailbox (whatever keeps it).
      if (!pending) freeBusy.set(userId, (pending = userMergedFreeBusy(ctx.services.mailboxes.open(userId), ctx.services.freeBusy, range.start, range.end)));
      try {
        const digits = await pending;
        return el(NS, 'Availability', el(NS, 'Status', AvailabilityStatus.Success), el(NS, 'MergedFreeBusy', digits));
      } catch (err) {
        if (!isTransientStoreError(err)) throw err;
        ctx.log.warn({ err, userId }, 'ResolveRecipients: calendar not readable for free/busy');
        return el(NS, 'Availability', el(NS, 'Status', AvailabilityStatus.Transient));
      }
    };
    const responses: WbxmlElement[] = [];
    for (const r of resolutions) {
      const recipients: WbxmlElement[] = [];
      for (const c of r.found) {
        let availability: WbxmlElement | null = null;
        if (options.availability && r.status === ResponseStatus.Resolved) availability = await availabilityOf(c, options.availability);
        let certificates: WbxmlElement | null = null;
        if (options.certificateRetrieval !== 1) {
          const certUserId = c.type === 1 ? c.entry.userId : userByAddress.get(bareAddress(c.contact.emailAddress));
          const ders = certUserId === undefined ? [] : (await ctx.accounts.directory.listCertificates(certUserId)).map((x) => x.der);
          certificates = certificatesElement(ders, options.certificateRetrieval, new Date(), certificateBudget);
        }
        let picture: WbxmlElement | null = null;
        if (options.picture) {
          const p = c.type === 1 ? await pictureFor(ctx.accounts, c.entry, options.picture, pictures) : contactPicture(c.contact, options.picture, pictures);
          picture = el(NS, 'Picture', el(NS, 'Status', p.status), p.data ? el(NS, 'Data', p.data.toString('base64')) : null);
        }
        const displayName = c.type === 1 ? (c.entry.displayName ?? c.entry.email) : c.contact.displayName;
        recipients.push(
          el(NS, 'Recipient', el(NS, 'Type', c.type), el(NS, 'DisplayName', displayName), el(NS, 'EmailAddress', emailOf(c)), availability, certificates, picture),
        );
      }
      responses.push(
        el(NS, 'Response', el(NS, 'To', r.to), el(NS, 'Status', r.status), el(NS, 'RecipientCount', recipients.length), recipients),
      );
    }
    return {
      body: el(NS, 'ResolveRecipients', el(NS, 'Status', ResolveStatus.Success), responses),
      easStatus: ResolveStatus.Success,
      logFields: { to: tos.length, resolved: resolvedCount },
    };
  } catch (err) {
    if (!isTransientStoreError(err)) ctx.log.error({ err }, 'ResolveRecipients failed');
    return failure(ResolveStatus.ServerError, 'server error');
  }
};

/**
 * Find (MS-ASCMD 2.2.1.2, protocol 16.1): a mailbox query (MailBoxSearchCriterion: Query with
 * airsync:Class, airsync:CollectionId, FreeText in Keyword Query Language as iOS Mail sends it,
 * read by src/mail/kql.ts and matched as Search matches it; Options with Range and
 * DeepTraversal) or a GAL
 * query (GALSearchCriterion: Query text; Options with Range). Mailbox results carry the
 * airsync:ServerId and CollectionId of each item and the summary Properties of 2.2.3.139.1:
 * Subject, DateReceived, DisplayTo, DisplayCc, DisplayBcc, Importance, Read, IsDraft, Preview,
 * HasAttachments, From. GAL results carry the gal: properties (src/directory/gal-search.ts).
 *
 * Status (2.2.3.177.2), in Find and in Response:
 *   1 success (also with no match: Total 0);
 *   2 request invalid: no SearchId or ExecuteSearch, neither or both criteria, no FreeText or
 *     Query text, a Class other than Email, a malformed Range;
 *   3 FolderSync required: a CollectionId that is not one of the user's folders;
 *   4 the Range does not start at 0 (Find pages only from the first result).
 * A server failure is answered with Find Status 2 and logged: the Find table has no server
 * error code, and 2 is what stops the client from retrying in a loop.
 */
import { GalStatus, galProperties, searchGal } from '../directory/gal-search.ts';
import { MAX_FREE_TEXT_LENGTH, MAX_SEARCH_RESULTS, parseRange, searchMailbox } from '../mail/search.ts';
import type { Item, JsonObject } from '../ports/types.ts';
import { child, childText, el, text, type WbxmlElement } from '../wbxml/tree.ts';
import type { CommandContext, CommandHandler, CommandResult } from './types.ts';

const F = 'Find';
const AS = 'AirSync';
const E = 'Email';

export const FindStatus = { Success: 1, InvalidRequest: 2, FolderSyncRequired: 3, StartWithRangeZero: 4 } as const;

/** An overlong query (src/mail/search.ts MAX_FREE_TEXT_LENGTH): Status 2, a warn line, not an error. */
function refuseLong(ctx: CommandContext, reason: string): CommandResult {
  ctx.log.warn({ reason }, 'Find query refused');
  return fail(FindStatus.InvalidRequest, reason);
}

function fail(status: number, reason: string): CommandResult {
  return { body: el(F, 'Find', el(F, 'Status', status)), easStatus: status, logFields: { reason } };
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' && v !== '' ? v : undefined;
}

/** Plain-text preview of the body: white space collapsed, at most 255 characters. */
function previewOf(d: JsonObject): string | undefined {
  const body = (d.body && typeof d.body === 'object' && !Array.isArray(d.body) ? d.body : {}) as JsonObject;
  const t = str(body.text) ?? (str(body.html) ?? '').replace(/<[^>]*>/g, ' ');
  const p = t.replace(/\s+/g, ' ').trim();
  return p === '' ? undefined : Array.from(p).slice(0, 255).join('');
}

/**
 * The display names of an address list ("Ann" <a@x>, b@y -> Ann; b@y), read by hand in one pass:
 * the regular expressions this replaces (a split on commas followed by an even number of quotes,
 * a lazy name before optional quotes and spaces) were quadratic on a long header: 16 KB of
 * spaces in one address took 7 s.
 */
export function displayNames(list: string | undefined): string | undefined {
  if (!list) return undefined;
  return splitAddressList(list)
    .map(displayNameOf)
    .filter((s) => s !== '')
    .join('; ');
}

/** The list split at commas with an even number of double quotes after them (outside quotes). */
function splitAddressList(list: string): string[] {
  let quotesAfter = 0;
  for (let i = 0; i < list.length; i++) if (list.charCodeAt(i) === 0x22) quotesAfter++;
  const out: string[] = [];
  let start = 0;
  for (let i = 0; i < list.length; i++) {
    const c = list.charCodeAt(i);
    if (c === 0x22) quotesAfter--;
    else if (c === 0x2c && quotesAfter % 2 === 0) {
      out.push(list.slice(start, i));
      start = i + 1;
    }
  }
  out.push(list.slice(start));
  return out;
}

/** `"Name" <addr>` or `Name <addr>` -> Name (no quote inside it); anything else trimmed as it is. */
function displayNameOf(address: string): string {
  const a = address.trim();
  const lt = a.indexOf('<');
  if (lt < 0 || a.indexOf('>', lt) !== a.length - 1) return a;
  let name = a.slice(0, lt).trim();
  if (name.startsWith('"')) name = name.slice(1);
  if (name.endsWith('"')) name = name.slice(0, -1);
  if (name.includes('"')) return a;
  return name.trim() || a;
}

function mailProperties(item: Item): WbxmlElement[] {
  const d = item.data;
  const atts = Array.isArray(d.attachments) ? d.attachments : [];
  return [
    el(E, 'Subject', str(d.subject) ?? ''),
    str(d.dateReceived) ? el(E, 'DateReceived', str(d.dateReceived)!) : null,
    el(E, 'DisplayTo', str(d.displayTo) ?? displayNames(str(d.to)) ?? ''),
    displayNames(str(d.cc)) ? el(F, 'DisplayCc', displayNames(str(d.cc))!) : null,
    displayNames(str(d.bcc)) ? el(F, 'DisplayBcc', displayNames(str(d.bcc))!) : null,
    el(E, 'Importance', typeof d.importance === 'number' ? d.importance : 1),
    el(E, 'Read', d.read === true ? 1 : 0),
    el('Email2', 'IsDraft', d.isDraft === true ? 1 : 0),
    previewOf(d) ? el(F, 'Preview', previewOf(d)!) : null,
    el(F, 'HasAttachments', atts.some((a) => a && typeof a === 'object' && !Array.isArray(a) && a.isInline !== true) ? 1 : 0),
    str(d.from) ? el(E, 'From', str(d.from)!) : null,
  ].filter((x): x is WbxmlElement => x !== null);
}

function rangeOf(options: WbxmlElement | undefined): [number, number] | 'invalid' | 'not_zero' {
  const r = parseRange(options ? childText(options, 'Range', F) : undefined);
  if (!r) return 'invalid';
  if (r[0] !== 0) return 'not_zero';
  return [0, Math.min(r[1], MAX_SEARCH_RESULTS - 1)];
}

export const find: CommandHandler = async (ctx) => {
  const req = ctx.request;
  if (!req || req.ns !== F || req.name !== 'Find') return fail(FindStatus.InvalidRequest, 'no Find in the request');
  const searchId = childText(req, 'SearchId', F);
  const exec = child(req, 'ExecuteSearch', F);
  if (!searchId || !exec) return fail(FindStatus.InvalidRequest, 'SearchId and ExecuteSearch are required');
  const mailbox = child(exec, 'MailBoxSearchCriterion', F);
  const gal = child(exec, 'GalSearchCriterion', F);
  if ((mailbox === undefined) === (gal === undefined)) return fail(FindStatus.InvalidRequest, 'exactly one search criterion is required');
  const criterion = (mailbox ?? gal)!;
  const query = child(criterion, 'Query', F);
  const options = child(criterion, 'Options', F);
  if (!query) return fail(FindStatus.InvalidRequest, 'Query is missing');
  const range = rangeOf(options);
  if (range === 'invalid') return fail(FindStatus.InvalidRequest, 'malformed Range');
  const ok = (storeName: string, results: WbxmlElement[], total: number, n: number): CommandResult => ({
    body: el(
      F,
      'Find',
      el(F, 'Status', FindStatus.Success),
      el(
        F,
        'Response',
        el('ItemOperations', 'Store', storeName),
        el(F, 'Status', range === 'not_zero' ? FindStatus.StartWithRangeZero : FindStatus.Success),
        results,
        n > 0 ? el(F, 'Range', `0-${n - 1}`) : null,
        el(F, 'Total', total),
      ),
    ),
    easStatus: FindStatus.Success,
    logFields: { results: n, total },
  });
  if (range === 'not_zero') return ok(mailbox ? 'Mailbox' : 'GAL', [], 0, 0);

  try {
    if (mailbox) {
      const cls = childText(query, 'Class', AS)?.trim();
      if (cls !== undefined && cls !== 'Email') return fail(FindStatus.InvalidRequest, `Class ${cls} is not searched`);
      const collectionId = childText(query, 'CollectionId', AS)?.trim();
      const freeText = childText(query, 'FreeText', F);
      if (!freeText?.trim()) return fail(FindStatus.InvalidRequest, 'FreeText is missing');
      if (freeText.length > MAX_FREE_TEXT_LENGTH) return refuseLong(ctx, `FreeText longer than ${MAX_FREE_TEXT_LENGTH}`);
      const outcome = await searchMailbox(ctx.mailbox, ctx.services.searchIndex, {
        freeText,
        ...(collectionId ? { collectionIds: [collectionId] } : {}),
        deepTraversal: options ? child(options, 'DeepTraversal', F) !== undefined : false,
        range,
      });
      if (outcome.kind === 'invalid') return fail(FindStatus.InvalidRequest, outcome.reason);
      if (outcome.kind === 'unknown_folder') return fail(FindStatus.FolderSyncRequired, `CollectionId ${outcome.collectionId} is not a folder of the user`);
      const folders = new Map((await ctx.mailbox.listFolders()).map((f) => [f.id, f.serverId]));
      const results = outcome.items.map((item) =>
        el(
          F,
          'Result',
          el(AS, 'Class', item.class),
          el(AS, 'ServerId', item.serverId),
          el(AS, 'CollectionId', folders.get(item.folderId) ?? ''),
          el(F, 'Properties', mailProperties(item)),
        ),
      );
      return ok('Mailbox', results, outcome.total, results.length);
    }
    const q = text(query)?.trim() ?? '';
    if (q === '') return fail(FindStatus.InvalidRequest, 'Query is empty');
    const outcome = await searchGal(ctx.accounts, { query: q, range: `${range[0]}-${range[1]}`, version: ctx.version });
    if (outcome.status === GalStatus.TooComplex) return refuseLong(ctx, 'GAL query too long');
    if (outcome.status !== 1 && outcome.status !== 12) return fail(FindStatus.InvalidRequest, `GAL search status ${outcome.status}`);
    const results = outcome.results.map((r) => el(F, 'Result', el(F, 'Properties', galProperties(r))));
    return ok('GAL', results, outcome.total, results.length);
  } catch (err) {
    ctx.log.error({ err }, 'Find failed');
    return fail(FindStatus.InvalidRequest, 'server error');
  }
};

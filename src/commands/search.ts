/**
 * Search (MS-ASCMD 2.2.1.16) of the mailbox (Store Name "Mailbox") and of the global address
 * list (Store Name "GAL", answered by src/directory/gal-search.ts searchGal).
 *
 * Mailbox query (2.2.3.142.2 Query): an And (or the Query itself) holding airsync:Class,
 * airsync:CollectionId (one or more; absent: every mail folder), FreeText (Keyword Query
 * Language, src/mail/kql.ts, the same reading as Find's), Or of FreeTexts (and of And and Or of
 * them), ConversationId, and GreaterThan/LessThan on email:DateReceived with a Value. Options: Range (default 0-99, at
 * most 100 results), DeepTraversal (subfolders of the CollectionIds too), RebuildResults
 * (always satisfied, src/mail/search.ts), airsyncbase:BodyPreference (how each result's body
 * is sent), MIMESupport. Each Result: airsync:Class, LongId (src/mail/search.ts), the item's
 * airsync:CollectionId and Properties, its class's elements as Sync sends them.
 *
 * Status (2.2.3.177.13): Search Status 1, or 3 for a server error. Store Status:
 *   1 success (also with no match: an empty Result and Total 0);
 *   2 request invalid: no Store, an unknown Store Name, no FreeText or ConversationId, a bad
 *     Range, an element that is not understood;
 *   3 server error;
 *   8 too complex: EqualTo (a DocumentLibrary restriction, 2.2.3.62), or an Or holding anything
 *     but FreeText, And and Or;
 *   11 FolderSync required: a CollectionId that is not one of the user's folders.
 */
import { converterFor, type BodyPreference } from '../classes/index.ts';
import { GAL_MAX_QUERY_LENGTH, galStoreElement, readPictureOptions, searchGal } from '../directory/gal-search.ts';
import { conversationIdHex, longIdOf, MAX_FREE_TEXT_LENGTH, MAX_SEARCH_RESULTS, parseRange, searchMailbox, type MailboxQuery } from '../mail/search.ts';
import { parseKql, type KqlNode } from '../mail/kql.ts';
import { isTransientStoreError } from '../ports/types.ts';
import { child, childText, children, el, isElement, text, type WbxmlElement } from '../wbxml/tree.ts';
import type { CommandContext, CommandHandler, CommandResult } from './types.ts';

const S = 'Search';
const AS = 'AirSync';
const ASB = 'AirSyncBase';

export const SearchStoreStatus = {
  Success: 1,
  InvalidRequest: 2,
  ServerError: 3,
  TooComplex: 8,
  FolderSyncRequired: 11,
} as const;

class InvalidSearch extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

function respond(store: WbxmlElement, easStatus: number, reason?: string): CommandResult {
  return {
    body: el(S, 'Search', el(S, 'Status', 1), el(S, 'Response', store)),
    easStatus,
    ...(reason ? { logFields: { reason } } : {}),
  };
}

function storeStatus(status: number, reason: string): CommandResult {
  return respond(el(S, 'Store', el(S, 'Status', status)), status, reason);
}

/** BodyPreference elements of Options (MS-ASAIRS 2.2.2.7); malformed ones are a bad request. */
export function readBodyPreferences(options: WbxmlElement | undefined): BodyPreference[] {
  if (!options) return [];
  return children(options, 'BodyPreference', ASB).map((e) => {
    const type = Number(childText(e, 'Type', ASB));
    if (![1, 2, 3, 4].includes(type)) throw new InvalidSearch(SearchStoreStatus.InvalidRequest, 'BodyPreference Type');
    const pref: BodyPreference = { type: type as BodyPreference['type'] };
    const size = childText(e, 'TruncationSize', ASB);
    if (size !== undefined) {
      if (!/^\d{1,10}$/.test(size.trim())) throw new InvalidSearch(SearchStoreStatus.InvalidRequest, 'TruncationSize');
      pref.truncationSize = Number(size.trim());
    }
    if (childText(e, 'AllOrNone', ASB)?.trim() === '1') pref.allOrNone = true;
    const preview = childText(e, 'Preview', ASB);
    if (preview !== undefined && /^\d{1,3}$/.test(preview.trim()) && Number(preview) <= 255) pref.preview = Number(preview);
    return pref;
  });
}

function dateBound(e: WbxmlElement): string {
  const ref = child(e, 'DateReceived', 'Email');
  const value = childText(e, 'Value', S)?.trim();
  const d = value ? new Date(value) : undefined;
  if (!ref || !d || Number.isNaN(d.getTime())) throw new InvalidSearch(SearchStoreStatus.InvalidRequest, `${e.name} needs email:DateReceived and a date Value`);
  return d.toISOString();
}

/**
 * The word part of a query (MS-ASCMD 2.2.3.73.2 FreeText, 2.2.3.120.1 Or, 2.2.3.7.2 And): each
 * FreeText read as Keyword Query Language (src/mail/kql.ts), under And and Or as nested. Inside
 * an Or only FreeText, And and Or are evaluated; anything else there is too complex (Status 8).
 */
function wordQuery(kind: 'and' | 'or', elements: readonly WbxmlElement[], depth = 0): KqlNode | null {
  if (depth > 8) throw new InvalidSearch(SearchStoreStatus.TooComplex, 'And and Or nested too deep');
  const parts: KqlNode[] = [];
  for (const e of elements) {
    let n: KqlNode | null;
    if (e.ns === S && e.name === 'FreeText' && (text(e) ?? '').length > MAX_FREE_TEXT_LENGTH) throw new InvalidSearch(SearchStoreStatus.TooComplex, `FreeText longer than ${MAX_FREE_TEXT_LENGTH}`);
    if (e.ns === S && e.name === 'FreeText') n = parseKql(text(e) ?? '');
    else if (e.ns === S && (e.name === 'Or' || e.name === 'And')) n = wordQuery(e.name === 'Or' ? 'or' : 'and', e.children.filter(isElement), depth + 1);
    else throw new InvalidSearch(SearchStoreStatus.TooComplex, `${e.name} is not evaluated inside Or`);
    if (n) parts.push(n);
  }
  if (parts.length === 0) return null;
  return parts.length === 1 ? parts[0]! : { kind, children: parts };
}

function readMailboxQuery(query: WbxmlElement, options: WbxmlElement | undefined): MailboxQuery {
  const and = child(query, 'And', S) ?? query;
  const q: MailboxQuery = { deepTraversal: false, range: [0, MAX_SEARCH_RESULTS - 1] };
  const collectionIds: string[] = [];
  const words: WbxmlElement[] = [];
  for (const c of and.children) {
    if (!isElement(c)) continue;
    const key = `${c.ns}:${c.name}`;
    switch (key) {
      case 'AirSync:Class': {
        const cls = text(c)?.trim();
        if (cls !== 'Email') throw new InvalidSearch(SearchStoreStatus.InvalidRequest, `Class ${cls} is not searched`);
        break;
      }
      case 'AirSync:CollectionId':
        collectionIds.push(text(c)?.trim() ?? '');
        break;
      case 'Search:FreeText':
      case 'Search:Or':
        words.push(c);
        break;
      case 'Search:ConversationId': {
        const raw = c.children[0];
        if (raw === undefined || isElement(raw)) throw new InvalidSearch(SearchStoreStatus.InvalidRequest, 'empty ConversationId');
        q.conversationId = conversationIdHex(raw);
        break;
      }
      case 'Search:GreaterThan':
        q.receivedAfter = dateBound(c);
        break;
      case 'Search:LessThan':
        q.receivedBefore = dateBound(c);
        break;
      case 'Search:EqualTo':
        throw new InvalidSearch(SearchStoreStatus.TooComplex, `${c.name} is not evaluated`);
      default:
        throw new InvalidSearch(SearchStoreStatus.InvalidRequest, `${key} is not understood in a mailbox query`);
    }
  }
  if (collectionIds.length > 0) q.collectionIds = collectionIds;
  const tree = wordQuery('and', words);
  if (tree) q.query = tree;
  else if (words.length > 0) q.freeText = words.map((e) => text(e) ?? '').join(' '); // no word in it: empty is a bad request, else nothing is found
  if (options) {
    const range = parseRange(childText(options, 'Range', S));
    if (!range) throw new InvalidSearch(SearchStoreStatus.InvalidRequest, 'Range');
    q.range = range;
    q.deepTraversal = child(options, 'DeepTraversal', S) !== undefined;
  }
  return q;
}

async function mailboxStore(ctx: CommandContext, query: WbxmlElement, options: WbxmlElement | undefined): Promise<CommandResult> {
  const q = readMailboxQuery(query, options);
  const bodyPreferences = readBodyPreferences(options);
  const mimeSupportText = options ? childText(options, 'MIMESupport', AS)?.trim() : undefined;
  const mimeSupport = mimeSupportText === '1' ? 1 : mimeSupportText === '2' ? 2 : 0;
  const outcome = await searchMailbox(ctx.mailbox, ctx.services.searchIndex, q);
  if (outcome.kind === 'invalid') return storeStatus(SearchStoreStatus.InvalidRequest, outcome.reason);
  if (outcome.kind === 'unknown_folder') return storeStatus(SearchStoreStatus.FolderSyncRequired, `CollectionId ${outcome.collectionId} is not a folder of the user`);
  const folders = new Map((await ctx.mailbox.listFolders()).map((f) => [f.id, f]));
  const results: WbxmlElement[] = [];
  for (const item of outcome.items) {
    let props: WbxmlElement[];
    try {
      props = converterFor(item.class).toEas(item.data, { version: ctx.version, bodyPreferences, mimeSupport });
    } catch (err) {
      ctx.log.warn({ err, itemId: item.id }, 'Search: a result cannot be converted; left out');
      continue;
    }
    results.push(
      el(
        S,
        'Result',
        el(AS, 'Class', item.class),
        el(S, 'LongId', longIdOf(item)),
        el(AS, 'CollectionId', folders.get(item.folderId)?.serverId ?? ''),
        el(S, 'Properties', props),
      ),
    );
  }
  const range = results.length > 0 && outcome.range ? `${outcome.range[0]}-${outcome.range[0] + results.length - 1}` : undefined;
  return {
    ...respond(
      el(
        S,
        'Store',
        el(S, 'Status', SearchStoreStatus.Success),
        results.length > 0 ? results : [el(S, 'Result')],
        range !== undefined ? el(S, 'Range', range) : null,
        el(S, 'Total', outcome.total),
      ),
      SearchStoreStatus.Success,
    ),
    logFields: { results: results.length, total: outcome.total },
  };
}

async function galStore(ctx: CommandContext, query: WbxmlElement, options: WbxmlElement | undefined): Promise<CommandResult> {
  const picture = options ? child(options, 'Picture', S) : undefined;
  const pictureOptions = picture ? readPictureOptions(picture, S) : undefined;
  if (pictureOptions === null) return storeStatus(SearchStoreStatus.InvalidRequest, 'Picture options');
  const outcome = await searchGal(ctx.accounts, {
    query: text(query) ?? '',
    range: options ? childText(options, 'Range', S) : undefined,
    version: ctx.version,
    ...(pictureOptions ? { picture: pictureOptions } : {}),
  });
  if (outcome.status === SearchStoreStatus.TooComplex) throw new InvalidSearch(outcome.status, `GAL query longer than ${GAL_MAX_QUERY_LENGTH}`);
  return { ...respond(galStoreElement(outcome), outcome.status), logFields: { results: outcome.results.length, total: outcome.total } };
}

export const search: CommandHandler = async (ctx) => {
  const req = ctx.request;
  const store = req && req.ns === S && req.name === 'Search' ? children(req, 'Store', S) : [];
  if (store.length !== 1) return storeStatus(SearchStoreStatus.InvalidRequest, 'one Store is required');
  const name = childText(store[0]!, 'Name', S)?.trim();
  const query = child(store[0]!, 'Query', S);
  const options = child(store[0]!, 'Options', S);
  if (!query) return storeStatus(SearchStoreStatus.InvalidRequest, 'Query is missing');
  try {
    if (name?.toLowerCase() === 'mailbox') return await mailboxStore(ctx, query, options);
    if (name?.toUpperCase() === 'GAL') return await galStore(ctx, query, options);
    return storeStatus(SearchStoreStatus.InvalidRequest, `Store ${name ?? '(none)'} is not searched`);
  } catch (err) {
    if (err instanceof InvalidSearch) {
      // An overlong query is a client's (or a fuzzer's) doing, not ours: warn, not error.
      if (err.status === SearchStoreStatus.TooComplex) ctx.log.warn({ reason: err.message }, 'Search query refused');
      return storeStatus(err.status, err.message);
    }
    if (!isTransientStoreError(err)) ctx.log.error({ err }, 'Search failed');
    return { body: el(S, 'Search', el(S, 'Status', 3)), easStatus: 3, logFields: { reason: 'server error' } };
  }
};

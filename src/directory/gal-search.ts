/**
 * Search with Store=GAL (MS-ASCMD 2.2.1.16): the global address list is every user of the
 * deployment with their directory fields (src/store/directory-types.ts).
 *
 * Matching (ambiguous name resolution, as Exchange does it loosely): the query is split into
 * words; an entry matches when every word is a case-insensitive prefix of one of its tokens:
 * the first name, last name, each word of the display name, the primary address and each alias
 * (whole, and their local parts). So "smi", "ann smi", "ann@ex" and "sales" (an alias
 * sales@example.com) all find Ann Smith <ann@example.com>. Results are ordered by display name
 * (the address when there is none).
 *
 * Range (MS-ASCMD 2.2.3.143.3): "m-n", zero-based and inclusive; absent means 0-99. The GAL
 * returns at most 100 entries (indexes 0-99); a Range reaching past index 99 is cut there, and
 * when matches were actually left out by that cut the Store Status is 12 (end of retrievable
 * range) instead of 1. A malformed Range (not m-n, or m > n) is Status 2 (invalid request). The
 * response Range names what is returned and Total how many matched; with no match the response
 * has one empty Result and Total 0 (no Range).
 *
 * Pictures (14.1+, MS-ASCMD 2.2.3.135 Picture and its gal:Status): when the
 * request has Options/Picture, every result carries gal:Picture with Status 1 and the bytes
 * (gal:Data, base64), 173 when the user has no picture, 174 when it is larger than MaxSize, 175
 * when MaxPictures pictures were already returned in this response.
 *
 * Query length: MS-ASCMD 2.2.3.139.2 (Query) sets no bound, but a name or address is short
 * (ResolveRecipients bounds To at 256, as Exchange 2010/2013 do) and the query becomes a SQL LIKE
 * pattern, which SQLite refuses past 50,000 bytes ("LIKE or GLOB pattern too complex"). A query
 * longer than GAL_MAX_QUERY_LENGTH is Store Status 8, "the search query is too complex"
 * (MS-ASCMD 2.2.3.177.16), decided before the store is read.
 *
 * The store narrows the read to entries containing the first query word (a scan inside the
 * database, about 10 ms for 5,000 users on SQLite); a much larger directory wants an indexed
 * name table.
 */
import { versionNumber } from '../eas/versions.ts';
import type { DirectoryEntry } from '../ports/directory.ts';
import type { AccountsStore } from '../ports/store.ts';
import { el, type WbxmlElement } from '../wbxml/tree.ts';

/** Search Store Status values (MS-ASCMD 2.2.3.177.16) this module answers with. */
export const GalStatus = { Success: 1, InvalidRequest: 2, ServerError: 3, TooComplex: 8, EndOfRange: 12 } as const;

/** Longest GAL query searched (characters); see the module comment. */
export const GAL_MAX_QUERY_LENGTH = 256;

/** Picture Status values (shared by Search GAL and ResolveRecipients). */
export const PictureStatus = { Success: 1, NoPicture: 173, TooLarge: 174, TooMany: 175 } as const;

/** Most entries one GAL search returns (indexes 0-99). */
export const GAL_MAX_RESULTS = 100;

export interface PictureOptions {
  /** Largest picture to return, in bytes; absent: any. */
  maxSize?: number;
  /** Most pictures in one response; absent: no limit. */
  maxPictures?: number;
}

export interface GalSearchRequest {
  query: string;
  /** The request's Range text ("0-9"), if any. */
  range?: string;
  /** Options/Picture of the request (14.1+); absent: no pictures. */
  picture?: PictureOptions;
  /** Protocol version of the request (pictures from 14.1). */
  version: string;
}

export interface GalPicture {
  status: number;
  data?: Buffer;
}

/** One GAL result: the Search GAL properties (MS-ASCMD 2.2.3.137 Properties), absent when empty. */
export interface GalResult {
  userId: string;
  displayName?: string;
  phone?: string;
  office?: string;
  title?: string;
  company?: string;
  alias?: string;
  firstName?: string;
  lastName?: string;
  homePhone?: string;
  mobilePhone?: string;
  emailAddress: string;
  picture?: GalPicture;
}

export interface GalSearchOutcome {
  status: number;
  results: GalResult[];
  /** "m-n" of what is returned; absent when nothing is. */
  range?: string;
  /** How many entries matched (before the range). */
  total: number;
}

/** Parses "m-n" (both non-negative integers, m <= n); null when malformed. */
export function parseRange(range: string | undefined, defaultRange: [number, number] = [0, GAL_MAX_RESULTS - 1]): [number, number] | null {
  if (range === undefined) return defaultRange;
  const m = /^\s*(\d{1,9})\s*-\s*(\d{1,9})\s*$/.exec(range);
  if (!m) return null;
  const lo = Number(m[1]);
  const hi = Number(m[2]);
  return lo <= hi ? [lo, hi] : null;
}

function words(s: string | null | undefined): string[] {
  return (s ?? '')
    .toLowerCase()
    .split(/[\s,;()"]+/)
    .filter((w) => w !== '');
}

/** The lowercased strings a query word may be a prefix of. */
export function entryTokens(e: DirectoryEntry): string[] {
  const tokens = new Set<string>();
  for (const s of [e.firstName, e.lastName]) for (const w of words(s)) tokens.add(w);
  for (const w of words(e.displayName)) tokens.add(w);
  if (e.displayName) tokens.add(e.displayName.toLowerCase());
  for (const a of [e.email, ...e.aliases]) {
    tokens.add(a.toLowerCase());
    const at = a.indexOf('@');
    if (at > 0) tokens.add(a.slice(0, at).toLowerCase());
  }
  return [...tokens];
}

/** Whether every word of the query is a prefix of one of the entry's tokens. */
export function matchesQuery(e: DirectoryEntry, query: string): boolean {
  const qs = words(query);
  if (qs.length === 0) return false;
  const tokens = entryTokens(e);
  // The whole query may also be a prefix of the display name ("ann sm" of "Ann Smith").
  const whole = query.trim().toLowerCase();
  if (e.displayName && e.displayName.toLowerCase().startsWith(whole)) return true;
  return qs.every((q) => tokens.some((t) => t.startsWith(q)));
}

function sortKey(e: DirectoryEntry): string {
  return (e.displayName ?? e.email).toLowerCase();
}

/** The entries matching the query, in result order. */
export function matchGalEntries(all: readonly DirectoryEntry[], query: string): DirectoryEntry[] {
  return all
    .filter((e) => matchesQuery(e, query))
    .sort((a, b) => (sortKey(a) < sortKey(b) ? -1 : sortKey(a) > sortKey(b) ? 1 : a.email < b.email ? -1 : 1));
}

/**
 * Matching entries of the directory, in result order. The store narrows the read to entries
 * containing the query's first word (any token it prefixes contains it); only for ASCII, where
 * both databases lowercase as JavaScript does.
 */
export async function findGalEntries(accounts: Pick<AccountsStore, 'directory'>, query: string): Promise<DirectoryEntry[]> {
  const first = words(query)[0] ?? '';
  const narrow = /^[\x20-\x7e]+$/.test(first);
  return matchGalEntries(await accounts.directory.listEntries(narrow ? { containing: first } : {}), query);
}

/** The Alias of the GAL: the local part of the primary address (Exchange's mail nickname). */
function aliasOf(e: DirectoryEntry): string | undefined {
  const at = e.email.indexOf('@');
  return at > 0 ? e.email.slice(0, at) : undefined;
}

/**
 * Pictures for entries in order, honouring MaxSize and MaxPictures; `returned` counts pictures
 * already given in this response (shared with ResolveRecipients, which counts across its To
 * elements).
 */
export async function pictureFor(
  accounts: Pick<AccountsStore, 'directory'>,
  e: DirectoryEntry,
  opts: PictureOptions,
  returned: { count: number },
): Promise<GalPicture> {
  if (e.pictureSize === 0) return { status: PictureStatus.NoPicture };
  if (opts.maxSize !== undefined && e.pictureSize > opts.maxSize) return { status: PictureStatus.TooLarge };
  if (opts.maxPictures !== undefined && returned.count >= opts.maxPictures) return { status: PictureStatus.TooMany };
  const data = await accounts.directory.getPicture(e.userId);
  if (!data) return { status: PictureStatus.NoPicture };
  returned.count++;
  return { status: PictureStatus.Success, data };
}

export function toGalResult(e: DirectoryEntry): GalResult {
  const opt = (v: string | null | undefined) => (v ? v : undefined);
  return {
    userId: e.userId,
    displayName: opt(e.displayName),
    phone: opt(e.phone),
    office: opt(e.office),
    title: opt(e.title),
    company: opt(e.company),
    alias: aliasOf(e),
    firstName: opt(e.firstName),
    lastName: opt(e.lastName),
    homePhone: opt(e.homePhone),
    mobilePhone: opt(e.mobilePhone),
    emailAddress: e.email,
  };
}

export async function searchGal(accounts: Pick<AccountsStore, 'directory'>, req: GalSearchRequest): Promise<GalSearchOutcome> {
  const range = parseRange(req.range);
  if (!range || req.query.trim() === '') return { status: GalStatus.InvalidRequest, results: [], total: 0 };
  if (req.query.length > GAL_MAX_QUERY_LENGTH) return { status: GalStatus.TooComplex, results: [], total: 0 };
  const [lo, hiRequested] = range;
  const hi = Math.min(hiRequested, GAL_MAX_RESULTS - 1);
  const matches = await findGalEntries(accounts, req.query);
  const total = matches.length;
  const slice = lo > hi ? [] : matches.slice(lo, hi + 1);
  const cut = hiRequested > hi && total > hi + 1;
  const status = cut ? GalStatus.EndOfRange : GalStatus.Success;
  const withPictures = req.picture !== undefined && versionNumber(req.version) >= 141;
  const returned = { count: 0 };
  const results: GalResult[] = [];
  for (const e of slice) {
    const r = toGalResult(e);
    if (withPictures) r.picture = await pictureFor(accounts, e, req.picture!, returned);
    results.push(r);
  }
  return {
    status,
    results,
    range: results.length > 0 ? `${lo}-${lo + results.length - 1}` : undefined,
    total,
  };
}

const G = 'GAL';
const S = 'Search';

/** gal:* properties of one result, in the order of MS-ASWBXML code page 16. */
export function galProperties(r: GalResult): WbxmlElement[] {
  const out: WbxmlElement[] = [];
  const add = (name: string, v: string | undefined) => {
    if (v) out.push(el(G, name, v));
  };
  add('DisplayName', r.displayName);
  add('Phone', r.phone);
  add('Office', r.office);
  add('Title', r.title);
  add('Company', r.company);
  add('Alias', r.alias);
  add('FirstName', r.firstName);
  add('LastName', r.lastName);
  add('HomePhone', r.homePhone);
  add('MobilePhone', r.mobilePhone);
  add('EmailAddress', r.emailAddress);
  if (r.picture) {
    out.push(el(G, 'Picture', el(G, 'Status', r.picture.status), r.picture.data ? el(G, 'Data', r.picture.data.toString('base64')) : null));
  }
  return out;
}

/**
 * The Search response's Store element for a GAL search (MS-ASCMD 2.2.3.178.3):
 * Status, Result (with Properties) per entry or one empty Result, Range, Total.
 */
export function galStoreElement(outcome: GalSearchOutcome): WbxmlElement {
  if (outcome.status === GalStatus.InvalidRequest || outcome.status === GalStatus.ServerError || outcome.status === GalStatus.TooComplex) {
    return el(S, 'Store', el(S, 'Status', outcome.status));
  }
  const results =
    outcome.results.length > 0
      ? outcome.results.map((r) => el(S, 'Result', el(S, 'Properties', galProperties(r))))
      : [el(S, 'Result')];
  return el(
    S,
    'Store',
    el(S, 'Status', outcome.status),
    results,
    outcome.range !== undefined ? el(S, 'Range', outcome.range) : null,
    el(S, 'Total', outcome.total),
  );
}

/** Reads Options/Picture of a Search or ResolveRecipients request; null when malformed. */
export function readPictureOptions(picture: WbxmlElement, ns: string): PictureOptions | null {
  const out: PictureOptions = {};
  for (const c of picture.children) {
    if (typeof c !== 'object' || c instanceof Uint8Array || c.ns !== ns) continue;
    const v = textOf(c);
    if (!/^\d{1,9}$/.test(v.trim())) return null;
    if (c.name === 'MaxSize') out.maxSize = Number(v.trim());
    else if (c.name === 'MaxPictures') out.maxPictures = Number(v.trim());
  }
  return out;
}

function textOf(e: WbxmlElement): string {
  return e.children.filter((c): c is string => typeof c === 'string').join('');
}

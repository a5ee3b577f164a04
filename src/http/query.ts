import { commandByCode } from '../eas/commands.ts';
import { versionFromByte } from '../eas/versions.ts';
import type { EasRequestParams } from '../protocol/request.ts';

export class QueryError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'QueryError';
  }
}

type Headers = Record<string, string | string[] | undefined>;

const header = (headers: Headers, name: string): string | undefined => {
  const v = headers[name];
  return Array.isArray(v) ? v[0] : v;
};

/** DeviceId: up to 32 characters, letters and digits only (MS-ASHTTP 2.2.1.1.1.2.3). */
const DEVICE_ID = /^[A-Za-z0-9]{1,32}$/;
/** DeviceType is free text in practice ("iPhone", "SAMSUNGSMG991B", "Outlook"); bound its size. */
const DEVICE_TYPE = /^[\x21-\x7e]{1,64}$/;

/**
 * Parses the request target of an ActiveSync POST. The query is either the plain form
 * (Cmd=Sync&User=..&DeviceId=..&DeviceType=.., MS-ASHTTP 2.2.1.1.1.2) or one base64 value
 * (MS-ASHTTP 2.2.1.1.1.1), told apart by the presence of "=" pairs naming Cmd.
 */
export function parseRequestParams(rawQuery: string, headers: Headers): EasRequestParams {
  const query = rawQuery.startsWith('?') ? rawQuery.slice(1) : rawQuery;
  const plain = formFields(query);
  if (plain.has('cmd')) return parsePlain(plain, headers);
  if (query.length > 0 && !query.includes('&')) return parseBase64(percentDecode(query), headers);
  throw new QueryError('query names no command');
}

/**
 * The device id an OPTIONS request names, if any. MS-ASHTTP 2.2.1.2 gives OPTIONS no parameters,
 * but iOS and other clients send the same User/DeviceId/DeviceType query as their POSTs; with it
 * the request is its device's origin for lockout (src/auth/lockout.ts), so another client's
 * failures from the same address cannot block it. A malformed id is ignored (OPTIONS is answered
 * without one).
 */
export function optionsDeviceId(rawQuery: string): string | undefined {
  const id = formFields(rawQuery.startsWith('?') ? rawQuery.slice(1) : rawQuery).get('deviceid');
  return id !== undefined && DEVICE_ID.test(id) ? own(id) : undefined;
}

/**
 * The fields of an application/x-www-form-urlencoded query, names lowercased (MS-ASHTTP names
 * them in one case, devices do not all follow it), the first of a repeated name kept. Decoded as
 * URLSearchParams decodes ('+' is a space, a malformed escape stays as written), but without an
 * iterator and a lowercased copy per lookup: every request of every device parses one.
 */
function formFields(query: string): Map<string, string> {
  const out = new Map<string, string>();
  let start = 0;
  while (start < query.length) {
    let end = query.indexOf('&', start);
    if (end < 0) end = query.length;
    if (end > start) {
      const eq = query.indexOf('=', start);
      const named = eq >= 0 && eq < end;
      const name = formDecode(query.slice(start, named ? eq : end)).toLowerCase();
      if (!out.has(name)) out.set(name, named ? formDecode(query.slice(eq + 1, end)) : '');
    }
    start = end + 1;
  }
  return out;
}

/** A string of its own, not a slice of a longer one (V8 makes slices of 13 characters or more). */
function own(s: string): string {
  return (' ' + s).slice(1);
}

const NEEDS_DECODING = /[%+]/;

function formDecode(s: string): string {
  return NEEDS_DECODING.test(s) ? new URLSearchParams(`v=${s}`).get('v')! : s;
}

function percentDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    throw new QueryError('query has malformed percent-encoding');
  }
}

function parsePlain(q: Map<string, string>, headers: Headers): EasRequestParams {
  const cmd = q.get('cmd');
  const deviceId = q.get('deviceid');
  const deviceType = q.get('devicetype');
  if (!cmd) throw new QueryError('missing Cmd');
  if (!deviceId || !DEVICE_ID.test(deviceId)) throw new QueryError('missing or malformed DeviceId');
  if (!deviceType || !DEVICE_TYPE.test(deviceType)) throw new QueryError('missing or malformed DeviceType');
  const saveInSent = q.get('saveinsent');
  const user = q.get('user');
  return {
    form: 'plain',
    cmd,
    // Copies: these outlive the request in per-device caches and a held Ping's log fields, and
    // a string cut from the URL keeps the whole URL alive.
    user: user === undefined ? undefined : own(user),
    deviceId: own(deviceId),
    deviceType: own(deviceType),
    protocolVersion: header(headers, 'ms-asprotocolversion'),
    policyKey: header(headers, 'x-ms-policykey'),
    attachmentName: q.get('attachmentname'),
    collectionId: q.get('collectionid'),
    itemId: q.get('itemid'),
    longId: q.get('longid'),
    occurrence: q.get('occurrence'),
    saveInSent: saveInSent?.toUpperCase() === 'T',
    // Plain-form clients ask for multipart with the MS-ASAcceptMultiPart header (MS-ASHTTP 2.2.1.1.2.5).
    acceptMultiPart: header(headers, 'ms-asacceptmultipart')?.toUpperCase() === 'T',
  };
}

/** Command parameter tags of the base64 form (MS-ASHTTP 2.2.1.1.1.1.3). */
const PARAM_TAGS: Record<number, 'attachmentName' | 'collectionId' | 'itemId' | 'longId' | 'occurrence' | 'user'> = {
  0: 'attachmentName',
  1: 'collectionId',
  3: 'itemId',
  4: 'longId',
  6: 'occurrence',
  8: 'user',
};
const OPTIONS_TAG = 7;
const OPTION_SAVE_IN_SENT = 0x01;
const OPTION_ACCEPT_MULTIPART = 0x02;

function parseBase64(value: string, headers: Headers): EasRequestParams {
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(value)) throw new QueryError('query is neither plain nor base64');
  const b = Buffer.from(value, 'base64');
  let pos = 0;
  const need = (n: number, what: string) => {
    if (pos + n > b.length) throw new QueryError(`base64 query truncated in ${what}`);
  };
  const lengthPrefixed = (what: string): Buffer => {
    need(1, what);
    const n = b[pos++]!;
    need(n, what);
    const out = b.subarray(pos, pos + n);
    pos += n;
    return out;
  };
  need(4, 'header');
  const versionByte = b[pos++]!;
  const code = b[pos++]!;
  const locale = b.readUInt16LE(pos);
  pos += 2;
  const command = commandByCode(code);
  if (!command) throw new QueryError(`unknown command code ${code}`);
  const deviceIdBytes = lengthPrefixed('device id');
  // The device id may be a GUID in binary form (MS-ASHTTP 2.2.1.1.1.1); hex keeps it printable and stable.
  const printable = /^[A-Za-z0-9]+$/.test(deviceIdBytes.toString('latin1'));
  const deviceId = printable ? deviceIdBytes.toString('latin1') : deviceIdBytes.toString('hex');
  if (deviceId.length === 0 || deviceId.length > 32) throw new QueryError('malformed device id');
  const policyBytes = lengthPrefixed('policy key');
  if (policyBytes.length !== 0 && policyBytes.length !== 4) throw new QueryError('policy key must be 0 or 4 bytes');
  const policyKey = policyBytes.length === 4 ? String(policyBytes.readUInt32LE(0)) : undefined;
  const deviceType = lengthPrefixed('device type').toString('latin1');
  if (!DEVICE_TYPE.test(deviceType)) throw new QueryError('missing or malformed device type');
  const out: EasRequestParams = {
    form: 'base64',
    cmd: command.name,
    deviceId,
    deviceType,
    protocolVersion: versionFromByte(versionByte),
    policyKey: policyKey ?? header(headers, 'x-ms-policykey'),
    locale,
    saveInSent: false,
    acceptMultiPart: false,
  };
  while (pos < b.length) {
    const tag = b[pos++]!;
    const data = lengthPrefixed(`parameter ${tag}`);
    if (tag === OPTIONS_TAG) {
      const flags = data[0] ?? 0;
      out.saveInSent = (flags & OPTION_SAVE_IN_SENT) !== 0;
      out.acceptMultiPart = (flags & OPTION_ACCEPT_MULTIPART) !== 0;
      continue;
    }
    const field = PARAM_TAGS[tag];
    if (!field) throw new QueryError(`unknown command parameter tag ${tag}`);
    out[field] = data.toString('utf8');
  }
  return out;
}

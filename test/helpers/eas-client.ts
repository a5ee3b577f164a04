/**
 * A tiny ActiveSync device simulator for tests: builds requests the way phones do and sends them
 * with global fetch.
 *
 * - Plain query form (MS-ASHTTP 2.2.1.1.1.2): ?Cmd=..&User=..&DeviceId=..&DeviceType=..[&params],
 *   protocol version in MS-ASProtocolVersion, policy key in X-MS-PolicyKey, multipart in
 *   MS-ASAcceptMultiPart.
 * - Base64 query form (MS-ASHTTP 2.2.1.1.1.1): one base64 value holding the version byte, the
 *   command code, the locale (uint16 LE), the device id, the policy key (0 or 4 bytes, uint32 LE),
 *   the device type, then tag/length/value command parameters.
 * - Basic authentication (MS-ASHTTP 2.2.1.1.2.1); WBXML bodies via the project's encoder.
 *
 *   const phone = new EasClient({ url: srv.url, user: 'a@example.com', password: 'pw' });
 *   const res = await phone.post('FolderSync', el('FolderHierarchy', 'FolderSync', el('FolderHierarchy', 'SyncKey', '0')));
 *   res.status; res.wbxml; res.headers.get('ms-asprotocolversions');
 */
import { ENDPOINT, WBXML_CONTENT_TYPE } from '../../src/http/activesync.ts';
import { COMMANDS } from '../../src/eas/commands.ts';
import { decodeWbxml, encodeWbxml, type WbxmlElement } from '../../src/wbxml/index.ts';

export interface EasClientOptions {
  /** The server's base URL (http://host:port) or the full ActiveSync endpoint URL. */
  url: string;
  /** The Basic user name (an e-mail address, or DOMAIN\user). */
  user: string;
  password: string;
  /** Default "TESTDEVICE0001". */
  deviceId?: string;
  /** Default "TestPhone". */
  deviceType?: string;
  /** Protocol version, e.g. "14.1" (default "16.1"). */
  version?: string;
  /** Policy key sent with every request (Provision sets it); undefined sends none. */
  policyKey?: string;
  /** User-Agent header; default "easd-test-client/1.0". */
  userAgent?: string;
}

/** Command parameters (MS-ASHTTP 2.2.1.1.1.2.4 plain names / 2.2.1.1.1.1.3 base64 tags). */
export interface EasCommandParams {
  attachmentName?: string;
  collectionId?: string;
  itemId?: string;
  longId?: string;
  occurrence?: string;
  /** The User query parameter; default the login name in the plain form, absent in base64. */
  user?: string;
  saveInSent?: boolean;
  acceptMultiPart?: boolean;
  /** Overrides the client's policy key for this request. */
  policyKey?: string;
  /** Base64 form only: the locale field (default 0x0409, en-US). */
  locale?: number;
}

export interface EasPostOptions {
  /** Query form; default 'plain'. */
  form?: 'plain' | 'base64';
  params?: EasCommandParams;
  /** Extra or replacing headers (a null value removes a header the client would send). */
  headers?: Record<string, string | null>;
  /** Protocol version for this request; null sends no MS-ASProtocolVersion header (plain form). */
  version?: string | null;
  /** Content-Type of the body; default application/vnd.ms-sync.wbxml. */
  contentType?: string;
  /** Use this raw query string (without "?") instead of building one. */
  rawQuery?: string;
}

export interface EasResponse {
  status: number;
  headers: Headers;
  body: Buffer;
  /** The decoded body when the response is WBXML and non-empty. */
  wbxml?: WbxmlElement;
}

const COMMAND_CODES = new Map(COMMANDS.map((c) => [c.name.toLowerCase(), c.code]));

/** Base64 form parameter tags (MS-ASHTTP 2.2.1.1.1.1.3). */
const TAGS = { attachmentName: 0, collectionId: 1, itemId: 3, longId: 4, occurrence: 6, options: 7, user: 8 } as const;

export function basicAuth(user: string, password: string): string {
  return `Basic ${Buffer.from(`${user}:${password}`, 'utf8').toString('base64')}`;
}

/** "14.1" -> 141, the base64 form's version byte. */
export function versionByte(version: string): number {
  const [major, minor] = version.split('.');
  const n = Number(major) * 10 + Number(minor ?? 0);
  if (!Number.isInteger(n) || n < 0 || n > 255) throw new Error(`no version byte for "${version}"`);
  return n;
}

export interface Base64QueryFields {
  version: string;
  /** A command name, or a raw command code. */
  cmd: string | number;
  locale?: number;
  /** A string (sent as latin1) or raw bytes (e.g. a binary GUID). */
  deviceId: string | Uint8Array;
  /** Decimal uint32, sent as 4 bytes little-endian; undefined sends a zero-length key. */
  policyKey?: string;
  deviceType: string;
  params?: EasCommandParams;
}

/** Builds the base64 query value (MS-ASHTTP 2.2.1.1.1.1), not URL-encoded. */
export function encodeBase64Query(f: Base64QueryFields): string {
  const code = typeof f.cmd === 'number' ? f.cmd : COMMAND_CODES.get(f.cmd.toLowerCase());
  if (code === undefined) throw new Error(`no command code for "${String(f.cmd)}"`);
  const parts: Buffer[] = [];
  const head = Buffer.alloc(4);
  head[0] = versionByte(f.version);
  head[1] = code;
  head.writeUInt16LE(f.locale ?? 0x0409, 2);
  parts.push(head);
  const lengthPrefixed = (data: Buffer) => {
    if (data.length > 255) throw new Error('base64 query field longer than 255 bytes');
    parts.push(Buffer.from([data.length]), data);
  };
  lengthPrefixed(typeof f.deviceId === 'string' ? Buffer.from(f.deviceId, 'latin1') : Buffer.from(f.deviceId));
  if (f.policyKey === undefined) lengthPrefixed(Buffer.alloc(0));
  else {
    const key = Buffer.alloc(4);
    key.writeUInt32LE(Number(f.policyKey) >>> 0, 0);
    lengthPrefixed(key);
  }
  lengthPrefixed(Buffer.from(f.deviceType, 'latin1'));
  const p = f.params ?? {};
  const tagged = (tag: number, value: string | undefined) => {
    if (value === undefined) return;
    parts.push(Buffer.from([tag]));
    lengthPrefixed(Buffer.from(value, 'utf8'));
  };
  tagged(TAGS.attachmentName, p.attachmentName);
  tagged(TAGS.collectionId, p.collectionId);
  tagged(TAGS.itemId, p.itemId);
  tagged(TAGS.longId, p.longId);
  tagged(TAGS.occurrence, p.occurrence);
  tagged(TAGS.user, p.user);
  const flags = (p.saveInSent ? 0x01 : 0) | (p.acceptMultiPart ? 0x02 : 0);
  if (flags) {
    parts.push(Buffer.from([TAGS.options]));
    lengthPrefixed(Buffer.from([flags]));
  }
  return Buffer.concat(parts).toString('base64');
}

/** Builds the plain query (MS-ASHTTP 2.2.1.1.1.2), URL-encoded, without "?". */
export function encodePlainQuery(f: { cmd: string; user?: string; deviceId: string; deviceType: string; params?: EasCommandParams }): string {
  const q = new URLSearchParams();
  q.set('Cmd', f.cmd);
  if (f.user !== undefined) q.set('User', f.user);
  q.set('DeviceId', f.deviceId);
  q.set('DeviceType', f.deviceType);
  const p = f.params ?? {};
  if (p.attachmentName !== undefined) q.set('AttachmentName', p.attachmentName);
  if (p.collectionId !== undefined) q.set('CollectionId', p.collectionId);
  if (p.itemId !== undefined) q.set('ItemId', p.itemId);
  if (p.longId !== undefined) q.set('LongId', p.longId);
  if (p.occurrence !== undefined) q.set('Occurrence', p.occurrence);
  if (p.saveInSent) q.set('SaveInSent', 'T');
  return q.toString();
}

export class EasClient {
  readonly endpoint: string;
  user: string;
  password: string;
  deviceId: string;
  deviceType: string;
  version: string;
  policyKey: string | undefined;
  userAgent: string;

  constructor(opts: EasClientOptions) {
    const base = opts.url.replace(/\/+$/, '');
    this.endpoint = base.toLowerCase().endsWith(ENDPOINT.toLowerCase()) ? base : base + ENDPOINT;
    this.user = opts.user;
    this.password = opts.password;
    this.deviceId = opts.deviceId ?? 'TESTDEVICE0001';
    this.deviceType = opts.deviceType ?? 'TestPhone';
    this.version = opts.version ?? '16.1';
    this.policyKey = opts.policyKey;
    this.userAgent = opts.userAgent ?? 'easd-test-client/1.0';
  }

  /** OPTIONS on the endpoint (MS-ASHTTP 2.2.1.2): the server's versions and commands. */
  async options(headers: Record<string, string | null> = {}): Promise<EasResponse> {
    return this.send('OPTIONS', this.endpoint, undefined, this.headers(headers));
  }

  /**
   * POSTs a command. A WbxmlElement body is encoded to WBXML; a Buffer is sent as is (with
   * opts.contentType, default WBXML); no body sends an empty request.
   */
  async post(cmd: string, body?: WbxmlElement | Buffer, opts: EasPostOptions = {}): Promise<EasResponse> {
    const form = opts.form ?? 'plain';
    const version = opts.version === undefined ? this.version : opts.version;
    const params = opts.params ?? {};
    const policyKey = params.policyKey ?? this.policyKey;
    const base: Record<string, string | null> = {};
    let query: string;
    if (opts.rawQuery !== undefined) {
      query = opts.rawQuery;
      if (version !== null) base['MS-ASProtocolVersion'] = version;
    } else if (form === 'plain') {
      query = encodePlainQuery({ cmd, user: params.user ?? this.user, deviceId: this.deviceId, deviceType: this.deviceType, params });
      if (version !== null) base['MS-ASProtocolVersion'] = version;
      if (policyKey !== undefined) base['X-MS-PolicyKey'] = policyKey;
      if (params.acceptMultiPart) base['MS-ASAcceptMultiPart'] = 'T';
    } else {
      if (version === null) throw new Error('the base64 form always carries a version byte');
      query = encodeURIComponent(
        encodeBase64Query({
          version,
          cmd,
          locale: params.locale,
          deviceId: this.deviceId,
          policyKey,
          deviceType: this.deviceType,
          params,
        }),
      );
    }
    let data: Buffer | undefined;
    if (body !== undefined) {
      data = Buffer.isBuffer(body) ? body : Buffer.from(encodeWbxml(body));
      base['Content-Type'] = opts.contentType ?? WBXML_CONTENT_TYPE;
    }
    const url = query ? `${this.endpoint}?${query}` : this.endpoint;
    return this.send('POST', url, data, this.headers({ ...base, ...opts.headers }));
  }

  private headers(extra: Record<string, string | null>): Record<string, string> {
    const all: Record<string, string | null> = {
      Authorization: basicAuth(this.user, this.password),
      'User-Agent': this.userAgent,
      ...extra,
    };
    const out: Record<string, string> = {};
    for (const [k, v] of Object.entries(all)) if (v !== null) out[k] = v;
    return out;
  }

  private async send(method: string, url: string, body: Buffer | undefined, headers: Record<string, string>): Promise<EasResponse> {
    // A copy as a plain Uint8Array: the DOM BodyInit type does not take Node's Buffer.
    const res = await fetch(url, { method, headers, body: body ? new Uint8Array(body) : undefined });
    const buf = Buffer.from(await res.arrayBuffer());
    const out: EasResponse = { status: res.status, headers: res.headers, body: buf };
    if (buf.length > 0 && (res.headers.get('content-type') ?? '').toLowerCase().includes('wbxml')) out.wbxml = decodeWbxml(buf);
    return out;
  }
}

/**
 * `easd report`: the request log (src/logging/request-log.ts, one JSON line per request) summed up
 * per user and device, as Exchange's Export-ActiveSyncLog does from IIS logs: hits per command,
 * bytes in and out, HTTP and EAS statuses, throttles and sync-state resets. Pure: lines in,
 * rows out; reading files and printing is the CLI's (src/cli/report.ts).
 */

export interface DeviceSummary {
  user: string;
  deviceId: string;
  deviceType: string;
  protocolVersion: string;
  /** Epoch ms of the first and last request. */
  first: number;
  last: number;
  hits: number;
  bytesIn: number;
  bytesOut: number;
  /** Requests per command. */
  commands: Record<string, number>;
  /** Requests per HTTP status. */
  http: Record<string, number>;
  /** Answers per command and EAS status, as "Sync:1". */
  eas: Record<string, number>;
  /** Throttled answers (HTTP 503, MS-ASHTTP: the server is busy, retry later). */
  throttles: number;
  /**
   * Sync states the server had to throw away, so the device started over: Sync Status 3
   * (MS-ASCMD 2.2.3.177.17) and FolderSync Status 9 (MS-ASCMD 2.2.3.177.3).
   */
  resets: number;
  /** Answers with HTTP 400 or more. */
  errors: number;
}

export interface ReportOptions {
  /** Only lines at or after / before these epoch ms. */
  since?: number;
  until?: number;
}

export interface Report {
  rows: DeviceSummary[];
  /** Request lines counted. */
  requests: number;
  /** Lines that were not JSON request lines (other log lines, garbage). */
  skipped: number;
}

const RESET_STATUS: Record<string, string> = { Sync: '3', FolderSync: '9' };

const num = (v: unknown): number => (typeof v === 'number' && Number.isFinite(v) ? v : typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : 0);
const str = (v: unknown, fallback = '-'): string => (typeof v === 'string' && v !== '' ? v : typeof v === 'number' ? String(v) : fallback);

/** Sums lines up, one call per line; `report()` gives the rows. */
export class ReportBuilder {
  readonly #rows = new Map<string, DeviceSummary>();
  #requests = 0;
  #skipped = 0;

  constructor(private readonly opts: ReportOptions = {}) {}

  add(line: string): void {
    if (line.trim() === '') return;
    let o: Record<string, unknown>;
    try {
      const parsed: unknown = JSON.parse(line);
      if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error('not an object');
      o = parsed as Record<string, unknown>;
    } catch {
      this.#skipped++;
      return;
    }
    if (o.msg !== 'request' || o.httpStatus === undefined) {
      this.#skipped++;
      return;
    }
    const time = num(o.time);
    if (this.opts.since !== undefined && time < this.opts.since) return;
    if (this.opts.until !== undefined && time >= this.opts.until) return;
    this.#requests++;
    const user = str(o.user).toLowerCase();
    const deviceId = str(o.deviceId);
    const key = `${user}\u0000${deviceId}`;
    let r = this.#rows.get(key);
    if (!r) {
      r = { user, deviceId, deviceType: '-', protocolVersion: '-', first: time, last: time, hits: 0, bytesIn: 0, bytesOut: 0, commands: {}, http: {}, eas: {}, throttles: 0, resets: 0, errors: 0 };
      this.#rows.set(key, r);
    }
    if (typeof o.deviceType === 'string' && o.deviceType !== '') r.deviceType = o.deviceType;
    if (typeof o.protocolVersion === 'string' && o.protocolVersion !== '') r.protocolVersion = o.protocolVersion;
    r.first = Math.min(r.first, time);
    r.last = Math.max(r.last, time);
    r.hits++;
    r.bytesIn += num(o.bytesIn);
    r.bytesOut += num(o.bytesOut);
    const cmd = str(o.cmd);
    r.commands[cmd] = (r.commands[cmd] ?? 0) + 1;
    const http = num(o.httpStatus);
    r.http[String(http)] = (r.http[String(http)] ?? 0) + 1;
    if (http >= 400) r.errors++;
    if (http === 503 || o.throttled === true || typeof o.throttle === 'string') r.throttles++;
    if (o.easStatus !== undefined && o.easStatus !== null) {
      const eas = `${cmd}:${str(o.easStatus)}`;
      r.eas[eas] = (r.eas[eas] ?? 0) + 1;
      if (RESET_STATUS[cmd] === str(o.easStatus)) r.resets++;
    }
  }

  report(): Report {
    const rows = [...this.#rows.values()].sort((a, b) => a.user.localeCompare(b.user) || a.deviceId.localeCompare(b.deviceId));
    return { rows, requests: this.#requests, skipped: this.#skipped };
  }
}

const sortedKeys = (rows: DeviceSummary[], pick: (r: DeviceSummary) => Record<string, number>) =>
  [...new Set(rows.flatMap((r) => Object.keys(pick(r))))].sort();

function csvField(v: string | number): string {
  const s = String(v);
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** CSV (RFC 4180): fixed columns, then one column per command, HTTP status and command:EAS status seen. */
export function reportCsv(report: Report): string {
  const cmds = sortedKeys(report.rows, (r) => r.commands);
  const https = sortedKeys(report.rows, (r) => r.http);
  const eass = sortedKeys(report.rows, (r) => r.eas);
  const header = [
    'User', 'DeviceId', 'DeviceType', 'ProtocolVersion', 'FirstRequest', 'LastRequest', 'Hits', 'BytesIn', 'BytesOut', 'Throttles', 'Resets', 'Errors',
    ...cmds.map((c) => `Hits ${c}`), ...https.map((h) => `HTTP ${h}`), ...eass.map((e) => `EAS ${e}`),
  ];
  const lines = [header.map(csvField).join(',')];
  for (const r of report.rows) {
    lines.push(
      [
        r.user, r.deviceId, r.deviceType, r.protocolVersion, new Date(r.first).toISOString(), new Date(r.last).toISOString(),
        r.hits, r.bytesIn, r.bytesOut, r.throttles, r.resets, r.errors,
        ...cmds.map((c) => r.commands[c] ?? 0), ...https.map((h) => r.http[h] ?? 0), ...eass.map((e) => r.eas[e] ?? 0),
      ].map(csvField).join(','),
    );
  }
  return lines.join('\r\n') + '\r\n';
}

const counts = (m: Record<string, number>) => Object.entries(m).sort(([a], [b]) => a.localeCompare(b)).map(([k, v]) => `${k}=${v}`).join(' ') || '-';

/** A text block per user and device, for reading in a terminal. */
export function reportText(report: Report): string {
  const out: string[] = [`${report.requests} requests, ${report.rows.length} user/device pairs${report.skipped ? `, ${report.skipped} other lines skipped` : ''}\n`];
  for (const r of report.rows) {
    out.push(
      `\n${r.user}  device ${r.deviceId} (${r.deviceType}, EAS ${r.protocolVersion})\n` +
        `  requests ${r.hits} from ${new Date(r.first).toISOString()} to ${new Date(r.last).toISOString()}\n` +
        `  bytes in ${r.bytesIn}, out ${r.bytesOut}\n` +
        `  commands: ${counts(r.commands)}\n` +
        `  HTTP: ${counts(r.http)}\n` +
        `  EAS status: ${counts(r.eas)}\n` +
        `  throttles ${r.throttles}, resets ${r.resets}, errors ${r.errors}\n`,
    );
  }
  return out.join('');
}

/** `easd report`'s summing (src/report/summary.ts) and time parsing (src/report/time.ts). */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ReportBuilder, reportCsv, reportText } from '../../src/report/summary.ts';
import { parseTime } from '../../src/report/time.ts';

const T0 = Date.parse('2026-11-25T08:00:00.000Z');
const line = (o: Record<string, unknown>) => JSON.stringify({ level: 30, time: T0, msg: 'request', method: 'POST', httpStatus: 200, bytesIn: 10, bytesOut: 20, ...o });

describe('report summary', () => {
  it('sums hits, bytes, statuses, throttles and resets per user and device, skipping other lines', () => {
    const b = new ReportBuilder();
    b.add(line({ cmd: 'FolderSync', user: 'Ann@example.com', deviceId: 'D1', deviceType: 'iPhone', protocolVersion: '16.1', easStatus: 1 }));
    b.add(line({ cmd: 'Sync', user: 'ann@example.com', deviceId: 'D1', easStatus: 3, time: T0 + 5000 }));
    b.add(line({ cmd: 'FolderSync', user: 'ann@example.com', deviceId: 'D1', easStatus: 9 }));
    b.add(line({ cmd: 'Sync', user: 'ann@example.com', deviceId: 'D1', httpStatus: 503, bytesOut: 0 }));
    b.add(line({ cmd: 'Ping', user: 'ann@example.com', deviceId: 'D2', bytesIn: '7' }));
    b.add(line({ cmd: 'OPTIONS', user: 'bob@example.com', httpStatus: 401 }));
    b.add(JSON.stringify({ level: 30, time: T0, msg: 'easd listening' }));
    b.add('not json at all');
    b.add('[1,2]');
    b.add('');
    const r = b.report();
    assert.equal(r.requests, 6);
    assert.equal(r.skipped, 3);
    assert.deepEqual(r.rows.map((x) => [x.user, x.deviceId]), [['ann@example.com', 'D1'], ['ann@example.com', 'D2'], ['bob@example.com', '-']]);
    const d1 = r.rows[0]!;
    assert.equal(d1.hits, 4);
    assert.equal(d1.deviceType, 'iPhone');
    assert.equal(d1.protocolVersion, '16.1');
    assert.equal(d1.bytesIn, 40);
    assert.equal(d1.bytesOut, 60);
    assert.deepEqual(d1.commands, { FolderSync: 2, Sync: 2 });
    assert.deepEqual(d1.http, { '200': 3, '503': 1 });
    assert.deepEqual(d1.eas, { 'FolderSync:1': 1, 'Sync:3': 1, 'FolderSync:9': 1 });
    assert.equal(d1.throttles, 1);
    assert.equal(d1.resets, 2);
    assert.equal(d1.errors, 1);
    assert.equal(d1.first, T0);
    assert.equal(d1.last, T0 + 5000);
    assert.equal(r.rows[1]!.bytesIn, 7);
    assert.equal(r.rows[2]!.errors, 1);

    const csv = reportCsv(r).split('\r\n');
    assert.equal(csv[0], 'User,DeviceId,DeviceType,ProtocolVersion,FirstRequest,LastRequest,Hits,BytesIn,BytesOut,Throttles,Resets,Errors,Hits FolderSync,Hits OPTIONS,Hits Ping,Hits Sync,HTTP 200,HTTP 401,HTTP 503,EAS FolderSync:1,EAS FolderSync:9,EAS Sync:3');
    assert.equal(csv[1], 'ann@example.com,D1,iPhone,16.1,2026-11-25T08:00:00.000Z,2026-11-25T08:00:05.000Z,4,40,60,1,2,1,2,0,0,2,3,0,1,1,1,1');
    assert.equal(csv.length, 5); // header, three rows, and the final line break
    assert.match(reportText(r), /6 requests, 3 user\/device pairs, 3 other lines skipped/);
    assert.match(reportText(r), /commands: FolderSync=2 Sync=2/);
  });

  it('keeps only lines within --since and --until, and quotes CSV fields that need it', () => {
    const b = new ReportBuilder({ since: T0 + 1000, until: T0 + 3000 });
    for (const dt of [0, 1000, 2000, 3000]) b.add(line({ cmd: 'Sync', user: 'a,"b"@example.com', deviceId: 'D', time: T0 + dt }));
    const r = b.report();
    assert.equal(r.requests, 2);
    assert.match(reportCsv(r), /\r\n"a,""b""@example.com",D,/);
  });

  it('reads times as ISO dates or spans back from now', () => {
    const now = new Date('2026-11-25T12:00:00Z');
    assert.equal(parseTime('6h', now).toISOString(), '2026-11-25T06:00:00.000Z');
    assert.equal(parseTime('30m', now).toISOString(), '2026-11-25T11:30:00.000Z');
    assert.equal(parseTime('2d', now).toISOString(), '2026-11-23T12:00:00.000Z');
    assert.equal(parseTime('2026-11-20', now).toISOString(), '2026-11-20T00:00:00.000Z');
    assert.equal(parseTime('2026-11-20T04:05:06Z', now).toISOString(), '2026-11-20T04:05:06.000Z');
    assert.throws(() => parseTime('yesterday', now), /not a time/);
    assert.throws(() => parseTime('2026-13-45', now), /not a time/);
  });
});

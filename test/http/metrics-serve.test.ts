/**
 * `easd serve --metrics-listen`: the real command serves Prometheus metrics on its own listener
 * (not on the ActiveSync port), and its standard output (the request log) read by
 * `easd report -` gives the same counts.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { hashPassword } from '../../src/auth/password.ts';
import { openStore } from '../../src/store/open.ts';
import { Device } from '../e2e/device.ts';
import { spawnEasd } from '../helpers/easd-process.ts';
import { easd } from '../logging/cli-helpers.ts';
import { LineClient } from '../mail/lmtp-client.ts';

test('easd serve --metrics-listen: metrics on their own listener; easd report over the served log', async () => {
  const data = await mkdtemp(join(tmpdir(), 'easd-metrics-'));
  try {
    const s0 = await openStore({ dataDir: data });
    await s0.createUser({ email: 'ann@example.com', passwordHash: await hashPassword('ann-password-123'), displayName: 'Ann' });
    await s0.close();
    // --no-provisioning: the counts below are of one FolderSync and one Sync, without the Provision
    // round the built-in policy would ask for first.
    const served = spawnEasd(['serve', '--listen', '127.0.0.1:0', '--data', data, '--no-demo-user', '--no-provisioning', '--metrics-listen', '127.0.0.1:0', '--lmtp', '127.0.0.1:0']);
    try {
      const where = await served.waitFor({ url: /is listening on (http:\/\/[^/\s]+)/, metrics: /serves metrics on (http:\/\/\S+\/metrics)/, lmtp: /over LMTP on [^:]+:(\d+)/ });
      // Mail in: one recipient delivered, one refused at RCPT (counted, and a warn line with the envelope).
      const c = await LineClient.open(Number(where.lmtp));
      await c.command('LHLO mta.test');
      await c.command('MAIL FROM:<sender@outside.test>');
      assert.equal((await c.command('RCPT TO:<ann@example.com>')).code, 250);
      assert.equal((await c.command('RCPT TO:<nobody@example.com>')).code, 550);
      assert.deepEqual((await c.data('Message-ID: <m1@outside.test>\r\nSubject: hi\r\n\r\nhello\r\n', 1)).map((r) => r.code), [250]);
      await c.close();
      const refusal = served.output().split('\n').find((l) => l.includes('"msg":"recipient refused: no such user"'));
      assert.ok(refusal, 'a line for the refused recipient');
      assert.deepEqual({ ...JSON.parse(refusal) }, { ...JSON.parse(refusal), level: 40, from: 'sender@outside.test', recipient: 'nobody@example.com', listener: 'lmtp' });
      const phone = new Device({ url: where.url, user: 'ann@example.com', password: 'ann-password-123', deviceId: 'ANN1', deviceType: 'iPhone', version: '16.1' });
      assert.equal((await phone.folderSync()).status, 1);
      await phone.sync(phone.folderByType(2).serverId);
      assert.equal((await phone.client.options()).status, 200);
      const stranger = new Device({ url: where.url, user: 'ann@example.com', password: 'not-her-password', deviceId: 'ANN9', deviceType: 'iPhone', version: '16.1' });
      assert.equal((await stranger.client.options()).status, 401);

      const res = await fetch(where.metrics);
      assert.equal(res.status, 200);
      const text = await res.text();
      assert.match(text, /^easd_requests_total\{cmd="FolderSync",http_status="200",eas_status="1"\} 1$/m);
      assert.match(text, /^easd_requests_total\{cmd="OPTIONS",http_status="200",eas_status=""\} 1$/m);
      assert.match(text, /^easd_request_duration_seconds_count\{cmd="Sync"\} 1$/m);
      assert.match(text, /^easd_held_requests 0$/m);
      assert.match(text, /^easd_auth_failures_total\{reason="refused"\} 1$/m);
      assert.match(text, /^easd_mail_in_recipients_total\{protocol="lmtp",result="accepted"\} 1$/m);
      assert.match(text, /^easd_mail_in_recipients_total\{protocol="lmtp",result="refused"\} 1$/m);
      assert.match(text, /^easd_build_info\{version="\d+\.\d+\.\d+",node="v\d+[.\d]*"\} 1$/m);
      assert.match(text, /^easd_devices\{access="allow"\} 1$/m, 'ANN1 is allowed');
      assert.equal((await fetch(where.metrics.replace(/\/metrics$/, '/healthz'))).status, 200);
      assert.equal((await fetch(`${where.url}/metrics`)).status, 404);
    } finally {
      served.child.kill('SIGTERM');
      await served.exited;
    }
    const report = await easd(['report', '-', '--csv'], served.output());
    assert.equal(report.code, 0, report.stderr);
    const [header, ...rows] = report.stdout.trimEnd().split('\r\n').map((l) => l.split(','));
    // OPTIONS carries no device id, and the /metrics probe on the ActiveSync port no user.
    assert.deepEqual(rows.map((r) => `${r[0]} ${r[1]}`), ['- -', 'ann@example.com -', 'ann@example.com ANN1']);
    const ann = rows[2]!;
    const col = (name: string) => ann[header!.indexOf(name)];
    assert.equal(col('Hits'), '2');
    assert.equal(col('Hits FolderSync'), '1');
    assert.equal(col('Hits Sync'), '1');
  } finally {
    await rm(data, { recursive: true, force: true });
  }
});

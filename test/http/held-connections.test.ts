/**
 * Held requests that node:http lets go of (src/http/held-connections.ts), over real loopback
 * connections driven byte by byte: a held Ping is detached (only its socket stays), and its
 * answer goes out through the normal pipeline on the same connection, with the same headers,
 * one request log line and a connection that carries on. Bytes the client sends meanwhile are
 * kept; a client that goes away is let go of; what cannot be framed is held the ordinary way.
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { ENDPOINT, WBXML_CONTENT_TYPE } from '../../src/http/activesync.ts';
import { heldConnectionsOf } from '../../src/http/server.ts';
import { child, childText, decodeWbxml, el, encodeWbxml } from '../../src/wbxml/index.ts';
import { Device } from '../e2e/device.ts';
import { basicAuth, encodePlainQuery } from '../helpers/eas-client.ts';
import { RawConnection, rawRequest } from '../helpers/raw-http.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

const USER = { email: 'held@example.com', password: 'pw-held-123456' };

async function until(cond: () => boolean, what: string, ms = 5000): Promise<void> {
  for (const end = Date.now() + ms; !cond(); ) {
    if (Date.now() > end) assert.fail(`timed out waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** A device that synced its Inbox, the raw bytes of its Ping of that Inbox, and a way to change the Inbox. */
async function setup(srv: TestServer, deviceId: string) {
  const d = new Device({ url: srv.url, user: USER.email, password: USER.password, deviceId, version: '14.1' });
  await d.folderSync();
  const inbox = d.folderByType(2).serverId;
  await d.initialSync(inbox);
  const userId = srv.users.get(USER.email)!.id;
  const folder = (await srv.store.listFolders(userId)).find((f) => f.serverId === inbox)!;
  const body = Buffer.from(
    encodeWbxml(el('Ping', 'Ping', [el('Ping', 'HeartbeatInterval', '600'), el('Ping', 'Folders', el('Ping', 'Folder', [el('Ping', 'Id', inbox), el('Ping', 'Class', 'Email')]))])),
  );
  const path = `${ENDPOINT}?${encodePlainQuery({ cmd: 'Ping', user: USER.email, deviceId, deviceType: 'SmartPhone' })}`;
  const headers = { Authorization: basicAuth(USER.email, USER.password), 'Content-Type': WBXML_CONTENT_TYPE, 'MS-ASProtocolVersion': '14.1' };
  const ping = (extra: Record<string, string> = {}) => rawRequest('POST', path, { ...headers, ...extra }, body);
  const options = rawRequest('OPTIONS', ENDPOINT, { Authorization: headers.Authorization });
  const change = (subject: string) => srv.store.putItem({ userId, folderId: folder.id, class: 'Email', data: { subject } });
  const port = Number(new URL(srv.url).port);
  return { d, inbox, body, ping, options, change, port };
}

const pingStatus = (body: Buffer) => childText(decodeWbxml(body), 'Status', 'Ping');

/** setup(), then the device's Ping sent on a connection of its own and waited on until detached. */
async function detachedPing(srv: TestServer, deviceId: string, extra: Record<string, string> = {}) {
  const s = await setup(srv, deviceId);
  const connections = heldConnectionsOf(srv.app)!;
  const conn = await RawConnection.open(s.port);
  conn.send(s.ping(extra));
  await until(() => connections.detached === 1, `the Ping of ${deviceId} is detached`);
  return { ...s, conn, connections };
}

it('a held Ping is detached from node:http and answered through the normal pipeline on the same connection, which carries on', async () => {
  const srv = await startTestServer({ users: [USER] });
  try {
    const { body, ping, options, change, port } = await setup(srv, 'DETACH1');
    const connections = heldConnectionsOf(srv.app)!;
    assert.ok(connections.active, 'connections reach node:http through proxies');
    const conn = await RawConnection.open(port);
    const from = srv.logs.length;
    conn.send(ping());
    await until(() => connections.detached === 1, 'the Ping is detached');
    assert.equal(srv.runtime.services.changes.size, 1, 'and still watching');
    const heldFor = 300;
    await new Promise((r) => setTimeout(r, heldFor));
    await change('wake');
    const answer = await conn.response();
    assert.equal(answer.status, 200);
    assert.equal(pingStatus(answer.body), '2', 'the change is reported');
    assert.equal(answer.headers['content-type'], WBXML_CONTENT_TYPE);
    assert.equal(connections.detached, 0);
    assert.equal(srv.runtime.services.changes.size, 0, 'nothing left watching');

    // One request log line, the held request's: its command, bytes in and whole time.
    const lines = srv.requestLogs(from);
    assert.equal(lines.length, 1, `one line, got ${JSON.stringify(lines)}`);
    const line = lines[0]!;
    assert.equal(line.cmd, 'Ping');
    assert.equal(line.deviceId, 'DETACH1');
    assert.equal(line.path, ENDPOINT);
    assert.equal(line.bytesIn, body.length);
    assert.equal(line.easStatus, 2);
    assert.ok((line.ms as number) >= heldFor, `ms ${String(line.ms)} covers the hold`);

    // The connection is kept alive and serves the next request.
    conn.send(options);
    const next = await conn.response();
    assert.equal(next.status, 200);
    assert.ok(next.headers['ms-asprotocolversions'], 'an OPTIONS answer');
    // A Ping that is not held (the device has not synced the change yet), for comparison.
    conn.send(ping());
    const direct = await conn.response();
    assert.equal(pingStatus(direct.body), '2');
    assert.equal(connections.detached, 0, 'answered at once');
    const names = (h: Record<string, string>) => Object.keys(h).filter((n) => n !== 'date').sort();
    assert.deepEqual(names(answer.headers), names(direct.headers), 'the same headers as an answer that was never held');
    for (const n of names(direct.headers)) if (n !== 'content-length') assert.equal(answer.headers[n], direct.headers[n], n);
    conn.close();
  } finally {
    await srv.close();
  }
});

it('bytes a client sends while its Ping is detached are kept and answered after it, in order', async () => {
  const srv = await startTestServer({ users: [USER] });
  try {
    const { options, change, conn } = await detachedPing(srv, 'DETACH2');
    // A pipelined OPTIONS, in two pieces, while the Ping is held.
    conn.send(options.subarray(0, 20));
    await new Promise((r) => setTimeout(r, 50));
    conn.send(options.subarray(20));
    await new Promise((r) => setTimeout(r, 50));
    await change('wake');
    const first = await conn.response();
    assert.equal(first.status, 200);
    assert.equal(pingStatus(first.body), '2', 'the Ping answers first');
    const second = await conn.response();
    assert.equal(second.status, 200);
    assert.ok(second.headers['ms-asprotocolversions'], 'then the OPTIONS sent during the hold');
    conn.close();
  } finally {
    await srv.close();
  }
});

it('a client that closes its connection while its Ping is detached is let go of, and a later change wakes nothing', async () => {
  const srv = await startTestServer({ users: [USER] });
  try {
    const { d, inbox, change, conn, connections } = await detachedPing(srv, 'DETACH3');
    const hub = srv.runtime.services.changes;
    conn.socket.end();
    await until(() => connections.detached === 0 && hub.size === 0, 'the Ping is let go of');
    await change('after');
    const again = await d.ping([inbox], 120);
    assert.equal(childText(again.wbxml!, 'Status', 'Ping'), '2', 'the server carries on');
  } finally {
    await srv.close();
  }
});

it('a held Ping sent with Connection: close, or as HTTP/1.0, is answered and its connection closed', async () => {
  const srv = await startTestServer({ users: [USER] });
  try {
    const { d, inbox, ping, change, port } = await setup(srv, 'DETACH4');
    const connections = heldConnectionsOf(srv.app)!;
    for (const variant of ['close', 'http/1.0'] as const) {
      const conn = await RawConnection.open(port);
      const bytes = variant === 'close' ? ping({ Connection: 'close' }) : Buffer.from(ping().toString('latin1').replace(' HTTP/1.1\r\n', ' HTTP/1.0\r\n'), 'latin1');
      conn.send(bytes);
      await until(() => connections.detached === 1, `the ${variant} Ping is detached`);
      await change(`wake ${variant}`);
      const answer = await conn.response();
      assert.equal(answer.status, 200, variant);
      assert.equal(pingStatus(answer.body), '2', variant);
      assert.equal(answer.headers.connection, 'close', variant);
      await conn.closed;
      await d.sync(inbox); // caught up, so the next Ping is held again
    }
  } finally {
    await srv.close();
  }
});

it('a Ping with a chunked body is held attached (it cannot be framed), and still answered', async () => {
  const srv = await startTestServer({ users: [USER] });
  try {
    const { ping, change, port } = await setup(srv, 'DETACH5');
    const connections = heldConnectionsOf(srv.app)!;
    const hub = srv.runtime.services.changes;
    const plain = ping().toString('latin1');
    const headEnd = plain.indexOf('\r\n\r\n');
    const head = plain.slice(0, headEnd).replace(/\r\nContent-Length: \d+/, '') + '\r\nTransfer-Encoding: chunked\r\n\r\n';
    const body = Buffer.from(plain.slice(headEnd + 4), 'latin1');
    const conn = await RawConnection.open(port);
    conn.send(Buffer.concat([Buffer.from(head, 'latin1'), Buffer.from(`${body.length.toString(16)}\r\n`), body, Buffer.from('\r\n0\r\n\r\n')]));
    await until(() => hub.size === 1, 'the Ping is held');
    assert.equal(connections.detached, 0, 'not detached');
    await change('wake');
    const answer = await conn.response();
    assert.equal(answer.status, 200);
    assert.equal(pingStatus(answer.body), '2');
    conn.close();
  } finally {
    await srv.close();
  }
});

it('closing the server answers a detached Ping with Status 1 and closes its connection', async () => {
  const srv = await startTestServer({ users: [USER] });
  try {
    const { conn } = await detachedPing(srv, 'DETACH6');
    const closing = srv.app.close();
    const answer = await conn.response();
    assert.equal(answer.status, 200);
    assert.equal(pingStatus(answer.body), '1', 'no changes: the device asks again');
    assert.equal(answer.headers.connection, 'close');
    await conn.closed;
    await closing;
  } finally {
    await srv.close();
  }
});

it('while the server closes, a new request gets 503 and its connection is closed', async () => {
  const srv = await startTestServer({ users: [USER] });
  try {
    // A held Ping keeps the close going while the other connection asks.
    const { options, port, conn: held } = await detachedPing(srv, 'DETACH7');
    const other = await RawConnection.open(port);
    const from = srv.logs.length;
    const closing = srv.app.close();
    other.send(options);
    const refused = await other.response();
    assert.equal(refused.status, 503);
    assert.equal(refused.headers.connection, 'close');
    await other.closed;
    assert.ok(srv.requestLogs(from).some((l) => l.httpStatus === 503 && l.reason === 'server shutting down'), 'logged with its reason');
    await held.response();
    await closing;
  } finally {
    await srv.close();
  }
});

it('a malformed request through a connection proxy gets a 400 and a closed connection, and the server carries on', async () => {
  const srv = await startTestServer({ users: [USER] });
  try {
    const port = Number(new URL(srv.url).port);
    for (const garbage of ['NOT HTTP AT ALL\r\n\r\n', 'POST / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab', '\x00\x01\x02\r\n\r\n']) {
      const conn = await RawConnection.open(port);
      conn.send(Buffer.from(garbage, 'latin1'));
      const res = await conn.response();
      assert.equal(res.status, 400, JSON.stringify(garbage));
      await conn.closed;
    }
    const ok = await RawConnection.open(port);
    ok.send(rawRequest('OPTIONS', ENDPOINT, { Authorization: basicAuth(USER.email, USER.password) }));
    assert.equal((await ok.response()).status, 200);
    ok.close();
  } finally {
    await srv.close();
  }
});

it('pipelined requests around a held Ping are all answered, in order: a Ping with bytes after it stays attached', async () => {
  const srv = await startTestServer({ users: [USER] });
  try {
    const { d, inbox, ping, options, change, port } = await setup(srv, 'DETACH8');
    const connections = heldConnectionsOf(srv.app)!;
    const hub = srv.runtime.services.changes;
    // OPTIONS, then the Ping, in one write: the Ping may be detached once the OPTIONS is answered.
    const a = await RawConnection.open(port);
    a.send(Buffer.concat([options, ping()]));
    assert.equal((await a.response()).status, 200, 'the OPTIONS first');
    await until(() => hub.size === 1, 'the Ping is held');
    await change('wake a');
    const pingA = await a.response();
    assert.equal(pingStatus(pingA.body), '2');
    await d.sync(inbox);
    // The Ping, then an OPTIONS, in one write: bytes of the next request came with the Ping, so
    // it stays attached (node:http has them) and both are answered in order.
    const b = await RawConnection.open(port);
    b.send(Buffer.concat([ping(), options]));
    await until(() => hub.size === 1, 'the second Ping is held');
    assert.equal(connections.detached, 0, 'not detached: a request follows it');
    await change('wake b');
    const pingB = await b.response();
    assert.equal(pingStatus(pingB.body), '2');
    const after = await b.response();
    assert.ok(after.headers['ms-asprotocolversions'], 'then the OPTIONS');
    a.close();
    b.close();
  } finally {
    await srv.close();
  }
});

it('a Sync with Wait is held like a Ping: detached, not woken by another folder, answered with the change, and answered empty at shutdown', async () => {
  const srv = await startTestServer({ users: [USER] });
  try {
    const { d, inbox, change } = await setup(srv, 'DETACHSYNC');
    const connections = heldConnectionsOf(srv.app)!;
    const userId = srv.users.get(USER.email)!.id;
    const contacts = (await srv.store.listFolders(userId)).find((f) => f.type === 9)!;
    const waitSync = () => d.syncRaw(el('AirSync', 'Sync', el('AirSync', 'Collections', d.collectionRequest(inbox)), el('AirSync', 'Wait', 1)));
    const held = waitSync();
    await until(() => connections.detached === 1, 'the Sync is detached');
    await srv.store.putItem({ userId, folderId: contacts.id, class: 'Contacts', data: { firstName: 'Not', lastName: 'Watched' } });
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(connections.detached, 1, 'a change of a folder it does not sync leaves it held');
    await change('wake the sync');
    const answer = await held;
    assert.equal(answer.status, 200);
    const collection = child(child(answer.wbxml!, 'Collections', 'AirSync')!, 'Collection', 'AirSync')!;
    assert.deepEqual(
      d.apply(inbox, collection).adds.map((a) => childText(a.appData, 'Subject', 'Email')),
      ['wake the sync'],
    );
    assert.equal(connections.detached, 0);

    const second = waitSync();
    await until(() => connections.detached === 1, 'the second Sync is detached');
    await srv.app.close();
    const last = await second;
    assert.equal(last.status, 200);
    assert.equal(last.body.length, 0, 'no changes: an empty answer (MS-ASCMD 2.2.1.21, 14.0+)');
  } finally {
    await srv.close();
  }
});

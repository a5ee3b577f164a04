/**
 * RequestContext (src/http/request-context.ts) once released: a parked command may keep it for
 * its whole hold, so it lets go of the response and of the decoded body.
 */
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { it } from 'node:test';
import { pino } from 'pino';
import { RequestContext, type RequestContextInit } from '../../src/http/request-context.ts';
import type { Device, Store, User } from '../../src/store/types.ts';
import { el, encodeWbxml } from '../../src/wbxml/index.ts';

it('a released context no longer holds the response or the decoded body', () => {
  const response = Object.assign(new EventEmitter(), { destroyed: false });
  const held = new Set<AbortController>();
  const body = Buffer.from(encodeWbxml(el('Ping', 'Ping', el('Ping', 'HeartbeatInterval', '60'))));
  const ctx = new RequestContext({
    params: { form: 'plain', cmd: 'Ping', deviceId: 'D1', deviceType: 'T' } as never,
    commandName: 'Ping',
    version: '14.1',
    user: { id: 'u1', email: 'u@example.com' } as User,
    device: { deviceId: 'D1' } as Device,
    rawBody: body,
    contentType: 'application/vnd.ms-sync.wbxml',
    isWbxml: true,
    store: {} as Store,
    services: {} as RequestContextInit['services'],
    log: pino({ level: 'silent' }),
    response,
    held,
  });
  const tree = ctx.request;
  assert.equal(ctx.request, tree, 'decoded once');
  const signal = ctx.aborted;
  assert.equal(signal.aborted, false);
  assert.equal(response.listenerCount('close'), 1);
  assert.equal(held.size, 1);

  ctx.release();
  assert.equal(response.listenerCount('close'), 0, 'the response is let go of');
  assert.equal(held.size, 0);
  assert.notEqual(ctx.request, tree, 'the tree was let go of (decoded again if asked)');
  assert.deepEqual(ctx.request, tree);
  assert.equal(signal.aborted, false, 'the signal handed out before is left as it was');
});

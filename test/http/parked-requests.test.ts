/**
 * ParkedRequests (src/http/parked-requests.ts) on a real Fastify server over loopback: a parked
 * request answers at its deadline, on a change its recheck turns into an answer, never twice,
 * and is dropped (no answer, no leak) when the client goes away.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import { after, before, describe, it } from 'node:test';
import Fastify, { type FastifyInstance } from 'fastify';
import { pino } from 'pino';
import type { CommandResult } from '../../src/commands/types.ts';
import { ParkedRequests } from '../../src/http/parked-requests.ts';
import { openTempSqliteStore } from '../helpers/db.ts';
import { ChangeHub } from '../../src/sync/change-hub.ts';
import { StoreMailboxProvider } from '../../src/store/store-mailbox.ts';
import type { Store } from '../../src/store/types.ts';

interface Plan {
  /** ms from now */
  deadlineIn: number;
  /** What recheck answers, in order (undefined = stay parked). */
  rechecks: (string | undefined | Error)[];
}

describe('ParkedRequests', () => {
  let app: FastifyInstance;
  let store: Store;
  let hub: ChangeHub;
  let cleanup: () => Promise<void>;
  let parked: ParkedRequests;
  let url: string;
  const plans = new Map<string, Plan>();
  let rechecks = 0;
  let concurrent = 0;
  let maxConcurrent = 0;

  before(async () => {
    const temp = await openTempSqliteStore();
    store = temp.store;
    hub = new ChangeHub(new StoreMailboxProvider(store));
    cleanup = temp.cleanup;
    app = Fastify();
    const answer = (_req: unknown, reply: import('fastify').FastifyReply, result: CommandResult) => {
      void reply.code(200).send(String(result.easStatus));
    };
    parked = new ParkedRequests(answer as never, pino({ level: 'silent' }), { tickMs: 20 });
    app.get('/hold/:user', async (req, reply) => {
      const user = (req.params as { user: string }).user;
      const plan = plans.get(user)!;
      const watch = hub.watch(user, null);
      parked.park(req, reply, {
        watch,
        deadline: Date.now() + plan.deadlineIn,
        recheck: async () => {
          rechecks++;
          concurrent++;
          maxConcurrent = Math.max(maxConcurrent, concurrent);
          await new Promise((r) => setTimeout(r, 30));
          concurrent--;
          const next = plan.rechecks.shift();
          if (next instanceof Error) throw next;
          return next === undefined ? undefined : { easStatus: next };
        },
        timeout: () => ({ easStatus: 'timeout' }),
        failed: () => ({ easStatus: 'failed' }),
      });
      return reply;
    });
    await app.listen({ host: '127.0.0.1', port: 0 });
    const addr = app.server.address() as { port: number };
    url = `http://127.0.0.1:${addr.port}`;
  });

  after(async () => {
    await app.close();
    await cleanup();
  });

  const notify = async (userId: string) => {
    // A real change of the user: a folder created in the store notifies the hierarchy.
    const u = await store.getUserById(userId);
    assert.ok(u);
    await store.createFolder({ userId, parentId: null, displayName: `f-${Math.random()}`, type: 1 });
  };

  const newUser = async () => (await store.createUser({ email: `u${Math.random()}@example.com`, passwordHash: 'x' })).id;

  it('answers with the timeout answer at the deadline', async () => {
    const u = await newUser();
    plans.set(u, { deadlineIn: 60, rechecks: [] });
    const t0 = Date.now();
    const res = await fetch(`${url}/hold/${u}`);
    assert.equal(await res.text(), 'timeout');
    const took = Date.now() - t0;
    assert.ok(took >= 55, `answered after ${took} ms, not before the deadline`);
    assert.equal(parked.size, 0);
  });

  it('a change runs recheck; undefined stays parked, an answer ends it; rechecks never overlap', async () => {
    const u = await newUser();
    plans.set(u, { deadlineIn: 5000, rechecks: [undefined, 'changed'] });
    rechecks = 0;
    maxConcurrent = 0;
    const pending = fetch(`${url}/hold/${u}`).then((r) => r.text());
    while (parked.size === 0) await new Promise((r) => setTimeout(r, 5));
    // Three changes at once: the first runs recheck, the others ask for one more run after it.
    await notify(u);
    await notify(u);
    await notify(u);
    assert.equal(await pending, 'changed');
    assert.equal(rechecks, 2, 'the burst of changes made two rechecks, not three');
    assert.equal(maxConcurrent, 1);
    assert.equal(parked.size, 0);
    assert.equal(hub.size, 0, 'the watch was closed');
  });

  it('a recheck that fails answers with the failure answer', async () => {
    const u = await newUser();
    plans.set(u, { deadlineIn: 5000, rechecks: [new Error('store down')] });
    const pending = fetch(`${url}/hold/${u}`).then((r) => r.text());
    while (parked.size === 0) await new Promise((r) => setTimeout(r, 5));
    await notify(u);
    assert.equal(await pending, 'failed');
  });

  it('a client that goes away is dropped without an answer, and its watch closed', async () => {
    const u = await newUser();
    plans.set(u, { deadlineIn: 5000, rechecks: ['never'] });
    const req = http.get(`${url}/hold/${u}`);
    req.on('error', () => {});
    while (parked.size === 0) await new Promise((r) => setTimeout(r, 5));
    assert.equal(hub.size, 1);
    req.destroy();
    for (let i = 0; i < 100 && parked.size > 0; i++) await new Promise((r) => setTimeout(r, 10));
    assert.equal(parked.size, 0);
    assert.equal(hub.size, 0);
    await notify(u); // nothing left to wake
    assert.deepEqual(plans.get(u)!.rechecks, ['never'], 'recheck never ran for the dropped request');
  });

  it('closeAll answers every parked request at once', async () => {
    const users = [await newUser(), await newUser()];
    for (const u of users) plans.set(u, { deadlineIn: 60_000, rechecks: [] });
    const pending = users.map((u) => fetch(`${url}/hold/${u}`).then((r) => r.text()));
    while (parked.size < 2) await new Promise((r) => setTimeout(r, 5));
    parked.closeAll();
    assert.deepEqual(await Promise.all(pending), ['timeout', 'timeout']);
  });
});

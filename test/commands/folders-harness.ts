/**
 * The harness of the hierarchy command tests (folders-*.test.ts): a device speaking FolderSync,
 * FolderCreate, FolderUpdate and FolderDelete over loopback HTTP, and a suite runner that starts
 * a real server on SQLite and on PostgreSQL and gives each test a fresh user.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { hashPassword } from '../../src/auth/password.ts';
import { commandHandlers } from '../../src/commands/index.ts';
import { DEFAULT_MAX_REQUEST_BYTES } from '../../src/http/server.ts';
import { buildRuntime } from '../../src/cli/runtime.ts';
import type { Store, User } from '../../src/store/types.ts';
import { child, childText, children, el, type WbxmlElement } from '../../src/wbxml/tree.ts';
import { openTempPostgresStore, openTempSqliteStore, pgSkipped, type TestStore } from '../helpers/db.ts';
import { EasClient, type EasResponse } from '../helpers/eas-client.ts';
import { collectingLogger, type LogLine } from '../helpers/server.ts';

export const NS = 'FolderHierarchy';
const PASSWORD = 'pa55word-of-everyone-4kq';
export const f = (name: string, ...kids: Parameters<typeof el>[2][]) => el(NS, name, ...kids);

export interface Change {
  kind: string;
  serverId: string;
  parentId?: string;
  displayName?: string;
  type?: number;
}

export interface Answer {
  http: number;
  status: number;
  key?: string;
  serverId?: string;
  count?: number;
  changes: Change[];
  res: EasResponse;
}

export function answer(res: EasResponse, root: string): Answer {
  assert.equal(res.status, 200, `HTTP ${res.status}`);
  const body = res.wbxml;
  assert.ok(body, 'a WBXML body');
  assert.equal(body.ns, NS);
  assert.equal(body.name, root);
  const changesEl = child(body, 'Changes', NS);
  const changes: Change[] = [];
  for (const c of changesEl ? children(changesEl) : []) {
    if (c.name === 'Count') continue;
    const type = childText(c, 'Type', NS);
    changes.push({
      kind: c.name,
      serverId: childText(c, 'ServerId', NS)!,
      ...(c.name === 'Delete' ? {} : { parentId: childText(c, 'ParentId', NS), displayName: childText(c, 'DisplayName', NS), type: Number(type) }),
    });
  }
  const count = changesEl ? childText(changesEl, 'Count', NS) : undefined;
  return {
    http: res.status,
    status: Number(childText(body, 'Status', NS)),
    key: childText(body, 'SyncKey', NS),
    serverId: childText(body, 'ServerId', NS),
    count: count === undefined ? undefined : Number(count),
    changes,
    res,
  };
}

/** A device of a user, speaking the four hierarchy commands. */
export class Phone {
  readonly client: EasClient;
  constructor(url: string, user: string, deviceId: string) {
    this.client = new EasClient({ url, user, password: PASSWORD, deviceId, deviceType: 'iPhone', version: '14.1' });
  }
  async raw(cmd: string, body?: WbxmlElement): Promise<EasResponse> {
    return this.client.post(cmd, body);
  }
  async sync(key: string): Promise<Answer> {
    return answer(await this.raw('FolderSync', f('FolderSync', f('SyncKey', key))), 'FolderSync');
  }
  async create(key: string, parentId: string, name: string, type: number | string = 12): Promise<Answer> {
    const body = f('FolderCreate', f('SyncKey', key), f('ParentId', parentId), f('DisplayName', name), f('Type', String(type)));
    return answer(await this.raw('FolderCreate', body), 'FolderCreate');
  }
  async update(key: string, serverId: string, parentId: string, name: string): Promise<Answer> {
    const body = f('FolderUpdate', f('SyncKey', key), f('ServerId', serverId), f('ParentId', parentId), f('DisplayName', name));
    return answer(await this.raw('FolderUpdate', body), 'FolderUpdate');
  }
  async delete(key: string, serverId: string): Promise<Answer> {
    return answer(await this.raw('FolderDelete', f('FolderDelete', f('SyncKey', key), f('ServerId', serverId))), 'FolderDelete');
  }
  /** FolderSync 0, returning the key and the folders by display name. */
  async start(): Promise<{ key: string; byName: Map<string, Change> }> {
    const a = await this.sync('0');
    assert.equal(a.status, 1);
    return { key: a.key!, byName: new Map(a.changes.map((c) => [c.displayName!, c])) };
  }
}

export interface Env {
  url: string;
  store: Store;
  logs: LogLine[];
}

/** What a suite's tests use: the server (filled in before the first test), a fresh user, a device. */
export type SuiteBody = (env: Env, newUser: () => Promise<User>, phone: (user: User, deviceId?: string) => Phone) => void;

/** Runs `body` against a real server on SQLite, then on PostgreSQL unless it is skipped. */
export function hierarchySuites(title: string, body: SuiteBody): void {
  hierarchySuite(title, 'sqlite', () => openTempSqliteStore(), body);
  if (pgSkipped()) it(`${title} on postgres`, { skip: 'EASD_TEST_SKIP_PG=1' }, () => {});
  else hierarchySuite(title, 'postgres', () => openTempPostgresStore(), body);
}

function hierarchySuite(title: string, backend: string, open: () => Promise<TestStore>, body: SuiteBody): void {
  describe(`${title} on ${backend}`, () => {
    let temp: TestStore;
    let app: FastifyInstance;
    // Filled in place by before(): the tests hold this object from the start.
    const env = {} as Env;
    let passwordHash: string;
    let n = 0;

    before(async () => {
      temp = await open();
      const logs: LogLine[] = [];
      app = (await buildRuntime({ server: { maxRequestBytes: DEFAULT_MAX_REQUEST_BYTES, trustProxy: false }, requireProvisioning: false }, {
        store: temp.store,
        log: collectingLogger(logs, 'info'),
        handlers: commandHandlers(),
      })).app;
      await app.listen({ host: '127.0.0.1', port: 0 });
      const address = app.server.address();
      assert.ok(address && typeof address === 'object');
      Object.assign(env, { url: `http://127.0.0.1:${address.port}`, store: temp.store, logs });
      passwordHash = await hashPassword(PASSWORD);
    });

    after(async () => {
      await app?.close();
      await temp?.cleanup();
    });

    /** A fresh user (with no folders yet) for one test. */
    const newUser = async (): Promise<User> =>
      env.store.createUser({ email: `user${++n}-${backend}-${title.replace(/\W+/g, '')}@example.com`, passwordHash, displayName: `User ${n}` });
    const phone = (user: User, deviceId = 'DEVICEA') => new Phone(env.url, user.email, deviceId);

    body(env, newUser, phone);
  });
}

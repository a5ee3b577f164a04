/**
 * For tests of the admin commands beside a running server: ./bin/easd as a child process, and a
 * real server on a store the command can open too (a SQLite data directory or a PostgreSQL schema).
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { hashPassword } from '../../src/auth/password.ts';
import { commandHandlers } from '../../src/commands/index.ts';
import { DEFAULT_MAX_REQUEST_BYTES } from '../../src/http/server.ts';
import { buildRuntime } from '../../src/cli/runtime.ts';
import type { Store, User } from '../../src/store/types.ts';
import { openTempPostgresStore, openTempSqliteStore, PG_TEST_URL } from '../helpers/db.ts';
import { cleanEnv, EASD, ROOT } from '../helpers/easd-process.ts';
import { collectingLogger, type LogLine } from '../helpers/server.ts';


export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs ./bin/easd with `args` (and `input` on its stdin, `env` beside a clean environment); never rejects on a non-zero exit. */
export function easd(args: string[], input?: string, env: Record<string, string> = {}): Promise<RunResult> {
  return new Promise((res, rej) => {
    const child = execFile(EASD, args, { cwd: ROOT, env: cleanEnv(env), timeout: 60_000, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      const e = err as (Error & { code?: unknown }) | null;
      if (e && typeof e.code !== 'number') return rej(e);
      res({ code: e ? (e.code as number) : 0, stdout, stderr });
    });
    if (input !== undefined) child.stdin!.end(input);
    else child.stdin!.end();
  });
}

/** Exit status 1, one "easd: ..." line on stderr matching `message`, and no stack trace. */
export function assertFails(r: { code: number | null; stdout: string; stderr: string }, message: RegExp): void {
  assert.equal(r.code, 1, `expected exit 1, got ${r.code}; stdout: ${r.stdout}; stderr: ${r.stderr}`);
  assert.match(r.stderr, message);
  assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
}

export interface SharedServer {
  url: string;
  store: Store;
  users: Map<string, User>;
  logs: LogLine[];
  /** The store options for ./bin/easd. */
  storeArgs: string[];
  close(): Promise<void>;
}

export async function serverWithSharedStore(backend: 'sqlite' | 'postgres', users: Array<{ email: string; password: string }>): Promise<SharedServer> {
  const temp = backend === 'sqlite' ? await openTempSqliteStore() : await openTempPostgresStore();
  let storeArgs: string[];
  if ('schema' in temp) {
    const url = new URL(PG_TEST_URL);
    url.searchParams.set('options', `-c search_path=${temp.schema}`);
    storeArgs = ['--database', url.toString()];
  } else {
    storeArgs = ['--data', (temp as { dir: string }).dir];
  }
  const created = new Map<string, User>();
  for (const u of users) created.set(u.email, await temp.store.createUser({ email: u.email, passwordHash: await hashPassword(u.password), displayName: null }));
  const logs: LogLine[] = [];
  // accountCacheMs 0: a change made with the CLI shows on the next request.
  const app = (
    await buildRuntime(
      // The devices of these tests do not provision (test/helpers/server.ts does the same).
      { server: { maxRequestBytes: DEFAULT_MAX_REQUEST_BYTES, trustProxy: false, accountCacheMs: 0 }, requireProvisioning: false },
      { store: temp.store, log: collectingLogger(logs, 'info'), handlers: commandHandlers() },
    )
  ).app;
  await app.listen({ host: '127.0.0.1', port: 0 });
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    url: `http://127.0.0.1:${port}`,
    store: temp.store,
    users: created,
    logs,
    storeArgs,
    close: async () => {
      await app.close();
      await temp.cleanup();
    },
  };
}

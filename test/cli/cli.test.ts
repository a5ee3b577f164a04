/**
 * The `easd` command as a user runs it: ./bin/easd as a child process against temporary data
 * directories (SQLite) and a fresh PostgreSQL schema.
 */
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { verifyPassword } from '../../src/auth/password.ts';
import { openStore } from '../../src/store/open.ts';
import type { Store } from '../../src/store/types.ts';
import { decodeWbxml, parseXml, toXml } from '../../src/wbxml/index.ts';
import { EasClient } from '../helpers/eas-client.ts';
import { cleanEnv, EASD, ROOT } from '../helpers/easd-process.ts';
import { assertFails } from '../logging/cli-helpers.ts';
import { openTempPostgresStore, PG_TEST_URL, pgSkipped } from '../helpers/db.ts';

const TIMEOUT_MS = 60_000;

interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  stdoutBytes: Buffer;
}

/** Runs ./bin/easd with `args`, feeding `stdin`; never rejects on a non-zero exit. */
function easd(args: string[], opts: { stdin?: string | Buffer; env?: Record<string, string>; cwd?: string } = {}): Promise<RunResult> {
  return new Promise((resolvePromise, reject) => {
    const child = execFile(
      EASD,
      args,
      { cwd: opts.cwd ?? ROOT, env: cleanEnv(opts.env), timeout: TIMEOUT_MS, encoding: 'buffer', maxBuffer: 16 * 1024 * 1024 },
      (err, stdout, stderr) => {
        const e = err as (Error & { code?: unknown; signal?: NodeJS.Signals | null }) | null;
        if (e && typeof e.code !== 'number' && !e.signal) return reject(e);
        resolvePromise({
          code: e ? (typeof e.code === 'number' ? e.code : null) : 0,
          signal: e?.signal ?? null,
          stdout: stdout.toString('utf8'),
          stderr: stderr.toString('utf8'),
          stdoutBytes: stdout,
        });
      },
    );
    child.stdin?.on('error', () => {}); // the CLI may exit before reading stdin
    child.stdin?.end(opts.stdin ?? '');
  });
}

function assertOk(r: RunResult, what: string) {
  assert.equal(r.code, 0, `${what} failed (${r.code}): ${r.stderr}`);
}

async function withStore<T>(dataDir: string, fn: (store: Store) => Promise<T>): Promise<T> {
  const store = await openStore({ dataDir });
  try {
    return await fn(store);
  } finally {
    await store.close();
  }
}

const tempDirs: string[] = [];
async function tempDir(prefix = 'easd-cli-'): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  tempDirs.push(dir);
  return dir;
}

after(async () => {
  for (const d of tempDirs) await rm(d, { recursive: true, force: true });
});

describe('easd user', () => {
  let data: string;
  before(async () => {
    data = await tempDir();
  });

  it('adds a user from --password-stdin and lists it', async () => {
    const add = await easd(['user', 'add', 'A@Example.com', '--password-stdin', '--display-name', 'Alice A', '--data', data], { stdin: 'secret-pass-1\n' });
    assertOk(add, 'user add');
    assert.match(add.stdout, /added a@example\.com/);
    assert.ok(!add.stdout.includes('secret-pass-1') && !add.stderr.includes('secret-pass-1'), 'the password is not echoed');
    const list = await easd(['user', 'list', '--data', data]);
    assertOk(list, 'user list');
    const rows = list.stdout.trim().split('\n').map((l) => l.split('\t'));
    assert.equal(rows.length, 1);
    assert.equal(rows[0]![0], 'a@example.com');
    assert.equal(rows[0]![1], 'Alice A');
    assert.ok(!Number.isNaN(Date.parse(rows[0]![2]!)));
    await withStore(data, async (store) => {
      const u = await store.getUserByEmail('a@example.com');
      assert.ok(u);
      assert.ok(await verifyPassword('secret-pass-1', u.passwordHash));
      assert.ok(!u.passwordHash.includes('secret-pass-1'));
    });
  });

  it('refuses to add a user twice', async () => {
    const dup = await easd(['user', 'add', 'a@EXAMPLE.com', '--password-stdin', '--data', data], { stdin: 'another-pass-2\n' });
    assertFails(dup, /^easd: a@EXAMPLE\.com exists already\n$/);
    await withStore(data, async (store) => {
      const u = await store.getUserByEmail('a@example.com');
      assert.ok(await verifyPassword('secret-pass-1', u!.passwordHash), 'the first password still holds');
    });
  });

  it('refuses a short password and a bad address', async () => {
    assertFails(await easd(['user', 'add', 'short@example.com', '--password-stdin', '--data', data], { stdin: 'short\n' }), /at least 8 characters/);
    assertFails(await easd(['user', 'add', 'empty@example.com', '--password-stdin', '--data', data], { stdin: '' }), /at least 8 characters/);
    assertFails(await easd(['user', 'add', 'not-an-address', '--password-stdin', '--data', data], { stdin: 'long-enough-pw\n' }), /not an e-mail address/);
    const list = await easd(['user', 'list', '--data', data]);
    assert.deepEqual(
      list.stdout.trim().split('\n').map((l) => l.split('\t')[0]),
      ['a@example.com'],
    );
  });

  it('changes a password with user passwd', async () => {
    const r = await easd(['user', 'passwd', 'a@example.com', '--password-stdin', '--data', data], { stdin: 'changed-pass-3\n' });
    assertOk(r, 'user passwd');
    assert.match(r.stdout, /password of a@example\.com changed/);
    await withStore(data, async (store) => {
      const u = await store.getUserByEmail('a@example.com');
      assert.ok(await verifyPassword('changed-pass-3', u!.passwordHash));
      assert.equal(await verifyPassword('secret-pass-1', u!.passwordHash), false);
    });
    assertFails(await easd(['user', 'passwd', 'a@example.com', '--password-stdin', '--data', data], { stdin: 'short\n' }), /at least 8 characters/);
  });

  it('refuses passwd and remove for an unknown user', async () => {
    assertFails(await easd(['user', 'passwd', 'ghost@example.com', '--password-stdin', '--data', data], { stdin: 'whatever-pass-4\n' }), /^easd: no user ghost@example\.com\n$/);
    assertFails(await easd(['user', 'remove', 'ghost@example.com', '--data', data]), /^easd: no user ghost@example\.com\n$/);
  });

  it('removes a user', async () => {
    const add = await easd(['user', 'add', 'b@example.com', '--password-stdin', '--data', data], { stdin: 'b-password-5\n' });
    assertOk(add, 'user add b');
    const r = await easd(['user', 'remove', 'A@example.com', '--data', data]);
    assertOk(r, 'user remove');
    assert.match(r.stdout, /removed a@example\.com/);
    const list = await easd(['user', 'list', '--data', data]);
    assert.deepEqual(
      list.stdout.trim().split('\n').map((l) => l.split('\t')[0]),
      ['b@example.com'],
    );
  });

  it('takes the data directory from EASD_DATA', async () => {
    const envData = await tempDir();
    assertOk(await easd(['user', 'add', 'env@example.com', '--password-stdin'], { stdin: 'env-password-6\n', env: { EASD_DATA: envData } }), 'user add via EASD_DATA');
    const list = await easd(['user', 'list'], { env: { EASD_DATA: envData } });
    assertOk(list, 'user list via EASD_DATA');
    assert.match(list.stdout, /^env@example\.com\t/);
    // It really went there, not to the default ./data.
    await withStore(envData, async (store) => assert.ok(await store.getUserByEmail('env@example.com')));
    const other = await easd(['user', 'list', '--data', data]);
    assert.doesNotMatch(other.stdout, /env@example\.com/);
  });
});

describe('easd user with PostgreSQL', { skip: pgSkipped() ? 'EASD_TEST_SKIP_PG=1' : false }, () => {
  it('adds and lists users in the database given by --database (and EASD_DATABASE_URL)', async () => {
    // A fresh schema (created and migrated by the helper); the CLI reaches it through the URL's
    // libpq "options" parameter, since the store picks the connection's current schema.
    const pg = await openTempPostgresStore();
    try {
      const url = new URL(PG_TEST_URL);
      url.searchParams.set('options', `-c search_path=${pg.schema}`);
      const dbUrl = url.toString();
      const cwd = await tempDir(); // so a stray ./data would show up here, not in the checkout
      const add = await easd(['user', 'add', 'pg@example.com', '--password-stdin', '--database', dbUrl], { stdin: 'pg-password-7\n', cwd });
      assertOk(add, 'user add --database');
      const add2 = await easd(['user', 'add', 'pg2@example.com', '--password-stdin'], { stdin: 'pg-password-8\n', cwd, env: { EASD_DATABASE_URL: dbUrl } });
      assertOk(add2, 'user add with EASD_DATABASE_URL');
      const list = await easd(['user', 'list', '--database', dbUrl], { cwd });
      assertOk(list, 'user list --database');
      assert.deepEqual(
        list.stdout.trim().split('\n').map((l) => l.split('\t')[0]),
        ['pg2@example.com', 'pg@example.com'],
      );
      const u = await pg.store.getUserByEmail('pg@example.com');
      assert.ok(u, 'the user is in the fresh schema');
      assert.ok(await verifyPassword('pg-password-7', u.passwordHash));
      assertFails(await easd(['user', 'add', 'pg@example.com', '--password-stdin', '--database', dbUrl], { stdin: 'pg-password-9\n', cwd }), /exists already/);
    } finally {
      await pg.cleanup();
    }
  });

  it('refuses a database URL of another scheme', async () => {
    const data = await tempDir();
    assertFails(await easd(['user', 'list', '--data', data, '--database', 'mysql://localhost/x']), /unsupported database URL scheme/);
  });
});

describe('easd wbxml', () => {
  it('encodes XML to WBXML and decodes it back to the same XML text form', async () => {
    const dir = await tempDir();
    const vector = join(ROOT, 'test/wbxml/vectors/008-sync-request-email-options.xml');
    const source = await readFile(vector, 'utf8');
    const enc = await easd(['wbxml', 'encode', vector]);
    assertOk(enc, 'wbxml encode');
    assert.ok(enc.stdoutBytes.length > 4);
    assert.equal(enc.stdoutBytes[0], 0x03, 'WBXML 1.3');
    assert.deepEqual(decodeWbxml(enc.stdoutBytes), parseXml(source));
    const bin = join(dir, 'out.wbxml');
    await writeFile(bin, enc.stdoutBytes);
    const dec = await easd(['wbxml', 'decode', bin]);
    assertOk(dec, 'wbxml decode');
    assert.equal(dec.stdout, toXml(parseXml(source)));
    // From stdin too, and the text form is stable through another round.
    const dec2 = await easd(['wbxml', 'decode'], { stdin: enc.stdoutBytes });
    assertOk(dec2, 'wbxml decode from stdin');
    assert.equal(dec2.stdout, dec.stdout);
    const enc2 = await easd(['wbxml', 'encode', '-'], { stdin: dec.stdout });
    assert.deepEqual(enc2.stdoutBytes, enc.stdoutBytes);
  });

  it('reports garbage with its offset, exit status 1 and no stack trace', async () => {
    const dir = await tempDir();
    const garbage = join(dir, 'garbage.bin');
    await writeFile(garbage, Buffer.from([0x03, 0x01, 0x6a, 0x00, 0x45, 0x99, 0x99, 0xff]));
    const r = await easd(['wbxml', 'decode', garbage]);
    assertFails(r, /offset/);
    assert.match(r.stderr, /^easd: malformed input: /);
    assert.equal(r.stdout, '');
    assertFails(await easd(['wbxml', 'decode'], { stdin: Buffer.from('hello, not wbxml') }), /offset/);
    assertFails(await easd(['wbxml', 'encode'], { stdin: '<NoSuchTag xmlns="AirSync:"/>' }), /malformed input/);
    assertFails(await easd(['wbxml', 'decode', join(dir, 'missing.bin')]), /ENOENT|no such file/);
  });
});

describe('easd serve', () => {
  interface Served {
    url: string;
    stdout: () => string;
    stop: (signal?: NodeJS.Signals) => Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  }

  /** Starts `easd serve` and waits for its "listening" line. */
  async function serve(data: string, extra: string[] = []): Promise<Served> {
    const child = spawn(EASD, ['serve', '--listen', '127.0.0.1:0', '--data', data, ...extra], { cwd: ROOT, env: cleanEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => (out += c));
    child.stderr.setEncoding('utf8').on('data', (c: string) => (err += c));
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((res) => child.once('exit', (code, signal) => res({ code, signal })));
    const killTimer = setTimeout(() => child.kill('SIGKILL'), TIMEOUT_MS);
    exited.then(() => clearTimeout(killTimer));
    const url = await new Promise<string>((res, rej) => {
      const check = () => {
        const m = /^easd is listening on (http\S+)\/Microsoft-Server-ActiveSync$/m.exec(out);
        if (m) {
          child.stdout.off('data', check);
          res(m[1]!);
        }
      };
      child.stdout.on('data', check);
      void exited.then(({ code, signal }) => rej(new Error(`easd serve exited (${code ?? signal}) before listening: ${out}${err}`)));
    });
    return {
      url,
      stdout: () => out,
      stop: async (signal = 'SIGTERM') => {
        if (child.exitCode === null && child.signalCode === null) child.kill(signal);
        return exited;
      },
    };
  }

  it('creates and prints a demo user once, serves it, and stops cleanly on SIGTERM', async () => {
    const data = await tempDir();
    const first = await serve(data);
    let password: string;
    try {
      assert.match(first.url, /^http:\/\/127\.0\.0\.1:\d+$/);
      assert.doesNotMatch(first.url, /:0$/, 'the bound port is printed');
      // The demo user line follows the listening line.
      const deadline = Date.now() + 10_000;
      while (!/Created demo@localhost/.test(first.stdout()) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      const m = /^Created demo@localhost with password (\S+) \(shown only this once\)\.$/m.exec(first.stdout());
      assert.ok(m, `no demo user line in: ${first.stdout()}`);
      password = m[1]!;
      const phone = new EasClient({ url: first.url, user: 'demo@localhost', password });
      const res = await phone.options();
      assert.equal(res.status, 200);
      assert.equal(res.headers.get('ms-asprotocolversions'), '12.0,12.1,14.0,14.1,16.0,16.1');
      assert.equal((await new EasClient({ url: first.url, user: 'demo@localhost', password: 'wrong-password' }).options()).status, 401);
      // The request log goes to stdout as JSON lines, without the password.
      const logLines = first.stdout().split('\n').filter((l) => l.startsWith('{'));
      assert.ok(logLines.some((l) => (JSON.parse(l) as { msg?: string; cmd?: string }).cmd === 'OPTIONS'));
      assert.ok(!logLines.some((l) => l.includes(password)), 'the demo password is not in a log line');
    } finally {
      const exit = await first.stop();
      assert.deepEqual(exit, { code: 0, signal: null }, 'SIGTERM exits 0');
    }

    const second = await serve(data);
    try {
      // A request round trip: the server is past the point where it would print a demo user.
      assert.equal((await new EasClient({ url: second.url, user: 'demo@localhost', password }).options()).status, 200);
    } finally {
      const exit = await second.stop();
      assert.deepEqual(exit, { code: 0, signal: null });
    }
    assert.doesNotMatch(second.stdout(), /Created demo@localhost/);
    await withStore(data, async (store) => assert.equal(await store.countUsers(), 1));
  });

  it('does not create a demo user with --no-demo-user, and stops on SIGINT', async () => {
    const data = await tempDir();
    const s = await serve(data, ['--no-demo-user']);
    const exit = await s.stop('SIGINT');
    assert.deepEqual(exit, { code: 0, signal: null });
    assert.doesNotMatch(s.stdout(), /Created demo@localhost/);
    await withStore(data, async (store) => assert.equal(await store.countUsers(), 0));
  });

  it(
    'leaves no demo user behind when it cannot listen',
    async () => {
      const data = await tempDir();
      const blocker = createServer();
      await new Promise<void>((res) => blocker.listen(0, '127.0.0.1', res));
      try {
        const port = (blocker.address() as AddressInfo).port;
        const r = await easd(['serve', '--listen', `127.0.0.1:${port}`, '--data', data]);
        assertFails(r, /EADDRINUSE|in use/);
        const shown = /Created demo@localhost/.test(r.stdout);
        const count = await withStore(data, (store) => store.countUsers());
        assert.ok(shown || count === 0, 'a demo user exists whose password was never shown');
      } finally {
        await new Promise((res) => blocker.close(res));
      }
    },
  );

  it('refuses a malformed --listen with exit 1', async () => {
    const data = await tempDir();
    assertFails(await easd(['serve', '--listen', 'nonsense', '--data', data]), /--listen wants HOST:PORT/);
  });
});

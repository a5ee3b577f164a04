/**
 * The built command and where it finds the store (issue 18 items 6 and 7), on a copy of the
 * installation in a temporary directory (sources, bin/easd, the build script; node_modules
 * linked), built there as `npm ci` builds it, so the checkout's own build and data/ play no part.
 *
 * - bin/easd runs the JavaScript in dist/, not the sources through tsx; without a build, or with
 *   a source newer than it, it runs the sources and says so on stderr.
 * - Subcommands load lazily: `--version` loads no subcommand, `user list` not the server.
 * - The default store is data/ of the installation, whatever the working directory; a read
 *   command never creates it, and says where it looked.
 * Which modules a command loads is written by a module-loading hook (NODE_OPTIONS --import), so
 * nothing here depends on timings.
 */
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { cleanEnv, ROOT } from '../helpers/easd-process.ts';
import { assertFails } from '../logging/cli-helpers.ts';

interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
  /** URLs of the modules the command loaded, in order. */
  modules: string[];
}

let work: string;
let inst: string;
let hookRegister: string;

/** Runs `<inst>/bin/easd args` in `cwd`, logging the modules it loads; never rejects on a non-zero exit. */
function run(args: string[], opts: { cwd: string; input?: string }): Promise<RunResult> {
  const log = join(work, `modules-${Math.random().toString(36).slice(2)}.log`);
  return new Promise((res, rej) => {
    const env = cleanEnv({ MODULE_LOG: log, NODE_OPTIONS: `--import ${hookRegister}` });
    const child = execFile(join(inst, 'bin/easd'), args, { cwd: opts.cwd, env, timeout: 60_000 }, (err, stdout, stderr) => {
      const e = err as (Error & { code?: unknown }) | null;
      if (e && typeof e.code !== 'number') return rej(e);
      const modules = existsSync(log) ? readFileSync(log, 'utf8').split('\n').filter(Boolean) : [];
      res({ code: e ? (e.code as number) : 0, stdout, stderr, modules });
    });
    child.stdin!.end(opts.input ?? '');
  });
}

function emptyDir(name: string): string {
  const dir = join(work, name);
  mkdirSync(dir);
  return dir;
}

const fromInst = (m: string) => m.startsWith(`file://${inst}/`);
const tsSources = (r: RunResult) => r.modules.filter((m) => m.endsWith('.ts'));
const tsxLoaded = (r: RunResult) => r.modules.some((m) => m.includes('/node_modules/tsx/'));

before(() => {
  work = mkdtempSync(join(tmpdir(), 'easd-install-'));
  inst = join(work, 'easd');
  for (const p of ['src', 'bin', 'scripts/build.mjs', 'package.json']) cpSync(join(ROOT, p), join(inst, p), { recursive: true });
  symlinkSync(join(ROOT, 'node_modules'), join(inst, 'node_modules'));
  // What `npm ci` runs (the prepare script).
  execFileSync(process.execPath, [join(inst, 'scripts/build.mjs')], { cwd: inst, env: cleanEnv(), stdio: 'pipe' });
  // Every module a process loads through the ESM loader, one URL a line, to the file in MODULE_LOG.
  writeFileSync(
    join(work, 'hooks.mjs'),
    "import { appendFileSync } from 'node:fs';\nlet log;\nexport function initialize(data) { log = data.log; }\n" +
      'export async function load(url, context, next) { if (log) appendFileSync(log, url + "\\n"); return next(url, context); }\n',
  );
  hookRegister = join(work, 'register.mjs');
  writeFileSync(hookRegister, "import { register } from 'node:module';\nregister('./hooks.mjs', import.meta.url, { data: { log: process.env.MODULE_LOG } });\n");
});

after(() => rmSync(work, { recursive: true, force: true }));

describe('the built command', () => {
  it('the build is complete: dist/cli/main.js and the .built mark', () => {
    assert.ok(existsSync(join(inst, 'dist/cli/main.js')));
    assert.ok(existsSync(join(inst, 'dist/.built')));
  });

  it('bin/easd runs dist/, not the sources through tsx; --version loads no subcommand', async () => {
    const r = await run(['--version'], { cwd: emptyDir('cwd-version') });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.trim(), '0.1.0');
    assert.equal(r.stderr, '');
    assert.ok(r.modules.includes(`file://${inst}/dist/cli/main.js`), r.modules.join('\n'));
    assert.deepEqual(tsSources(r), []);
    assert.equal(tsxLoaded(r), false);
    // main.js alone from the installation: no subcommand chunk, no store.
    assert.deepEqual(r.modules.filter(fromInst), [`file://${inst}/dist/cli/main.js`]);
    assert.equal(r.modules.some((m) => /better-sqlite3|kysely|fastify|pino/.test(m)), false, r.modules.join('\n'));
  });

  it('user list loads the store but not the server, the PostgreSQL driver or the WBXML codec', async () => {
    const data = join(work, 'data-lazy');
    const add = await run(['user', 'add', 'lazy@example.com', '--password-stdin', '--data', data], { cwd: emptyDir('cwd-lazy'), input: 'a-long-password-1\n' });
    assert.equal(add.code, 0, add.stderr);
    const r = await run(['user', 'list', '--data', data], { cwd: emptyDir('cwd-lazy-list') });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /lazy@example\.com/);
    assert.ok(r.modules.some((m) => m.includes('better-sqlite3')), r.modules.join('\n'));
    for (const heavy of ['fastify', 'pino', 'smtp-server', 'nodemailer', 'mailparser', '/pg/', 'prom-client', 'saxes']) {
      assert.equal(r.modules.some((m) => m.includes(`/node_modules/${heavy.replace(/\//g, '')}/`)), false, `${heavy} loaded:\n${r.modules.join('\n')}`);
    }
    assert.equal(r.modules.some((m) => /\/dist\/cli\/(serve|wbxml)-/.test(m)), false, r.modules.join('\n'));
  });

  it('a source newer than the build: the sources run through tsx, with a note on stderr', async () => {
    const main = join(inst, 'src/cli/main.ts');
    const soon = new Date(Date.now() + 60_000);
    utimesSync(main, soon, soon);
    try {
      const r = await run(['--version'], { cwd: emptyDir('cwd-stale') });
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout.trim(), '0.1.0');
      assert.match(r.stderr, /^easd: sources in .* are newer than the build .*npm run build/);
      assert.equal(r.stderr.trim().split('\n').length, 1);
      assert.ok(tsxLoaded(r) || tsSources(r).length > 0, r.modules.join('\n'));
    } finally {
      const past = new Date(Date.now() - 3600_000);
      utimesSync(main, past, past);
    }
  });

  it('no build: the sources run through tsx, with a note on stderr', async () => {
    renameSync(join(inst, 'dist'), join(inst, 'dist.away'));
    try {
      const r = await run(['--version'], { cwd: emptyDir('cwd-nobuild') });
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout.trim(), '0.1.0');
      assert.match(r.stderr, /^easd: no build in .*npm run build/);
      assert.ok(r.modules.some((m) => m === `file://${inst}/src/cli/main.ts`), r.modules.join('\n'));
    } finally {
      renameSync(join(inst, 'dist.away'), join(inst, 'dist'));
    }
  });
});

describe('where the store is', () => {
  const READS: string[][] = [
    ['user', 'list'],
    ['user', 'show', 'nobody@example.com'],
    ['device', 'list'],
    ['policy', 'list'],
    ['rule', 'list'],
    ['domain', 'list'],
  ];

  it('a read command with no --data, --database or EASD_DATA, in another directory, names the default store, exits 1 and creates nothing', async () => {
    const cwd = emptyDir('cwd-read');
    for (const args of READS) {
      const r = await run(args, { cwd });
      assertFails(r, new RegExp(`no store at ${join(inst, 'data', 'easd.sqlite').replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} \\(the default data directory\\)`));
      assert.match(r.stderr, /--data DIR \(EASD_DATA\) or --database URL/);
    }
    assert.deepEqual(readdirSync(cwd), [], 'nothing made in the working directory');
    assert.equal(existsSync(join(inst, 'data')), false, 'no default store made');
  });

  it('a read command with a --data directory that has no store names it and creates nothing', async () => {
    const missing = join(work, 'no-such-store');
    const r = await run(['user', 'list', '--data', missing], { cwd: emptyDir('cwd-given') });
    assertFails(r, /no store at .*no-such-store\/easd\.sqlite \(the data directory given\)/);
    assert.equal(existsSync(missing), false);
  });

  it('user add from one directory and user list from another use the same default store, under the installation', async () => {
    try {
      const add = await run(['user', 'add', 'here@example.com', '--password-stdin'], { cwd: emptyDir('cwd-add'), input: 'a-long-password-2\n' });
      assert.equal(add.code, 0, add.stderr);
      assert.ok(existsSync(join(inst, 'data', 'easd.sqlite')));
      assert.deepEqual(readdirSync(join(work, 'cwd-add')), []);
      const list = await run(['user', 'list'], { cwd: emptyDir('cwd-list') });
      assert.equal(list.code, 0, list.stderr);
      assert.match(list.stdout, /here@example\.com/);
    } finally {
      rmSync(join(inst, 'data'), { recursive: true, force: true });
    }
  });
});

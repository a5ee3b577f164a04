/**
 * The SQLite store is owner-only (issue 18): a data directory easd creates is 0700 and its
 * database files 0600; a wider directory or file the admin chose is kept, with a warn line.
 */
import assert from 'node:assert/strict';
import { chmod, mkdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { openStore } from '../../src/store/open.ts';
import { serve, tempDir } from './serve-process.ts';

describe('the SQLite store is owner-only', () => {
  it('a new --data directory is 0700 and the database files 0600, with no warning', async () => {
    const data = join(await tempDir(), 'new', 'data');
    const s = await serve(data, { EASD_NO_DEMO_USER: '1' });
    try {
      assert.equal((await stat(data)).mode & 0o777, 0o700);
      for (const f of ['easd.sqlite', 'easd.sqlite-wal', 'easd.sqlite-shm']) {
        assert.equal((await stat(join(data, f))).mode & 0o777, 0o600, f);
      }
      assert.ok(!s.logLines().some((l) => l.includes('accessible to group or others')), s.proc.output());
    } finally {
      assert.equal(await s.stop(), 0);
    }
  });

  it('an existing 0755 directory is kept as it is, with a warn line naming it and its mode', async () => {
    const data = join(await tempDir(), 'data');
    await mkdir(data);
    await chmod(data, 0o755);
    const s = await serve(data, { EASD_NO_DEMO_USER: '1' });
    try {
      assert.equal((await stat(data)).mode & 0o777, 0o755, 'the admin\'s mode is kept');
      assert.equal((await stat(join(data, 'easd.sqlite'))).mode & 0o777, 0o600);
      const warns = s.logLines().map((l) => JSON.parse(l) as { level: number; path?: string; mode?: string; msg: string }).filter((l) => l.level === 40);
      assert.deepEqual(warns.map((w) => [w.path, w.mode]), [[data, '0755']]);
      assert.match(warns[0]!.msg, /accessible to group or others \(mode 0755\)/);
    } finally {
      assert.equal(await s.stop(), 0);
    }
  });

  it('a database file readable by others gives a warn line too', async () => {
    const data = await tempDir();
    await chmod(data, 0o700);
    const store = await openStore({ dataDir: data });
    await store.close();
    await chmod(join(data, 'easd.sqlite'), 0o644);
    const s = await serve(data, { EASD_NO_DEMO_USER: '1' });
    try {
      const warns = s.logLines().map((l) => JSON.parse(l) as { level: number; path?: string; mode?: string }).filter((l) => l.level === 40);
      assert.ok(warns.some((w) => w.path === join(data, 'easd.sqlite') && w.mode === '0644'), s.proc.output());
      assert.ok(!warns.some((w) => w.path === data));
    } finally {
      assert.equal(await s.stop(), 0);
    }
  });
});

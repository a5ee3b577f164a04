/**
 * `easd serve` run as an admin runs it, for the tests of its safe defaults (issue 18): started on
 * a free loopback port with the given environment and flags, read until it listens, stopped with
 * SIGTERM; or expected to refuse to start.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after } from 'node:test';
import { cleanEnv, spawnEasd, type EasdProcess } from '../helpers/easd-process.ts';

const tempDirs: string[] = [];
export async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'easd-secure-'));
  tempDirs.push(dir);
  return dir;
}
after(async () => {
  for (const d of tempDirs) await rm(d, { recursive: true, force: true });
});

export interface Started {
  proc: EasdProcess;
  url: string;
  /** The fields of the "easd listening" log line. */
  listening: Record<string, unknown>;
  /** Every JSON log line written so far. */
  logLines(): string[];
  stop(): Promise<number | null>;
}

/** Starts `easd serve` on a free loopback port (unless `args` say otherwise) and waits until it listens. */
export async function serve(data: string, env: Record<string, string> = {}, args: string[] = []): Promise<Started> {
  const listen = args.includes('--listen') ? [] : ['--listen', '127.0.0.1:0'];
  const proc = spawnEasd(['serve', ...listen, '--data', data, ...args], cleanEnv(env));
  try {
    const { url } = await proc.waitFor({ url: /easd is listening on (http\S+)\/Microsoft-Server-ActiveSync/, log: /"msg":"easd listening"/ });
    const logLines = () => proc.output().split('\n').filter((l) => l.startsWith('{'));
    const line = logLines().find((l) => l.includes('"msg":"easd listening"'))!;
    return {
      proc,
      url: url!,
      listening: JSON.parse(line) as Record<string, unknown>,
      logLines,
      stop: async () => {
        if (proc.child.exitCode === null) proc.child.kill('SIGTERM');
        return proc.exited;
      },
    };
  } catch (err) {
    proc.child.kill('SIGKILL');
    throw err;
  }
}

/** Runs `easd serve` expecting it to refuse to start; a server that starts anyway is stopped and fails the test. */
export async function refusesToStart(env: Record<string, string>, args: string[] = []): Promise<string> {
  const data = await tempDir();
  const proc = spawnEasd(['serve', '--listen', '127.0.0.1:0', '--data', data, ...args], cleanEnv(env));
  const started: Promise<'started' | number | null> = proc.waitFor({ url: /easd is listening on/ }, 30_000).then(
    () => 'started' as const,
    () => proc.exited,
  );
  const code = await Promise.race([proc.exited, started]);
  if (code === 'started') {
    proc.child.kill('SIGTERM');
    await proc.exited;
    assert.fail(`easd serve started with ${JSON.stringify(env)} ${args.join(' ')}: ${proc.output()}`);
  }
  assert.notEqual(code, 0, 'a non-zero exit');
  return proc.output();
}


/**
 * ./bin/easd as a child process, as an admin or an init system runs it: the environment without
 * the developer's EASD_* settings, and `easd serve` read until it says where it listens.
 */
import { spawn, type ChildProcessByStdio } from 'node:child_process';
import { dirname, join, resolve } from 'node:path';
import type { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const EASD = join(ROOT, 'bin/easd');

/** process.env without EASD_* (a setting of the shell running the tests must not leak in), plus `extra`. */
export function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('EASD_')) env[k] = v;
  return { ...env, ...extra };
}

export interface EasdProcess {
  child: ChildProcessByStdio<null, Readable, Readable>;
  /** Resolves with the exit code once it has exited. */
  exited: Promise<number | null>;
  /** Everything written to stdout and stderr so far. */
  output(): string;
  /**
   * Waits until every pattern has matched the output; each key gets its pattern's first group.
   * Rejects with the output so far after `timeoutMs`, or when the process exits first.
   */
  waitFor<K extends string>(patterns: Record<K, RegExp>, timeoutMs?: number): Promise<Record<K, string>>;
}

export function spawnEasd(args: string[], env: NodeJS.ProcessEnv = cleanEnv()): EasdProcess {
  const child = spawn(EASD, args, { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  // 'close', not 'exit': by then stdout and stderr are read to their end.
  const exited = new Promise<number | null>((res) => child.once('close', (code) => res(code)));
  let out = '';
  const seen = new Set<() => void>();
  const collect = (d: Buffer) => {
    out += d.toString();
    for (const check of [...seen]) check();
  };
  child.stdout.on('data', collect);
  child.stderr.on('data', collect);
  return {
    child,
    exited,
    output: () => out,
    waitFor<K extends string>(patterns: Record<K, RegExp>, timeoutMs = 30_000): Promise<Record<K, string>> {
      return new Promise((res, rej) => {
        const check = () => {
          const found = {} as Record<K, string>;
          for (const [k, re] of Object.entries(patterns) as Array<[K, RegExp]>) {
            const m = re.exec(out);
            if (!m) return;
            found[k] = m[1] ?? m[0];
          }
          clearTimeout(t);
          seen.delete(check);
          res(found);
        };
        const t = setTimeout(() => {
          seen.delete(check);
          rej(new Error(`easd ${args[0]} did not say ${Object.values(patterns).join(' and ')}: ${out}`));
        }, timeoutMs);
        seen.add(check);
        check();
        // A process that ends before saying it (a bad option, a port in use) fails at once.
        void exited.then(() => {
          if (!seen.has(check)) return;
          check();
          if (!seen.has(check)) return;
          clearTimeout(t);
          seen.delete(check);
          rej(new Error(`easd ${args[0]} exited before it said ${Object.values(patterns).join(' and ')}: ${out}`));
        });
      });
    },
  };
}

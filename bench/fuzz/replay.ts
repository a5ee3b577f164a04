/**
 * Sends one saved failing request (a JSON file of the failures directory) to a fresh fuzz server
 * with the same users and setup, and prints the answer: `run.ts --replay FILE`.
 */
import { readFileSync } from 'node:fs';
import { runOne } from './fuzz.ts';

export async function replay(file: string, backend: 'sqlite' | 'postgres'): Promise<number> {
  const saved = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
  const entries = Array.isArray(saved.inFlight) ? (saved.inFlight as Record<string, unknown>[]) : [saved];
  const out = await runOne(entries, backend);
  process.stdout.write(out + '\n');
  return 0;
}

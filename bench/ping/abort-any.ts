/**
 * Does AbortSignal.any([perRequest, longLived]) leave something behind on this Node? src/http/
 * activesync.ts combines every request's signal with the server's shutdown signal that way.
 * Run with --expose-gc: makes `--count` combined signals the way a request does (a new
 * controller, AbortSignal.any with one long-lived signal, an abort listener added and removed),
 * yielding to the event loop every 100, then forces GC and reports the heap growth and the size
 * of the long-lived signal's set of dependent signals (a Node internal, read by its symbol).
 *
 *   node --expose-gc --import tsx bench/ping/abort-any.ts [--count 300000]
 */
import { parseArgs } from '../sync/common.ts';

const args = parseArgs(process.argv.slice(2), { count: 'number' }, { count: 300_000 }, 'usage: node --expose-gc --import tsx bench/ping/abort-any.ts [--count N]');
const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) {
  process.stderr.write('run with node --expose-gc\n');
  process.exit(2);
}
const count = Math.max(1000, Math.min(5_000_000, Number(args.count)));
const shutdown = new AbortController().signal;
const settle = async () => {
  for (let i = 0; i < 3; i++) {
    gc();
    await new Promise((r) => setTimeout(r, 100));
  }
  return process.memoryUsage().heapUsed;
};
const dependants = () => {
  const k = Object.getOwnPropertySymbols(shutdown).find((s) => s.toString() === 'Symbol(kDependantSignals)');
  const set = k ? (shutdown as unknown as Record<symbol, Set<unknown> | undefined>)[k] : undefined;
  return set?.size ?? 0;
};
const h0 = await settle();
for (let i = 0; i < count; i++) {
  const abort = new AbortController();
  const combined = AbortSignal.any([abort.signal, shutdown]);
  const onAbort = () => {};
  combined.addEventListener('abort', onAbort);
  combined.removeEventListener('abort', onAbort);
  if (i % 100 === 0) await new Promise((r) => setImmediate(r));
}
const h1 = await settle();
process.stdout.write(
  `node ${process.version}: ${count} AbortSignal.any() with a long-lived signal: heap +${((h1 - h0) / 2 ** 20).toFixed(1)} MiB after GC ` +
    `(${((h1 - h0) / count).toFixed(0)} bytes each); the long-lived signal still lists ${dependants()} dependent signals\n`,
);

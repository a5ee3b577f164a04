/**
 * Summarizes a V8 .cpuprofile (from `--profile DIR` of the benches, or `node --cpu-prof`):
 * self time by function and by module (src/<file>, node_modules/<package>, node: internals),
 * and total (inclusive) time of the src/ functions.
 *
 *   node --import tsx bench/sync/profile-summary.ts FILE.cpuprofile [--top 30]
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from './common.ts';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}
interface Node {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}
interface Profile {
  nodes: Node[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

const argv = process.argv.slice(2);
const file = argv.find((a) => !a.startsWith('--'));
const args = parseArgs(
  argv.filter((a) => a !== file),
  { top: 'number' },
  { top: 30 },
  'usage: node --import tsx bench/sync/profile-summary.ts FILE.cpuprofile [--top N]',
);
if (!file) {
  process.stderr.write('give a .cpuprofile file\n');
  process.exit(2);
}
process.stdout.on('error', () => process.exit(0)); // e.g. piped into head
const p = JSON.parse(readFileSync(file, 'utf8')) as Profile;
const top = Number(args.top);

const byId = new Map(p.nodes.map((n) => [n.id, n]));
const parent = new Map<number, number>();
for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);

const selfUs = new Map<number, number>();
for (let i = 0; i < p.samples.length; i++) {
  const dt = p.timeDeltas[i + 1] ?? 0;
  selfUs.set(p.samples[i]!, (selfUs.get(p.samples[i]!) ?? 0) + dt);
}
const total = [...selfUs.values()].reduce((a, b) => a + b, 0);

function moduleOf(url: string, fn: string): string {
  if (!url) return fn.startsWith('(') ? fn : '(native/builtin)';
  const nm = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (nm) return `node_modules/${nm[1]}`;
  const src = /\/((?:src|bench|test)\/.*)$/.exec(url);
  if (src) return src[1]!;
  if (url.startsWith('node:')) return url;
  return url;
}
const label = (n: Node) => `${n.callFrame.functionName || '(anonymous)'} ${moduleOf(n.callFrame.url, n.callFrame.functionName)}:${n.callFrame.lineNumber + 1}`;

const fnSelf = new Map<string, number>();
const modSelf = new Map<string, number>();
for (const [id, us] of selfUs) {
  const n = byId.get(id)!;
  fnSelf.set(label(n), (fnSelf.get(label(n)) ?? 0) + us);
  const mod = moduleOf(n.callFrame.url, n.callFrame.functionName);
  modSelf.set(mod, (modSelf.get(mod) ?? 0) + us);
}

// Inclusive time of src/ functions (counted once per sample even when recursive).
const incl = new Map<string, number>();
for (const [id, us] of selfUs) {
  const seen = new Set<string>();
  for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
    const n = byId.get(at)!;
    if (!/\/src\//.test(n.callFrame.url)) continue;
    const l = label(n);
    if (seen.has(l)) continue;
    seen.add(l);
    incl.set(l, (incl.get(l) ?? 0) + us);
  }
}

const pct = (us: number) => ((100 * us) / total).toFixed(1).padStart(5) + '%';
const print = (title: string, m: Map<string, number>) => {
  process.stdout.write(`\n${title}\n`);
  for (const [k, v] of [...m].sort((a, b) => b[1] - a[1]).slice(0, top)) process.stdout.write(`${pct(v)}  ${(v / 1000).toFixed(0).padStart(7)} ms  ${k}\n`);
};
process.stdout.write(`${file}: ${(total / 1e6).toFixed(2)} s sampled\n`);
print('self time by module', modSelf);
print('self time by function', fnSelf);
print('inclusive time of src/ functions', incl);

// Callers of the heaviest native/builtin functions (they have no module of their own).
const nativeTop = [...fnSelf].filter(([k]) => k.includes('(native/builtin)')).sort((a, b) => b[1] - a[1]).slice(0, 5);
for (const [name] of nativeTop) {
  const callers = new Map<string, number>();
  for (const [id, us] of selfUs) {
    const n = byId.get(id)!;
    if (label(n) !== name) continue;
    // The nearest JS ancestors with a URL, three levels.
    const chain: string[] = [];
    for (let at = parent.get(id); at !== undefined && chain.length < 3; at = parent.get(at)) {
      const a = byId.get(at)!;
      if (a.callFrame.url) chain.push(label(a));
    }
    const k = chain.join(' < ');
    callers.set(k, (callers.get(k) ?? 0) + us);
  }
  process.stdout.write(`\ncallers of ${name}\n`);
  for (const [k, v] of [...callers].sort((a, b) => b[1] - a[1]).slice(0, 6)) process.stdout.write(`${pct(v)}  ${k}\n`);
}

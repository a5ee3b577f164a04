/**
 * Compares two V8 heap snapshots (e.g. bench/ping/held.ts --heap-snapshots DIR: before and with
 * the Pings held): retained self size and object count by constructor, sorted by growth, divided
 * by a count (the number of held Pings) to give bytes per Ping.
 *
 *   node --import tsx bench/ping/heap-diff.ts BEFORE.heapsnapshot AFTER.heapsnapshot [--per N] [--top 40]
 *        [--retainers "array: (array)"]   (also: what holds the new objects of that kind, by retainer and edge)
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from '../sync/common.ts';

const files = process.argv.slice(2).filter((a, i, all) => !a.startsWith('--') && !all[i - 1]?.startsWith('--'));
const args = parseArgs(
  process.argv.slice(2).filter((a) => !files.includes(a)),
  { per: 'number', top: 'number', retainers: 'string' },
  { per: 1, top: 40 },
  'usage: bench/ping/heap-diff.ts BEFORE AFTER [--per N] [--top K] [--retainers "array: (array)"]',
);
process.stdout.on('error', () => process.exit(0)); // e.g. piped into head
if (files.length !== 2) {
  process.stderr.write('give two .heapsnapshot files\n');
  process.exit(2);
}

interface Snapshot {
  snapshot: { meta: { node_fields: string[]; node_types: [string[], ...unknown[]]; edge_fields: string[]; edge_types: [string[], ...unknown[]] } };
  nodes: number[];
  edges: number[];
  strings: string[];
}

/** (type:name) -> [count, self bytes]; strings also by value pattern (ids masked) under "value: ..." */
function tally(file: string): Map<string, [number, number]> {
  const s = JSON.parse(readFileSync(file, 'utf8')) as Snapshot;
  const f = s.snapshot.meta.node_fields;
  const types = s.snapshot.meta.node_types[0];
  const width = f.length;
  const iType = f.indexOf('type');
  const iName = f.indexOf('name');
  const iSize = f.indexOf('self_size');
  const out = new Map<string, [number, number]>();
  for (let i = 0; i < s.nodes.length; i += width) {
    const type = types[s.nodes[i + iType]!]!;
    let name = type === 'object' || type === 'closure' || type === 'native' ? s.strings[s.nodes[i + iName]!]! : `(${type})`;
    if (name.length > 60) name = name.slice(0, 57) + '...';
    const key = `${type}: ${name}`;
    const e = out.get(key) ?? [0, 0];
    e[0] += 1;
    e[1] += s.nodes[i + iSize]!;
    out.set(key, e);
    if (type === 'string' || type === 'concatenated string' || type === 'sliced string') {
      const v = s.strings[s.nodes[i + iName]!]!
        .replace(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g, '<uuid>')
        .replace(/\d+/g, '<n>')
        .slice(0, 48)
        .replace(/\|/g, '/')
        .replace(/[\r\n]/g, ' ');
      const vk = `value: ${JSON.stringify(v)}`;
      const ve = out.get(vk) ?? [0, 0];
      ve[0] += 1;
      ve[1] += s.nodes[i + iSize]!;
      out.set(vk, ve);
    }
  }
  return out;
}

const a = tally(files[0]!);
const b = tally(files[1]!);
const per = Number(args.per);
const all = [...new Set([...a.keys(), ...b.keys()])];
const rows = all.filter((k) => !k.startsWith('value: ')).map((k) => {
  const [ca, sa] = a.get(k) ?? [0, 0];
  const [cb, sb] = b.get(k) ?? [0, 0];
  return { k, dc: cb - ca, ds: sb - sa };
});
rows.sort((x, y) => y.ds - x.ds);
const totalDs = rows.reduce((s, r) => s + r.ds, 0);
process.stdout.write(`heap growth ${(totalDs / 2 ** 20).toFixed(1)} MiB = ${(totalDs / per).toFixed(0)} bytes per unit (per = ${per})\n\n`);
process.stdout.write('| bytes per unit | objects per unit | type: constructor |\n|---:|---:|---|\n');
for (const r of rows.slice(0, Number(args.top))) process.stdout.write(`| ${(r.ds / per).toFixed(0)} | ${(r.dc / per).toFixed(2)} | ${r.k} |\n`);
const strings = all
  .filter((k) => k.startsWith('value: '))
  .map((k) => ({ k, dc: (b.get(k)?.[0] ?? 0) - (a.get(k)?.[0] ?? 0), ds: (b.get(k)?.[1] ?? 0) - (a.get(k)?.[1] ?? 0) }))
  .sort((x, y) => y.ds - x.ds);
process.stdout.write('\nnew strings by value (uuids and numbers masked)\n\n| bytes per unit | strings per unit | value |\n|---:|---:|---|\n');
for (const r of strings.slice(0, Number(args.top))) process.stdout.write(`| ${(r.ds / per).toFixed(0)} | ${(r.dc / per).toFixed(2)} | ${r.k.slice(7)} |\n`);

/** For objects of one kind ("type: name") new in AFTER (ids not in BEFORE): their retainers. */
if (args.retainers) {
  const want = String(args.retainers);
  const before = JSON.parse(readFileSync(files[0]!, 'utf8')) as Snapshot;
  const fb = before.snapshot.meta.node_fields;
  const oldIds = new Set<number>();
  for (let i = 0; i < before.nodes.length; i += fb.length) oldIds.add(before.nodes[i + fb.indexOf('id')]!);
  const s = JSON.parse(readFileSync(files[1]!, 'utf8')) as Snapshot;
  const f = s.snapshot.meta.node_fields;
  const w = f.length;
  const types = s.snapshot.meta.node_types[0];
  const ef = s.snapshot.meta.edge_fields;
  const ew = ef.length;
  const etypes = s.snapshot.meta.edge_types[0];
  const kind = (i: number) => {
    const type = types[s.nodes[i + f.indexOf('type')]!]!;
    const name = type === 'object' || type === 'closure' || type === 'native' ? s.strings[s.nodes[i + f.indexOf('name')]!]!.slice(0, 60) : `(${type})`;
    return `${type}: ${name}`;
  };
  const targets = new Map<number, number>(); // node index -> self size
  for (let i = 0; i < s.nodes.length; i += w) {
    if (oldIds.has(s.nodes[i + f.indexOf('id')]!)) continue;
    if (kind(i) === want) targets.set(i, s.nodes[i + f.indexOf('self_size')]!);
  }
  const by = new Map<string, [number, number]>();
  let edge = 0;
  for (let i = 0; i < s.nodes.length; i += w) {
    const count = s.nodes[i + f.indexOf('edge_count')]!;
    for (let e = 0; e < count; e++, edge += ew) {
      const to = s.edges[edge + ef.indexOf('to_node')]!;
      const size = targets.get(to);
      if (size === undefined) continue;
      const et = etypes[s.edges[edge + ef.indexOf('type')]!]!;
      const nameOrIndex = s.edges[edge + ef.indexOf('name_or_index')]!;
      const en = et === 'element' || et === 'hidden' ? `[${et}]` : `.${s.strings[nameOrIndex]}`;
      const k = `${kind(i)} ${en}`;
      const v = by.get(k) ?? [0, 0];
      v[0] += 1;
      v[1] += size;
      by.set(k, v);
    }
  }
  process.stdout.write(`\nretainers of new "${want}" (an object with two retainers counts twice)\n\n| bytes per unit | objects per unit | retainer and edge |\n|---:|---:|---|\n`);
  for (const [k, [c, b]] of [...by].sort((x, y) => y[1][1] - x[1][1]).slice(0, Number(args.top))) process.stdout.write(`| ${(b / per).toFixed(0)} | ${(c / per).toFixed(2)} | ${k} |\n`);
}

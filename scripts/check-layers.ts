/**
 * The layering check (docs/ARCHITECTURE.md "Layers"): the folders of src/ form layers, and an
 * import may point only to the importer's own layer or a lower one, never up, and the folders
 * never form a cycle. The store is an adapter: it may import only the contracts below it, and
 * only the composition root (cli/) may import it, so domain code, commands and http reach the
 * store only through ports/.
 *
 * It reads the source text rather than asking the compiler: type-only imports matter as much
 * as value imports here (a type import still ties the folders together), and a text scan is
 * fast enough to run on every `npm test`.
 *
 *   node --import tsx scripts/check-layers.ts           # exit 1 and a list when something is off
 *   node --import tsx scripts/check-layers.ts --graph   # also prints the folder graph
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface Layer {
  level: number;
  name: string;
  folders: readonly string[];
}

/** Highest first. A folder may import its own layer or a lower one. */
export const LAYERS: readonly Layer[] = [
  { level: 5, name: 'composition', folders: ['cli'] },
  { level: 4, name: 'http', folders: ['http'] },
  { level: 3, name: 'commands', folders: ['commands'] },
  {
    level: 2,
    name: 'domain',
    folders: ['sync', 'classes', 'calendar', 'meetings', 'mail', 'devices', 'directory', 'settings', 'contacts', 'logging', 'auth', 'report'],
  },
  { level: 1, name: 'protocol', folders: ['protocol'] },
  { level: 0, name: 'contracts', folders: ['ports', 'eas', 'wbxml'] },
];

export interface Adapter {
  folder: string;
  /** The only folders the adapter may import (besides itself). */
  mayImport: readonly string[];
  /** The only folders that may import the adapter. */
  importedBy: readonly string[];
}

/** Outside the layers: implementations of ports, wired in by the composition root. */
export const ADAPTERS: readonly Adapter[] = [{ folder: 'store', mayImport: ['ports', 'eas', 'wbxml'], importedBy: ['cli'] }];

export interface ImportRef {
  /** Relative to the scanned folder, with '/' separators. */
  file: string;
  line: number;
  specifier: string;
  from: string;
  to: string;
}

export interface Violation extends ImportRef {
  reason: string;
}

export interface LayerReport {
  /** Every import between two different folders. */
  imports: ImportRef[];
  violations: Violation[];
  /** A folder-level cycle through each set of folders that reach each other, the first repeated at the end. */
  cycles: string[][];
  /** Those sets: every folder of each cycle's set (a set may hold more cycles than the one named). */
  components: string[][];
  /** folder -> imported folder -> number of imports. */
  graph: Map<string, Map<string, number>>;
}

function tsFiles(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...tsFiles(p));
    else if (name.endsWith('.ts')) out.push(p);
  }
  return out;
}

/**
 * The text with comments blanked (newlines kept, so offsets still give line numbers): an
 * import shown in a comment is no import. Strings, template literals and regular expressions
 * are skipped over so that a `//` or a quote inside them is not taken for a comment.
 */
export function stripComments(src: string): string {
  const out = src.split('');
  const blank = (from: number, to: number) => {
    for (let k = from; k < to; k++) if (out[k] !== '\n') out[k] = ' ';
  };
  const braces: number[] = []; // template nesting: brace depth at which each `${` opened
  let depth = 0;
  let prev = ''; // last significant character, to tell a regex from a division
  let i = 0;
  const n = src.length;
  const skipString = (q: string) => {
    i++;
    while (i < n && src[i] !== q && src[i] !== '\n') i += src[i] === '\\' ? 2 : 1;
    i++;
  };
  const skipTemplate = () => {
    // From just after a backtick or a closing `}` of `${...}`: to the end or the next `${`.
    while (i < n) {
      if (src[i] === '\\') i += 2;
      else if (src[i] === '`') {
        i++;
        return;
      } else if (src[i] === '$' && src[i + 1] === '{') {
        i += 2;
        braces.push(depth);
        depth++;
        return;
      } else i++;
    }
  };
  while (i < n) {
    const c = src[i]!;
    const d = src[i + 1];
    if (c === '/' && d === '/') {
      const end = src.indexOf('\n', i);
      const stop = end < 0 ? n : end;
      blank(i, stop);
      i = stop;
    } else if (c === '/' && d === '*') {
      const end = src.indexOf('*/', i + 2);
      const stop = end < 0 ? n : end + 2;
      blank(i, stop);
      i = stop;
    } else if (c === '"' || c === "'") {
      skipString(c);
      prev = 'a';
    } else if (c === '`') {
      i++;
      skipTemplate();
      prev = 'a';
    } else if (c === '/' && (prev === '' || '(,=:[!&|?{};+-*%<>~^'.includes(prev) || /\b(return|typeof|case|in|of)\s*$/.test(src.slice(Math.max(0, i - 8), i)))) {
      // A regular expression literal.
      i++;
      let inClass = false;
      while (i < n && src[i] !== '\n') {
        if (src[i] === '\\') i += 2;
        else if (src[i] === '[') (inClass = true), i++;
        else if (src[i] === ']') (inClass = false), i++;
        else if (src[i] === '/' && !inClass) break;
        else i++;
      }
      i++;
      prev = 'a';
    } else {
      if (c === '{') depth++;
      else if (c === '}') {
        depth--;
        if (braces.length > 0 && braces[braces.length - 1] === depth) {
          braces.pop();
          i++;
          skipTemplate();
          prev = 'a';
          continue;
        }
      }
      if (!/\s/.test(c)) prev = c;
      i++;
    }
  }
  return out.join('');
}

const IMPORT_PATTERNS = [
  // import x from '..', import type { X } from '..', export { x } from '..', export * from '..'
  /\b(?:import|export)\s[^'";]*?\bfrom\s*(['"])([^'"]+)\1/g,
  // import '..' (for its side effects)
  /\bimport\s*(['"])([^'"]+)\1/g,
  // import('..'), also in types: typeof import('..')
  /\bimport\s*\(\s*(['"])([^'"]+)\1\s*\)/g,
];

/** The specifiers a file imports, with the line of each. */
export function importsOf(text: string): Array<{ specifier: string; line: number }> {
  const code = stripComments(text);
  const found = new Map<number, string>(); // by offset of the specifier: patterns may overlap
  for (const re of IMPORT_PATTERNS) {
    for (const m of code.matchAll(re)) {
      const at = m.index! + m[0].lastIndexOf(m[2]!);
      found.set(at, m[2]!);
    }
  }
  const lineStarts: number[] = [0];
  for (let k = 0; k < code.length; k++) if (code[k] === '\n') lineStarts.push(k + 1);
  const lineOf = (at: number) => {
    let lo = 0;
    let hi = lineStarts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (lineStarts[mid]! <= at) lo = mid;
      else hi = mid - 1;
    }
    return lo + 1;
  };
  return [...found.entries()].sort((a, b) => a[0] - b[0]).map(([at, specifier]) => ({ specifier, line: lineOf(at) }));
}

/** Top folder of a path inside the scanned folder ('' for a file at its top). */
function topFolder(rel: string): string {
  const parts = rel.split(sep);
  return parts.length > 1 ? parts[0]! : '';
}

/** The strongly connected sets of two or more folders (Tarjan), each sorted. */
export function stronglyConnected(graph: Map<string, Map<string, number>>): string[][] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const onStack = new Set<string>();
  const stack: string[] = [];
  const sets: string[][] = [];
  let next = 0;
  const visit = (v: string) => {
    index.set(v, next);
    low.set(v, next);
    next++;
    stack.push(v);
    onStack.add(v);
    for (const w of [...(graph.get(v)?.keys() ?? [])].sort()) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) === index.get(v)) {
      const set: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        set.push(w);
      } while (w !== v);
      if (set.length > 1) sets.push(set.sort());
    }
  };
  for (const v of [...graph.keys()].sort()) if (!index.has(v)) visit(v);
  return sets;
}

/** Folder-level cycles: one through each strongly connected set of two or more folders. */
export function findCycles(graph: Map<string, Map<string, number>>, sets = stronglyConnected(graph)): string[][] {
  // A shortest way back to the start within the set, so the report names a real path.
  return sets.map((set) => {
    const inSet = new Set(set);
    const start = set[0]!;
    const from = new Map<string, string>();
    const queue = [start];
    while (queue.length > 0) {
      const v = queue.shift()!;
      for (const w of [...(graph.get(v)?.keys() ?? [])].sort()) {
        if (!inSet.has(w)) continue;
        if (w === start) {
          const path = [v];
          while (path[0] !== start) path.unshift(from.get(path[0]!)!);
          return [...path, start];
        }
        if (!from.has(w)) {
          from.set(w, v);
          queue.push(w);
        }
      }
    }
    return [...set, start];
  });
}

/** Checks every .ts file under `srcDir` against the layers and adapters. */
export function checkLayers(srcDir: string, layers: readonly Layer[] = LAYERS, adapters: readonly Adapter[] = ADAPTERS): LayerReport {
  const root = resolve(srcDir);
  const levelOf = new Map<string, number>();
  for (const l of layers) for (const f of l.folders) levelOf.set(f, l.level);
  const adapterOf = new Map(adapters.map((a) => [a.folder, a]));
  const imports: ImportRef[] = [];
  const violations: Violation[] = [];
  const graph = new Map<string, Map<string, number>>();

  for (const path of tsFiles(root)) {
    const rel = relative(root, path);
    const from = topFolder(rel);
    const file = rel.split(sep).join('/');
    if (!graph.has(from)) graph.set(from, new Map());
    for (const { specifier, line } of importsOf(readFileSync(path, 'utf8'))) {
      if (!specifier.startsWith('./') && !specifier.startsWith('../')) continue; // a package
      const target = relative(root, resolve(dirname(path), specifier));
      if (target.startsWith('..')) continue; // outside src/ (package.json and the like)
      const to = topFolder(target);
      if (to === from) continue;
      const ref: ImportRef = { file, line, specifier, from, to };
      imports.push(ref);
      const edges = graph.get(from)!;
      edges.set(to, (edges.get(to) ?? 0) + 1);
      const bad = (reason: string) => violations.push({ ...ref, reason });
      const toAdapter = adapterOf.get(to);
      const fromAdapter = adapterOf.get(from);
      if (fromAdapter) {
        if (!fromAdapter.mayImport.includes(to)) bad(`${from}/ is an adapter and may import only ${fromAdapter.mayImport.map((f) => f + '/').join(', ')}`);
        continue;
      }
      if (toAdapter) {
        if (!toAdapter.importedBy.includes(from)) bad(`only ${toAdapter.importedBy.map((f) => f + '/').join(', ')} may import ${to}/ (use ports/)`);
        continue;
      }
      const a = levelOf.get(from);
      const b = levelOf.get(to);
      if (a === undefined || b === undefined) {
        bad(`${a === undefined ? from || '(src/ top)' : to || '(src/ top)'} is in no layer: add it to LAYERS in scripts/check-layers.ts`);
      } else if (b > a) bad(`points up: ${from}/ (layer ${a}) imports ${to}/ (layer ${b})`);
    }
  }
  const components = stronglyConnected(graph);
  return { imports, violations, cycles: findCycles(graph, components), components, graph };
}

/** The report as text: the offending imports and the cycles, and with `graph` the folder graph. */
export function formatReport(report: LayerReport, options: { graph?: boolean; layers?: readonly Layer[]; adapters?: readonly Adapter[] } = {}): string {
  const lines: string[] = [];
  const layers = options.layers ?? LAYERS;
  const adapters = options.adapters ?? ADAPTERS;
  if (options.graph) {
    lines.push('Layers (a folder may import its own layer or lower):');
    for (const l of layers) lines.push(`  ${l.level} ${l.name}: ${l.folders.map((f) => f + '/').join(' ')}`);
    for (const a of adapters) lines.push(`  adapter ${a.folder}/: imports ${a.mayImport.map((f) => f + '/').join(' ')}; imported by ${a.importedBy.map((f) => f + '/').join(' ')}`);
    lines.push('', 'Folder graph (imports between folders):');
    for (const from of [...report.graph.keys()].sort()) {
      const edges = [...report.graph.get(from)!.entries()].sort((x, y) => x[0].localeCompare(y[0]));
      lines.push(`  ${from}/ -> ${edges.length === 0 ? '(nothing)' : edges.map(([to, count]) => `${to}/ (${count})`).join(', ')}`);
    }
    lines.push('');
  }
  for (const v of report.violations) lines.push(`${v.file}:${v.line} -> ${v.specifier}: ${v.reason}`);
  report.cycles.forEach((c, k) => {
    const members = report.components[k] ?? [];
    const more = members.length > c.length - 1 ? ` (folders that reach each other: ${members.map((f) => f + '/').join(' ')})` : '';
    lines.push(`cycle: ${c.map((f) => f + '/').join(' -> ')}${more}`);
    for (let k = 0; k + 1 < c.length; k++) {
      const hop = report.imports.find((r) => r.from === c[k] && r.to === c[k + 1]);
      if (hop) lines.push(`  ${hop.file}:${hop.line} -> ${hop.specifier}`);
    }
  });
  if (report.violations.length === 0 && report.cycles.length === 0) lines.push('layers: ok');
  else lines.push(`layers: ${report.violations.length} import(s) against the layers, ${report.cycles.length} cycle(s)`);
  return lines.join('\n');
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const src = join(dirname(fileURLToPath(import.meta.url)), '..', 'src');
  const report = checkLayers(src);
  const text = formatReport(report, { graph: process.argv.includes('--graph') });
  const failed = report.violations.length > 0 || report.cycles.length > 0;
  (failed ? console.error : console.log)(text);
  process.exitCode = failed ? 1 : 0;
}

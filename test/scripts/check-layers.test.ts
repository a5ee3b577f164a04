/**
 * The layering check (scripts/check-layers.ts) on small trees made for each test, and on the
 * real src/: an import that points up, an import of the store adapter from outside the
 * composition root, and a folder-level cycle are each reported; a clean tree passes.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { checkLayers, formatReport, importsOf } from '../../scripts/check-layers.ts';

const made: string[] = [];
after(() => {
  for (const dir of made) rmSync(dir, { recursive: true, force: true });
});

/** A src/ tree of the given files (path -> text) in a new temp directory. */
function tree(files: Record<string, string>): string {
  const root = mkdtempSync(join(tmpdir(), 'easd-layers-'));
  made.push(root);
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), text);
  }
  return root;
}

const CLEAN = {
  'cli/main.ts': "import { open } from '../store/open.ts';\nimport { serve } from '../http/server.ts';\n",
  'http/server.ts': "import type { CommandHandler } from '../commands/types.ts';\nimport { carry } from '../logging/log.ts';\n",
  'commands/types.ts': "import type { CommandContext } from '../protocol/command.ts';\nexport type { CommandResult } from '../protocol/command.ts';\n",
  'commands/sync.ts': "import { feed } from '../sync/feed.ts';\nimport type { Item } from '../ports/types.ts';\n",
  'sync/feed.ts': "import { convert } from '../classes/index.ts';\nimport { el } from '../wbxml/tree.ts';\n",
  'classes/index.ts': "import { expand } from '../calendar/recurrence.ts';\n",
  'calendar/recurrence.ts': "import type { JsonObject } from '../ports/types.ts';\n",
  'logging/log.ts': 'export const carry = Symbol();\n',
  'protocol/command.ts': "import type { Store } from '../ports/store.ts';\nimport type { EasVersion } from '../eas/versions.ts';\n",
  'ports/types.ts': 'export type JsonObject = Record<string, unknown>;\n',
  'ports/store.ts': "import type { JsonObject } from './types.ts';\n",
  'eas/versions.ts': "export type EasVersion = '16.1';\n",
  'wbxml/tree.ts': 'export const el = 1;\n',
  'store/open.ts': "import type { Store } from '../ports/store.ts';\nimport type { EasVersion } from '../eas/versions.ts';\n",
};

describe('check-layers', () => {
  it('passes a tree whose imports point down and form no cycle', () => {
    const report = checkLayers(tree(CLEAN));
    assert.deepEqual(report.violations, []);
    assert.deepEqual(report.cycles, []);
    assert.equal(report.graph.get('commands')?.get('sync'), 1);
    assert.match(formatReport(report), /layers: ok/);
  });

  it('reports an import that points up, with its file and line', () => {
    const report = checkLayers(tree({ ...CLEAN, 'sync/feed.ts': "import { el } from '../wbxml/tree.ts';\n\nimport type { CommandContext } from '../commands/types.ts';\n" }));
    assert.equal(report.violations.length, 1);
    const v = report.violations[0]!;
    assert.equal(v.file, 'sync/feed.ts');
    assert.equal(v.line, 3);
    assert.equal(v.to, 'commands');
    assert.match(v.reason, /points up/);
    assert.match(formatReport(report), /sync\/feed\.ts:3 -> \.\.\/commands\/types\.ts/);
  });

  it('reports an import of store/ from commands/, and one from store/ into the domain', () => {
    const report = checkLayers(
      tree({
        ...CLEAN,
        'commands/sync.ts': "import type { Store } from '../store/types.ts';\n",
        'store/open.ts': "import { ensureDefaultFolders } from '../contacts/default-folders.ts';\n",
        'contacts/default-folders.ts': 'export const x = 1;\n',
      }),
    );
    const byFile = new Map(report.violations.map((v) => [v.file, v]));
    assert.match(byFile.get('commands/sync.ts')!.reason, /only cli\/ may import store\//);
    assert.match(byFile.get('store/open.ts')!.reason, /adapter/);
    assert.equal(report.violations.length, 2);
  });

  it('reports a folder-level cycle within one layer, naming an import of each hop', () => {
    const report = checkLayers(tree({ ...CLEAN, 'calendar/recurrence.ts': "import { toEas } from '../classes/index.ts';\n" }));
    assert.deepEqual(report.violations, []);
    assert.deepEqual(report.cycles, [['calendar', 'classes', 'calendar']]);
    const text = formatReport(report);
    assert.match(text, /cycle: calendar\/ -> classes\/ -> calendar\//);
    assert.match(text, /calendar\/recurrence\.ts:1 -> \.\.\/classes\/index\.ts/);
    assert.match(text, /classes\/index\.ts:1 -> \.\.\/calendar\/recurrence\.ts/);
  });

  it('reports a folder that is in no layer', () => {
    const report = checkLayers(tree({ ...CLEAN, 'gateway/imap.ts': "import type { Item } from '../ports/types.ts';\n" }));
    assert.equal(report.violations.length, 1);
    assert.match(report.violations[0]!.reason, /gateway is in no layer/);
  });

  it('finds every form of import, and none in comments or strings of other kinds', () => {
    const text = [
      "import a from './a.ts';",
      "import type {",
      "  B,",
      "  C,",
      "} from './b.ts';",
      "export * from './c.ts';",
      "export { d } from './d.ts';",
      "import './e.ts';",
      "const f = await import('./f.ts');",
      "type G = typeof import('./g.ts');",
      "// import x from './commented.ts';",
      "/* export { y } from './block.ts'; */",
      "const url = 'http://example.com/'; // a string with // in it",
      "const re = /['\"]/; import h from './h.ts';",
    ].join('\n');
    assert.deepEqual(importsOf(text), [
      { specifier: './a.ts', line: 1 },
      { specifier: './b.ts', line: 5 },
      { specifier: './c.ts', line: 6 },
      { specifier: './d.ts', line: 7 },
      { specifier: './e.ts', line: 8 },
      { specifier: './f.ts', line: 9 },
      { specifier: './g.ts', line: 10 },
      { specifier: './h.ts', line: 14 },
    ]);
  });

  it('passes on the real src/', () => {
    const src = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'src');
    const report = checkLayers(src);
    assert.equal(formatReport(report), 'layers: ok');
  });
});

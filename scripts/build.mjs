/**
 * Builds the JavaScript that bin/easd runs (README "Install"): esbuild bundles src/cli/main.ts
 * into dist/cli/, one file per subcommand that main.ts imports lazily plus shared chunks, so a
 * command starts without compiling TypeScript and loads only what it uses. Kysely is bundled
 * (its hundreds of small modules cost a CLI command most of its start-up); the other packages
 * stay in node_modules (the native SQLite driver, pino, Fastify...). Type checking is tsc's job
 * (`npm run typecheck`, `npm test`); esbuild only strips the types.
 *
 * Run by `npm ci` (the `prepare` script), by `npm test` first, and by hand as `npm run build`
 * after editing src/. Built beside dist/ and swapped in at the end, so a command started
 * meanwhile never runs half a build; dist/.built marks a complete one, and bin/easd runs dist/
 * only when no source is newer than that mark.
 */
import { existsSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
let esbuild;
try {
  esbuild = await import('esbuild');
} catch {
  // Only when an install left it out: bin/easd then runs the sources through tsx and says so.
  process.stderr.write('easd build: esbuild is not installed; bin/easd will run the sources through tsx\n');
  process.exit(0);
}
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const BUNDLED = new Set(['kysely']);
const tmp = join(root, `dist.tmp.${process.pid}`);
const old = join(root, `dist.old.${process.pid}`);
const dist = join(root, 'dist');
try {
  await esbuild.build({
    absWorkingDir: root,
    entryPoints: ['src/cli/main.ts'],
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    outdir: tmp,
    outbase: 'src',
    entryNames: '[dir]/[name]',
    // Every chunk beside main.js: src/cli/store-location.ts finds the installation two levels up.
    chunkNames: 'cli/[name]-[hash]',
    external: Object.keys(pkg.dependencies).filter((d) => !BUNDLED.has(d)),
    logLevel: 'warning',
  });
  writeFileSync(join(tmp, '.built'), `${new Date().toISOString()}\n`);
  if (existsSync(dist)) renameSync(dist, old);
  renameSync(tmp, dist);
} finally {
  rmSync(tmp, { recursive: true, force: true });
  rmSync(old, { recursive: true, force: true });
}

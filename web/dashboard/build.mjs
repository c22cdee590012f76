// Builds the dashboard into dist/: app.js and app.css (bundled and minified by
// esbuild), index.html (asset URLs carry a content hash, so a new binary never
// serves a stale cached script) and favicon.svg. `--watch` rebuilds on change.
import { createHash } from 'node:crypto';
import { copyFileSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';

const root = dirname(fileURLToPath(import.meta.url));
const src = join(root, 'src');
const dist = join(root, 'dist');
const watch = process.argv.includes('--watch');

const hash = (file) => createHash('sha256').update(readFileSync(file)).digest('hex').slice(0, 12);

function writeStatic() {
  const html = readFileSync(join(src, 'index.html'), 'utf8')
    .replace('href="app.css"', `href="app.css?v=${hash(join(dist, 'app.css'))}"`)
    .replace('src="app.js"', `src="app.js?v=${hash(join(dist, 'app.js'))}"`);
  writeFileSync(join(dist, 'index.html'), html);
  copyFileSync(join(src, 'favicon.svg'), join(dist, 'favicon.svg'));
}

const options = {
  entryPoints: { app: join(src, 'main.ts') },
  outdir: dist,
  bundle: true,
  minify: !watch,
  sourcemap: false,
  target: ['es2020', 'chrome100', 'firefox100', 'safari15'],
  format: 'iife',
  legalComments: 'eof', // keeps uPlot's MIT notice in app.js
  logLevel: 'warning',
  plugins: [{ name: 'static', setup: (b) => b.onEnd((r) => r.errors.length === 0 && writeStatic()) }],
};

rmSync(dist, { recursive: true, force: true });
mkdirSync(dist, { recursive: true });
if (watch) {
  const ctx = await esbuild.context(options);
  await ctx.watch();
  console.log('dashboard: watching src/ (dist/ is rebuilt on change)');
} else {
  await esbuild.build(options);
}

// Builds the dashboard into dist/: assets/app-<hash>.js and assets/app-<hash>.css
// (bundled and minified by esbuild; content-hashed names, so the server may
// cache everything under /assets/ for good), index.html that loads them, and
// favicon.svg. `--watch` rebuilds on change.
import { copyFileSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';

const root = dirname(fileURLToPath(import.meta.url));
const src = join(root, 'src');
const dist = join(root, 'dist');
const watch = process.argv.includes('--watch');

// The bundle's file names, as esbuild wrote them (assets/app-<hash>.js, .css).
function bundled(ext) {
  const names = readdirSync(join(dist, 'assets')).filter((f) => f.startsWith('app-') && f.endsWith(ext));
  if (names.length !== 1) throw new Error(`expected one assets/app-*${ext}, found ${names.join(', ') || 'none'}`);
  return `assets/${names[0]}`;
}

function writeStatic() {
  const html = readFileSync(join(src, 'index.html'), 'utf8')
    .replace('href="app.css"', `href="${bundled('.css')}"`)
    .replace('src="app.js"', `src="${bundled('.js')}"`);
  writeFileSync(join(dist, 'index.html'), html);
  copyFileSync(join(src, 'favicon.svg'), join(dist, 'favicon.svg'));
}

const options = {
  entryPoints: { app: join(src, 'main.ts') },
  outdir: join(dist, 'assets'),
  entryNames: '[name]-[hash]',
  bundle: true,
  minify: !watch,
  sourcemap: false,
  target: ['es2020', 'chrome100', 'firefox100', 'safari15'],
  format: 'iife',
  legalComments: 'eof', // keeps uPlot's MIT notice in app.js
  logLevel: 'warning',
  plugins: [
    {
      name: 'static',
      setup: (b) => {
        // In watch mode old hashed files would pile up: start each build clean.
        b.onStart(() => rmSync(join(dist, 'assets'), { recursive: true, force: true }));
        b.onEnd((r) => r.errors.length === 0 && writeStatic());
      },
    },
  ],
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

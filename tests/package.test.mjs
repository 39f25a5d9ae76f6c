// The npm package of the element: `npm pack` gives a tarball with the element, the wasm and the
// models, and its types compile for a TypeScript user and name every attribute the element has.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const TESTS = fileURLToPath(new URL('./', import.meta.url));

test('npm pack: the element, its modules, the wasm and the models, with types', () => {
  const out = mkdtempSync(join(tmpdir(), 'tunesmith-pack-'));
  try {
    const [packed] = JSON.parse(execFileSync('npm', ['pack', '--json', '--pack-destination', out], { cwd: ROOT, encoding: 'utf8' }));
    const files = execFileSync('tar', ['tzf', join(out, packed.filename)], { encoding: 'utf8' }).trim().split('\n');
    for (const f of [
      'package/package.json',
      'package/dist/www/tunesmith-generator.js',
      'package/dist/www/tunesmith-generator.d.ts',
      'package/dist/www/worker.js',
      'package/dist/tunesmith-lite.js',
      'package/dist/tunesmith-lite_bg.wasm',
      'package/dist/tunesmith.js',
      'package/dist/tunesmith_bg.wasm',
      'package/dist/models/lstm.pack',
      'package/dist/models/lstm.tuned.pack',
      'package/dist/models/lstm.blend.pack',
    ]) {
      assert.ok(files.includes(f), `${f} is in the tarball: ${files.join(' ')}`);
    }
    // Every module the element imports, directly or through its modules and the worker, is in it.
    const imports = (file) => [...readFileSync(join(ROOT, 'dist/www', file), 'utf8').matchAll(/^import [^;]* from '\.\/([\w-]+\.js)';$/gm)].map((m) => m[1]);
    const seen = new Set(['tunesmith-generator.js', 'worker.js']);
    for (const file of seen) {
      for (const dep of imports(file)) {
        assert.ok(files.includes(`package/dist/www/${dep}`), `${file} imports ${dep}`);
        seen.add(dep);
      }
    }
    assert.ok(seen.has('generator-hub.js') && seen.has('client.js') && seen.has('sheet.js'), [...seen].join(' '));
    // Not the page's own files.
    assert.ok(!files.some((f) => /index\.html|app\.js|sw\.js/.test(f)), files.join(' '));
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
    assert.equal(pkg.exports['.'].default, './dist/www/tunesmith-generator.js');
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});

test('the types compile for a TypeScript user, reject misuse, and name every attribute', () => {
  const tsc = join(TESTS, 'node_modules/.bin/tsc');
  const args = ['--noEmit', '--strict', '--target', 'es2022', '--module', 'es2022', '--moduleResolution', 'bundler', '--lib', 'es2022,dom', '--skipLibCheck', 'false'];
  // From the repository root: tsc takes in every @types package beside the directory it runs in.
  execFileSync(tsc, [...args, join(TESTS, 'element-types.ts')], { encoding: 'utf8', cwd: ROOT });
  const dts = readFileSync(join(ROOT, 'www/tunesmith-generator.d.ts'), 'utf8');
  const catalog = readFileSync(join(ROOT, 'www/catalog.js'), 'utf8');
  const attributes = [...catalog.matchAll(/"attribute": "([\w-]+)"/g)].map((m) => m[1]);
  assert.ok(attributes.length >= 8, attributes.join(' '));
  for (const a of [...attributes, 'model', 'backend', 'controls', 'autoplay', 'loop']) {
    assert.match(dts, new RegExp(`^  ${a}: `, 'm'), `the .d.ts types the ${a} property`);
  }
});

// The test server survives malformed URLs, keeps requests inside their mount, and sends the
// page's Content-Security-Policy.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { mkdtempSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CSP, serveMounts } from './server.mjs';

/** GET with the path exactly as written (no URL normalisation on the way). */
function get(url, path) {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const req = request({ hostname, port, path, method: 'GET' }, (res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

test('the test server refuses what escapes its mount and survives malformed URLs', async (t) => {
  const root = mkdtempSync(join(tmpdir(), 'tunesmith-serve-'));
  mkdirSync(join(root, 'dist'));
  mkdirSync(join(root, 'dist2'));
  writeFileSync(join(root, 'dist', 'index.html'), '<!doctype html><title>ok</title>');
  writeFileSync(join(root, 'dist2', 'secret.txt'), 'secret');
  writeFileSync(join(root, 'outside.txt'), 'outside');
  const server = await serveMounts({ '/': join(root, 'dist') });
  t.after(() => server.close());

  const page = await get(server.url, '/');
  assert.equal(page.status, 200);
  assert.equal(page.headers['content-security-policy'], CSP);
  for (const bad of ['/%E0%A4%A', '/%', '/%zz']) {
    assert.equal((await get(server.url, bad)).status, 400, bad);
  }
  for (const escape of ['/..%2Fdist2%2Fsecret.txt', '/../outside.txt', '/..%2F..%2Foutside.txt', '/%2e%2e/outside.txt', '/a%00b']) {
    const r = await get(server.url, escape);
    assert.equal(r.status, 404, escape);
    assert.doesNotMatch(r.body, /secret|outside/);
  }
  // Still up.
  assert.equal((await get(server.url, '/index.html')).status, 200);
  const open = await serveMounts({ '/': join(root, 'dist') }, { csp: false });
  t.after(() => open.close());
  assert.equal((await get(open.url, '/')).headers['content-security-policy'], undefined);
});

test("the page names the same policy for hosts that send none", () => {
  const html = readFileSync(new URL('../index.html', import.meta.url), 'utf8');
  const meta = html.match(/http-equiv="Content-Security-Policy" content="([^"]+)"/);
  assert.ok(meta, 'index.html has a CSP meta element');
  assert.equal(meta[1], CSP);
  // `./dev serve` (Trunk) sends the same policy as a header.
  const trunk = readFileSync(new URL('../Trunk.toml', import.meta.url), 'utf8');
  assert.equal(trunk.match(/^"Content-Security-Policy" = "([^"]+)"$/m)?.[1], CSP, 'Trunk.toml [serve.headers]');
  assert.doesNotMatch(html, /<script>|<script(?![^>]*\bsrc=)[^>]*>/, 'no inline script');
  assert.doesNotMatch(html, /\sstyle="/, 'no inline style attribute');
});

// The one static server of the browser tests and the benchmark: a 127.0.0.1 origin that serves
// directories under URL prefixes, e.g. {'/': 'dist'} for the page, or {'/bench/': 'tests/bench',
// '/node_modules/': 'tests/node_modules', '/ckpt/': tmpdir, '/': 'dist'} for the benchmark, so
// pages load harnesses, npm bundles and generated checkpoints without any network. It logs
// which file each request hit, so the runner can measure the transfer size of exactly what a
// page loaded.

import { createServer } from 'node:http';
import { readFile, stat } from 'node:fs/promises';
import { extname, join, normalize, resolve, sep } from 'node:path';

const TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.wasm': 'application/wasm', // needed for WebAssembly.instantiateStreaming
  '.mid': 'audio/midi',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
};

/**
 * The policy tunesmith's page works under, and that the tests serve it with: nothing but its own
 * origin, wasm compilation allowed, no inline script or style.
 */
export const CSP = [
  "default-src 'self'",
  "script-src 'self' 'wasm-unsafe-eval'",
  "worker-src 'self'",
  "connect-src 'self'",
  "style-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
].join('; ');

/**
 * `mounts`: {urlPrefix ending in '/': directory}. `headers`: extra response headers (e.g. COOP/COEP
 * for cross-origin isolation). `csp`: true sends the strict policy above, a string sends that
 * policy, false none (the benchmark's peers need it off). Resolves to {url, close, requests:
 * [{path, file, bytes, status, at}]} (`at`: when it arrived, Date.now()).
 */
export function serveMounts(mounts, { headers = {}, csp = true } = {}) {
  const table = Object.entries(mounts).map(([prefix, dir]) => [prefix, resolve(dir)]);
  const requests = [];
  const policy = csp ? { 'content-security-policy': csp === true ? CSP : csp } : {};
  const server = createServer((req, res) =>
    respond(req, res).catch((e) => {
      // Never let one request take the server down.
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
      res.end(`server error: ${e.message}`);
    }),
  );
  async function respond(req, res) {
    let path;
    try {
      path = decodeURIComponent(new URL(req.url, 'http://x').pathname);
    } catch {
      requests.push({ path: req.url, file: null, bytes: 0, status: 400, at: Date.now() });
      res.writeHead(400, { 'content-type': 'text/plain' }).end('malformed URL');
      return;
    }
    if (path.endsWith('/')) path += 'index.html';
    const mount = table.find(([prefix]) => path.startsWith(prefix));
    const file = mount && normalize(join(mount[1], path.slice(mount[0].length)));
    const entry = { path, file, bytes: 0, status: 404, at: Date.now() };
    requests.push(entry);
    // Refuse anything that escapes its mount (../) rather than trusting the browser.
    if (!file || !(file === mount[1] || file.startsWith(mount[1] + sep)) || !(await isFile(file))) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
      return;
    }
    const body = await readFile(file);
    Object.assign(entry, { bytes: body.length, status: 200 });
    res.writeHead(200, {
      'content-type': TYPES[extname(file)] ?? 'application/octet-stream',
      'content-length': body.length,
      'cache-control': 'no-store',
      ...policy,
      ...headers,
    });
    res.end(body);
  }
  return new Promise((ok) =>
    server.listen(0, '127.0.0.1', () =>
      ok({ url: `http://127.0.0.1:${server.address().port}`, requests, close: () => server.close() }),
    ),
  );
}

async function isFile(file) {
  try {
    return (await stat(file)).isFile();
  } catch {
    return false;
  }
}

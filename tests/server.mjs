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
 * `mounts`: {urlPrefix ending in '/': directory}. `headers`: extra response headers (e.g. COOP/COEP
 * for cross-origin isolation). Resolves to {url, close, requests: [{path, file, bytes, status}]}.
 */
export function serveMounts(mounts, { headers = {} } = {}) {
  const table = Object.entries(mounts).map(([prefix, dir]) => [prefix, resolve(dir)]);
  const requests = [];
  const server = createServer(async (req, res) => {
    let path = decodeURIComponent(new URL(req.url, 'http://x').pathname);
    if (path.endsWith('/')) path += 'index.html';
    const mount = table.find(([prefix]) => path.startsWith(prefix));
    const file = mount && normalize(join(mount[1], path.slice(mount[0].length)));
    const entry = { path, file, bytes: 0, status: 404 };
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
      'cache-control': 'no-store',
      ...headers,
    });
    res.end(body);
  });
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

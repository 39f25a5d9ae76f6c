// What the bench measures around the pages: the machine, the adapters a page sees, medians,
// gzip sizes and time limits (run.mjs drives the rows).
import { readFile } from 'node:fs/promises';
import { arch, cpus, loadavg, release, type } from 'node:os';
import { gzipSync } from 'node:zlib';

/** WebGL renderer and WebGPU adapter, as a page sees them. */
export async function gpuInfo(page) {
  return page.evaluate(async () => {
    const gl = document.createElement('canvas').getContext('webgl2') ?? document.createElement('canvas').getContext('webgl');
    const dbg = gl?.getExtension('WEBGL_debug_renderer_info');
    const adapter = await navigator.gpu?.requestAdapter();
    const info = adapter?.info;
    return {
      webglRenderer: gl ? gl.getParameter(dbg ? dbg.UNMASKED_RENDERER_WEBGL : gl.RENDERER) : null,
      webgpuAdapter: info ? [info.vendor, info.architecture, info.description].filter(Boolean).join(' / ') : null,
    };
  });
}

/** The machine as the runner sees it, now: CPUs and load average (1, 5, 15 min). */
export function host() {
  return { cpus: cpus().length, cpuModel: cpus()[0]?.model, loadavg: loadavg(), os: `${type()} ${release()} ${arch()}` };
}
export const showHost = (h) => `${h.cpus} CPUs (${h.cpuModel}), load average ${h.loadavg.map((x) => x.toFixed(2)).join(' ')} (1, 5, 15 min)`;

/** The median of a row's runs and the steps per second it means. */
export function summarise(r) {
  const sorted = [...r.runs].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  const medianMs = sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
  return { medianMs, stepsPerSecond: r.steps / (medianMs / 1000) };
}

/** gzip -9 size of each file a page loaded (what a compressing server sends), by URL path. */
const gzipCache = new Map();
export async function gzipSizes(requests) {
  const out = new Map();
  for (const { path, file, status } of requests) {
    if (status !== 200 || out.has(path)) continue;
    if (!gzipCache.has(path)) {
      const body = await readFile(file);
      gzipCache.set(path, { path, raw: body.length, gzip: gzipSync(body, { level: 9 }).length });
    }
    out.set(path, gzipCache.get(path));
  }
  return [...out.values()];
}
export const total = (files) => files.reduce((a, f) => ({ raw: a.raw + f.raw, gzip: a.gzip + f.gzip }), { raw: 0, gzip: 0 });

/** Rejects when `promise` has not settled in `ms`. */
export function within(promise, ms, what) {
  let timer;
  const late = new Promise((_, fail) => {
    timer = setTimeout(() => fail(new Error(`${what}: no answer in ${Math.round(ms / 1000)} s (hung?)`)), ms);
  });
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}

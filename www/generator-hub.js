// What every <tunesmith-generator> on a page shares (tunesmith-generator.js): one worker, one wasm
// module, one copy of each model and one GPU device (through one TunesmithClient), what the worker
// reports about them, and one constructable stylesheet. Every asset resolves from this module's
// own URL, never the page's.

import { TunesmithClient } from './client.js';
import { CSS } from './generator-style.js';
import { countBytes } from './progress.js';

const WORKER_URL = new URL('./worker.js', import.meta.url);
// The lite module (crate/lite): what the default model needs; the worker loads the full one later.
const WASM_URL = new URL('../tunesmith-lite_bg.wasm', import.meta.url);

export const hub = {
  client: null,
  events: new EventTarget(), // 'progress', 'webgpu', 'backend', 'restart'
  webgpu: null, // null until known, then true or the reason it cannot be used
  auto: new Map(), // model → the worker's last 'backend' message for it
  current: null, // the instance last asked to play: the one that may be sounding
  sheet: null,
  wasm: null, // the wasm module being compiled here, once
};

function relay(type, detail) {
  hub.events.dispatchEvent(new CustomEvent(type, { detail }));
}

function progress(phase, loaded, total) {
  relay('progress', { phase, loaded, total });
}

/** Fetches and compiles the wasm here, while the worker's scripts load, and reports its bytes. */
async function compileWasm() {
  const r = await fetch(WASM_URL);
  if (!r.ok) throw new Error(`HTTP ${r.status}`);
  countBytes(r, (loaded, total) => progress('wasm', loaded, total)).catch(() => {});
  return WebAssembly.compileStreaming(r);
}

/** The page's one client, started by the first instance that connects. */
export function client() {
  if (!hub.client) {
    if (!hub.wasm) {
      hub.wasm = compileWasm();
      hub.wasm.catch(() => {}); // the worker then fetches it itself
    }
    const c = TunesmithClient.shared(WORKER_URL, { wasm: hub.wasm });
    c.on('webgpu', (m) => {
      hub.webgpu = m.status;
      relay('webgpu', m);
    });
    c.on('backend', (m) => {
      hub.auto.set(m.model, m);
      relay('backend', m);
    });
    c.on('download', (m) => progress('model', m.loaded, m.total));
    c.on('restart', (m) => relay('restart', m));
    hub.client = c;
  }
  return hub.client;
}

/** The shadow stylesheet, one object for every instance. */
export function styleSheet() {
  if (!hub.sheet) {
    hub.sheet = new CSSStyleSheet();
    hub.sheet.replaceSync(CSS);
  }
  return hub.sheet;
}

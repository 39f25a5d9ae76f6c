// The page's side of the worker protocol (protocol.js): one client per worker script, shared
// by everything on the page that generates (`TunesmithClient.shared`). It owns request ids and
// timeouts, restarts a worker that died or stopped answering, and cancels.

import { IN, OUT } from './protocol.js';

const INIT_TIMEOUT_MS = 120_000;
const GENERATE_TIMEOUT_MS = 120_000;
// A primer is fed step by step before the first bar: on a slow (software) GPU the longest takes
// minutes, so the time a request may take before the worker is taken for hung grows with it.
const PRIMER_MS_PER_STEP = 40;
const CANCEL_GRACE_MS = 3_000;

const clients = new Map(); // worker URL → TunesmithClient
const shims = new Map(); // worker URL → the blob: URL that starts it from another origin

/**
 * What `new Worker` can start: the worker's own URL when it is on the page's origin; else a
 * same-origin blob: module that imports it (a page may not start a worker from another origin,
 * but a module may import one, with CORS). The worker's imports and fetches still resolve
 * against its real URL (import.meta.url).
 */
function workerScript(url) {
  const u = new URL(url, location.href);
  let script = u.href;
  if (u.origin !== location.origin) {
    if (!shims.has(u.href)) shims.set(u.href, URL.createObjectURL(new Blob([`import ${JSON.stringify(u.href)};\n`], { type: 'text/javascript' })));
    script = shims.get(u.href);
  }
  return trusted(script);
}

let policy; // the Trusted Types policy, where the page enforces them
const made = new Set(); // the script URLs tunesmith made, the only ones the policy passes

/**
 * A page that enforces Trusted Types (`require-trusted-types-for 'script'`) accepts only a
 * TrustedScriptURL for a worker or a script element: this policy, named "tunesmith" (the page's
 * `trusted-types` directive must allow it), passes only the URLs tunesmith itself asks for (its
 * worker, abcjs beside its modules).
 */
export function trusted(href) {
  made.add(href);
  if (policy === undefined) {
    try {
      policy =
        globalThis.trustedTypes?.createPolicy('tunesmith', {
          createScriptURL: (s) => {
            if (made.has(s)) return s;
            throw new TypeError(`tunesmith loads only its own scripts, not ${s}`);
          },
        }) ?? null;
    } catch {
      policy = null; // the page's trusted-types directive leaves "tunesmith" out: plain URLs
    }
  }
  return policy ? policy.createScriptURL(href) : href;
}

export class TunesmithClient {
  /** The page's one client for `workerUrl`: several users share one worker, one wasm, one GPU device. */
  static shared(workerUrl, options) {
    const key = String(workerUrl);
    if (!clients.has(key)) clients.set(key, new TunesmithClient(workerUrl, options));
    return clients.get(key);
  }

  /**
   * `wasm`: a promise of the compiled wasm module, or nothing (the worker then fetches it).
   */
  constructor(workerUrl, { wasm } = {}) {
    this.workerUrl = workerUrl;
    this.wasm = Promise.resolve(wasm).catch(() => null);
    this.pending = new Map(); // id → {resolve, reject, onProgress, timer}
    this.listeners = new Map(); // message type → Set of handlers
    this.nextId = 1;
    this.readyPromise = null;
    this.start();
  }

  /** Starts (or restarts) the worker and hands it the wasm module. */
  start() {
    const worker = new Worker(workerScript(this.workerUrl), { type: 'module' });
    this.worker = worker;
    this.up = false; // set by the worker's first message: its scripts loaded
    worker.onmessage = ({ data }) => {
      this.up = true;
      this.receive(data);
    };
    // A worker that fails to load (a script blocked or missing, a wasm compile error) fails
    // everything pending. It is not started again by itself: it would fail the same way, over
    // and over; the next ready() (Retry) starts a fresh one.
    worker.onerror = (e) => {
      e.preventDefault?.();
      if (this.worker !== worker) return;
      const error = new Error(e.message || 'the generator worker failed to start (its script could not be loaded)');
      if (this.up) this.restart(error);
      else this.stopWorker(error);
    };
    this.wasm.then((module) => worker.postMessage({ type: IN.wasm, module: module ?? null }));
    this.readyPromise = null;
  }

  /** Ends the worker and fails what it was doing with `error`. */
  stopWorker(error) {
    this.worker.terminate();
    for (const p of this.pending.values()) {
      clearTimeout(p.timer);
      p.reject(error);
    }
    this.pending.clear();
    this.readyPromise = null;
    this.startFailed = true;
  }

  /** Ends the worker, fails what it was doing with `error`, and starts a fresh one. */
  restart(error) {
    this.stopWorker(error);
    this.startFailed = false;
    this.emit('restart', { message: error.message });
    this.start();
  }

  receive(data) {
    if (data.type === OUT.crashed) {
      this.emit(OUT.crashed, data);
      this.restart(new Error(data.message));
      return;
    }
    if (data.id === undefined) {
      this.emit(data.type, data);
      return;
    }
    const p = this.pending.get(data.id);
    if (!p) return;
    if (data.type === OUT.progress) {
      p.onProgress?.(data);
      return;
    }
    clearTimeout(p.timer);
    this.pending.delete(data.id);
    if (data.type === OUT.error) p.reject(Object.assign(new Error(data.message), { cancelled: !!data.cancelled }));
    else p.resolve(data);
  }

  /** Listens to messages without an id ('webgpu', 'backend', 'download', 'crashed') and to 'restart'. */
  on(type, handler) {
    if (!this.listeners.has(type)) this.listeners.set(type, new Set());
    this.listeners.get(type).add(handler);
    return () => this.listeners.get(type).delete(handler);
  }

  emit(type, data) {
    for (const h of this.listeners.get(type) ?? []) h(data);
  }

  /**
   * Sends a request; resolves to the answer. A worker that does not answer in `timeoutMs` is
   * taken for hung: it is restarted and everything it held fails.
   */
  request(message, { timeoutMs = GENERATE_TIMEOUT_MS, onProgress, signal } = {}) {
    const id = this.nextId++;
    const answer = new Promise((resolve, reject) => {
      const primer = message.request?.primer;
      const end = (n) => (Number(n?.onset) || 0) + (Number(n?.duration) || 0);
      const primerSteps = Array.isArray(primer) ? primer.reduce((most, n) => Math.max(most, end(n)), 0) : 0;
      const ms = timeoutMs + Math.min(primerSteps, 1e6) * PRIMER_MS_PER_STEP;
      const timer = setTimeout(() => {
        this.restart(new Error(`the generator did not answer in ${ms / 1000} s and was restarted`));
      }, ms);
      this.pending.set(id, { resolve, reject, onProgress, timer });
      this.worker.postMessage({ ...message, id });
    });
    if (signal) {
      // Removed once answered: a signal that serves many requests (endless play's) would
      // otherwise hold every one of them.
      const abort = () => this.cancel(id);
      signal.addEventListener('abort', abort, { once: true });
      answer.then(
        () => signal.removeEventListener('abort', abort),
        () => signal.removeEventListener('abort', abort),
      );
      if (signal.aborted) abort();
    }
    answer.id = id;
    return answer;
  }

  /**
   * Stops generation `id` at its next bar. A worker that does not stop within a few seconds
   * (one long step on a slow GPU) is abandoned: restarted.
   */
  cancel(id) {
    if (!this.pending.has(id)) return;
    this.worker.postMessage({ type: IN.cancel, id });
    const worker = this.worker;
    setTimeout(() => {
      if (this.pending.has(id) && this.worker === worker) this.restart(Object.assign(new Error('cancelled'), { cancelled: true }));
    }, CANCEL_GRACE_MS);
  }

  /** Resolves to {catalog, model} once `model` (default: the catalog's) can generate. */
  ready(model) {
    if (!this.readyPromise) {
      // A retry after a failed start gets a fresh worker: nothing of the failure stays behind
      // (a wasm module that did not load, a half-made generator).
      if (this.startFailed) {
        this.worker.terminate();
        this.start();
        this.startFailed = false;
      }
      const ready = this.request({ type: IN.init, model }, { timeoutMs: INIT_TIMEOUT_MS });
      ready.catch(() => {
        if (this.readyPromise === ready) {
          this.readyPromise = null;
          this.startFailed = true;
        }
      });
      this.readyPromise = ready;
    }
    return this.readyPromise;
  }

  /** Loads `model` too (on the CPU), beside the one ready() started with. */
  async load(model) {
    await this.ready();
    return this.request({ type: IN.init, model }, { timeoutMs: INIT_TIMEOUT_MS });
  }

  /**
   * Generates: resolves to {model, backend, melodies}. `onProgress({done, total})` after each
   * bar; `signal` (an AbortSignal) cancels.
   */
  async generate({ model, backend = 'auto', request }, options = {}) {
    await this.ready();
    const reply = await this.request({ type: IN.generate, model, backend, request }, options);
    return reply.result;
  }

  /** The worker's memory: {wasmBytes}. */
  async stats() {
    await this.ready();
    return (await this.request({ type: IN.stats })).result;
  }

  /** The melody of a share code (see protocol.js, openShared). */
  async openShared(code) {
    await this.ready();
    return (await this.request({ type: IN.openShared, code })).result;
  }

  /** MIDI, ABC, share code and metrics of a melody the page holds (see protocol.js, describe). */
  async describe(melody) {
    await this.ready();
    return (await this.request({ type: IN.describe, melody })).result;
  }

  /** The melody line of a MIDI file: {notes, meter, tempo, key}. */
  async readMidi(bytes) {
    await this.ready();
    return (await this.request({ type: IN.readMidi, bytes })).result;
  }
}

// The page's side of the worker protocol (see worker.js): one request, one promise.

export class TunesmithClient {
  /**
   * `model`: the model to have ready first. `wasm`: a promise of the compiled wasm module, or
   * nothing (the worker then fetches it). `onWebGpu(status)`: true or why not, once known.
   * `onBackend(message)`: what 'auto' picks for a model, once measured.
   */
  constructor(workerUrl, { model, wasm, onWebGpu, onBackend } = {}) {
    this.worker = new Worker(workerUrl, { type: 'module' });
    this.pending = new Map();
    this.nextId = 1;
    this.worker.onmessage = ({ data }) => {
      if (data.type === 'backend') {
        onBackend?.(data);
        return;
      }
      if (data.type === 'webgpu') {
        onWebGpu?.(data.status);
        return;
      }
      const p = this.pending.get(data.id);
      if (!p || data.type === 'status') return;
      this.pending.delete(data.id);
      if (data.type === 'error') p.reject(new Error(data.message));
      else p.resolve(data);
    };
    // A worker that fails to load (bad script, wasm compile error) rejects everything pending.
    this.worker.onerror = (e) => {
      e.preventDefault?.();
      const error = new Error(e.message || 'the generator worker failed to start');
      for (const p of this.pending.values()) p.reject(error);
      this.pending.clear();
    };
    // `wasm`: a promise of the compiled module, if the page started compiling it early.
    Promise.resolve(wasm)
      .catch(() => null)
      .then((module) => this.worker.postMessage({ type: 'wasm', module: module ?? null }));
    this.readyPromise = this.request({ type: 'init', model }).then((m) => m.backends);
  }

  request(message) {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.postMessage({ ...message, id });
    });
  }

  /** Resolves to {cpu: true, webgpu: true | "why not" | "pending"} once the first model can run. */
  ready() {
    return this.readyPromise;
  }

  /** Resolves to the generated melody (see worker.js for its fields). */
  async generate({ model, backend, options }) {
    const reply = await this.request({ type: 'generate', model, backend, options });
    return reply.result;
  }
}

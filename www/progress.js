// Download progress without taking a response's body: the bytes are counted on a clone, so the
// body still goes to its real consumer (WebAssembly.compileStreaming keeps compiling while it
// downloads, and V8 keeps its code cache, which a body re-wrapped in a new Response loses).

const EVERY_MS = 50;

/**
 * Calls `report(loaded, total)` as `response`'s bytes arrive (at most every 50 ms) and once at
 * the end with loaded = total. `total` is the Content-Length, or null when there is none or the
 * body outgrew it (a compressed transfer: the header counts compressed bytes, the body not).
 */
export async function countBytes(response, report) {
  const declared = Number(response.headers.get('content-length')) || null;
  const reader = response.clone().body.getReader();
  let loaded = 0;
  let last = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    loaded += value.byteLength;
    if (performance.now() - last > EVERY_MS) {
      report(loaded, declared && loaded <= declared ? declared : null);
      last = performance.now();
    }
  }
  report(loaded, loaded);
}

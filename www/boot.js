// Runs first, before the page's modules: starts compiling the wasm core while they load. The
// worker receives the compiled module (client.js), so the first melody comes sooner. A file,
// not an inline script, so the page works under a strict Content-Security-Policy.
window.tunesmithWasm = WebAssembly.compileStreaming(fetch('tunesmith_bg.wasm'));
window.tunesmithWasm.catch(() => {}); // the worker then fetches it itself

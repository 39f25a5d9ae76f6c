//! The page's first wasm module: the core built without Burn or wgpu — the catalog, MIDI, the
//! request and the sampler, and the packed LSTM's int8 engine — so the default model's first
//! melody needs a few hundred kilobytes, not the full module. The worker (`www/worker.js`) loads
//! the full one (`tunesmith`, with Burn and WebGPU) only when a model or backend needs it.
//! The exports are the core's own (`tunesmith::web`), linked in from the dependency; natively
//! this crate is empty.

#[cfg(target_family = "wasm")]
pub use tunesmith::web::*;

//! tunesmith: melody generation that runs in the browser.
//!
//! `melody` holds the musical types, `encoding` turns melodies into the event sequences the
//! `model`s read and write, `sample` generates, `theory` finds keys, `midi` reads and writes
//! files. `web` is the wasm-bindgen face used by the page's worker; `cli`, `train` and
//! `corpus` are the native tool.

pub mod corpus;
pub mod encoding;
pub mod melody;
pub mod midi;
pub mod model;
pub mod sample;
pub mod theory;

#[cfg(feature = "native")]
pub mod cli;
#[cfg(feature = "native")]
pub mod eval;
#[cfg(feature = "native")]
pub mod train;

#[cfg(target_family = "wasm")]
pub mod web;

//! tunesmith: melody generation that runs in the browser.
//!
//! The core: `melody` (musical types), `encoding` (events, conditioning, every step's inputs),
//! `form` (form plans), `theory` (keys, bar grids, melody metrics), `midi` (files in and out), `abc` (ABC notation out),
//! `model` (specs, networks, weights), `engine` (the contract every runtime implements, and
//! the runtimes), `sample` (the one sampler), `request` (the typed request and response),
//! `catalog` (models, controls, limits), `share` (a melody in a link), `rng`. `web` is the wasm-bindgen face the page's
//! worker uses; `cli`, `corpus`, `eval` and `train` are the native tool.

pub mod abc;
pub mod catalog;
pub mod encoding;
pub mod engine;
pub mod form;
pub mod melody;
pub mod midi;
pub mod model;
pub mod request;
pub mod rng;
pub mod sample;
pub mod share;
pub mod theory;

#[cfg(all(test, feature = "burn"))]
mod fuzz;

#[cfg(feature = "native")]
pub mod cli;
#[cfg(feature = "native")]
pub mod corpus;
#[cfg(feature = "native")]
pub mod eval;
#[cfg(feature = "native")]
pub mod train;

#[cfg(target_family = "wasm")]
pub mod web;

//! Music theory on melodies: pure functions, no model. `key` finds a melody's key, `meter` its
//! bar grid from its rhythm, `metrics` measures its structure and how it keeps the rules, `rewards` turns those rules into
//! rewards step by step (for tuning a model by reinforcement learning), `prior` leans sampling
//! towards two of them.

mod key;
pub mod meter;
pub mod metrics;
pub mod prior;
pub mod rewards;

pub use key::estimate_key;

//! Training examples: tunes encoded as model inputs and targets, varied each epoch (moved to
//! another key, labels hidden, form plan shown or not, laid on the bar grid their rhythm
//! suggests), cut into windows and batched.

use burn::prelude::*;

use crate::corpus::Tune;
use crate::encoding::{Lookback, StepInputs, Vocab};
use crate::form::Plan;
use crate::melody::Melody;
use crate::rng::Rng;
use crate::theory::meter::Grid;

/// One training sequence: model inputs and targets, `len` steps.
#[derive(Debug, Clone)]
pub struct Example {
    pub tokens: Vec<i32>,
    pub targets: Vec<i32>,
    /// [len][width]: conditioning features, then lookback rows (`StepInputs::columns`).
    pub columns: Vec<i32>,
    pub width: usize,
}

impl Example {
    pub fn len(&self) -> usize {
        self.targets.len()
    }

    pub fn is_empty(&self) -> bool {
        self.targets.is_empty()
    }
}

/// How training varies the tunes each epoch.
pub struct Augment<'a> {
    pub rng: &'a mut Rng,
    /// Move each tune to a random key that fits the range.
    pub transpose: bool,
    /// Chance of hiding a tune's key, and separately its style.
    pub blank: f64,
    /// Chance of showing a tune its own form plan (else it learns without one).
    pub plan: f64,
    /// Chance of laying a tune on the grid its rhythm suggests (`grids`, one per tune) instead
    /// of its own, as a MIDI file without a trustworthy grid is read.
    pub grid: f64,
    pub grids: &'a [Option<Grid>],
}

/// The tune on the grid its rhythm suggests, when there is one.
fn regridded(melody: &Melody, grid: Option<Grid>) -> Option<Melody> {
    let grid = grid?;
    let mut m = melody.starting_at(grid.phase).ok()?;
    m.meter = grid.meter;
    Some(m)
}

/// Encodes tunes as examples cut into windows, varied by `augment`, or as written without
/// (no plan: how evaluation reads them).
pub fn examples(
    tunes: &[Tune],
    vocab: Vocab,
    lookback: &Lookback,
    window: usize,
    mut augment: Option<Augment>,
) -> Vec<Example> {
    let mut out = Vec::new();
    for (i, tune) in tunes.iter().enumerate() {
        let (melody, conditioning, planned) = match augment.as_mut() {
            Some(a) => {
                let mut melody = tune.melody.clone();
                if a.rng.unit() < a.grid
                    && let Some(m) = regridded(&melody, a.grids.get(i).copied().flatten())
                {
                    melody = m;
                }
                let shifts = if a.transpose { vocab.fitting_shifts(&melody) } else { vec![0] };
                let shift = if shifts.is_empty() { 0 } else { shifts[a.rng.below(shifts.len())] };
                let melody = melody.transpose(shift).expect("a fitting shift stays in 0–127");
                let mut c = tune.conditioning().transpose(shift);
                c.meter = melody.meter;
                if a.rng.unit() < a.blank {
                    c.key = None;
                }
                if a.rng.unit() < a.blank {
                    c.style = None;
                }
                let planned = a.rng.unit() < a.plan;
                (melody, c, planned)
            }
            None => (tune.melody.clone(), tune.conditioning(), false),
        };
        let events = vocab.encode(&melody);
        let classes: Vec<usize> = events.iter().map(|&e| vocab.index(e)).collect();
        let plan = planned.then(|| Plan::derive(&events, melody.meter.steps_per_bar() as usize));
        let inputs = StepInputs::new(&conditioning, lookback, plan.as_ref(), classes.len());
        let width = StepInputs::width(lookback.slots());
        let columns = inputs.columns(vocab, &classes, classes.len());
        let targets: Vec<i32> = classes.iter().map(|&c| c as i32).collect();
        let mut tokens = Vec::with_capacity(targets.len());
        tokens.push(vocab.start() as i32);
        tokens.extend_from_slice(&targets[..targets.len().saturating_sub(1)]);
        for start in (0..targets.len()).step_by(window.max(1)) {
            let end = (start + window).min(targets.len());
            out.push(Example {
                tokens: tokens[start..end].to_vec(),
                targets: targets[start..end].to_vec(),
                columns: columns[start * width..end * width].to_vec(),
                width,
            });
        }
    }
    out
}

/// A padded batch on a device.
pub struct Batch {
    pub tokens: Tensor<2, Int>,
    pub columns: Tensor<3, Int>,
    pub targets: Tensor<2, Int>,
    pub mask: Tensor<2>,
    pub count: usize,
}

pub fn batch(examples: &[&Example], device: &Device) -> Batch {
    let b = examples.len();
    let t = examples.iter().map(|e| e.len()).max().unwrap_or(1);
    let w = examples.first().map_or(StepInputs::width(0), |e| e.width);
    let mut tokens = vec![0i32; b * t];
    let mut targets = vec![0i32; b * t];
    let mut columns = vec![0i32; b * t * w];
    let mut mask = vec![0f32; b * t];
    for (i, e) in examples.iter().enumerate() {
        let n = e.len();
        tokens[i * t..i * t + n].copy_from_slice(&e.tokens);
        targets[i * t..i * t + n].copy_from_slice(&e.targets);
        columns[i * t * w..(i * t + n) * w].copy_from_slice(&e.columns);
        mask[i * t..i * t + n].fill(1.0);
    }
    Batch {
        tokens: Tensor::from_data(TensorData::new(tokens, [b, t]), device),
        columns: Tensor::from_data(TensorData::new(columns, [b, t, w]), device),
        targets: Tensor::from_data(TensorData::new(targets, [b, t]), device),
        mask: Tensor::from_data(TensorData::new(mask, [b, t]), device),
        count: examples.iter().map(|e| e.len()).sum(),
    }
}

/// Batches of similar length (little padding), in random order.
pub fn batches<'a>(examples: &'a [Example], size: usize, rng: &mut Rng) -> Vec<Vec<&'a Example>> {
    let mut order: Vec<&Example> = examples.iter().collect();
    rng.shuffle(&mut order);
    let mut out = Vec::new();
    for pool in order.chunks_mut(size * 64) {
        pool.sort_by_key(|e| e.len());
        out.extend(pool.chunks(size).map(|c| c.to_vec()));
    }
    rng.shuffle(&mut out);
    out
}

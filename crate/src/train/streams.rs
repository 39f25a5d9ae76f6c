//! Stateful training: tunes laid end to end in parallel rows, cut into windows.

use burn::prelude::*;

use super::data::{Batch, Example};
use crate::encoding::StepInputs;

/// Tunes laid end to end in parallel rows, for stateful training: a window of every row makes
/// a batch, and the state at the end of one window (an LSTM's state, a Transformer's keys and
/// values) starts the next. Far more weight updates per epoch than whole-tune batches, without
/// cutting every tune's context at the window's edge.
pub struct Streams {
    pub rows: usize,
    len: usize,
    tokens: Vec<i32>,
    targets: Vec<i32>,
    /// [rows × len][width]
    columns: Vec<i32>,
    width: usize,
    /// 0 at the first step of each tune (and in the padding), where the state is zeroed.
    keep: Vec<f32>,
    /// Which tune each step belongs to (numbered across all rows; each row's padding is a tune
    /// of its own), so attention stays within a tune.
    segments: Vec<u32>,
    mask: Vec<f32>,
}

impl Streams {
    /// `tunes` are whole-tune examples, laid out in the order given; each goes to the row that
    /// is shortest so far, so rows end close together.
    pub fn new(tunes: &[Example], rows: usize) -> Self {
        let rows = rows.max(1);
        let mut lists: Vec<Vec<&Example>> = vec![Vec::new(); rows];
        let mut lengths = vec![0usize; rows];
        for e in tunes {
            let r = (0..rows).min_by_key(|&r| lengths[r]).expect("at least one row");
            lists[r].push(e);
            lengths[r] += e.len();
        }
        let len = lengths.iter().copied().max().unwrap_or(0);
        let width = tunes.first().map_or(StepInputs::width(0), |e| e.width);
        let mut s = Streams {
            rows,
            len,
            tokens: vec![0; rows * len],
            targets: vec![0; rows * len],
            columns: vec![0; rows * len * width],
            width,
            keep: vec![0.0; rows * len],
            segments: vec![0; rows * len],
            mask: vec![0.0; rows * len],
        };
        let mut tune = 0u32;
        for (r, list) in lists.iter().enumerate() {
            let mut at = r * len;
            for e in list {
                let n = e.len();
                s.segments[at..at + n].fill(tune);
                tune += 1;
                s.tokens[at..at + n].copy_from_slice(&e.tokens);
                s.targets[at..at + n].copy_from_slice(&e.targets);
                s.columns[at * width..(at + n) * width].copy_from_slice(&e.columns);
                s.keep[at + 1..at + n].fill(1.0);
                s.mask[at..at + n].fill(1.0);
                at += n;
            }
            s.segments[at..(r + 1) * len].fill(tune);
            tune += 1;
        }
        s
    }

    /// How many windows of `width` steps cover the rows.
    pub fn windows(&self, width: usize) -> usize {
        self.len.div_ceil(width.max(1))
    }

    /// Each step's tune in window `i` of every row, row after row.
    pub fn segments(&self, i: usize, width: usize) -> Vec<u32> {
        let from = i * width;
        self.cut(&self.segments, from, width.min(self.len - from), 1)
    }

    /// Window `i` of every row as a batch, with its `keep` mask.
    pub fn window(&self, i: usize, width: usize, device: &Device) -> (Batch, Tensor<2>) {
        let from = i * width;
        let t = width.min(self.len - from);
        let rows = self.rows;
        let mask = self.cut(&self.mask, from, t, 1);
        let count = mask.iter().filter(|&&m| m > 0.0).count();
        let batch = Batch {
            tokens: Tensor::from_data(TensorData::new(self.cut(&self.tokens, from, t, 1), [rows, t]), device),
            columns: Tensor::from_data(
                TensorData::new(self.cut(&self.columns, from, t, self.width), [rows, t, self.width]),
                device,
            ),
            targets: Tensor::from_data(TensorData::new(self.cut(&self.targets, from, t, 1), [rows, t]), device),
            mask: Tensor::from_data(TensorData::new(mask, [rows, t]), device),
            count,
        };
        (batch, Tensor::from_data(TensorData::new(self.cut(&self.keep, from, t, 1), [rows, t]), device))
    }

    /// Steps `from..from + t` of every row of `values` (`per` values a step), row after row.
    fn cut<T: Copy>(&self, values: &[T], from: usize, t: usize, per: usize) -> Vec<T> {
        (0..self.rows)
            .flat_map(|r| &values[(r * self.len + from) * per..(r * self.len + from + t) * per])
            .copied()
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::corpus::Tune;
    use crate::encoding::{Style, Vocab};
    use crate::melody::{Key, Melody, Meter, Note, Pitch, Step, Tempo};
    use crate::train::examples;

    fn tune(pitches: &[u8]) -> Tune {
        let notes = pitches
            .iter()
            .enumerate()
            .map(|(i, &p)| Note { pitch: Pitch::new(p as i32).unwrap(), onset: Step(i as u32 * 2), duration: Step(2) })
            .collect();
        Tune {
            source: "test".into(),
            id: "t".into(),
            melody: Melody::new(notes, Tempo::default(), Meter::COMMON, Some(Key::C_MAJOR)).unwrap(),
            style: Some(Style::Folk),
        }
    }

    #[test]
    fn streams_hold_every_tune_once_and_reset_at_each_start() {
        let vocab = Vocab::DEFAULT;
        let tunes: Vec<Tune> = (0..7).map(|i| tune(&[60 + i, 62, 64, 65, 67][..2 + i as usize % 4])).collect();
        let ex = examples(&tunes, vocab, &crate::encoding::Lookback::default(), usize::MAX, None);
        let s = Streams::new(&ex, 3);
        let total: usize = ex.iter().map(|e| e.len()).sum();
        assert_eq!(s.mask.iter().filter(|&&m| m > 0.0).count(), total);
        // One reset (keep = 0 inside the mask) per tune, at a start symbol.
        let starts: Vec<usize> = (0..s.rows * s.len).filter(|&i| s.mask[i] > 0.0 && s.keep[i] == 0.0).collect();
        assert_eq!(starts.len(), tunes.len());
        assert!(starts.iter().all(|&i| s.tokens[i] == vocab.start() as i32));
        // Rows are balanced: none is longer than the shortest plus one tune.
        let lengths: Vec<usize> =
            (0..s.rows).map(|r| s.mask[r * s.len..(r + 1) * s.len].iter().filter(|&&m| m > 0.0).count()).collect();
        let longest_tune = ex.iter().map(|e| e.len()).max().unwrap();
        assert!(lengths.iter().max().unwrap() - lengths.iter().min().unwrap() <= longest_tune, "{lengths:?}");
        assert_eq!(s.windows(4), s.len.div_ceil(4));
    }
}

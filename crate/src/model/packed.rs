//! The LSTM packed for fast batch-1 generation: the weights the int8 CPU engine
//! (`engine::int8`) and the WGSL kernels (`engine::wgsl`) run, and their file (`.pack`).
//!
//! - The first layer's input half disappears: the input is a sum of embedding rows (token,
//!   conditioning, lookbacks), so its product with the weights is a sum of rows of precomputed
//!   tables, one per embedding: the token's (which carries layer 0's bias) stored in f16, the
//!   conditioning and lookback tables in int8 with one scale per row.
//! - The remaining weights are int8 with one scale per row; the engines keep the hidden state,
//!   always in (−1, 1), as int16 with a fixed scale ([`H_SCALE`]).

use half::f16;

use super::{LstmConfig, ModelError};
use crate::encoding::StepFeatures;

/// Hidden-state quantisation: h ∈ (−1, 1) ↦ round(h · H_SCALE). 13 bits keeps every dot product
/// of up to [`MAX_COLS`] terms inside an i32 (127 · 8191 · 2048 < 2³¹).
pub const H_SCALE: f32 = 8191.0;
/// The largest quantised weight: weights and input tables are int8 values in ±Q_MAX with a
/// scale per row. 7 bits cost 0.07% bits/note against f32 on the test split (±127: 0.00%) and
/// save one bit a weight on the wire, which gzip cannot (models/README.md, "Why 7 bits").
pub const Q_MAX: f32 = 63.0;
pub const MAX_COLS: usize = 2048;
/// Rows are padded to a multiple of this many columns (one simd128 load of int8).
pub const LANES: usize = 16;
const MAX_CLASSES: usize = 4096;
const MAX_LAYERS: usize = 16;
const MAX_TABLES: usize = 16;

/// A row-major int8 matrix with a scale per row, rows padded to a multiple of [`LANES`] columns.
#[derive(Debug, Clone)]
pub struct QMatrix {
    pub rows: usize,
    pub stride: usize,
    pub data: Vec<i8>,
    pub scales: Vec<f32>,
}

impl QMatrix {
    /// From `w` stored [cols (inputs), rows (outputs)] as Burn keeps linear weights.
    pub fn from_input_major(w: &[f32], cols: usize, rows: usize) -> QMatrix {
        let stride = cols.div_ceil(LANES) * LANES;
        let mut data = vec![0i8; rows * stride];
        let mut scales = vec![0f32; rows];
        for r in 0..rows {
            let max = (0..cols).map(|c| w[c * rows + r].abs()).fold(0f32, f32::max);
            let scale = if max > 0.0 { max / Q_MAX } else { 1.0 };
            scales[r] = scale;
            for c in 0..cols {
                data[r * stride + c] = (w[c * rows + r] / scale).round().clamp(-Q_MAX, Q_MAX) as i8;
            }
        }
        QMatrix { rows, stride, data, scales }
    }

    pub fn row(&self, r: usize) -> &[i8] {
        &self.data[r * self.stride..(r + 1) * self.stride]
    }
}

#[derive(Debug, Clone)]
pub struct Layer {
    /// Layer 0: the recurrent half only ([4H, H]); later layers: [4H, H_below + H].
    pub weights: QMatrix,
    /// Layer 0: zero (its bias is folded into the token table).
    pub bias: Vec<f32>,
}

/// An LSTM ready for the packed engines.
#[derive(Debug, Clone)]
pub struct PackedLstm {
    pub hidden: usize,
    pub classes: usize,
    /// [(classes + 1), 4H]: the token embedding times layer 0's input weights, plus its bias.
    pub token_table: Vec<f32>,
    /// The conditioning features (in `StepFeatures` order), then the lookbacks: [rows, 4H] each.
    pub tables: Vec<Vec<f32>>,
    pub layers: Vec<Layer>,
    pub head: QMatrix,
    pub head_bias: Vec<f32>,
}

const PACK_MAGIC: &[u8; 8] = b"TSPACK02";

impl PackedLstm {
    /// Packs a model held on a CPU device (this reads its weights synchronously).
    #[cfg(feature = "burn")]
    pub fn from_lstm(model: &super::LstmModel) -> Result<PackedLstm, ModelError> {
        use burn::prelude::*;
        let read = |t: Tensor<2>| -> Result<(Vec<f32>, [usize; 2]), ModelError> {
            let dims = t.dims();
            let v = t.into_data().try_to_vec_as::<f32>().map_err(|e| ModelError::Read(format!("{e:?}")))?;
            Ok((v, dims))
        };
        let read1 = |t: Tensor<1>| t.into_data().try_to_vec_as::<f32>().map_err(|e| ModelError::Read(format!("{e:?}")));
        let first = &model.cells[0];
        let gates = 4 * first.hidden;
        let w0 = first.weight.val();
        let w_x = w0.clone().slice(s![0..first.input_size, ..]);
        let w_h = w0.slice(s![first.input_size.., ..]);
        let bias0 = first.bias.val().unsqueeze::<2>();
        let (token_table, _) = read(model.input.token_weight().matmul(w_x.clone()) + bias0)?;
        let tables = model
            .input
            .column_weights()
            .into_iter()
            .map(|e| read(e.matmul(w_x.clone())).map(|(v, _)| v))
            .collect::<Result<Vec<_>, _>>()?;
        let mut layers = Vec::with_capacity(model.cells.len());
        let (wh, [cols, _]) = read(w_h)?;
        layers.push(Layer { weights: QMatrix::from_input_major(&wh, cols, gates), bias: vec![0.0; gates] });
        for cell in &model.cells[1..] {
            let (w, [cols, rows]) = read(cell.weight.val())?;
            if cols > MAX_COLS {
                return Err(ModelError::Config(format!("layer input {cols} exceeds {MAX_COLS}")));
            }
            layers.push(Layer { weights: QMatrix::from_input_major(&w, cols, rows), bias: read1(cell.bias.val())? });
        }
        let (wo, [cols, classes]) = read(model.head.weight.val())?;
        let head_bias = match &model.head.bias {
            Some(b) => read1(b.val())?,
            None => vec![0.0; classes],
        };
        let packed = PackedLstm {
            hidden: first.hidden,
            classes,
            token_table,
            tables,
            layers,
            head: QMatrix::from_input_major(&wo, cols, classes),
            head_bias,
        };
        // Through the file format, so every packed engine, loaded from a file or packed in
        // place, computes exactly the same thing.
        PackedLstm::from_bytes(&packed.to_bytes())
    }

    /// Checks that these weights are the network `spec` describes (a pack and a spec from
    /// different trainings must not meet at generation time).
    pub fn check_against(&self, spec: &LstmConfig) -> Result<(), ModelError> {
        let vocab = spec.check()?;
        let mismatch = |what: String| ModelError::Weights(format!("the .pack does not fit its spec: {what}"));
        let gates = 4 * self.hidden;
        if self.hidden != spec.hidden || self.layers.len() != spec.layers || self.classes != vocab.size() {
            return Err(mismatch(format!(
                "it has {} layers of {} over {} classes, the spec {} of {} over {}",
                self.layers.len(),
                self.hidden,
                self.classes,
                spec.layers,
                spec.hidden,
                vocab.size()
            )));
        }
        let rows = StepFeatures::CARDINALITIES.into_iter().chain(spec.lookback.table_rows(vocab.size()));
        if self.tables.len() != StepFeatures::CARDINALITIES.len() + spec.lookback.slots() {
            return Err(mismatch(format!(
                "{} input tables, the spec reads {}",
                self.tables.len(),
                StepFeatures::CARDINALITIES.len() + spec.lookback.slots()
            )));
        }
        for (i, (table, rows)) in self.tables.iter().zip(rows).enumerate() {
            if table.len() != rows * gates {
                return Err(mismatch(format!(
                    "input table {i} has {} rows, the spec needs {rows}",
                    table.len() / gates
                )));
            }
        }
        Ok(())
    }

    /// The packed model as a file (`.pack`): what the page downloads for an LSTM, about half
    /// the bytes of the f16 burnpack. Little-endian: magic, hidden, classes, layers, tables,
    /// then the token table (f16), each input table (per row of gates: an f32 scale and int8
    /// values), each layer (int8 rows, f32 scales, f32 bias), the head (int8 rows, f32 scales)
    /// and its bias.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.bytes_per_step() + 2 * self.token_table.len() + 64);
        out.extend_from_slice(PACK_MAGIC);
        let u32s =
            |out: &mut Vec<u8>, v: &[usize]| v.iter().for_each(|&x| out.extend_from_slice(&(x as u32).to_le_bytes()));
        let f16s = |out: &mut Vec<u8>, v: &[f32]| {
            v.iter().for_each(|&x| out.extend_from_slice(&f16::from_f32(x).to_bits().to_le_bytes()))
        };
        let f32s = |out: &mut Vec<u8>, v: &[f32]| v.iter().for_each(|&x| out.extend_from_slice(&x.to_le_bytes()));
        let matrix = |out: &mut Vec<u8>, m: &QMatrix| {
            u32s(out, &[m.rows, m.stride]);
            out.extend(m.data.iter().map(|&b| b as u8));
            f32s(out, &m.scales);
        };
        u32s(&mut out, &[self.hidden, self.classes, self.layers.len(), self.tables.len()]);
        u32s(&mut out, &[self.token_table.len()]);
        f16s(&mut out, &self.token_table);
        for t in &self.tables {
            u32s(&mut out, &[t.len()]);
            for row in t.chunks(4 * self.hidden) {
                let max = row.iter().fold(0f32, |m, x| m.max(x.abs()));
                // A row that is not all finite keeps a NaN scale, so the file is refused on
                // load rather than read back as zeros.
                let scale = match () {
                    _ if row.iter().any(|x| !x.is_finite()) => f32::NAN,
                    _ if max > 0.0 => max / Q_MAX,
                    _ => 1.0,
                };
                out.extend_from_slice(&scale.to_le_bytes());
                out.extend(row.iter().map(|&x| (x / scale).round().clamp(-Q_MAX, Q_MAX) as i8 as u8));
            }
        }
        for l in &self.layers {
            matrix(&mut out, &l.weights);
            f32s(&mut out, &l.bias);
        }
        matrix(&mut out, &self.head);
        f32s(&mut out, &self.head_bias);
        out
    }

    /// Whether `bytes` start like a `.pack` file.
    pub fn is_pack(bytes: &[u8]) -> bool {
        bytes.starts_with(PACK_MAGIC)
    }

    /// Reads a `.pack` file, checking every size against the header and every value for being
    /// finite (a damaged file must fail here, not produce noise or a trap later).
    pub fn from_bytes(bytes: &[u8]) -> Result<PackedLstm, ModelError> {
        let bad = |what: &str| ModelError::Weights(format!("not a tunesmith .pack file ({what})"));
        let mut r = Reader { bytes, at: 0 };
        if r.take(PACK_MAGIC.len()).ok_or_else(|| bad("too short"))? != PACK_MAGIC {
            return Err(bad("wrong magic"));
        }
        let mut u = || r.u32().ok_or_else(|| bad("truncated header"));
        let (hidden, classes, layers, tables) = (u()?, u()?, u()?, u()?);
        if hidden == 0
            || hidden > MAX_COLS / 2
            || !(3..=MAX_CLASSES).contains(&classes)
            || layers == 0
            || layers > MAX_LAYERS
            || tables > MAX_TABLES
        {
            return Err(bad("implausible sizes"));
        }
        let gates = 4 * hidden;
        let finite = |v: Vec<f32>| {
            if v.iter().all(|x| x.is_finite()) { Ok(v) } else { Err(bad("a weight is not a finite number")) }
        };
        let size = |r: &mut Reader| -> Result<usize, ModelError> {
            let n = r.u32().ok_or_else(|| bad("truncated table"))?;
            if n == 0 || n % gates != 0 { Err(bad("table width")) } else { Ok(n) }
        };
        let token_table = |r: &mut Reader| -> Result<Vec<f32>, ModelError> {
            let n = size(r)?;
            let raw = r.take(2 * n).ok_or_else(|| bad("truncated table"))?;
            finite(raw.chunks_exact(2).map(|b| f16::from_bits(u16::from_le_bytes([b[0], b[1]])).to_f32()).collect())
        };
        let table = |r: &mut Reader| -> Result<Vec<f32>, ModelError> {
            let n = size(r)?;
            let raw = r.take(n + 4 * (n / gates)).ok_or_else(|| bad("truncated table"))?;
            let mut out = Vec::with_capacity(n);
            for row in raw.chunks_exact(4 + gates) {
                let scale = f32::from_le_bytes([row[0], row[1], row[2], row[3]]);
                out.extend(row[4..].iter().map(|&q| q as i8 as f32 * scale));
            }
            finite(out)
        };
        let token_table = token_table(&mut r)?;
        if token_table.len() != (classes + 1) * gates {
            return Err(bad("token table size"));
        }
        let tables = (0..tables).map(|_| table(&mut r)).collect::<Result<Vec<_>, _>>()?;
        let f32s = |r: &mut Reader, n: usize| -> Result<Vec<f32>, ModelError> {
            let raw = r.take(4 * n).ok_or_else(|| bad("truncated floats"))?;
            finite(raw.chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect())
        };
        let matrix = |r: &mut Reader, rows: usize, cols: usize| -> Result<QMatrix, ModelError> {
            let (got_rows, stride) =
                (r.u32().ok_or_else(|| bad("truncated matrix"))?, r.u32().ok_or_else(|| bad("truncated matrix"))?);
            if got_rows != rows || stride != cols.div_ceil(LANES) * LANES {
                return Err(bad("matrix shape"));
            }
            let data = r.take(rows * stride).ok_or_else(|| bad("truncated matrix"))?.iter().map(|&b| b as i8).collect();
            Ok(QMatrix { rows, stride, data, scales: f32s(r, rows)? })
        };
        let mut stack = Vec::with_capacity(layers);
        for l in 0..layers {
            let cols = if l == 0 { hidden } else { 2 * hidden };
            let weights = matrix(&mut r, gates, cols)?;
            stack.push(Layer { weights, bias: f32s(&mut r, gates)? });
        }
        let head = matrix(&mut r, classes, hidden)?;
        let head_bias = f32s(&mut r, classes)?;
        if r.at != bytes.len() {
            return Err(bad("trailing bytes"));
        }
        Ok(PackedLstm { hidden, classes, token_table, tables, layers: stack, head, head_bias })
    }

    /// Bytes of weights read per step (int8 matrices and their scales).
    pub fn bytes_per_step(&self) -> usize {
        self.layers.iter().map(|l| l.weights.data.len() + 4 * l.weights.rows).sum::<usize>()
            + self.head.data.len()
            + 4 * self.head.rows
    }
}

struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let end = self.at.checked_add(n)?;
        let out = self.bytes.get(self.at..end)?;
        self.at = end;
        Some(out)
    }
    fn u32(&mut self) -> Option<usize> {
        self.take(4).map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize)
    }
}

#[cfg(all(test, feature = "burn"))]
mod tests {
    use super::*;
    use crate::encoding::{Lookback, Vocab};
    use crate::model::PitchRange;
    use burn::prelude::*;

    pub(crate) fn config(hidden: usize, lookback: Lookback) -> LstmConfig {
        LstmConfig { range: PitchRange::from(Vocab::DEFAULT), embed: 12, hidden, layers: 2, dropout: 0.0, lookback }
    }

    #[test]
    fn pack_files_round_trip_and_refuse_damage() {
        let spec = config(20, Lookback { bars: vec![1, 2], half: false, form: true });
        let packed = PackedLstm::from_lstm(&spec.init(&Device::flex()).unwrap()).unwrap();
        packed.check_against(&spec).unwrap();
        let bytes = packed.to_bytes();
        assert!(PackedLstm::is_pack(&bytes));
        let back = PackedLstm::from_bytes(&bytes).unwrap();
        assert_eq!(back.to_bytes(), bytes);
        for cut in [0, 7, 20, bytes.len() / 2, bytes.len() - 1] {
            assert!(PackedLstm::from_bytes(&bytes[..cut]).is_err(), "cut at {cut}");
        }
        let mut longer = bytes.clone();
        longer.push(0);
        assert!(PackedLstm::from_bytes(&longer).is_err());
        let mut huge = bytes.clone();
        huge[8..12].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(PackedLstm::from_bytes(&huge).is_err());
        // A NaN in the last float (the head's bias) is refused.
        let mut nan = bytes.clone();
        let at = nan.len() - 4;
        nan[at..].copy_from_slice(&f32::NAN.to_le_bytes());
        assert!(PackedLstm::from_bytes(&nan).unwrap_err().to_string().contains("finite"));
    }

    #[test]
    fn a_pack_is_checked_against_its_spec() {
        let spec = config(20, Lookback::default());
        let packed = PackedLstm::from_lstm(&spec.init(&Device::flex()).unwrap()).unwrap();
        assert!(packed.check_against(&spec).is_ok());
        let wider = LstmConfig { hidden: 24, ..spec.clone() };
        assert!(packed.check_against(&wider).unwrap_err().to_string().contains("does not fit"));
        let narrower_range = LstmConfig { range: PitchRange { lo: 48, hi: 96 }, ..spec.clone() };
        assert!(packed.check_against(&narrower_range).is_err());
        let more_inputs = LstmConfig { lookback: Lookback { bars: vec![1], half: false, form: false }, ..spec };
        assert!(packed.check_against(&more_inputs).unwrap_err().to_string().contains("input tables"));
    }

    #[test]
    fn quantised_rows_are_close_to_float() {
        let (cols, rows) = (40, 8);
        let mut rng = crate::rng::Rng::new(5);
        let w: Vec<f32> = (0..cols * rows).map(|_| rng.unit() as f32 - 0.5).collect();
        let m = QMatrix::from_input_major(&w, cols, rows);
        assert_eq!(m.stride, 48);
        for r in 0..rows {
            for c in 0..cols {
                let back = m.row(r)[c] as f32 * m.scales[r];
                assert!((back - w[c * rows + r]).abs() <= m.scales[r] / 2.0 + 1e-6);
            }
            assert!(m.row(r)[cols..].iter().all(|&x| x == 0), "padding is zero");
        }
    }
}

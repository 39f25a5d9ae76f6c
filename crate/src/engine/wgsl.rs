//! The WGSL engine: the packed LSTM (`model::packed`) as hand-written WebGPU kernels
//! (`lstm.wgsl`). Through Burn, a step of a 2-layer LSTM is dozens of small kernels, and on a
//! software adapter each costs a fixed slice of time whatever its size; here a step is
//! `layers + 1` dispatches, and every step of a bar is recorded into one compute pass, so a
//! melody is a few submits and one read-back.
//!
//! This file lays the packed weights out for the shader and sets its constants (plain Rust,
//! tested natively); the runtime that drives a device is compiled for the browser only.

use crate::encoding::{Lookback, StepFeatures, StepInputs};
use crate::model::packed::{PackedLstm, QMatrix};

/// The shader; its sizes and offsets are pipeline-overridable constants.
pub const SHADER: &str = include_str!("lstm.wgsl");
/// Invocations per workgroup of the layer kernels (`WORKGROUP` in the shader).
const WORKGROUP: u32 = 64;
/// Header words of `io` (`IO_HEADER` in the shader).
const IO_HEADER: usize = 6;
/// The shader's workgroup arrays: inputs up to 2048 wide, up to 256 classes.
const MAX_INPUT: usize = 2048;
const MAX_CLASSES: usize = 256;

/// A matrix in `words` and its scales and bias in `params`.
#[derive(Debug, Clone, Copy)]
struct Matrix {
    words: usize,
    /// Padded input width.
    k: usize,
    scales: usize,
    bias: usize,
}

/// The packed LSTM as the shader sees it: two flat buffers and the constants that find things
/// in them.
#[derive(Debug, Clone)]
pub struct WgslLayout {
    pub hidden: usize,
    pub classes: usize,
    /// Int8 matrices, four per `u32`: each layer's [K/4][4H], then the head's [K/4][classes].
    pub words: Vec<u32>,
    /// f32 parameters: the input tables, then per-layer scales and biases, then the head's.
    pub params: Vec<f32>,
    layers: Vec<Matrix>,
    head: Matrix,
    /// First row of each conditioning feature's table among the concatenated input tables.
    feature_rows: [usize; 5],
    /// Offset in `params` of the first lookback table, and rows per lookback table.
    lookback: usize,
    lookback_rows: usize,
    slots: usize,
}

/// Four int8 values into one word, the first in the low byte.
fn pack4(b: &[i8]) -> u32 {
    b.iter().enumerate().fold(0u32, |w, (i, &v)| w | ((v as u8 as u32) << (8 * i)))
}

impl WgslLayout {
    /// Lays out `packed` (whose last `lookback.slots()` tables are its lookbacks); `None` when
    /// its shape does not suit the kernel (then Burn runs the model).
    pub fn new(packed: &PackedLstm, lookback: &Lookback) -> Option<WgslLayout> {
        let (h, classes) = (packed.hidden, packed.classes);
        let features = StepFeatures::CARDINALITIES.len();
        // Inputs are read as vec4s and [h_below, h_own] must not straddle one; the logits of
        // every class sit in one workgroup's memory.
        if h % 4 != 0
            || 2 * h > MAX_INPUT
            || classes > MAX_CLASSES
            || packed.tables.len() != features + lookback.slots()
        {
            return None;
        }
        let gates = 4 * h;
        let mut words = Vec::new();
        let put_matrix = |words: &mut Vec<u32>, m: &QMatrix| {
            let offset = words.len();
            // Word (q, r) holds row r's inputs 4q..4q+4; rows are adjacent for adjacent units.
            for q in 0..m.stride / 4 {
                for r in 0..m.rows {
                    words.push(pack4(&m.row(r)[4 * q..4 * q + 4]));
                }
            }
            offset
        };
        let mut params = packed.token_table.clone();
        let mut feature_rows = [0; 5];
        for (f, table) in packed.tables.iter().enumerate() {
            if f < features {
                feature_rows[f] = params.len() / gates;
            }
            params.extend_from_slice(table);
        }
        let lookback_at = packed.token_table.len() + packed.tables[..features].iter().map(Vec::len).sum::<usize>();
        let mut put = |m: &QMatrix, bias: &[f32], words: &mut Vec<u32>| {
            let w = put_matrix(words, m);
            let scales = params.len();
            params.extend_from_slice(&m.scales);
            let b = params.len();
            params.extend_from_slice(bias);
            Matrix { words: w, k: m.stride, scales, bias: b }
        };
        let layers = packed.layers.iter().map(|l| put(&l.weights, &l.bias, &mut words)).collect();
        let head = put(&packed.head, &packed.head_bias, &mut words);
        Some(WgslLayout {
            hidden: h,
            classes,
            words,
            params,
            layers,
            head,
            feature_rows,
            lookback: lookback_at,
            lookback_rows: Lookback::rows_for(classes),
            slots: lookback.slots(),
        })
    }

    pub fn layers(&self) -> usize {
        self.layers.len()
    }

    /// Floats of recurrent state: per layer h twice (this step's and the next's) and c.
    pub fn state_len(&self) -> usize {
        3 * self.hidden * self.layers.len()
    }

    /// Workgroups a layer dispatch needs.
    pub fn layer_workgroups(&self) -> u32 {
        (self.hidden as u32).div_ceil(WORKGROUP)
    }

    fn common(&self, m: Matrix) -> Vec<(&'static str, f64)> {
        vec![
            ("H", self.hidden as f64),
            ("V", self.classes as f64),
            ("LAYERS", self.layers.len() as f64),
            ("W", m.words as f64),
            ("KQ", (m.k / 4) as f64),
            ("SCALES", m.scales as f64),
            ("BIAS", m.bias as f64),
        ]
    }

    /// The shader constants of layer `l`'s pipeline (entry point `layer`).
    pub fn layer_constants(&self, l: usize) -> Vec<(&'static str, f64)> {
        let mut c = self.common(self.layers[l]);
        c.extend([
            ("LAYER", l as f64),
            ("TABLES", 0.0),
            ("STATIC", StepFeatures::CARDINALITIES.len() as f64),
            ("SLOTS", self.slots as f64),
            ("LOOKBACK", self.lookback as f64),
            ("LOOKBACK_ROWS", self.lookback_rows as f64),
        ]);
        c
    }

    /// The shader constants of the output layer's pipeline (entry point `head`).
    pub fn head_constants(&self) -> Vec<(&'static str, f64)> {
        self.common(self.head)
    }

    /// The `io` buffer of one sequence: header (with the nats off a note that leaves a leap
    /// unanswered, `leap`), input tokens (the start symbol, then the primer's classes; the
    /// shader appends its samples), every step's static table rows and its lookback codes.
    pub fn io(&self, inputs: &StepInputs, primer: &[usize], leap: f32) -> Vec<u32> {
        let total = inputs.len();
        let rows_at = IO_HEADER + total + 1;
        let codes_at = rows_at + total * self.feature_rows.len();
        let mut io = vec![0u32; codes_at + total * self.slots];
        io[1] = primer.len() as u32;
        io[2] = rows_at as u32;
        io[3] = codes_at as u32;
        io[5] = leap.to_bits();
        io[IO_HEADER] = self.classes as u32; // the start symbol
        for (i, &c) in primer.iter().enumerate() {
            io[IO_HEADER + 1 + i] = c as u32;
        }
        for t in 0..total {
            for (f, v) in inputs.features(t).into_iter().enumerate() {
                io[rows_at + t * 5 + f] = (self.feature_rows[f] + v as usize) as u32;
            }
            io[codes_at + t * self.slots..codes_at + (t + 1) * self.slots].copy_from_slice(inputs.codes(t));
        }
        io
    }

    /// Where the samples land in `io`: (first word, count).
    pub fn samples(primer_len: usize, steps: usize) -> (usize, usize) {
        (IO_HEADER + primer_len + 1, steps)
    }
}

#[cfg(all(feature = "webgpu", target_family = "wasm"))]
pub use runtime::{WgslEngine, WgslRun};

#[cfg(all(feature = "webgpu", target_family = "wasm"))]
mod runtime {
    use super::super::gpu::{Gpu, bytes_f32, bytes_u32, wgpu};
    use super::WgslLayout;
    use crate::encoding::{Lookback, Vocab};
    use crate::engine::{Backend, Engine, EngineError, EngineName, Job, Sampled};
    use crate::model::LstmConfig;
    use crate::model::packed::PackedLstm;
    use wgpu::util::DeviceExt;

    /// The `io` header word holding the samples' log-likelihood (f32 bits).
    const LOG_LIKELIHOOD_WORD: u64 = 4;

    /// A packed LSTM uploaded to the GPU with its pipelines compiled.
    pub struct WgslEngine {
        gpu: Gpu,
        layout: WgslLayout,
        vocab: Vocab,
        lookback: Lookback,
        bind_layout: wgpu::BindGroupLayout,
        layers: Vec<wgpu::ComputePipeline>,
        head: wgpu::ComputePipeline,
        words: wgpu::Buffer,
        params: wgpu::Buffer,
    }

    /// One sequence's buffers.
    struct Sequence {
        io: wgpu::Buffer,
        bind: wgpu::BindGroup,
        readback: wgpu::Buffer,
    }

    pub struct WgslRun {
        sequences: Vec<Sequence>,
        /// The next step to record.
        t: usize,
    }

    impl WgslEngine {
        /// `Ok(None)` when the model's shape does not suit the kernel; an error when the
        /// device refuses the shader or the buffers.
        pub async fn new(gpu: &Gpu, packed: &PackedLstm, spec: &LstmConfig) -> Result<Option<WgslEngine>, EngineError> {
            packed.check_against(spec)?;
            let Some(layout) = WgslLayout::new(packed, &spec.lookback) else { return Ok(None) };
            gpu.check()?;
            let device = &gpu.device;
            let scope = device.push_error_scope(wgpu::ErrorFilter::Validation);
            let module = device.create_shader_module(wgpu::ShaderModuleDescriptor {
                label: Some("lstm"),
                source: wgpu::ShaderSource::Wgsl(super::SHADER.into()),
            });
            let entry = |binding, read_only| wgpu::BindGroupLayoutEntry {
                binding,
                visibility: wgpu::ShaderStages::COMPUTE,
                ty: wgpu::BindingType::Buffer {
                    ty: wgpu::BufferBindingType::Storage { read_only },
                    has_dynamic_offset: false,
                    min_binding_size: None,
                },
                count: None,
            };
            let bind_layout = device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
                label: Some("lstm"),
                entries: &[entry(0, true), entry(1, true), entry(2, true), entry(3, false), entry(4, false)],
            });
            let pipeline_layout = device.create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
                label: Some("lstm"),
                bind_group_layouts: &[Some(&bind_layout)],
                immediate_size: 0,
            });
            let pipeline = |entry: &str, constants: Vec<(&'static str, f64)>| {
                device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
                    label: Some(entry),
                    layout: Some(&pipeline_layout),
                    module: &module,
                    entry_point: Some(entry),
                    compilation_options: wgpu::PipelineCompilationOptions {
                        constants: &constants,
                        ..Default::default()
                    },
                    cache: None,
                })
            };
            let layers = (0..layout.layers()).map(|l| pipeline("layer", layout.layer_constants(l))).collect();
            let head = pipeline("head", layout.head_constants());
            let storage = |label, contents: &[u8]| {
                device.create_buffer_init(&wgpu::util::BufferInitDescriptor {
                    label: Some(label),
                    contents,
                    usage: wgpu::BufferUsages::STORAGE,
                })
            };
            let words = storage("weights", bytes_u32(&layout.words));
            let params = storage("params", bytes_f32(&layout.params));
            if let Some(e) = scope.pop().await {
                return Err(EngineError::Gpu { what: "kernel setup", message: e.to_string() });
            }
            Ok(Some(WgslEngine {
                gpu: gpu.clone(),
                vocab: spec.check()?,
                lookback: spec.lookback.clone(),
                layout,
                bind_layout,
                layers,
                head,
                words,
                params,
            }))
        }

        /// Records steps `from..until` of every sequence into one pass and submits it.
        async fn record(&self, run: &WgslRun, from: usize, until: usize) -> Result<(), EngineError> {
            self.gpu.check()?;
            let device = &self.gpu.device;
            let scope = device.push_error_scope(wgpu::ErrorFilter::Validation);
            let mut encoder = device.create_command_encoder(&wgpu::CommandEncoderDescriptor { label: Some("steps") });
            {
                let mut pass = encoder
                    .begin_compute_pass(&wgpu::ComputePassDescriptor { label: Some("steps"), timestamp_writes: None });
                let groups = self.layout.layer_workgroups();
                for seq in &run.sequences {
                    pass.set_bind_group(0, &seq.bind, &[]);
                    for _ in from..until {
                        for layer in &self.layers {
                            pass.set_pipeline(layer);
                            pass.dispatch_workgroups(groups, 1, 1);
                        }
                        pass.set_pipeline(&self.head);
                        pass.dispatch_workgroups(1, 1, 1);
                    }
                }
            }
            self.gpu.queue.submit([encoder.finish()]);
            match scope.pop().await {
                Some(e) => Err(EngineError::Gpu { what: "generation", message: e.to_string() }),
                None => Ok(()),
            }
        }
    }

    impl Engine for WgslEngine {
        type Run = WgslRun;

        fn name(&self) -> EngineName {
            EngineName::Wgsl
        }
        fn backend(&self) -> Backend {
            Backend::Webgpu
        }
        fn vocab(&self) -> Vocab {
            self.vocab
        }
        fn lookback(&self) -> &Lookback {
            &self.lookback
        }

        async fn start(&self, job: &Job<'_>) -> Result<WgslRun, EngineError> {
            self.gpu.check()?;
            let device = &self.gpu.device;
            let v = self.layout.classes;
            let io_words = self.layout.io(job.inputs, job.primer, job.leap);
            let (_, count) = WgslLayout::samples(job.primer.len(), job.steps());
            let mut sequences = Vec::with_capacity(job.batch);
            for b in 0..job.batch {
                let io = device.create_buffer_init(&wgpu::util::BufferInitDescriptor {
                    label: Some("io"),
                    contents: bytes_u32(&io_words),
                    usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_SRC,
                });
                let noise = &job.noise[b * job.steps() * v..(b + 1) * job.steps() * v];
                // An empty buffer cannot be bound: a run without samples still gets one word.
                let noise = device.create_buffer_init(&wgpu::util::BufferInitDescriptor {
                    label: Some("noise"),
                    contents: if noise.is_empty() { &[0; 4] } else { bytes_f32(noise) },
                    usage: wgpu::BufferUsages::STORAGE,
                });
                let state = device.create_buffer(&wgpu::BufferDescriptor {
                    label: Some("state"),
                    size: (4 * self.layout.state_len()) as u64,
                    usage: wgpu::BufferUsages::STORAGE,
                    mapped_at_creation: false,
                });
                let readback = device.create_buffer(&wgpu::BufferDescriptor {
                    label: Some("samples"),
                    size: (4 * (count + 1)) as u64,
                    usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
                    mapped_at_creation: false,
                });
                let buffers = [&self.words, &self.params, &noise, &state, &io];
                let entries: Vec<_> = buffers
                    .iter()
                    .enumerate()
                    .map(|(i, b)| wgpu::BindGroupEntry { binding: i as u32, resource: b.as_entire_binding() })
                    .collect();
                let bind = device.create_bind_group(&wgpu::BindGroupDescriptor {
                    label: Some("lstm"),
                    layout: &self.bind_layout,
                    entries: &entries,
                });
                sequences.push(Sequence { io, bind, readback });
            }
            let run = WgslRun { sequences, t: 0 };
            // New buffers start zeroed: the state needs no clearing. The primer's steps run now.
            self.record(&run, 0, job.primer.len()).await?;
            Ok(WgslRun { t: job.primer.len(), ..run })
        }

        async fn advance(&self, run: &mut WgslRun, _job: &Job<'_>, until: usize) -> Result<(), EngineError> {
            if until > run.t {
                self.record(run, run.t, until).await?;
                run.t = until;
            }
            Ok(())
        }

        async fn finish(&self, run: WgslRun, job: &Job<'_>) -> Result<Vec<Sampled>, EngineError> {
            let (at, count) = WgslLayout::samples(job.primer.len(), job.steps());
            if count == 0 {
                return Ok(vec![Sampled { classes: Vec::new(), log_likelihood: 0.0 }; job.batch]);
            }
            self.gpu.check()?;
            let mut encoder =
                self.gpu.device.create_command_encoder(&wgpu::CommandEncoderDescriptor { label: Some("read") });
            // The log-likelihood word, then the samples.
            for seq in &run.sequences {
                encoder.copy_buffer_to_buffer(&seq.io, 4 * LOG_LIKELIHOOD_WORD, &seq.readback, 0, 4);
                encoder.copy_buffer_to_buffer(&seq.io, (4 * at) as u64, &seq.readback, 4, (4 * count) as u64);
            }
            self.gpu.queue.submit([encoder.finish()]);
            let mut out = Vec::with_capacity(run.sequences.len());
            for seq in &run.sequences {
                let words = self.gpu.read(&seq.readback).await?;
                let classes: Vec<usize> = words[1..].iter().map(|&w| w as usize).collect();
                if let Some(&bad) = classes.iter().find(|&&c| c >= self.layout.classes) {
                    return Err(EngineError::BadClass(bad));
                }
                out.push(Sampled { classes, log_likelihood: f32::from_bits(words[0]) as f64 });
            }
            Ok(out)
        }
    }
}

#[cfg(all(test, feature = "burn"))]
mod tests {
    use super::*;
    use crate::encoding::{Conditioning, Vocab};
    use crate::melody::Meter;
    use crate::model::{LstmConfig, PitchRange};
    use burn::prelude::*;

    fn packed(hidden: usize, lookback: &Lookback) -> PackedLstm {
        let config = LstmConfig {
            range: PitchRange::from(Vocab::DEFAULT),
            embed: 16,
            hidden,
            layers: 2,
            dropout: 0.0,
            lookback: lookback.clone(),
        };
        PackedLstm::from_lstm(&config.init(&Device::flex()).unwrap()).unwrap()
    }

    #[test]
    fn words_hold_the_int8_rows_low_byte_first() {
        assert_eq!(pack4(&[1, -1, 127, -128]), 0x80_7f_ff_01);
        let p = packed(20, &Lookback::default());
        let layout = WgslLayout::new(&p, &Lookback::default()).unwrap();
        let m = &p.layers[1].weights;
        let l = layout.layers[1];
        assert_eq!(l.k, m.stride);
        for (q, r) in [(0, 0), (3, 17), (l.k / 4 - 1, m.rows - 1)] {
            let word = layout.words[l.words + q * m.rows + r];
            for i in 0..4 {
                assert_eq!((word >> (8 * i)) as u8 as i8, m.row(r)[4 * q + i]);
            }
        }
    }

    #[test]
    fn the_shader_leaps_as_the_metrics_do() {
        assert!(SHADER.contains(&format!("const LEAP: i32 = {};", crate::theory::metrics::LEAP)));
    }

    #[test]
    fn io_holds_tokens_rows_and_codes() {
        let lookback = Lookback { bars: vec![1], half: false, form: true };
        let layout = WgslLayout::new(&packed(20, &lookback), &lookback).unwrap();
        let c = Conditioning { meter: Meter::parse("2/4").unwrap(), key: None, style: None };
        let inputs = StepInputs::new(&c, &lookback, None, 10);
        let io = layout.io(&inputs, &[5, 7], 0.25);
        assert_eq!(&io[..2], &[0, 2]);
        assert_eq!(f32::from_bits(io[5]), 0.25, "the leap rule's nats");
        assert_eq!(&io[6..9], &[39, 5, 7], "start symbol, then the primer");
        let (rows, codes) = (io[2] as usize, io[3] as usize);
        assert_eq!(rows, 6 + 11);
        // Step 9's place in the bar (1) as a row of the first feature table, after the 40
        // token rows.
        assert_eq!(io[rows + 9 * 5], 40 + 1);
        assert_eq!(io[rows + 9 * 5 + 1], 40 + 64 + c.at(9).meter as u32);
        assert_eq!(&io[codes + 9 * 2..codes + 10 * 2], inputs.codes(9));
        assert_eq!(io.len(), codes + 10 * 2);
        assert_eq!(WgslLayout::samples(2, 8), (9, 8));
    }

    #[test]
    fn shapes_the_kernel_cannot_take_are_refused() {
        assert!(WgslLayout::new(&packed(18, &Lookback::default()), &Lookback::default()).is_none());
        let lookback = Lookback { bars: vec![1], half: false, form: false };
        assert!(WgslLayout::new(&packed(20, &lookback), &Lookback::default()).is_none(), "tables and spec disagree");
    }

    /// The shader must parse and validate with every pipeline's constants: naga is the front
    /// end wgpu itself uses.
    #[test]
    fn the_shader_validates_with_its_constants() {
        use naga::valid::{Capabilities, ValidationFlags, Validator};
        let module = naga::front::wgsl::parse_str(SHADER).unwrap_or_else(|e| panic!("{}", e.emit_to_string(SHADER)));
        let info = Validator::new(ValidationFlags::all(), Capabilities::all())
            .validate(&module)
            .unwrap_or_else(|e| panic!("{e:?}"));
        for hidden in [8, 64, 100] {
            for lookback in [Lookback::default(), Lookback { bars: vec![1, 2, 4], half: false, form: true }] {
                let layout = WgslLayout::new(&packed(hidden, &lookback), &lookback).unwrap();
                let mut pipelines: Vec<(&str, Vec<(&str, f64)>)> =
                    (0..layout.layers()).map(|l| ("layer", layout.layer_constants(l))).collect();
                pipelines.push(("head", layout.head_constants()));
                for (entry, constants) in pipelines {
                    let constants = constants.into_iter().map(|(k, v)| (k.to_string(), v)).collect();
                    let (resolved, resolved_info) = naga::back::pipeline_constants::process_overrides(
                        &module,
                        &info,
                        Some((naga::ShaderStage::Compute, entry)),
                        &constants,
                    )
                    .unwrap_or_else(|e| panic!("{entry}, H = {hidden}: {e:?}"));
                    assert!(resolved.entry_points.iter().any(|e| e.name == entry));
                    drop(resolved_info);
                }
            }
        }
    }
}

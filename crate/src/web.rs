//! The wasm-bindgen face of the core, used by the page's Web Worker (`www/worker.js`).
//!
//! One worker holds one set of devices: the CPU device always; once `init_webgpu` succeeded, a
//! WebGPU device for the hand-written LSTM kernels (`model::webgpu`) and, when a model needs
//! it, Burn's WebGPU device (a second wgpu init of Burn's would fail, so both are kept for the
//! worker's life); and every loaded model on the backend it was loaded for.

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

use burn::prelude::*;
use wasm_bindgen::prelude::*;

use crate::encoding::{Conditioning, Style, TrainedOn};
use crate::melody::{Key, Melody, Meter, Note, Pitch, Step, Tempo};
use crate::midi;
use crate::model::packed::PackedLstm;
use crate::model::webgpu::{GpuContext, GpuLstm};
use crate::model::{MelodyModel, ModelSpec, weights};
use crate::sample::{Request, generate as sample_melody, generate_gpu, generate_packed};

#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
enum Backend {
    Cpu,
    WebGpu,
}

impl Backend {
    fn parse(name: &str) -> Result<Backend, JsError> {
        match name {
            "cpu" => Ok(Backend::Cpu),
            "webgpu" => Ok(Backend::WebGpu),
            other => Err(JsError::new(&format!("unknown backend {other:?}: use \"cpu\" or \"webgpu\""))),
        }
    }
}

/// How a loaded model runs.
#[derive(Clone)]
enum Engine {
    /// The LSTM on the CPU, packed int8 (see `model::packed`).
    Packed(Rc<PackedLstm>),
    /// The LSTM on WebGPU through the hand-written kernels.
    Kernels(Rc<GpuLstm>),
    /// Any model through Burn, on the device of its backend.
    Burn(MelodyModel),
}

impl Engine {
    fn name(&self, backend: Backend) -> &'static str {
        match (self, backend) {
            (Engine::Packed(_), _) => "cpu-int8-simd",
            (Engine::Kernels(_), _) => "webgpu-wgsl",
            (Engine::Burn(_), Backend::WebGpu) => "webgpu-burn",
            (Engine::Burn(_), Backend::Cpu) => "cpu-flex",
        }
    }
}

struct Loaded {
    spec: ModelSpec,
    trained_on: TrainedOn,
    engine: Engine,
}

/// A model's JSON spec, with its record of what it was trained on.
fn parse_spec(json: &str) -> Result<(ModelSpec, TrainedOn), JsError> {
    ModelSpec::parse_with_record(json).map_err(|e| JsError::new(&e.to_string()))
}

#[derive(Default)]
struct Worker {
    gpu: Option<GpuContext>,
    burn_webgpu: Option<Device>,
    models: HashMap<(String, Backend), Loaded>,
}

thread_local! {
    static WORKER: RefCell<Worker> = RefCell::new(Worker::default());
}

#[wasm_bindgen(start)]
pub fn start() {
    console_error_panic_hook::set_once();
}

/// Starts WebGPU once; later calls return at once. Fails with a readable message when the
/// browser has no adapter, and the caller falls back to the CPU.
#[wasm_bindgen]
pub async fn init_webgpu() -> Result<(), JsError> {
    if WORKER.with_borrow(|w| w.gpu.is_some()) {
        return Ok(());
    }
    let gpu = GpuContext::new().await.map_err(|e| JsError::new(&format!("WebGPU could not start: {e}")))?;
    WORKER.with_borrow_mut(|w| {
        w.gpu.get_or_insert(gpu);
    });
    Ok(())
}

/// Burn's WebGPU device, started on first use (only models without kernels of their own need it).
async fn burn_webgpu() -> Result<Device, JsError> {
    if let Some(d) = WORKER.with_borrow(|w| w.burn_webgpu.clone()) {
        return Ok(d);
    }
    let device = Device::wgpu_options()
        .init_async()
        .await
        .map_err(|e| JsError::new(&format!("WebGPU could not start for Burn: {e}")))?;
    Ok(WORKER.with_borrow_mut(|w| w.burn_webgpu.get_or_insert(device).clone()))
}

fn gpu() -> Result<GpuContext, JsError> {
    WORKER
        .with_borrow(|w| w.gpu.clone())
        .ok_or_else(|| JsError::new("WebGPU is not started: call init_webgpu first"))
}

/// Where a model's weights come from.
enum Weights {
    /// A burnpack file.
    File(Vec<u8>),
    /// Seeded random values (benchmarks: speed does not depend on the values).
    Random(u32),
}

impl Weights {
    fn build(&self, spec: &ModelSpec, device: &Device) -> Result<MelodyModel, JsError> {
        let model = match self {
            Weights::File(bytes) => weights::load(spec, bytes.clone(), device),
            Weights::Random(seed) => {
                device.seed(*seed as u64);
                spec.init(device)
            }
        };
        model.map_err(|e| JsError::new(&e.to_string()))
    }
}

/// The engine of a packed LSTM on `backend`: the int8 CPU engine, or the WebGPU kernels;
/// `None` when the kernels do not take this LSTM's shape.
async fn packed_engine(packed: PackedLstm, backend: Backend) -> Result<Option<Engine>, JsError> {
    Ok(match backend {
        Backend::Cpu => Some(Engine::Packed(Rc::new(packed))),
        Backend::WebGpu => GpuLstm::new(&gpu()?, &packed)
            .await
            .map_err(|e| JsError::new(&e.to_string()))?
            .map(|k| Engine::Kernels(Rc::new(k))),
    })
}

/// Builds the engine for `spec` on `backend` and installs it as `name`. An LSTM is packed from
/// a CPU copy (packing reads the weights, which only the CPU can do synchronously); other
/// models, and LSTMs the kernels cannot take, run through Burn on the backend's device.
async fn install(name: &str, (spec, trained_on): (ModelSpec, TrainedOn), weights: Weights, backend: Backend) -> Result<(), JsError> {
    let packed = match &spec {
        ModelSpec::Lstm(_) => match weights.build(&spec, &Device::flex())? {
            MelodyModel::Lstm(lstm) => Some(PackedLstm::new(&lstm).map_err(|e| JsError::new(&e.to_string()))?),
            _ => return Err(JsError::new("an LSTM spec built another kind of model")),
        },
        _ => None,
    };
    let engine = match packed {
        Some(packed) => packed_engine(packed, backend).await?,
        None => None,
    };
    let engine = match (engine, backend) {
        (Some(engine), _) => engine,
        (None, Backend::Cpu) => Engine::Burn(weights.build(&spec, &Device::flex())?),
        (None, Backend::WebGpu) => Engine::Burn(weights.build(&spec, &burn_webgpu().await?)?),
    };
    WORKER.with_borrow_mut(|w| w.models.insert((name.to_string(), backend), Loaded { spec, trained_on, engine }));
    Ok(())
}

/// Loads a model's weights (burnpack bytes) onto a backend under `name`.
#[wasm_bindgen]
pub async fn load_model(name: String, spec_json: String, weights_bytes: Vec<u8>, backend: String) -> Result<(), JsError> {
    let backend = Backend::parse(&backend)?;
    install(&name, parse_spec(&spec_json)?, Weights::File(weights_bytes), backend).await
}

/// Loads an LSTM from its packed int8 file (`.pack`, see `PackedLstm::to_bytes`): what the
/// page downloads for an LSTM, half the bytes of the burnpack, and all both engines need.
#[wasm_bindgen]
pub async fn load_packed(name: String, spec_json: String, pack: Vec<u8>, backend: String) -> Result<(), JsError> {
    let backend = Backend::parse(&backend)?;
    let (spec, trained_on) = parse_spec(&spec_json)?;
    if !matches!(spec, ModelSpec::Lstm(_)) {
        return Err(JsError::new(&format!("a .pack file holds an LSTM, but {name} is a {}", spec.name())));
    }
    let packed = PackedLstm::from_bytes(&pack).map_err(|e| JsError::new(&format!("{name}: {e}")))?;
    let engine = packed_engine(packed, backend).await?.ok_or_else(|| {
        JsError::new(&format!("{name}: this LSTM's shape has no WebGPU kernel; load its .bpk instead"))
    })?;
    WORKER.with_borrow_mut(|w| w.models.insert((name, backend), Loaded { spec, trained_on, engine }));
    Ok(())
}

/// Installs a model of the shape `spec_json` describes with seeded random weights: benchmarks
/// compare speed at a given shape, which does not depend on the values.
#[wasm_bindgen]
pub async fn load_random_model(name: String, spec_json: String, backend: String, seed: u32) -> Result<(), JsError> {
    let backend = Backend::parse(&backend)?;
    install(&name, parse_spec(&spec_json)?, Weights::Random(seed), backend).await
}

/// A generated melody, flattened for the trip to the page.
#[wasm_bindgen]
pub struct Generated {
    notes: Vec<u32>,
    midi: Vec<u8>,
    key: String,
    key_estimated: bool,
    style: String,
    total_steps: u32,
    steps_per_bar: u32,
    engine: String,
}

#[wasm_bindgen]
impl Generated {
    /// `[pitch, onset, duration, pitch, onset, duration, …]` in 16th steps.
    #[wasm_bindgen(getter)]
    pub fn notes(&self) -> Vec<u32> {
        self.notes.clone()
    }
    /// The melody as a standard MIDI file.
    #[wasm_bindgen(getter)]
    pub fn midi(&self) -> Vec<u8> {
        self.midi.clone()
    }
    #[wasm_bindgen(getter)]
    pub fn key(&self) -> String {
        self.key.clone()
    }
    /// The style the model was told: the one asked for, or one drawn for "any"; empty where
    /// the model knows no styles.
    #[wasm_bindgen(getter)]
    pub fn style(&self) -> String {
        self.style.clone()
    }
    /// The key was not asked for ("any") but found from the notes.
    #[wasm_bindgen(getter, js_name = keyEstimated)]
    pub fn key_estimated(&self) -> bool {
        self.key_estimated
    }
    #[wasm_bindgen(getter, js_name = totalSteps)]
    pub fn total_steps(&self) -> u32 {
        self.total_steps
    }
    #[wasm_bindgen(getter, js_name = stepsPerBar)]
    pub fn steps_per_bar(&self) -> u32 {
        self.steps_per_bar
    }
    /// What ran the model: "webgpu-wgsl", "webgpu-burn", "cpu-int8-simd" or "cpu-flex".
    #[wasm_bindgen(getter)]
    pub fn engine(&self) -> String {
        self.engine.clone()
    }
}

/// Generates with a loaded model. `key` and `style` may be empty for "any"; `primer` holds
/// `[pitch, onset, duration, …]` triples (16th steps) of a melody to continue, or nothing.
#[wasm_bindgen]
#[allow(clippy::too_many_arguments)]
pub async fn generate(
    model: &str,
    backend: &str,
    bars: u32,
    temperature: f32,
    seed: u32,
    bpm: f64,
    meter: &str,
    key: &str,
    style: &str,
    primer: Vec<u32>,
) -> Result<Generated, JsError> {
    let err = |e: String| JsError::new(&e);
    let backend = Backend::parse(backend)?;
    let meter = Meter::parse(meter).map_err(|e| err(e.to_string()))?;
    let key = match key.trim() {
        "" => None,
        k => Some(Key::parse(k).map_err(|e| err(e.to_string()))?),
    };
    let style = match style.trim() {
        "" | "any" => None,
        s => Some(Style::parse(s).ok_or_else(|| err(format!("unknown style {s:?}: use celtic, folk or chorale")))?),
    };
    let tempo = Tempo::from_bpm(bpm).map_err(|e| err(e.to_string()))?;
    // Cheap clones (handles): no borrow is held across an await.
    let (spec, trained_on, engine) = WORKER
        .with_borrow(|w| {
            w.models.get(&(model.to_string(), backend)).map(|l| (l.spec.clone(), l.trained_on.clone(), l.engine.clone()))
        })
        .ok_or_else(|| err(format!("model {model:?} is not loaded on {backend:?}")))?;
    let vocab = spec.vocab().map_err(|e| err(e.to_string()))?;
    let primer = primer_events(&primer, vocab, meter).map_err(err)?;
    let request = Request { bars, temperature, seed: seed as u64, tempo, conditioning: Conditioning { meter, key, style }, primer }
        .fill_any(&trained_on);
    let melody = match &engine {
        Engine::Packed(p) => generate_packed(p, vocab, &request),
        Engine::Kernels(k) => generate_gpu(k, vocab, &request).await,
        Engine::Burn(net) => {
            let device = match backend {
                Backend::Cpu => Device::flex(),
                Backend::WebGpu => burn_webgpu().await?,
            };
            sample_melody(net, vocab, &device, &request).await
        }
    };
    let melody = melody.map_err(|e| err(e.to_string()))?;
    let engine = engine.name(backend);
    Ok(Generated {
        notes: melody.notes().iter().flat_map(|n| [n.pitch.midi() as u32, n.onset.0, n.duration.0]).collect(),
        midi: midi::export(&melody),
        key: melody.key.map(|k| k.to_string()).unwrap_or_default(),
        key_estimated: request.conditioning.key.is_none() && melody.key.is_some(),
        style: request.conditioning.style.map(|s| s.name().to_string()).unwrap_or_default(),
        total_steps: request.total_steps() as u32,
        steps_per_bar: meter.steps_per_bar(),
        engine: engine.to_string(),
    })
}

/// A primer given as flat note triples, encoded and padded to whole bars.
fn primer_events(flat: &[u32], vocab: crate::encoding::Vocab, meter: Meter) -> Result<Vec<crate::encoding::Event>, String> {
    if flat.len() % 3 != 0 {
        return Err("a primer is a list of [pitch, onset, duration] triples".into());
    }
    let notes = flat
        .chunks(3)
        .map(|n| {
            Ok(Note {
                pitch: Pitch::new(n[0] as i32).map_err(|e| e.to_string())?,
                onset: Step(n[1]),
                duration: Step(n[2]),
            })
        })
        .collect::<Result<Vec<_>, String>>()?;
    let melody = Melody::new(notes, Tempo::default(), meter, None).map_err(|e| format!("bad primer: {e}"))?;
    Ok(vocab.encode_primer(&melody, meter.steps_per_bar()))
}

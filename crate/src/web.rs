//! The wasm-bindgen face of the core, used by the page's Web Worker (`www/worker.js`).
//!
//! One worker holds one set of devices: the CPU device always, the WebGPU device once
//! `init_webgpu` succeeded (a second wgpu init would fail, so it is kept for the worker's
//! life), and every loaded model on the backend it was loaded for.

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

use burn::prelude::*;
use wasm_bindgen::prelude::*;

use crate::encoding::{Conditioning, Style};
use crate::melody::{Key, Melody, Meter, Note, Pitch, Step, Tempo};
use crate::midi;
use crate::model::packed::PackedLstm;
use crate::model::{MelodyModel, ModelSpec, weights};
use crate::sample::{Request, generate as sample_melody, generate_packed};

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

struct Loaded {
    spec: ModelSpec,
    model: MelodyModel,
    /// On the CPU the LSTM runs from its packed int8 form (see `model::packed`).
    packed: Option<Rc<PackedLstm>>,
}

#[derive(Default)]
struct Worker {
    webgpu: Option<Device>,
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
    if WORKER.with_borrow(|w| w.webgpu.is_some()) {
        return Ok(());
    }
    let device = Device::wgpu_options()
        .init_async()
        .await
        .map_err(|e| JsError::new(&format!("WebGPU could not start: {e}")))?;
    WORKER.with_borrow_mut(|w| w.webgpu = Some(device));
    Ok(())
}

fn device(backend: Backend) -> Result<Device, JsError> {
    match backend {
        Backend::Cpu => Ok(Device::flex()),
        Backend::WebGpu => WORKER
            .with_borrow(|w| w.webgpu.clone())
            .ok_or_else(|| JsError::new("WebGPU is not started: call init_webgpu first")),
    }
}

fn install(name: &str, spec: ModelSpec, model: MelodyModel, backend: Backend) -> Result<(), JsError> {
    let packed = match (&model, backend) {
        (MelodyModel::Lstm(lstm), Backend::Cpu) => {
            Some(Rc::new(PackedLstm::new(lstm).map_err(|e| JsError::new(&e.to_string()))?))
        }
        _ => None,
    };
    WORKER.with_borrow_mut(|w| w.models.insert((name.to_string(), backend), Loaded { spec, model, packed }));
    Ok(())
}

/// Loads a model's weights (burnpack bytes) onto a backend under `name`.
#[wasm_bindgen]
pub fn load_model(name: &str, spec_json: &str, weights_bytes: Vec<u8>, backend: &str) -> Result<(), JsError> {
    let backend = Backend::parse(backend)?;
    let device = device(backend)?;
    let spec = ModelSpec::parse(spec_json).map_err(|e| JsError::new(&e.to_string()))?;
    let model = weights::load(&spec, weights_bytes, &device).map_err(|e| JsError::new(&e.to_string()))?;
    install(name, spec, model, backend)
}

/// Installs a model of the shape `spec_json` describes with seeded random weights: benchmarks
/// compare speed at a given shape, which does not depend on the values.
#[wasm_bindgen]
pub fn load_random_model(name: &str, spec_json: &str, backend: &str, seed: u32) -> Result<(), JsError> {
    let backend = Backend::parse(backend)?;
    let device = device(backend)?;
    let spec = ModelSpec::parse(spec_json).map_err(|e| JsError::new(&e.to_string()))?;
    device.seed(seed as u64);
    let model = spec.init(&device).map_err(|e| JsError::new(&e.to_string()))?;
    install(name, spec, model, backend)
}

/// A generated melody, flattened for the trip to the page.
#[wasm_bindgen]
pub struct Generated {
    notes: Vec<u32>,
    midi: Vec<u8>,
    key: String,
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
    #[wasm_bindgen(getter, js_name = totalSteps)]
    pub fn total_steps(&self) -> u32 {
        self.total_steps
    }
    #[wasm_bindgen(getter, js_name = stepsPerBar)]
    pub fn steps_per_bar(&self) -> u32 {
        self.steps_per_bar
    }
    /// What ran the model: "webgpu", "cpu-int8-simd" or "cpu-flex".
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
    // Cheap clones (tensor handles): no borrow is held across the await.
    let (spec, net, packed) = WORKER
        .with_borrow(|w| {
            w.models.get(&(model.to_string(), backend)).map(|l| (l.spec.clone(), l.model.clone(), l.packed.clone()))
        })
        .ok_or_else(|| err(format!("model {model:?} is not loaded on {backend:?}")))?;
    let vocab = spec.vocab().map_err(|e| err(e.to_string()))?;
    let primer = primer_events(&primer, vocab, meter).map_err(err)?;
    let request = Request { bars, temperature, seed: seed as u64, tempo, conditioning: Conditioning { meter, key, style }, primer };
    let (melody, engine) = match packed {
        Some(p) => (generate_packed(&p, vocab, &request), "cpu-int8-simd"),
        None => {
            let engine = if backend == Backend::WebGpu { "webgpu" } else { "cpu-flex" };
            (sample_melody(&net, vocab, &device(backend)?, &request).await, engine)
        }
    };
    let melody = melody.map_err(|e| err(e.to_string()))?;
    Ok(Generated {
        notes: melody.notes().iter().flat_map(|n| [n.pitch.midi() as u32, n.onset.0, n.duration.0]).collect(),
        midi: midi::export(&melody),
        key: melody.key.map(|k| k.to_string()).unwrap_or_default(),
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

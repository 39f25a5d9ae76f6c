//! The wasm-bindgen face of the core, used by the page's worker (`www/worker.js`): one
//! [`Generator`] per loaded model, a typed request in and a typed response out
//! (serde-wasm-bindgen, see `request`), the catalog, MIDI import, and the worker's one WebGPU
//! device. Errors arrive in JavaScript as `Error`s with a readable message.

#[cfg(feature = "webgpu")]
use std::cell::RefCell;
use std::rc::Rc;

use serde::Serialize;
use wasm_bindgen::prelude::*;

use crate::catalog;
use crate::encoding::TrainedOn;
#[cfg(feature = "burn")]
use crate::engine::burn::BurnEngine;
#[cfg(feature = "webgpu")]
use crate::engine::gpu::Gpu;
use crate::engine::int8::Int8Engine;
#[cfg(feature = "webgpu")]
use crate::engine::wgsl::WgslEngine;
use crate::engine::{Backend, Engine, EngineName};
use crate::model::ModelSpec;
use crate::model::packed::PackedLstm;
use crate::request::{Described, Request, Written};
use crate::sample::{self, Progress};
use crate::theory::prior::Prior;

#[cfg(feature = "webgpu")]
thread_local! {
    /// The worker's WebGPU device, once started (a second start of Burn's runtime would fail).
    static GPU: RefCell<Option<Gpu>> = const { RefCell::new(None) };
}

fn js_error(e: impl std::fmt::Display) -> JsError {
    JsError::new(&e.to_string())
}

unsafe extern "C" {
    /// All static constructors (Burn's kernel registries, via `inventory`), synthesised by the
    /// linker.
    fn __wasm_call_ctors();
}

/// Runs once, when the module starts. It runs the constructors itself: a module that never
/// calls `__wasm_call_ctors` is linked "command-style", every export running all of them
/// first — and the glue calls exports for each value crossing into JavaScript, so a response of
/// 240 notes paid for them thousands of times (a 16-bar melody took 530 ms instead of 56).
///
/// Panics are bugs, but a worker must not hang on one: the hook logs it and tells the worker
/// (`self.tunesmithPanic(message)`, when defined), which reports and restarts.
#[wasm_bindgen(start)]
pub fn start() {
    // SAFETY: the linker's constructor function, called once before anything else runs.
    unsafe { __wasm_call_ctors() };
    std::panic::set_hook(Box::new(|info| {
        console_error_panic_hook::hook(info);
        let global = js_sys::global();
        if let Ok(f) = js_sys::Reflect::get(&global, &JsValue::from_str("tunesmithPanic"))
            && let Some(f) = f.dyn_ref::<js_sys::Function>()
        {
            let _ = f.call1(&JsValue::NULL, &JsValue::from_str(&info.to_string()));
        }
    }));
}

fn to_js(value: &impl Serialize) -> Result<JsValue, JsError> {
    let serializer =
        serde_wasm_bindgen::Serializer::new().serialize_missing_as_null(true).serialize_maps_as_objects(true);
    value.serialize(&serializer).map_err(js_error)
}

/// The catalog: models, controls with their limits and defaults (see `catalog`).
#[wasm_bindgen]
pub fn catalog() -> Result<JsValue, JsError> {
    to_js(&catalog::catalog())
}

/// Why WebGPU cannot be used here, as `startWebGpu` says it: `{noWebGpu, noAdapter}`.
#[wasm_bindgen(js_name = webGpuUnavailable)]
pub fn webgpu_unavailable() -> Result<JsValue, JsError> {
    #[derive(Serialize)]
    #[serde(rename_all = "camelCase")]
    struct Unavailable {
        no_web_gpu: &'static str,
        no_adapter: &'static str,
    }
    to_js(&Unavailable { no_web_gpu: crate::engine::NO_WEBGPU, no_adapter: crate::engine::NO_ADAPTER })
}

/// Starts WebGPU once; later calls return at once. Fails with a sentence saying why WebGPU
/// cannot be used here (no WebGPU in this browser, no adapter), and the caller uses the CPU.
#[wasm_bindgen(js_name = startWebGpu)]
pub async fn start_webgpu() -> Result<(), JsError> {
    #[cfg(feature = "webgpu")]
    return gpu().await.map(|_| ()).map_err(|e| JsError::new(&e));
    #[cfg(not(feature = "webgpu"))]
    return Err(JsError::new("this build of tunesmith has no WebGPU"));
}

#[cfg(feature = "webgpu")]
async fn gpu() -> Result<Gpu, String> {
    if let Some(gpu) = GPU.with_borrow(|g| g.clone()) {
        gpu.check().map_err(|e| e.to_string())?;
        return Ok(gpu);
    }
    let gpu = Gpu::start().await?;
    Ok(GPU.with_borrow_mut(|g| g.get_or_insert(gpu).clone()))
}

/// Why the worker's WebGPU device was lost (a driver reset, the GPU taken away), or null while it
/// works or was never started. A lost device stays lost in this module: the worker then asks for
/// a fresh worker, which starts a new device.
#[wasm_bindgen(js_name = webGpuLost)]
pub fn webgpu_lost() -> Option<String> {
    #[cfg(feature = "webgpu")]
    return GPU.with_borrow(|g| g.as_ref().and_then(|g| g.check().err()).map(|e| e.to_string()));
    #[cfg(not(feature = "webgpu"))]
    return None;
}

/// A MIDI file's melody line: `{notes, meter, tempo, key}` (see `midi::import`); `meter` is the
/// one it states, or null where its rhythm should decide (`midi::stated_meter`).
#[wasm_bindgen(js_name = readMidi)]
pub fn read_midi(bytes: &[u8]) -> Result<JsValue, JsError> {
    #[derive(Serialize)]
    struct Read {
        notes: Vec<crate::melody::Note>,
        meter: Option<crate::melody::Meter>,
        tempo: f64,
        key: Option<crate::melody::Key>,
    }
    let m = crate::midi::import(bytes).map_err(js_error)?;
    let meter = crate::midi::stated_meter(&m);
    to_js(&Read { notes: m.notes().to_vec(), meter, tempo: m.tempo.bpm(), key: m.key })
}

/// Benchmarks: the int8 engine's kernel on rows in the L1 cache, `rounds` passes; returns the
/// multiply-adds done, for the caller to divide by the time it took.
#[wasm_bindgen(js_name = int8Kernel)]
pub fn int8_kernel(rounds: u32) -> f64 {
    crate::engine::int8::kernel_in_cache(rounds) as f64
}

/// Which of built-in model `name`'s weight files a request's theory strength (`theory`; null:
/// the model's default) runs on: `{data, tuned, blend}`, so the worker downloads only those.
#[wasm_bindgen(js_name = weightsFor)]
pub fn weights_for_model(name: &str, theory: Option<f32>) -> Result<JsValue, JsError> {
    let tunable = catalog::tunable(name);
    let s = Request { theory, ..Request::default() }.theory_for(tunable).map_err(js_error)?;
    let needs = if tunable { Needs::at(s, catalog::has_blend(name)) } else { Needs::DATA };
    to_js(&needs)
}

/// A melody from a share link's code (`share`): what a `Response` says of the music (notes,
/// key, meter, tempo, length, metrics, MIDI, ABC), with no model behind it.
#[wasm_bindgen(js_name = openShared)]
pub fn open_shared(code: &str) -> Result<JsValue, JsError> {
    let s = crate::share::decode(code).map_err(js_error)?;
    to_js(&Described::new(&s.melody, s.total_steps, s.bpm, "tunesmith, shared"))
}

/// The same for a melody the page holds (`request::Written`: notes, tempo, meter, key), say the
/// bars an endless run kept, checked first.
#[wasm_bindgen(js_name = describeMelody)]
pub fn describe_melody(value: JsValue) -> Result<JsValue, JsError> {
    let json: serde_json::Value = serde_wasm_bindgen::from_value(value).map_err(js_error)?;
    let written: Written = serde_json::from_value(json).map_err(js_error)?;
    to_js(&written.describe("tunesmith").map_err(js_error)?)
}

/// How a loaded model runs.
enum AnyEngine {
    Int8(Int8Engine),
    #[cfg(feature = "webgpu")]
    Wgsl(WgslEngine),
    #[cfg(feature = "burn")]
    Burn(BurnEngine),
}

/// The weight files a theory strength runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
struct Needs {
    data: bool,
    tuned: bool,
    blend: bool,
}

impl Needs {
    const DATA: Needs = Needs { data: true, tuned: false, blend: false };

    /// 0 the data weights, 1 the tuned ones, between them both; but the default strength runs
    /// on its packed blend where the model has one (`blend`), always, so that one seed makes
    /// one melody whichever files a page happens to hold.
    fn at(theory: f32, blend: bool) -> Needs {
        if blend && theory == Request::DEFAULT_THEORY {
            return Needs { data: false, tuned: false, blend: true };
        }
        Needs { data: theory < 1.0, tuned: theory > 0.0, blend: false }
    }
}

/// A model's weight files as loaded: its weights trained on data, its theory-tuned ones and
/// their packed blend, each only where a strength it was asked for needs them (`Needs::at`), so
/// the page downloads one file for the default.
struct Files {
    data: Option<Weights>,
    tuned: Option<Weights>,
    blend: Option<Weights>,
    /// Whether the model has a packed blend of its default strength (loaded or not).
    has_blend: bool,
}

impl Files {
    /// Whether the weights `needs` names are loaded.
    fn hold(&self, needs: Needs) -> bool {
        (!needs.data || self.data.is_some())
            && (!needs.tuned || self.tuned.is_some())
            && (!needs.blend || self.blend.is_some())
    }

    /// A new engine at theory strength `theory`: the data weights alone at 0, the tuned ones
    /// alone at 1 (exactly what blending gives there), the packed blend at the default strength
    /// where there is one, else a blend made here.
    async fn engine_at(&self, spec: &ModelSpec, backend: Backend, theory: f32) -> Result<AnyEngine, String> {
        let needs = Needs::at(theory, self.has_blend);
        let missing =
            |which: &str| format!("theory strength {theory} needs the {which} weights, which were not loaded");
        match (needs, &self.data, &self.tuned, &self.blend) {
            (Needs { blend: true, .. }, _, _, Some(blend)) => engine(spec, blend, None, 0.0, backend).await,
            (Needs { blend: true, .. }, ..) => Err(missing("blended")),
            (Needs { tuned: false, .. }, Some(data), ..) => engine(spec, data, None, 0.0, backend).await,
            (Needs { data: false, .. }, _, Some(tuned), _) => engine(spec, tuned, None, 0.0, backend).await,
            (_, Some(data), Some(tuned), _) => engine(spec, data, Some(tuned), theory, backend).await,
            (_, None, ..) => Err(missing("data")),
            _ => Err(missing("theory-tuned")),
        }
    }
}

struct Loaded {
    trained_on: TrainedOn,
    spec: ModelSpec,
    backend: Backend,
    /// Whether the model has theory-tuned weights (loaded or not): its default strength follows.
    tunable: bool,
    files: Files,
    /// The engine at the theory strength last asked for (blending and uploading weights costs
    /// far more than a melody, so they are kept while the strength stays).
    current: std::cell::RefCell<(f32, Rc<AnyEngine>)>,
}

impl Loaded {
    /// `files`: at least one; the first engine runs at the model's default strength where those
    /// weights allow it, else at a strength they do.
    async fn new(
        spec: ModelSpec,
        trained_on: TrainedOn,
        files: Files,
        tunable: bool,
        backend: Backend,
    ) -> Result<Loaded, String> {
        let default = Request::default().theory_for(tunable).map_err(|e| e.to_string())?;
        let Some(theory) = [default, 0.0, 1.0, 0.5].into_iter().find(|&s| files.hold(Needs::at(s, files.has_blend)))
        else {
            return Err("no weights to load".into());
        };
        let engine = files.engine_at(&spec, backend, theory).await?;
        let current = std::cell::RefCell::new((theory, Rc::new(engine)));
        Ok(Loaded { trained_on, spec, backend, tunable, files, current })
    }

    /// The engine at theory strength `theory`.
    async fn at(&self, theory: f32) -> Result<Rc<AnyEngine>, String> {
        let (at, current) = self.current.borrow().clone();
        if at == theory {
            return Ok(current);
        }
        let engine = Rc::new(self.files.engine_at(&self.spec, self.backend, theory).await?);
        *self.current.borrow_mut() = (theory, engine.clone());
        Ok(engine)
    }
}

impl AnyEngine {
    fn name(&self) -> EngineName {
        match self {
            AnyEngine::Int8(e) => e.name(),
            #[cfg(feature = "webgpu")]
            AnyEngine::Wgsl(e) => e.name(),
            #[cfg(feature = "burn")]
            AnyEngine::Burn(e) => e.name(),
        }
    }
}

/// A model loaded onto a backend, ready to generate.
#[wasm_bindgen]
pub struct Generator {
    loaded: Rc<Loaded>,
}

/// Where a model's weights come from.
enum Weights {
    /// A `.pack` or burnpack file, told apart by their first bytes.
    File(Vec<u8>),
    /// Seeded random values (benchmarks: speed does not depend on the values).
    #[cfg_attr(not(feature = "burn"), allow(dead_code))]
    Random(u32),
}

/// The packed form of an LSTM at theory strength `theory` (its tuned weights blended in).
fn packed_at(
    spec: &ModelSpec,
    weights: &Weights,
    tuned: Option<&Weights>,
    theory: f32,
) -> Result<Option<PackedLstm>, String> {
    let Some(data) = packed(spec, weights)? else { return Ok(None) };
    match tuned {
        Some(tuned) if theory > 0.0 => {
            let tuned = packed(spec, tuned)?.ok_or("the tuned weights are not an LSTM's")?;
            crate::model::blend::packed(&data, &tuned, theory).map(Some).map_err(|e| e.to_string())
        }
        _ => Ok(Some(data)),
    }
}

/// The packed form of an LSTM, from a `.pack` file, or packed from its network.
fn packed(spec: &ModelSpec, weights: &Weights) -> Result<Option<PackedLstm>, String> {
    match (spec, weights) {
        (ModelSpec::Lstm(_), Weights::File(bytes)) if PackedLstm::is_pack(bytes) => {
            PackedLstm::from_bytes(bytes).map(Some).map_err(|e| e.to_string())
        }
        (_, Weights::File(bytes)) if PackedLstm::is_pack(bytes) => {
            Err(format!("a .pack file holds an LSTM, not a {}", spec.arch()))
        }
        #[cfg(feature = "burn")]
        (ModelSpec::Lstm(_), weights) => match burn_model(spec, weights, &burn::prelude::Device::flex())? {
            crate::model::MelodyModel::Lstm(lstm) => PackedLstm::from_lstm(&lstm).map(Some).map_err(|e| e.to_string()),
            crate::model::MelodyModel::Transformer(_) => unreachable!("an LSTM spec builds an LSTM"),
        },
        _ => Ok(None),
    }
}

#[cfg(feature = "burn")]
fn burn_model(
    spec: &ModelSpec,
    weights: &Weights,
    device: &burn::prelude::Device,
) -> Result<crate::model::MelodyModel, String> {
    let model = match weights {
        Weights::File(bytes) => crate::model::weights::load(spec, bytes.clone(), device),
        Weights::Random(seed) => {
            device.seed(*seed as u64);
            crate::model::build(spec, device)
        }
    };
    model.map_err(|e| e.to_string())
}

/// The engine for `spec` on `backend` at theory strength `theory` (0 without `tuned` weights):
/// an LSTM runs packed (int8 on the CPU, WGSL on WebGPU, where the kernel takes its shape),
/// anything else through Burn.
async fn engine(
    spec: &ModelSpec,
    weights: &Weights,
    tuned: Option<&Weights>,
    theory: f32,
    backend: Backend,
) -> Result<AnyEngine, String> {
    if let (Some(packed), ModelSpec::Lstm(config)) = (packed_at(spec, weights, tuned, theory)?, spec) {
        match backend {
            Backend::Cpu => return Int8Engine::new(packed, config).map(AnyEngine::Int8).map_err(|e| e.to_string()),
            #[cfg(feature = "webgpu")]
            Backend::Webgpu => {
                if let Some(e) = WgslEngine::new(&gpu().await?, &packed, config).await.map_err(|e| e.to_string())? {
                    return Ok(AnyEngine::Wgsl(e));
                }
                if matches!(weights, Weights::File(bytes) if PackedLstm::is_pack(bytes)) {
                    return Err(
                        "this LSTM's shape has no WGSL kernel; load its burnpack (.bpk) to run it through Burn".into(),
                    );
                }
            }
            #[cfg(not(feature = "webgpu"))]
            Backend::Webgpu => return Err("this build of tunesmith has no WebGPU".into()),
        }
    }
    #[cfg(feature = "burn")]
    {
        let device = match backend {
            Backend::Cpu => burn::prelude::Device::flex(),
            #[cfg(feature = "webgpu")]
            Backend::Webgpu => gpu().await?.burn,
            #[cfg(not(feature = "webgpu"))]
            Backend::Webgpu => return Err("this build of tunesmith has no WebGPU".into()),
        };
        let mut model = burn_model(spec, weights, &device)?;
        if let Some(tuned) = tuned.filter(|_| theory > 0.0) {
            model = crate::model::blend::network(model, &burn_model(spec, tuned, &device)?, theory);
        }
        BurnEngine::new(model, spec, device, backend).map(AnyEngine::Burn).map_err(|e| e.to_string())
    }
    #[cfg(not(feature = "burn"))]
    Err(format!("this build of tunesmith runs packed LSTMs (.pack) only, not a {} from a burnpack", spec.arch()))
}

fn backend_of(name: &str) -> Result<Backend, JsError> {
    Backend::parse(name).ok_or_else(|| JsError::new(&format!("unknown backend {name:?}: use \"cpu\" or \"webgpu\"")))
}

/// Between bars: calls the worker's `onBar(done, total)`, and stops when the promise it may
/// return resolves to `false` (the request was cancelled).
struct Hooks(Option<js_sys::Function>);

impl Progress for Hooks {
    async fn bar(&mut self, done: u32, total: u32) -> bool {
        let Some(f) = &self.0 else { return true };
        let Ok(answer) = f.call2(&JsValue::NULL, &JsValue::from(done), &JsValue::from(total)) else { return false };
        match answer.dyn_into::<js_sys::Promise>() {
            Ok(promise) => {
                wasm_bindgen_futures::JsFuture::from(promise).await.map(|v| v.as_bool() != Some(false)).unwrap_or(false)
            }
            Err(value) => value.as_bool() != Some(false),
        }
    }
}

#[wasm_bindgen]
impl Generator {
    /// Loads a built-in model (by its catalog name) from its weights file — the `.pack` of an
    /// LSTM or a burnpack, recognised by their first bytes — and/or its theory-tuned weights
    /// where the catalog names them (`tuned`, the same kind of file), and/or the packed blend of
    /// both at the default strength (`blend`), onto `"cpu"` or `"webgpu"`. Any may be left out:
    /// a generator runs the theory strengths its weights allow (`weightsFor` says which a
    /// strength needs).
    pub async fn load(
        name: String,
        weights: Option<Vec<u8>>,
        tuned: Option<Vec<u8>>,
        blend: Option<Vec<u8>>,
        backend: String,
    ) -> Result<Generator, JsError> {
        use catalog::WeightsOf;
        let backend = backend_of(&backend)?;
        let (spec, trained_on) = catalog::spec_of(&name).map_err(js_error)?;
        let tunable = catalog::tunable(&name);
        let fail = |e: &dyn std::fmt::Display| JsError::new(&format!("{name}: {e}"));
        if weights.is_none() && tuned.is_none() && blend.is_none() {
            return Err(fail(&"no weights given"));
        }
        if tuned.is_some() && !tunable {
            return Err(fail(&"this model has no theory-tuned weights"));
        }
        let files = [(&weights, WeightsOf::Data), (&tuned, WeightsOf::Tuned), (&blend, WeightsOf::Blend)];
        for (bytes, which) in files.iter().filter_map(|(b, w)| Some((b.as_ref()?, *w))) {
            if !PackedLstm::is_pack(bytes) && !crate::model::is_burnpack(bytes) {
                return Err(fail(&"the weights are neither a .pack nor a burnpack file"));
            }
            catalog::check_weights(&name, which, bytes).map_err(|e| fail(&e))?;
        }
        if let (Some(w), Some(t)) = (&weights, &tuned)
            && PackedLstm::is_pack(t) != PackedLstm::is_pack(w)
        {
            return Err(fail(&"the tuned weights must be the same kind of file as the model's"));
        }
        let [data, tuned, blend] = [weights, tuned, blend].map(|w| w.map(Weights::File));
        let files = Files { data, tuned, blend, has_blend: catalog::has_blend(&name) };
        let loaded = Loaded::new(spec, trained_on, files, tunable, backend).await.map_err(|e| fail(&e))?;
        Ok(Generator { loaded: Rc::new(loaded) })
    }

    /// A model of any spec with seeded random weights: benchmarks compare speed at a shape,
    /// which does not depend on the values.
    pub async fn random(spec_json: String, backend: String, seed: u32) -> Result<Generator, JsError> {
        let backend = backend_of(&backend)?;
        let (spec, trained_on) = ModelSpec::parse_with_record(&spec_json).map_err(js_error)?;
        let files = Files { data: Some(Weights::Random(seed)), tuned: None, blend: None, has_blend: false };
        let loaded = Loaded::new(spec, trained_on, files, false, backend).await.map_err(|e| JsError::new(&e))?;
        Ok(Generator { loaded: Rc::new(loaded) })
    }

    /// The engine that runs this model (`"int8"`, `"wgsl"` or `"burn"`).
    #[wasm_bindgen(getter)]
    pub fn engine(&self) -> String {
        self.loaded.current.borrow().1.name().name().to_string()
    }

    /// `request`: a `Request` (every field optional). `onBar(done, total)`: called between
    /// bars; a promise it returns is awaited, and `false` cancels. Resolves to one `Response`
    /// per candidate.
    pub fn generate(&self, request: JsValue, on_bar: Option<js_sys::Function>) -> js_sys::Promise {
        let loaded = self.loaded.clone();
        wasm_bindgen_futures::future_to_promise(async move {
            let request =
                read_request(request).map_err(|e| JsValue::from(JsError::new(&format!("bad request: {e}"))))?;
            let mut hooks = Hooks(on_bar);
            let started = js_sys::Date::now();
            let theory = request.theory_for(loaded.tunable).map_err(|e| JsValue::from(js_error(e)))?;
            let engine = loaded.at(theory).await.map_err(|e| JsValue::from(JsError::new(&e)))?;
            let t = &loaded.trained_on;
            let out = match &*engine {
                AnyEngine::Int8(e) => respond(e, t, &request, &mut hooks, theory, started).await,
                #[cfg(feature = "webgpu")]
                AnyEngine::Wgsl(e) => respond(e, t, &request, &mut hooks, theory, started).await,
                #[cfg(feature = "burn")]
                AnyEngine::Burn(e) => respond(e, t, &request, &mut hooks, theory, started).await,
            };
            out.map_err(JsValue::from)
        })
    }
}

/// A request from JavaScript, through JSON values: serde-wasm-bindgen reads only the fields a
/// struct names, and a misspelt field must be an error, not a default.
fn read_request(value: JsValue) -> Result<Request, String> {
    let json: serde_json::Value = serde_wasm_bindgen::from_value(value).map_err(|e| e.to_string())?;
    serde_json::from_value(json).map_err(|e| e.to_string())
}

async fn respond<E: Engine>(
    engine: &E,
    trained: &TrainedOn,
    request: &Request,
    hooks: &mut Hooks,
    theory: f32,
    started: f64,
) -> Result<JsValue, JsError> {
    let generation = sample::generate(engine, trained, request, Prior::at(theory), hooks).await.map_err(js_error)?;
    let ms = js_sys::Date::now() - started;
    let responses: Vec<_> =
        generation.ranked().into_iter().map(|i| generation.response(i, request, engine, theory, ms)).collect();
    to_js(&responses)
}

// The worker protocol, in one place: every message between the page (client.js) and the
// generator's worker (worker.js). Requests carry an `id`; every answer to one echoes it.
// The request and response of a generation are the core's own types (crate/src/request.rs),
// carried as they are.

/**
 * A generation request: every field optional; the catalog (`catalog.controls`) lists them with
 * their limits and defaults.
 * @typedef {object} Request
 * @property {number} [bars]
 * @property {number} [tempo] beats per minute
 * @property {string|null} [meter] e.g. "6/8"; null: the primer's, else 4/4
 * @property {string|null} [key] e.g. "D dorian"; null: any
 * @property {string|null} [style] "celtic" | "folk" | "chorale"; null: any
 * @property {string|null} [form] e.g. "AABA"; null: automatic
 * @property {number} [temperature]
 * @property {number} [seed] 0 – 4294967295
 * @property {number} [candidates]
 * @property {Note[]} [primer]
 * @property {number|null} [primerBars] the primer's length in bars, at least (rests after it kept)
 * @property {"auto"|"file"} [phase]
 */

/** @typedef {{pitch: number, onset: number, duration: number}} Note  in 16th steps */

/**
 * One generated melody.
 * @typedef {object} Response
 * @property {Note[]} notes
 * @property {string|null} key
 * @property {"asked"|"drawn"|"estimated"} keyFrom
 * @property {string|null} style
 * @property {"asked"|"drawn"|"estimated"} styleFrom
 * @property {string} meter
 * @property {"asked"|"drawn"|"estimated"} meterFrom
 * @property {string|null} form
 * @property {number} tempo
 * @property {number} seed
 * @property {number} temperature
 * @property {number} stepsPerBar
 * @property {number} totalSteps
 * @property {number} primerSteps
 * @property {object} metrics  see crate/src/theory/metrics.rs (camelCase)
 * @property {"int8"|"wgsl"|"burn"} engine
 * @property {"cpu"|"webgpu"} backend
 * @property {Uint8Array} midi  a standard MIDI file
 * @property {string} share  the melody in a share link's compact form (crate/src/share.rs)
 * @property {string} abc  the melody as ABC notation (crate/src/abc.rs)
 * @property {number} candidate  its place in the batch (0: what a single candidate makes)
 * @property {{logLikelihood: number, theory: number, total: number}} score  its rank's reasons
 *   (crate/src/sample.rs); a generation's responses come best first
 * @property {number} ms
 */

/**
 * Page → worker.
 * @typedef {{type: "wasm", module: WebAssembly.Module|null}} WasmMessage
 *   always sent first: the module if the page compiled it early, else null (the worker fetches it)
 * @typedef {{type: "init", id: number, model?: string}} InitMessage
 *   → Ready: wasm up and `model` (default: the catalog's) loaded on the CPU
 * @typedef {{type: "generate", id: number, model: string, backend: "auto"|"cpu"|"webgpu", request: Request}} GenerateMessage
 *   → Progress* then Done (or Error)
 * @typedef {{type: "cancel", id: number}} CancelMessage
 *   the generation `id` stops at its next bar and answers Error with `cancelled: true`
 * @typedef {{type: "readMidi", id: number, bytes: Uint8Array}} ReadMidiMessage
 *   → Done with `result`: {notes, meter, tempo, key} (the file's melody line; meter: the one it
 *   states other than 4/4, else null)
 * @typedef {{type: "openShared", id: number, code: string}} OpenSharedMessage
 *   → Done with `result`: the melody of a share code (a Response's notes, key, meter, tempo,
 *   stepsPerBar, totalSteps, metrics, midi and share), or Error saying what is wrong with the code
 * @typedef {{type: "describe", id: number, melody: {notes: Note[], tempo: number, meter: string,
 *   key?: string|null, totalSteps?: number}}} DescribeMessage
 *   → Done with `result`: the same fields as openShared's, for a melody the page holds (the bars
 *   an endless run kept), or Error saying what is wrong with its notes
 * @typedef {{type: "stats", id: number}} StatsMessage
 *   → Done with `result`: {wasmBytes} (the wasm memory's size: leaks show here; ./dev soak)
 */

/**
 * Worker → page.
 * @typedef {{type: "ready", id: number, catalog: object, model: string}} Ready
 * @typedef {{type: "progress", id: number, done: number, total: number}} Progress  bars generated
 * @typedef {{type: "done", id: number, result: any}} Done
 *   generate: result = {model, backend, melodies: Response[]}
 * @typedef {{type: "error", id: number, message: string, cancelled?: boolean}} ErrorMessage
 * @typedef {{type: "webgpu", status: true|string}} WebGpuStatus  (no id) once known
 * @typedef {{type: "backend", model: string, backend: "cpu"|"webgpu", cpuMs?: number, webgpuMs?: number,
 *   estimatedFrom?: number[]|null, error?: string}} BackendChoice
 *   (no id) what "auto" now picks for a model, once both backends were timed here, or why it
 *   went back to the CPU
 * @typedef {{type: "download", model: string, loaded: number, total: number|null}} Download
 *   (no id) bytes of a model's weights received so far, and of the full wasm module where the
 *   model needs it (`total`: null when the server did not say)
 * @typedef {{type: "crashed", message: string}} Crashed
 *   (no id) the worker cannot go on (a bug in the core, or its WebGPU device was lost); the
 *   client restarts it
 */

/** Message types, so a typo is an error rather than a message nobody answers. */
export const IN = Object.freeze({
  wasm: 'wasm',
  init: 'init',
  generate: 'generate',
  cancel: 'cancel',
  readMidi: 'readMidi',
  openShared: 'openShared',
  describe: 'describe',
  stats: 'stats',
});
export const OUT = Object.freeze({
  ready: 'ready',
  progress: 'progress',
  done: 'done',
  error: 'error',
  webgpu: 'webgpu',
  backend: 'backend',
  download: 'download',
  crashed: 'crashed',
});

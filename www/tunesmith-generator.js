// <tunesmith-generator>: the whole generator as one custom element, for tunesmith's own page and
// for any other site (README, "Embed it"). Its attributes are the core's controls (catalog.js,
// generated from crate/src/catalog.rs) plus its own (model, backend, controls, autoplay, loop);
// each is mirrored by a property. Every instance on a page shares one worker, one wasm module, one
// copy of each model and one GPU device (the hub below); every asset resolves from this module's
// own URL, never the page's.

import catalog from './catalog.js';
import { TunesmithClient } from './client.js';
import { CSS } from './generator-style.js';
import { PianoRoll } from './pianoroll.js';
import { Keyboard, pitchName } from './keyboard.js';
import { countBytes } from './progress.js';
import { Sheet } from './sheet.js';
import { DEFAULT_VOICE, MelodyPlayer, VOICES, barSteps, renderWav, unlockOnFirstGesture } from './synth.js';

const WORKER_URL = new URL('./worker.js', import.meta.url);
// The lite module (crate/lite): what the default model needs; the worker loads the full one later.
const WASM_URL = new URL('../tunesmith-lite_bg.wasm', import.meta.url);
const NOTE_NAMES = ['C', 'C#', 'D', 'Eb', 'E', 'F', 'F#', 'G', 'Ab', 'A', 'Bb', 'B'];
const CONTROLS = catalog.controls;
/** The element's own attributes, beside the catalog's controls. */
const OWN = { model: catalog.defaultModel, backend: 'auto', controls: 'all', voice: DEFAULT_VOICE };
const FLAGS = ['autoplay', 'loop', 'metronome', 'count-in', 'endless'];
/** Endless play: bars made at a time, the bars before them each part continues, how much music
 * is kept ready ahead of the playhead, and how much of what played stays on show. */
const ENDLESS = { bars: 4, primerBars: 8, aheadSeconds: 10, keepBars: 32, checkMs: 250 };
const ATTRIBUTES = [...Object.keys(OWN), ...FLAGS, ...CONTROLS.map((c) => c.attribute)];

// ---- What every instance on the page shares ----

const hub = {
  client: null,
  events: new EventTarget(), // 'progress', 'webgpu', 'backend', 'restart'
  webgpu: null, // null until known, then true or the reason it cannot be used
  auto: new Map(), // model → the worker's last 'backend' message for it
  current: null, // the instance last asked to play: the one that may be sounding
  sheet: null,
  wasm: null, // the wasm module being compiled here, once
};

function relay(type, detail) {
  hub.events.dispatchEvent(new CustomEvent(type, { detail }));
}

function progress(phase, loaded, total) {
  relay('progress', { phase, loaded, total });
}

/** Fetches and compiles the wasm here, while the worker's scripts load, and reports its bytes. */
async function compileWasm() {
  const r = await fetch(WASM_URL);
  if (!r.ok) throw new Error(`HTTP ${r.status}`);
  countBytes(r, (loaded, total) => progress('wasm', loaded, total)).catch(() => {});
  return WebAssembly.compileStreaming(r);
}

/** The page's one client, started by the first instance that connects. */
function client() {
  if (!hub.client) {
    if (!hub.wasm) {
      hub.wasm = compileWasm();
      hub.wasm.catch(() => {}); // the worker then fetches it itself
    }
    const c = TunesmithClient.shared(WORKER_URL, { wasm: hub.wasm });
    c.on('webgpu', (m) => {
      hub.webgpu = m.status;
      relay('webgpu', m);
    });
    c.on('backend', (m) => {
      hub.auto.set(m.model, m);
      relay('backend', m);
    });
    c.on('download', (m) => progress('model', m.loaded, m.total));
    c.on('restart', (m) => relay('restart', m));
    hub.client = c;
  }
  return hub.client;
}

function sheet() {
  if (!hub.sheet) {
    hub.sheet = new CSSStyleSheet();
    hub.sheet.replaceSync(CSS);
  }
  return hub.sheet;
}

// ---- Small helpers ----

/** An element: `h('button', {id: 'play', part: 'button play'}, 'Play')`. */
function h(tag, attributes = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attributes)) {
    if (v === false || v === null || v === undefined) continue;
    el.setAttribute(k, v === true ? '' : String(v));
  }
  el.append(...children);
  return el;
}

/** A die face, drawn (currentColor), for the new-seed button. */
function die() {
  const svg = (tag, attrs) => {
    const el = document.createElementNS('http://www.w3.org/2000/svg', tag);
    for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
    return el;
  };
  const icon = svg('svg', { viewBox: '0 0 16 16', width: 16, height: 16, 'aria-hidden': 'true', focusable: 'false' });
  icon.append(svg('rect', { x: 1.5, y: 1.5, width: 13, height: 13, rx: 3, fill: 'none', stroke: 'currentColor', 'stroke-width': 1.5 }));
  for (const [cx, cy] of [[5, 5], [11, 5], [8, 8], [5, 11], [11, 11]]) icon.append(svg('circle', { cx, cy, r: 1.3, fill: 'currentColor' }));
  return icon;
}

const noteName = (p) => `${NOTE_NAMES[p % 12]}${Math.floor(p / 12) - 1}`;
const megabytes = (bytes) => (bytes / 1e6).toFixed(1);
const modelEntry = (name) => catalog.models.find((m) => m.name === name);
const styleLabel = (name) => CONTROLS.find((c) => c.name === 'style')?.options.find((o) => o.value === name)?.label ?? name;

/** " in D dorian (drawn), Celtic (drawn)": what the melody was made in, and which of it "any" chose. */
function describeKeyAndStyle({ key, keyFrom, style, styleFrom }) {
  const how = (from) => (from && from !== 'asked' ? ` (${from})` : '');
  const parts = [];
  if (key) parts.push(`${key}${how(keyFrom)}`);
  if (style) parts.push(`${styleLabel(style)}${how(styleFrom)}`);
  return parts.length ? ` in ${parts.join(', ')}` : '';
}

export class TunesmithGenerator extends HTMLElement {
  static observedAttributes = ATTRIBUTES;
  /** The catalog the element is built from: models, controls with limits and defaults. */
  static catalog = catalog;

  #ui = {};
  #roll;
  #inner = new EventTarget(); // the player's events, before they become the element's
  #player = new MelodyPlayer(this.#inner);
  #melody = null;
  #choices = []; // the last generation's candidates, best first
  #state = 'loading';
  #generating = null; // the generation in flight
  #started = false;
  #listening = null; // AbortController of the hub listeners while connected
  #resize = null;
  #cancel = null; // AbortController of the generation in flight
  #primer = null; // your own start: {notes, end (steps, trailing rests included), phase, from}
  #keyboard;
  #sheet;
  #endless = null; // endless play running: {timer, busy, parts, seed, cancel}

  constructor() {
    super();
    const root = this.attachShadow({ mode: 'open' });
    root.adoptedStyleSheets = [sheet()];
    root.append(...this.#build());
    this.#roll = new PianoRoll(this.#ui.roll);
    this.#sheet = new Sheet(this.#ui.sheet);
    this.#keyboard = new Keyboard(this.#ui.keys);
    this.#keyboard.addEventListener('key', (e) => this.#enterNote(e.detail.pitch));
    this.#showPrimer();
    this.#inner.addEventListener('start', (e) => this.#onStart(e.detail));
    this.#inner.addEventListener('note', (e) => {
      this.#roll.active = e.detail.index;
      this.#sheet.mark(e.detail.index);
      this.#emit('note', e.detail);
    });
    this.#inner.addEventListener('beat', (e) => this.#emit('beat', e.detail));
    this.#inner.addEventListener('stop', () => this.#onStop());
    this.addEventListener('keydown', (e) => this.#shortcut(e));
  }

  // ---- Lifecycle ----

  connectedCallback() {
    // Properties set before the element was defined shadow the accessors: move them over.
    for (const name of ATTRIBUTES) {
      const prop = camel(name);
      if (Object.hasOwn(this, prop)) {
        const v = this[prop];
        delete this[prop];
        this[prop] = v;
      }
    }
    // Focusable, so its keyboard shortcuts work once it has focus (README, "Embed it").
    if (!this.hasAttribute('tabindex')) this.setAttribute('tabindex', '0');
    unlockOnFirstGesture();
    this.#listening = new AbortController();
    const signal = this.#listening.signal;
    hub.events.addEventListener('progress', (e) => this.#onProgress(e.detail), { signal });
    hub.events.addEventListener('webgpu', () => this.#showWebGpu(), { signal });
    hub.events.addEventListener('backend', () => this.#showAuto(), { signal });
    hub.events.addEventListener('restart', (e) => this.#showError(`The generator restarted: ${e.detail.message}`), { signal });
    matchMedia('(prefers-color-scheme: dark)').addEventListener('change', () => this.#roll.draw(), { signal });
    this.#resize = new ResizeObserver(() => this.#roll.draw());
    this.#resize.observe(this.#ui.roll);
    this.#showWebGpu();
    this.#showAuto();
    // A microtask later: attributes a page sets right after adding the element still count.
    if (!this.#started) queueMicrotask(() => this.isConnected && !this.#started && this.#start());
  }

  disconnectedCallback() {
    this.#listening?.abort();
    this.#resize?.disconnect();
    this.#cancel?.abort(); // a removed element's generation would only hold the shared worker
    this.stop();
    if (hub.current === this) hub.current = null;
  }

  attributeChangedCallback(name, _old, value) {
    const control = CONTROLS.find((c) => c.attribute === name);
    if (control) {
      // A new tempo takes effect at once on the melody playing, without a restart.
      if (name === 'tempo' && this.#player.playing && value !== null) {
        const bpm = Number(value);
        if (bpm >= control.min && bpm <= control.max) this.#player.setTempo(bpm);
      }
      const input = this.#ui.inputs[control.name];
      const shown = value ?? (control.default === null ? '' : String(control.default));
      if (input.tagName === 'SELECT' && ![...input.options].some((o) => o.value === shown)) input.add(new Option(shown, shown));
      if (input.value !== shown) {
        input.value = shown;
        input.dispatchEvent(new Event('refresh'));
      }
    } else if (name === 'model' || name === 'backend' || name === 'voice') {
      const select = this.#ui.inputs[name];
      // A new voice takes over from the next note of the melody playing.
      if (name === 'voice' && this.#player.playing && VOICES[value ?? OWN.voice]) this.#player.setVoice(value ?? OWN.voice);
      const shown = value ?? OWN[name];
      if (![...select.options].some((o) => o.value === shown)) select.add(new Option(shown, shown));
      select.value = shown;
      if (name === 'model') {
        this.#fitForm();
        this.#showAuto();
      }
    } else if (FLAGS.includes(name)) {
      // Endless play never loops: it goes on with new bars instead.
      if (name === 'loop' || name === 'endless') this.#player.loop = this.loop && !this.endless;
      if (name === 'metronome') this.#player.metronome = value !== null;
      if (name === 'endless' && this.#player.playing) {
        if (value !== null) this.#startEndless();
        else this.#stopEndless();
      }
      const toggle = this.#ui.toggles[name];
      if (toggle) toggle.checked = value !== null;
    } else if (name === 'controls' && this.#melody) {
      this.#drawSheet(this.#melody);
    }
  }

  // ---- The public API (README, "Embed it"; tunesmith-generator.d.ts) ----

  /** The melody on show: notes, key, meter, tempo, …; null before the first. */
  get melody() {
    if (!this.#melody) return null;
    const { midi, ...rest } = this.#melody;
    return structuredClone(rest);
  }

  /** The last generation's candidates, best first (one unless `candidates` asked for more). */
  get candidateMelodies() {
    return this.#choices.map(({ midi, ...rest }) => structuredClone(rest));
  }

  /** Shows candidate `index` of the last generation (0 is the best) and returns it. */
  choose(index) {
    if (this.#generating) throw this.#fail(new Error('A new melody is being generated: choose once it is here.'));
    if (!this.#choices.length) throw this.#fail(new Error('There are no candidates to choose from: generate first.'));
    const m = this.#choices[index];
    if (!m) throw this.#fail(new Error(`There is no candidate ${index + 1}: the last generation made ${this.#choices.length}.`));
    this.#showError('');
    this.stop();
    this.#show(m);
    this.#describe();
    this.#emit('melody', { melody: this.melody });
    return this.melody;
  }

  /** The melody as a standard MIDI file (a copy); null before the first. */
  get midi() {
    return this.#melody ? new Uint8Array(this.#melody.midi) : null;
  }

  /** 'loading' | 'ready' | 'generating' | 'done' | 'error' (also the `state` attribute). */
  get state() {
    return this.#state;
  }

  /** Whether the melody is sounding. */
  get playing() {
    return this.#player.playing;
  }

  /** null until known, then true, or the reason WebGPU cannot be used here. */
  get webgpu() {
    return hub.webgpu;
  }

  /** What backend "auto" now picks for this model, once measured: 'cpu' | 'webgpu' | null. */
  get autoBackend() {
    if (hub.webgpu !== null && hub.webgpu !== true) return 'cpu';
    return hub.auto.get(this.model)?.backend ?? null;
  }

  /**
   * Generates a melody with the element's settings, continuing your own start (`primer`) when
   * there is one; resolves to it (also the `melody` event).
   */
  generate() {
    return this.#begin(() => {
      const p = this.#primer;
      if (!p) return {};
      // Entered notes sit on the chosen meter from a downbeat; rests entered after them count.
      if (p.phase === 'file') return { primer: p.notes, primerBars: Math.ceil(p.end / barSteps(this.meter)), phase: 'file' };
      // A file's meter is the one it states (other than 4/4, which most files say whatever they
      // hold), else found with the bar phase from its rhythm; its key signature counts unless a
      // key is asked.
      return { primer: p.notes, primerBars: null, phase: 'auto', meter: p.meter, ...(p.key && !this.tonality ? { key: p.key } : {}) };
    });
  }

  /**
   * Continues the melody on show by `bars` more bars (the element's `bars` by default): its notes
   * stay as they are, in its meter and key.
   */
  continueMelody(bars = this.bars) {
    return this.#begin(() => {
      const m = this.#needMelody('continue');
      return { ...this.#keep(m, m.notes, m.totalSteps / m.stepsPerBar), bars };
    }, true);
  }

  /**
   * Makes the melody on show anew from bar `bar` (1 is the first) to its end, with a new seed:
   * the bars before it stay exactly as they are.
   */
  regenerateFrom(bar) {
    return this.#begin(() => {
      const m = this.#needMelody('regenerate');
      const total = m.totalSteps / m.stepsPerBar;
      if (!Number.isInteger(bar) || bar < 1 || bar > total) throw new Error(`Regenerate from bar 1 to ${total}, the melody's last bar (got ${bar}).`);
      const max = catalog.limits.maxBars;
      if (total - bar + 1 > max) throw new Error(`Regenerate from bar ${total - max + 1} or later: at most ${max} bars are made at once.`);
      const cut = (bar - 1) * m.stepsPerBar;
      const kept = m.notes.filter((n) => n.onset < cut).map((n) => ({ ...n, duration: Math.min(n.duration, cut - n.onset) }));
      const seed = crypto.getRandomValues(new Uint32Array(1))[0];
      return { ...this.#keep(m, kept, bar - 1), bars: total - bar + 1, seed };
    }, true);
  }

  /** The melody to build on, or a readable error. */
  #needMelody(what) {
    if (!this.#melody) throw new Error(`There is no melody to ${what} yet: generate one first.`);
    return this.#melody;
  }

  /** Request fields that keep `notes` of melody `m` as the first `bars` bars, in its meter and key. */
  #keep(m, notes, bars) {
    return { primer: notes, primerBars: bars, phase: 'file', meter: m.meter, key: m.key ?? null, ...(m.style ? { style: m.style } : {}) };
  }

  /**
   * Starts a generation unless one is in flight; `fields()` gives what differs from the settings.
   * Generate while generating answers with the melody on its way; Continue and Regenerate
   * (`edit`) would not get what they asked for, so they are refused.
   */
  #begin(fields, edit = false) {
    if (this.#generating && edit) {
      return Promise.reject(this.#fail(new Error('A melody is being generated: continue or regenerate once it is here.')));
    }
    if (!this.#generating) {
      this.#generating = this.#generate(fields).finally(() => (this.#generating = null));
    }
    return this.#generating;
  }

  // ---- Your own start (the primer) ----

  /** Your own start: the notes a Generate continues ({pitch, onset, duration}, 16th steps), or null. */
  get primer() {
    return this.#primer ? structuredClone(this.#primer.notes) : null;
  }

  /** Sets your own start (notes in 16th steps; step 0 is a downbeat), or clears it with null. */
  set primer(notes) {
    if (notes === null || notes === undefined) return this.clearPrimer();
    if (!Array.isArray(notes) || notes.some((n) => !n || ![n.pitch, n.onset, n.duration].every(Number.isInteger))) {
      throw this.#fail(new TypeError('A primer is an array of notes {pitch, onset, duration} in whole 16th steps.'));
    }
    const copy = notes.map(({ pitch, onset, duration }) => ({ pitch, onset, duration }));
    this.#setPrimer(copy, 'file', 'set by the page');
  }

  /** Forgets your own start: Generate makes melodies from scratch again. */
  clearPrimer() {
    this.#primer = null;
    this.#showPrimer();
  }

  /**
   * Takes a MIDI file (a File, Blob, ArrayBuffer or bytes) as your own start: its melody line,
   * moved into the models' range, with its meter and bar phase read from the file or inferred
   * from its rhythm. Resolves to the notes.
   */
  async loadPrimerMidi(file) {
    try {
      const bytes =
        file instanceof Blob
          ? new Uint8Array(await file.arrayBuffer())
          : ArrayBuffer.isView(file)
            ? new Uint8Array(file.buffer, file.byteOffset, file.byteLength)
            : new Uint8Array(file);
      const read = await client().readMidi(bytes);
      if (!read.notes.length) throw new Error('it has no notes');
      const limit = catalog.limits.maxPrimerSteps;
      const notes = read.notes.filter((n) => n.onset + n.duration <= limit);
      const name = file instanceof File ? `“${file.name}”` : 'the MIDI file';
      this.#setPrimer(notes, 'auto', notes.length < read.notes.length ? `${name} (its first ${limit / 4} beats)` : name, read);
      return this.primer;
    } catch (e) {
      throw this.#fail(new Error(`Could not use the MIDI file: ${e.message}`));
    }
  }

  /** Step entry from a MIDI keyboard (Web MIDI): each note played adds a note to your start. */
  async connectMidiInput() {
    try {
      const names = await this.#keyboard.connectMidi();
      this.#ui.midiIn.textContent = names.length ? `MIDI: ${names.join(', ')}` : 'MIDI: waiting for a device';
      return names;
    } catch (e) {
      throw this.#fail(new Error(`Could not use a MIDI keyboard: ${e.message}`));
    }
  }

  /** `file`: what a MIDI file states ({key, meter}, each null when it states none). */
  #setPrimer(notes, phase, from, file = {}) {
    const end = notes.reduce((e, n) => Math.max(e, n.onset + n.duration), 0);
    this.#primer = notes.length || end ? { notes, end, phase, from, key: file.key ?? null, meter: file.meter ?? null } : null;
    this.#showPrimer();
  }

  /** Step entry: a note of the chosen length after the last (null: a rest), and it sounds. */
  #enterNote(pitch) {
    const length = Number(this.#ui.stepLength.value);
    const p = this.#primer?.phase === 'file' ? this.#primer : { notes: [], end: 0, phase: 'file' };
    if (p.end + length > catalog.limits.maxPrimerSteps) {
      this.#fail(new Error(`Your start is full: at most ${catalog.limits.maxPrimerSteps / 16} bars of 4/4.`));
      return;
    }
    const notes = pitch === null ? p.notes : [...p.notes, { pitch, onset: p.end, duration: length }];
    this.#primer = { notes, end: p.end + length, phase: 'file', from: 'entered' };
    this.#showPrimer();
    if (pitch !== null) {
      const seconds = (length * 60) / this.tempo / 4;
      this.#player.audition(pitch, seconds, this.voice).catch(() => {});
    }
  }

  /** Takes back the last note or rest entered. */
  #undoNote() {
    const p = this.#primer;
    if (!p) return;
    const last = p.notes.at(-1);
    // The last thing entered was a rest when the start runs on past its last note.
    const lastEnd = last ? last.onset + last.duration : 0;
    const notes = lastEnd === p.end ? p.notes.slice(0, -1) : p.notes;
    const end = lastEnd === p.end ? (last?.onset ?? 0) : lastEnd;
    this.#primer = notes.length || end ? { ...p, notes, end } : null;
    this.#showPrimer();
  }

  #showPrimer() {
    const p = this.#primer;
    const ui = this.#ui;
    ui.undo.disabled = ui.clearPrimer.disabled = !p;
    if (!p) {
      ui.primerNotes.textContent = 'No start of your own: Generate makes melodies from scratch.';
      return;
    }
    const beats = p.end / 4;
    const names = p.notes.map((n) => pitchName(n.pitch)).join(' ');
    const from = p.from === 'entered' ? '' : ` from ${p.from}`;
    ui.primerNotes.textContent = `Your start${from}: ${p.notes.length} notes over ${beats} beats: ${names}. Generate continues it.`;
  }

  /** Plays the melody (stopping any other instance's); resolves once it has started. */
  async play() {
    if (!this.#melody) throw this.#fail(new Error('There is no melody to play yet: generate one first.'));
    // One melody sounds at a time: the last one asked for. Stopping the other also cancels a
    // start of it still waiting for the audio device.
    const previous = hub.current;
    hub.current = this;
    if (previous && previous !== this) previous.stop();
    try {
      // Endless play never loops: it goes on with new bars instead.
      const loop = this.loop && !this.endless;
      await this.#player.start(this.#melody, { loop, voice: this.voice, metronome: this.metronome, countIn: this.countIn });
    } catch (e) {
      throw this.#fail(new Error(`Could not play: ${e.message}`));
    }
  }

  stop() {
    this.#player.stop();
  }

  /** Saves the melody as a MIDI file. */
  download() {
    if (!this.#melody) throw this.#fail(new Error('There is no melody to download yet: generate one first.'));
    const m = this.#melody;
    this.#save(new Blob([m.midi], { type: 'audio/midi' }), m.model ? `tunesmith-${m.model}-seed${m.seed}.mid` : 'tunesmith-shared.mid');
  }

  #save(blob, name) {
    const a = h('a', { href: URL.createObjectURL(blob) });
    a.download = name;
    this.shadowRoot.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(a.href), 10_000);
  }

  /**
   * Space plays or stops, G generates, ← and → step the seed and generate. Not while typing in
   * a field, and not over a button's own Space.
   */
  #shortcut(e) {
    if (e.altKey || e.ctrlKey || e.metaKey || e.defaultPrevented) return;
    const target = e.composedPath()[0];
    if (target instanceof HTMLElement && (['INPUT', 'SELECT', 'TEXTAREA'].includes(target.tagName) || target.isContentEditable)) return;
    const ready = this.#state !== 'loading' && this.#state !== 'error';
    if (e.key === ' ' && target?.tagName !== 'BUTTON' && this.#melody) {
      e.preventDefault();
      if (this.#player.playing) this.stop();
      else this.play().catch(() => {});
    } else if ((e.key === 'g' || e.key === 'G') && ready) {
      e.preventDefault();
      this.generate().catch(() => {});
    } else if ((e.key === 'ArrowLeft' || e.key === 'ArrowRight') && ready && !this.#generating) {
      e.preventDefault();
      const max = CONTROLS.find((c) => c.name === 'seed')?.max ?? 0xffffffff;
      this.seed = (this.seed + (e.key === 'ArrowRight' ? 1 : max)) % (max + 1);
      this.generate().catch(() => {});
    }
  }

  /** Saves the melody as audio: a WAV file rendered offline with the voice that plays it. */
  async downloadWav() {
    if (!this.#melody) throw this.#fail(new Error('There is no melody to save yet: generate one first.'));
    const m = this.#melody;
    let wav;
    try {
      wav = await renderWav(m, { voice: this.voice });
    } catch (e) {
      throw this.#fail(new Error(`Could not render the audio: ${e.message}`));
    }
    this.#save(new Blob([wav], { type: 'audio/wav' }), m.model ? `tunesmith-${m.model}-seed${m.seed}.wav` : 'tunesmith-shared.wav');
  }

  /** The melody on show as ABC notation (crate/src/abc.rs); null before the first. */
  get abc() {
    return this.#melody?.abc ?? null;
  }

  /** Saves the melody as an ABC file. */
  downloadAbc() {
    if (!this.#melody) throw this.#fail(new Error('There is no melody to save yet: generate one first.'));
    const m = this.#melody;
    this.#save(new Blob([m.abc], { type: 'text/vnd.abc' }), m.model ? `tunesmith-${m.model}-seed${m.seed}.abc` : 'tunesmith-shared.abc');
  }

  /** Copies the melody's ABC notation to the clipboard. */
  async copyAbc() {
    if (!this.#melody) throw this.#fail(new Error('There is no melody to copy yet: generate one first.'));
    try {
      await navigator.clipboard.writeText(this.#melody.abc);
    } catch (e) {
      throw this.#fail(new Error(`Could not copy the ABC (${e.message}): use Download ABC instead.`));
    }
    this.#setStatus('ABC notation copied.');
  }

  /** The melody on show as a share code (crate/src/share.rs): `loadShared` opens it anywhere. */
  get share() {
    return this.#melody?.share ?? null;
  }

  /** Shows the melody of a share code, exactly as it was made (no model runs). */
  async loadShared(code) {
    try {
      const m = await client().openShared(code);
      this.stop();
      this.#choices = [];
      this.#buildChoices();
      this.#show({ ...m, model: null, shared: true });
      this.#setState('done');
      this.#setStatus(`A shared melody: ${m.totalSteps / m.stepsPerBar} bars, ${m.notes.length} notes${describeKeyAndStyle(m)}.`);
      this.#emit('melody', { melody: this.melody });
      return this.melody;
    } catch (e) {
      throw this.#fail(new Error(`Could not open the shared melody: ${e.message}`));
    }
  }

  // ---- Internals ----

  #emit(type, detail) {
    this.dispatchEvent(new CustomEvent(type, { detail }));
  }

  /** Shows `error`, tells the host (the `error` event) and returns it to throw. */
  #fail(error) {
    this.#showError(error.message);
    this.#emit('error', { message: error.message });
    return error;
  }

  #setState(state) {
    this.#state = state;
    this.setAttribute('state', state);
  }

  #setStatus(text) {
    this.#ui.status.textContent = text;
  }

  #showError(message) {
    this.#ui.error.textContent = message;
    this.#ui.error.hidden = !message;
  }

  async #start() {
    this.#started = true;
    this.#ui.retry.hidden = true;
    this.#showError('');
    this.#setStatus('Loading the model…');
    this.#setState('loading');
    try {
      const c = client();
      // The page's first instance decides what the worker starts with; an unknown model must
      // not stop the others (the worker then starts the default), and an instance with another
      // model has that one loaded too before it says it is ready.
      const model = modelEntry(this.model) ? this.model : undefined;
      const { model: loaded } = await c.ready(model);
      if (model && model !== loaded) await c.load(model);
      this.#ui.progress.hidden = true;
      if (!this.#generating) {
        this.#setStatus('Ready.');
        this.#setState('ready');
      }
      this.#ui.generate.disabled = !!this.#generating;
      if (!performance.getEntriesByName('tunesmith:ready').length) performance.mark('tunesmith:ready');
      this.#emit('ready', { model: model ?? loaded });
      if (this.autoplay && !this.#melody) this.generate().catch(() => {});
    } catch (e) {
      this.#ui.progress.hidden = true;
      this.#setStatus('');
      this.#ui.retry.hidden = false;
      this.#setState('error');
      this.#fail(new Error(`tunesmith could not start: ${e.message}`));
    }
  }

  #onProgress(p) {
    this.#emit('progress', p);
    const bar = this.#ui.progress;
    if (p.total && p.loaded >= p.total) {
      bar.hidden = true;
      return;
    }
    bar.hidden = false;
    if (p.total) {
      bar.max = p.total;
      bar.value = p.loaded;
    } else bar.removeAttribute('value');
    const what = p.phase === 'wasm' ? 'the generator' : 'the model';
    const of = p.total ? ` of ${megabytes(p.total)}` : '';
    const text = `Downloading ${what}… ${megabytes(p.loaded)}${of} MB`;
    bar.setAttribute('aria-valuetext', text);
    if (this.#state === 'loading' || this.#state === 'generating') this.#setStatus(text);
  }

  /** Reads and checks the settings against the catalog; throws with a message a person can act on. */
  #request() {
    const model = modelEntry(this.model);
    if (!model) throw new Error(`Unknown model "${this.model}": the models are ${catalog.models.map((m) => m.name).join(', ')}.`);
    const request = {};
    for (const c of CONTROLS) {
      const raw = this.getAttribute(c.attribute);
      if (c.kind === 'choice') {
        request[c.name] = raw === null || raw === '' ? c.default : raw;
        continue;
      }
      if (raw === null) {
        request[c.name] = c.default;
        continue;
      }
      const v = Number(raw);
      const integer = c.kind === 'integer';
      if (raw.trim() === '' || !Number.isFinite(v) || v < c.min || v > c.max || (integer && !Number.isInteger(v))) {
        throw new Error(`${c.label} must be ${integer ? 'a whole number ' : ''}from ${c.min} to ${c.max}.`);
      }
      request[c.name] = v;
    }
    // A model without a form input shapes its melodies itself; one without tuned weights has
    // no theory strength to set.
    if (!model.form) request.form = null;
    if (!model.tuned) request.theory = null;
    return { model: model.name, request };
  }

  async #generate(fields) {
    this.#showError('');
    let asked;
    try {
      asked = this.#request();
      Object.assign(asked.request, fields());
    } catch (e) {
      throw this.#fail(e);
    }
    this.#ui.generate.disabled = this.#ui.cont.disabled = this.#ui.regenerate.disabled = true;
    this.#setState('generating');
    this.#setStatus('Generating…');
    const cancel = new AbortController();
    this.#cancel = cancel;
    try {
      const t0 = performance.now();
      const reply = client().generate(
        { model: asked.model, backend: this.backend, request: asked.request },
        {
          signal: cancel.signal,
          onProgress: ({ done, total }) => {
            this.#setStatus(`Generating… ${done} of ${total} bars`);
            this.#emit('progress', { phase: 'generate', loaded: done, total });
          },
        },
      );
      // In a click, start the audio device while the worker generates, so Play starts at once
      // (outside a user gesture a browser would refuse, and warn).
      if (navigator.userActivation?.isActive) this.#player.warmUp().catch(() => {});
      const { melodies } = await reply;
      this.stop();
      const ms = performance.now() - t0;
      this.#choices = melodies.map((m) => ({ ...m, ms, model: asked.model }));
      this.#buildChoices();
      this.#show(this.#choices[0]);
      this.#describe();
      this.#setState('done');
      // For measuring the time to the first melody (navigation → melody on the page) in the field.
      if (!performance.getEntriesByName('tunesmith:first-melody').length) performance.mark('tunesmith:first-melody');
      const melody = this.melody;
      this.#emit('melody', { melody });
      if (this.autoplay && this.isConnected) this.play().catch(() => {});
      return melody;
    } catch (e) {
      if (cancel.signal.aborted) {
        // Taken off the page mid-generation: nothing to report.
        this.#setState(this.#melody ? 'done' : 'ready');
        throw e;
      }
      this.#setStatus('');
      this.#setState('error');
      throw this.#fail(new Error(`Could not generate: ${e.message}`));
    } finally {
      if (this.#cancel === cancel) this.#cancel = null;
      this.#ui.generate.disabled = false;
      this.#ui.cont.disabled = this.#ui.regenerate.disabled = !this.#melody;
      this.#ui.progress.hidden = true;
    }
  }

  /** The status line for a generated melody: what it is, what made it, and its rank. */
  #describe() {
    const m = this.#melody;
    const label = modelEntry(m.model)?.label ?? m.model;
    const where = m.backend === 'webgpu' ? 'WebGPU' : 'the CPU';
    const form = m.form ? `, form ${m.form}${m.formFrom === 'asked' ? '' : ` (${m.formFrom})`}` : '';
    const theory = modelEntry(m.model)?.tuned ? `, theory ${m.theory}` : '';
    const n = this.#choices.length;
    const rank = this.#choices.indexOf(m);
    const of = n > 1 ? ` ${rank === 0 ? 'The best' : `Candidate ${rank + 1}`} of ${n}.` : '';
    this.#setStatus(
      `${m.totalSteps / m.stepsPerBar} bars, ${m.notes.length} notes${describeKeyAndStyle(m)}${form}${theory} — the ${label} generated it on ${where} in ${Math.round(m.ms)} ms.${of}`,
    );
  }

  /** The candidates' strip, best first, built once a generation (hidden for one). */
  #buildChoices() {
    const strip = this.#ui.choices;
    strip.hidden = this.#choices.length < 2;
    strip.replaceChildren(
      h('span', { class: 'label' }, 'Candidates, best first:'),
      ...this.#choices.map((m, i) => {
        const b = h(
          'button',
          {
            type: 'button',
            part: 'button candidate',
            'aria-pressed': 'false',
            title: `log-likelihood ${m.score.logLikelihood.toFixed(3)} a step, theory ${m.score.theory.toFixed(2)}`,
            'aria-label': `Candidate ${i + 1}: choose and play`,
          },
          String(i + 1),
        );
        b.addEventListener('click', () => {
          this.choose(i);
          this.play().catch(() => {});
        });
        return b;
      }),
    );
  }

  /** Marks the candidate on show (the buttons stay, so keyboard focus stays on them). */
  #markChoice() {
    const buttons = this.#ui.choices.querySelectorAll('button');
    this.#choices.forEach((m, i) => buttons[i]?.setAttribute('aria-pressed', String(m === this.#melody)));
  }

  #show(melody) {
    this.#melody = melody;
    this.#markChoice();
    this.#roll.set(melody);
    this.#drawSheet(melody);
    this.#ui.notes.textContent = melody.notes.map((n) => noteName(n.pitch)).join(' ');
    this.#showMetrics(melody.metrics);
    this.#ui.play.disabled = false;
    this.#ui.download.disabled = false;
    this.#ui.wav.disabled = false;
    this.#ui.abc.disabled = false;
    this.#ui.copyAbc.disabled = false;
    this.#ui.cont.disabled = false;
    this.#ui.regenerate.disabled = this.#ui.fromBar.disabled = false;
    this.#showLength(melody);
  }

  /** What depends on the melody's length: the roll's name, the bars Regenerate may start from. */
  #showLength(melody) {
    const bars = melody.totalSteps / melody.stepsPerBar;
    this.#ui.roll.setAttribute('aria-label', `Piano roll of the melody: ${melody.notes.length} notes`);
    this.#ui.fromBar.max = String(bars);
    if (Number(this.#ui.fromBar.value) > bars) this.#ui.fromBar.value = String(bars);
  }

  /**
   * The staff notation, where the full controls show it (abcjs loads with the first melody on
   * show, never before). The `sheet` event says when it is drawn.
   */
  #drawSheet(melody) {
    if (this.controls !== 'all') return this.#sheet.clear();
    this.#ui.sheetError.hidden = true;
    this.#sheet.show(melody).then(
      () => this.#sheet.shown === melody && this.#emit('sheet', { notes: this.#sheet.heads.length }),
      (e) => {
        this.#ui.sheetError.textContent = `The staff notation could not be drawn (${e.message}); the piano roll and ABC export still work.`;
        this.#ui.sheetError.hidden = false;
      },
    );
  }

  /** A few of the melody's figures (crate/src/theory/metrics.rs), as shares of its notes. */
  #showMetrics(m) {
    const pct = (n, of) => (of ? `${Math.round((100 * n) / of)}%` : '–');
    const rows = [
      ['notes in a motif', pct(m.inMotif, m.notes)],
      ['notes in a repeated motif', pct(m.inRepeatedMotif, m.notes)],
      ['bars (16 steps) repeated', pct(m.repeatedChunks, m.chunks)],
      ['notes not in the key', pct(m.notInKey, m.notes)],
      ['leaps resolved', pct(m.leapsResolved, m.leaps)],
    ];
    this.#ui.metrics.replaceChildren(...rows.flatMap(([name, value]) => [h('dt', {}, name), h('dd', {}, value)]));
  }

  #onStart() {
    const play = this.#ui.play;
    play.textContent = 'Stop';
    play.setAttribute('aria-pressed', 'true');
    const tick = () => {
      if (!this.#player.playing) return;
      this.#roll.mark(this.#roll.active, this.#player.step);
      requestAnimationFrame(tick);
    };
    requestAnimationFrame(tick);
    this.#emit('start', { duration: this.#player.duration });
    if (this.endless) this.#startEndless();
  }

  // ---- Endless play: new bars, each continuing the melody so far, ahead of the playhead ----

  #startEndless() {
    if (this.#endless || !this.#melody) return;
    const e = { busy: false, parts: 0, seed: this.#melody.seed ?? this.seed, cancel: new AbortController() };
    e.timer = setInterval(() => this.#feed(e), ENDLESS.checkMs);
    this.#endless = e;
    this.#player.hold = true;
    this.#feed(e);
  }

  #stopEndless() {
    const e = this.#endless;
    if (!e) return;
    clearInterval(e.timer);
    e.cancel.abort();
    this.#endless = null;
    this.#player.hold = false;
  }

  /** Generates the next part when less than ENDLESS.aheadSeconds of music is left to play. */
  async #feed(e) {
    const player = this.#player;
    if (e !== this.#endless || e.busy || !player.playing) return;
    const m = this.#melody;
    const bar = m.stepsPerBar;
    if ((player.length - player.position) * player.secondsPerStep > ENDLESS.aheadSeconds) return;
    e.busy = true;
    try {
      const asked = this.#request();
      const total = m.totalSteps;
      const primerBars = Math.min(ENDLESS.primerBars, total / bar);
      const from = total - primerBars * bar;
      const primer = m.notes.filter((n) => n.onset >= from).map((n) => ({ ...n, onset: n.onset - from }));
      const request = { ...asked.request, ...this.#keep(m, primer, primerBars), bars: ENDLESS.bars, candidates: 1, seed: (e.seed + e.parts + 1) % 2 ** 32 };
      const { melodies } = await client().generate({ model: asked.model, backend: this.backend, request }, { signal: e.cancel.signal });
      if (e !== this.#endless || !player.playing) return;
      const next = melodies[0];
      const added = next.notes.filter((n) => n.onset >= next.primerSteps).map((n) => ({ ...n, onset: n.onset - next.primerSteps + total }));
      let totalSteps = total + next.totalSteps - next.primerSteps;
      player.extend(added, totalSteps);
      let notes = [...m.notes, ...added];
      // Keep the last ENDLESS.keepBars bars; drop only whole bars that have finished playing.
      const played = Math.floor(player.position / bar) * bar - bar;
      const drop = Math.max(0, Math.min(totalSteps - ENDLESS.keepBars * bar, played));
      if (drop > 0) {
        player.shift(drop);
        notes = notes.filter((n) => n.onset >= drop).map((n) => ({ ...n, onset: n.onset - drop }));
        totalSteps -= drop;
      }
      e.parts += 1;
      const shown = { ...m, notes, totalSteps, primerSteps: 0, seed: request.seed, endless: true };
      // The player's notes and the melody on show are the same list: note events index both.
      this.#melody = shown;
      this.#roll.set(shown);
      const written = await client().describe({ notes, tempo: m.tempo, meter: m.meter, key: m.key, totalSteps });
      if (this.#melody !== shown) return;
      Object.assign(shown, { midi: written.midi, abc: written.abc, share: written.share, metrics: written.metrics });
      this.#ui.notes.textContent = notes.map((n) => noteName(n.pitch)).join(' ');
      this.#showMetrics(written.metrics);
      this.#drawSheet(shown);
      this.#showLength(shown);
      // Said once (a screen reader would otherwise announce every part).
      if (e.parts === 1) this.#setStatus(`Endless play: new bars follow until you stop; the last ${ENDLESS.keepBars} bars played, and those made ahead, are on show and can be saved.`);
      this.#emit('endless', { parts: e.parts, bars: totalSteps / bar, notes: notes.length, gaps: player.gaps });
    } catch (err) {
      if (e !== this.#endless) return;
      this.#stopEndless();
      this.#fail(new Error(`Endless play stopped: ${err.message}`));
    } finally {
      e.busy = false;
    }
  }

  #onStop() {
    this.#stopEndless();
    const play = this.#ui.play;
    play.textContent = 'Play';
    play.setAttribute('aria-pressed', 'false');
    this.#roll.mark(-1, -1);
    this.#sheet.mark(-1);
    this.#emit('stop', {});
  }

  #showWebGpu() {
    const status = hub.webgpu;
    this.#ui.gpu.textContent =
      status === null ? 'Checking for WebGPU…' : status === true ? 'WebGPU is available.' : `WebGPU unavailable (${status}); using the CPU.`;
    this.#showAuto();
  }

  /** Says what 'automatic' means for the selected model: each model is measured on its own. */
  #showAuto() {
    const auto = this.#ui.inputs.backend.querySelector('option[value="auto"]');
    const r = hub.auto.get(this.model);
    const ms = (x) => `${Math.round(x)} ms`;
    if (hub.webgpu !== null && hub.webgpu !== true) auto.textContent = 'automatic (CPU: no WebGPU here)';
    else if (!r) auto.textContent = 'automatic';
    else if (r.error) auto.textContent = `automatic (CPU; WebGPU failed: ${r.error})`;
    else if (r.estimatedFrom) {
      const seconds = Math.round(r.webgpuMs / 1000);
      auto.textContent = `automatic (CPU: ${ms(r.cpuMs)} vs WebGPU ~${seconds} s for 4 bars, estimated from ${r.estimatedFrom.join(' and ')} steps)`;
    } else {
      const name = r.backend === 'webgpu' ? 'WebGPU' : 'CPU';
      auto.textContent = `automatic (${name}: ${ms(Math.min(r.cpuMs, r.webgpuMs))} vs ${ms(Math.max(r.cpuMs, r.webgpuMs))} for 4 bars)`;
    }
  }

  /** Controls that the selected model cannot take are disabled, and say why. */
  #fitForm() {
    const model = modelEntry(this.model);
    for (const c of CONTROLS.filter((x) => x.needsForm)) {
      const input = this.#ui.inputs[c.name];
      input.disabled = !!model && !model.form;
      input.title = input.disabled ? `The ${model.label} has no form input; it shapes its melodies itself.` : '';
    }
    for (const c of CONTROLS.filter((x) => x.needsTuned)) {
      const input = this.#ui.inputs[c.name];
      input.disabled = !!model && !model.tuned;
      input.title = input.disabled
        ? `The ${model.label} has no theory-tuned weights.`
        : '0: the model trained on data alone; 1: tuned to the rules of music theory.';
    }
  }

  /** The shadow tree: settings, actions, progress, status, piano roll, metrics, notes. */
  #build() {
    const ui = this.#ui;
    ui.inputs = {};
    const form = h('form', { class: 'full', part: 'controls', 'aria-label': 'Generation settings' });
    form.addEventListener('submit', (e) => {
      e.preventDefault();
      this.generate().catch(() => {});
    });
    const select = (name, label, choices, value) => {
      const s = h('select', { id: name, name });
      for (const o of choices) s.add(new Option(o.label, o.value ?? ''));
      s.value = value ?? '';
      s.addEventListener('change', () => this.setAttribute(name, s.value));
      ui.inputs[name] = s;
      return h('label', {}, label, s);
    };
    form.append(select('model', 'Model', catalog.models.map((m) => ({ value: m.name, label: m.label })), OWN.model));
    for (const c of CONTROLS) form.append(this.#control(c));
    form.append(select('backend', 'Backend', catalog.backends, OWN.backend));
    form.append(select('voice', 'Voice', Object.entries(VOICES).map(([value, v]) => ({ value, label: v.label })), OWN.voice));
    this.#fitForm();

    const button = (id, text, extra = {}) => h('button', { id, type: 'button', part: `button ${id}`, ...extra }, text);
    ui.generate = button('generate', 'Generate', { disabled: true });
    ui.play = button('play', 'Play', { disabled: true, 'aria-pressed': 'false' });
    ui.download = button('download', 'Download MIDI', { disabled: true });
    ui.wav = button('download-wav', 'Download WAV', { disabled: true });
    ui.abc = button('download-abc', 'Download ABC', { disabled: true });
    ui.copyAbc = button('copy-abc', 'Copy ABC', { disabled: true });
    ui.retry = button('retry', 'Retry', { hidden: true });
    ui.generate.addEventListener('click', () => this.generate().catch(() => {}));
    ui.play.addEventListener('click', () => (this.#player.playing ? this.stop() : this.play().catch(() => {})));
    ui.download.addEventListener('click', () => this.download());
    ui.wav.addEventListener('click', () => this.downloadWav().catch(() => {}));
    ui.abc.addEventListener('click', () => this.downloadAbc());
    ui.copyAbc.addEventListener('click', () => this.copyAbc().catch(() => {}));
    ui.retry.addEventListener('click', () => this.#start());

    ui.progress = h('progress', { part: 'progress', hidden: true, 'aria-label': 'Download progress' });
    ui.status = h('p', { id: 'status', class: 'status', part: 'status', role: 'status', 'aria-live': 'polite' });
    ui.gpu = h('p', { id: 'webgpu-status', class: 'gpu full', part: 'gpu-status' }, 'Checking for WebGPU…');
    ui.error = h('p', { id: 'error', class: 'error', part: 'error', role: 'alert', hidden: true });
    ui.choices = h('div', { id: 'choices', class: 'choices', part: 'candidates', role: 'group', 'aria-label': 'Candidates', hidden: true });
    ui.roll = h('canvas', { id: 'roll', part: 'roll', role: 'img', 'aria-label': 'Piano roll of the melody' });
    // A click on a note sounds it (offsetX/Y: inside the canvas's border, as it draws).
    ui.roll.addEventListener('click', (e) => {
      const index = this.#roll.noteAt(e.offsetX, e.offsetY);
      const m = this.#melody;
      if (index < 0 || !m) return;
      const note = m.notes[index];
      this.#player.audition(note.pitch, (note.duration * 60) / m.tempo / 4, this.voice).catch((err) => this.#fail(new Error(`Could not play: ${err.message}`)));
      this.#emit('audition', { index, note });
    });
    // What to do with the melody on show: extend it, or make it anew from a bar on.
    ui.cont = button('continue', 'Continue', { disabled: true, title: 'Add bars to the melody (as many as Bars says)' });
    ui.fromBar = h('input', { id: 'from-bar', type: 'number', min: 1, max: 1, step: 1, value: 1, disabled: true, 'aria-label': 'Bar to regenerate from' });
    ui.regenerate = button('regenerate', 'Regenerate from bar', { disabled: true, title: 'Keep the bars before this one, make the rest anew' });
    ui.cont.addEventListener('click', () => this.continueMelody().catch(() => {}));
    ui.regenerate.addEventListener('click', () => this.regenerateFrom(Number(ui.fromBar.value)).catch(() => {}));
    const edit = h('div', { class: 'edit full', part: 'edit' }, ui.cont, ui.regenerate, ui.fromBar);

    // Your own start: keys, step length, rest/undo/clear, a MIDI file, a MIDI keyboard.
    ui.keys = h('div', { class: 'keys', part: 'keyboard', role: 'group', 'aria-label': 'Keyboard: click a key; or arrows and Enter; or the letters A to K (W E T Y U for the black keys)' });
    ui.stepLength = h('select', { id: 'step-length' });
    for (const [steps, label] of [[1, '16th'], [2, 'eighth'], [3, 'dotted eighth'], [4, 'quarter'], [6, 'dotted quarter'], [8, 'half'], [16, 'whole']]) {
      ui.stepLength.add(new Option(label, String(steps)));
    }
    ui.stepLength.value = '4';
    ui.rest = button('rest', 'Rest');
    ui.undo = button('undo', 'Undo', { disabled: true });
    ui.clearPrimer = button('clear-primer', 'Clear', { disabled: true });
    ui.primerFile = h('input', { id: 'primer-file', type: 'file', accept: '.mid,.midi,audio/midi,audio/x-midi' });
    ui.midiIn = button('midi-input', 'Use a MIDI keyboard', { hidden: !globalThis.navigator?.requestMIDIAccess });
    ui.primerNotes = h('p', { id: 'primer-notes', class: 'primer-notes', role: 'status', 'aria-live': 'polite' });
    ui.rest.addEventListener('click', () => this.#enterNote(null));
    ui.undo.addEventListener('click', () => this.#undoNote());
    ui.clearPrimer.addEventListener('click', () => this.clearPrimer());
    ui.primerFile.addEventListener('change', () => {
      const file = ui.primerFile.files?.[0];
      if (file) this.loadPrimerMidi(file).catch(() => {});
      ui.primerFile.value = '';
    });
    ui.midiIn.addEventListener('click', () => this.connectMidiInput().catch(() => {}));
    const primer = h(
      'details',
      { class: 'primer full', part: 'primer' },
      h('summary', {}, 'Your own start'),
      ui.keys,
      h(
        'div',
        { class: 'primer-tools' },
        h('label', {}, 'Note length', ui.stepLength),
        ui.rest,
        ui.undo,
        ui.clearPrimer,
        h('label', {}, 'Start from a MIDI file', ui.primerFile),
        ui.midiIn,
      ),
      ui.primerNotes,
    );

    // Playback switches, each an attribute (loop, metronome, count-in) that also works mid-play.
    ui.toggles = {};
    const toggle = (name, label, title) => {
      const box = h('input', { type: 'checkbox', id: name });
      box.addEventListener('change', () => this.toggleAttribute(name, box.checked));
      ui.toggles[name] = box;
      return h('label', { title }, box, label);
    };
    const toggles = h(
      'div',
      { class: 'toggles', part: 'toggles', role: 'group', 'aria-label': 'Playback' },
      toggle('loop', 'Loop', 'Start again after the last bar'),
      toggle('metronome', 'Metronome', 'A click on every beat'),
      toggle('count-in', 'Count-in', 'A bar of clicks before the melody'),
      toggle('endless', 'Endless', 'Keep making new bars while it plays, until stopped'),
    );
    ui.sheet = h('div', { id: 'sheet', class: 'sheet', part: 'sheet' });
    ui.sheetError = h('p', { class: 'status', hidden: true });
    ui.metrics = h('dl', { id: 'metrics', class: 'full', part: 'metrics', 'aria-label': "The melody's structure" });
    ui.notes = h('p', { id: 'notes', class: 'notes' });
    const details = h('details', { class: 'full', part: 'notes' }, h('summary', {}, 'Notes'), ui.notes);
    return [
      form,
      h('div', { class: 'actions', part: 'actions' }, ui.generate, ui.play, ui.download, ui.wav, ui.abc, ui.copyAbc, ui.retry),
      toggles,
      ui.progress,
      ui.status,
      ui.gpu,
      ui.error,
      ui.choices,
      edit,
      ui.roll,
      h('div', { class: 'full' }, ui.sheet, ui.sheetError),
      ui.metrics,
      details,
      primer,
    ];
  }

  /** One form control for a catalog control: its id is the request field, it sets the attribute. */
  #control(c) {
    const label = h('label', {}, c.label);
    let input;
    if (c.kind === 'choice') {
      input = h('select', { id: c.name, name: c.name });
      for (const o of c.options) input.add(new Option(o.label, o.value ?? ''));
      input.value = c.default ?? '';
    } else {
      const range = c.name === 'temperature' || c.name === 'theory';
      input = h('input', { id: c.name, name: c.name, type: range ? 'range' : 'number', min: c.min, max: c.max, step: c.step, required: true });
      input.value = String(c.default);
      if (range) {
        const output = h('output', { id: `${c.name}-value`, for: c.name });
        const show = () => (output.value = Number(input.value).toFixed(2));
        input.addEventListener('input', show);
        input.addEventListener('refresh', show);
        show();
        label.append(' ', output);
      }
    }
    input.addEventListener(c.kind === 'choice' ? 'change' : 'input', () => {
      if (c.kind === 'choice' && input.value === '') this.removeAttribute(c.attribute);
      else this.setAttribute(c.attribute, input.value);
    });
    this.#ui.inputs[c.name] = input;
    if (c.name === 'seed') {
      // An SVG die: an emoji shows as a missing-glyph box where no emoji font is installed.
      const dice = h('button', { type: 'button', id: 'dice', part: 'button dice', title: 'New random seed', 'aria-label': 'New random seed' }, die());
      dice.addEventListener('click', () => this.setAttribute(c.attribute, String(Math.floor(Math.random() * (c.max + 1)))));
      label.append(h('span', { class: 'seed' }, input, dice));
    } else label.append(input);
    return label;
  }
}

const camel = (name) => name.replace(/-([a-z])/g, (_, ch) => ch.toUpperCase());

// Properties mirroring the attributes: numbers as numbers, flags as booleans, unset as default.
for (const name of ATTRIBUTES) {
  const control = CONTROLS.find((c) => c.attribute === name);
  let get;
  let set;
  if (FLAGS.includes(name)) {
    get = function () {
      return this.hasAttribute(name);
    };
    set = function (v) {
      this.toggleAttribute(name, !!v);
    };
  } else {
    const fallback = control ? control.default : OWN[name];
    const numeric = control && control.kind !== 'choice';
    get = function () {
      const raw = this.getAttribute(name);
      if (raw === null || raw === '') return fallback;
      return numeric ? Number(raw) : raw;
    };
    set = function (v) {
      if (v === null || v === undefined || v === '') this.removeAttribute(name);
      else this.setAttribute(name, String(v));
    };
  }
  Object.defineProperty(TunesmithGenerator.prototype, camel(name), { get, set, configurable: true, enumerable: true });
}

// Defining twice (two copies of the script on one page) is harmless: the first wins.
if (!customElements.get('tunesmith-generator')) customElements.define('tunesmith-generator', TunesmithGenerator);

/** The page's one worker client (www/client.js), shared by every instance: started on first use. */
export const sharedClient = client;

// <tunesmith-generator>: the whole generator as one custom element, for tunesmith's own page and
// for any other site (README, "Embed it"). Its attributes are the core's controls (catalog.js,
// generated from crate/src/catalog.rs) plus its own (model, backend, controls, autoplay, loop);
// each is mirrored by a property (generator-settings.js). Every instance on a page shares one
// worker, one wasm module, one copy of each model and one GPU device (generator-hub.js); every
// asset resolves from the modules' own URL, never the page's. The shadow tree is built in
// generator-form.js and filled in by generator-view.js; playback is generator-playback.js, your
// own start generator-primer.js, endless play generator-endless.js.

import catalog from './catalog.js';
import { EndlessPlay } from './generator-endless.js';
import { buildTree, h } from './generator-form.js';
import { client, hub, styleSheet } from './generator-hub.js';
import { Playback } from './generator-playback.js';
import { PrimerEditor, midiBytes } from './generator-primer.js';
import { ATTRIBUTES, CONTROLS, defineProperties, keep, modelEntry, readRequest, regenerating, upgradeProperties } from './generator-settings.js';
import { View, describeKeyAndStyle, describeMelody } from './generator-view.js';
import { Keyboard } from './keyboard.js';
import { renderWav, unlockOnFirstGesture } from './synth.js';

export class TunesmithGenerator extends HTMLElement {
  static observedAttributes = ATTRIBUTES;
  /** The catalog the element is built from: models, controls with limits and defaults. */
  static catalog = catalog;

  #ui; // the shadow tree's parts (generator-form.js)
  #view; // what it shows (generator-view.js)
  #playback; // the player, the cursor, the Play button (generator-playback.js)
  #melody = null;
  #choices = []; // the last generation's candidates, best first
  #state = 'loading';
  #generating = null; // the generation in flight
  #started = false;
  #listening = null; // AbortController of the hub listeners while connected
  #resize = null;
  #cancel = null; // AbortController of the generation in flight
  #primer; // your own start (generator-primer.js)
  #keyboard;
  #endless; // endless play (generator-endless.js)

  constructor() {
    super();
    const root = this.attachShadow({ mode: 'open' });
    root.adoptedStyleSheets = [styleSheet()];
    const { ui, nodes } = buildTree(this, {
      togglePlay: () => (this.#playback.playing ? this.stop() : this.play().catch(() => {})),
      retry: () => this.#start(),
      audition: (x, y) => this.#audition(x, y),
      rest: () => this.#primer.enter(null),
      undo: () => this.#primer.undo(),
    });
    this.#ui = ui;
    root.append(...nodes);
    const view = (this.#view = new View(this, ui));
    this.#keyboard = new Keyboard(ui.keys);
    this.#keyboard.addEventListener('key', (e) => this.#primer.enter(e.detail.pitch));
    this.#primer = new PrimerEditor(ui, {
      fail: (error) => this.#fail(error),
      audition: (pitch, steps) => this.#playback.audition(pitch, steps, this.tempo).catch(() => {}),
    });
    this.#playback = new Playback(
      this,
      { ui, roll: view.roll, sheet: view.sheet },
      { started: () => this.endless && this.#endless.start(), stopped: () => this.#endless.stop() },
    );
    this.#endless = new EndlessPlay({
      player: this.#playback.player,
      melody: () => this.#melody,
      seed: () => this.seed,
      settings: () => ({ ...readRequest(this), backend: this.backend }),
      replace: (shown) => {
        this.#melody = shown;
        view.roll.set(shown);
      },
      written: (shown) => view.written(shown),
      status: (text) => view.status(text),
      emit: (type, detail) => this.#emit(type, detail),
      fail: (error) => this.#fail(error),
    });
    this.addEventListener('keydown', (e) => this.#shortcut(e));
  }

  // ---- Lifecycle ----

  connectedCallback() {
    upgradeProperties(this);
    // Focusable, so its keyboard shortcuts work once it has focus (README, "Embed it").
    if (!this.hasAttribute('tabindex')) this.setAttribute('tabindex', '0');
    unlockOnFirstGesture();
    this.#listening = new AbortController();
    const signal = this.#listening.signal;
    hub.events.addEventListener('progress', (e) => this.#onProgress(e.detail), { signal });
    hub.events.addEventListener('webgpu', () => this.#view.webGpu(), { signal });
    hub.events.addEventListener('backend', () => this.#view.auto(), { signal });
    hub.events.addEventListener('restart', (e) => this.#view.error(`The generator restarted: ${e.detail.message}`), { signal });
    matchMedia('(prefers-color-scheme: dark)').addEventListener('change', () => this.#view.roll.draw(), { signal });
    // The roll fits its width; the sheet is laid out anew when its width crosses 560 px.
    this.#resize = new ResizeObserver((entries) => this.#view.resized(entries));
    this.#resize.observe(this.#ui.roll);
    this.#resize.observe(this.#ui.sheet);
    this.#view.webGpu();
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
    this.#playback.setting(name, value); // tempo, voice, loop, metronome: at once, mid-play
    this.#view.reflect(name, value);
    if (name === 'endless' && this.#playback.playing) {
      if (value !== null) this.#endless.start();
      else this.#endless.stop();
    } else if (name === 'controls' && this.#melody) {
      this.#view.drawSheet(this.#melody);
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
    this.#view.error('');
    this.stop();
    this.#show(m);
    this.#view.status(describeMelody(m, this.#choices));
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
    return this.#playback.playing;
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
    return this.#begin(() => this.#primer.fields(this.meter, this.tonality));
  }

  /**
   * Continues the melody on show by `bars` more bars (the element's `bars` by default): its notes
   * stay as they are, in its meter and key.
   */
  continueMelody(bars = this.bars) {
    return this.#begin(() => {
      const m = this.#needMelody('continue');
      return { ...keep(m, m.notes, m.totalSteps / m.stepsPerBar), bars };
    }, true);
  }

  /**
   * Makes the melody on show anew from bar `bar` (1 is the first) to its end, with a new seed:
   * the bars before it stay exactly as they are.
   */
  regenerateFrom(bar) {
    return this.#begin(() => regenerating(this.#needMelody('regenerate'), bar), true);
  }

  /** The melody to build on, or a readable error. */
  #needMelody(what) {
    if (!this.#melody) throw new Error(`There is no melody to ${what} yet: generate one first.`);
    return this.#melody;
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

  // ---- Your own start (the primer; generator-primer.js) ----

  /** Your own start: the notes a Generate continues ({pitch, onset, duration}, 16th steps), or null. */
  get primer() {
    return this.#primer.notes;
  }

  /** Sets your own start (notes in 16th steps; step 0 is a downbeat), or clears it with null. */
  set primer(notes) {
    if (notes === null || notes === undefined) return this.clearPrimer();
    try {
      this.#primer.setNotes(notes);
    } catch (e) {
      throw this.#fail(e);
    }
  }

  /** Forgets your own start: Generate makes melodies from scratch again. */
  clearPrimer() {
    this.#primer.clear();
  }

  /**
   * Takes a MIDI file (a File, Blob, ArrayBuffer or bytes) as your own start: its melody line,
   * moved into the models' range, with its meter and bar phase read from the file or inferred
   * from its rhythm. Resolves to the notes.
   */
  async loadPrimerMidi(file) {
    try {
      const read = await client().readMidi(await midiBytes(file));
      this.#primer.setFile(read, file instanceof File ? file.name : null);
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

  // ---- Playing and saving ----

  /** Plays the melody (stopping any other instance's); resolves once it has started. */
  async play() {
    if (!this.#melody) throw this.#fail(new Error('There is no melody to play yet: generate one first.'));
    try {
      await this.#playback.play(this.#melody);
    } catch (e) {
      throw this.#fail(new Error(`Could not play: ${e.message}`));
    }
  }

  stop() {
    this.#playback.stop();
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
   * Space plays or stops, G generates, ← and → step the seed and generate: only with focus in the
   * element. Not while typing in a field, and not over a button's own Space.
   */
  #shortcut(e) {
    if (e.altKey || e.ctrlKey || e.metaKey || e.defaultPrevented) return;
    const target = e.composedPath()[0];
    if (target instanceof HTMLElement && (['INPUT', 'SELECT', 'TEXTAREA'].includes(target.tagName) || target.isContentEditable)) return;
    const ready = this.#state !== 'loading' && this.#state !== 'error';
    if (e.key === ' ' && target?.tagName !== 'BUTTON' && this.#melody) {
      e.preventDefault();
      if (this.#playback.playing) this.stop();
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
    this.#view.status('ABC notation copied.');
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
      this.#view.status(`A shared melody: ${m.totalSteps / m.stepsPerBar} bars, ${m.notes.length} notes${describeKeyAndStyle(m)}.`);
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
    this.#view.error(error.message);
    this.#emit('error', { message: error.message });
    return error;
  }

  #setState(state) {
    this.#state = state;
    this.setAttribute('state', state);
  }

  async #start() {
    this.#started = true;
    this.#ui.retry.hidden = true;
    this.#view.error('');
    this.#view.status('Loading the model…');
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
        this.#view.status('Ready.');
        this.#setState('ready');
      }
      this.#ui.generate.disabled = !!this.#generating;
      if (!performance.getEntriesByName('tunesmith:ready').length) performance.mark('tunesmith:ready');
      this.#emit('ready', { model: model ?? loaded });
      if (this.autoplay && !this.#melody) this.generate().catch(() => {});
    } catch (e) {
      this.#ui.progress.hidden = true;
      this.#view.status('');
      this.#ui.retry.hidden = false;
      this.#setState('error');
      this.#fail(new Error(`tunesmith could not start: ${e.message}`));
    }
  }

  #onProgress(p) {
    this.#emit('progress', p);
    const text = this.#view.progress(p);
    if (text !== null && (this.#state === 'loading' || this.#state === 'generating')) this.#view.status(text);
  }

  async #generate(fields) {
    this.#view.error('');
    let asked;
    try {
      asked = readRequest(this);
      Object.assign(asked.request, fields());
    } catch (e) {
      throw this.#fail(e);
    }
    this.#ui.generate.disabled = this.#ui.cont.disabled = this.#ui.regenerate.disabled = true;
    this.#setState('generating');
    this.#view.status('Generating…');
    const cancel = new AbortController();
    this.#cancel = cancel;
    try {
      const t0 = performance.now();
      const reply = client().generate(
        { model: asked.model, backend: this.backend, request: asked.request },
        {
          signal: cancel.signal,
          onProgress: ({ done, total }) => {
            this.#view.status(`Generating… ${done} of ${total} bars`);
            this.#emit('progress', { phase: 'generate', loaded: done, total });
          },
        },
      );
      // In a click, start the audio device while the worker generates, so Play starts at once
      // (outside a user gesture a browser would refuse, and warn).
      if (navigator.userActivation?.isActive) this.#playback.player.warmUp().catch(() => {});
      const { melodies } = await reply;
      this.stop();
      const ms = performance.now() - t0;
      this.#choices = melodies.map((m) => ({ ...m, ms, model: asked.model }));
      this.#buildChoices();
      this.#show(this.#choices[0]);
      this.#view.status(describeMelody(this.#melody, this.#choices));
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
      this.#view.status('');
      this.#setState('error');
      throw this.#fail(new Error(`Could not generate: ${e.message}`));
    } finally {
      if (this.#cancel === cancel) this.#cancel = null;
      this.#ui.generate.disabled = false;
      this.#ui.cont.disabled = this.#ui.regenerate.disabled = !this.#melody;
      this.#ui.progress.hidden = true;
    }
  }

  #buildChoices() {
    this.#view.choices(this.#choices, (i) => {
      this.choose(i);
      this.play().catch(() => {});
    });
  }

  #show(melody) {
    this.#melody = melody;
    this.#view.show(melody, this.#choices);
  }

  /** A click on the piano roll at (x, y): the note there sounds (the `audition` event). */
  #audition(x, y) {
    const index = this.#view.roll.noteAt(x, y);
    const m = this.#melody;
    if (index < 0 || !m) return;
    const note = m.notes[index];
    this.#playback.audition(note.pitch, note.duration, m.tempo).catch((err) => this.#fail(new Error(`Could not play: ${err.message}`)));
    this.#emit('audition', { index, note });
  }
}

defineProperties(TunesmithGenerator);

// Defining twice (two copies of the script on one page) is harmless: the first wins.
if (!customElements.get('tunesmith-generator')) customElements.define('tunesmith-generator', TunesmithGenerator);

/** The page's one worker client (www/client.js), shared by every instance: started on first use. */
export const sharedClient = client;

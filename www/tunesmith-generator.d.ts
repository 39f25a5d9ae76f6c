// Types of <tunesmith-generator> (tunesmith-generator.js). README, "Embed it", documents each.

/** A note in 16th-note steps: MIDI pitch, onset and duration. */
export interface Note {
  pitch: number;
  onset: number;
  duration: number;
}

/** How a setting of the melody was decided: as asked, drawn from the seed, or read from the primer. */
export type Origin = 'asked' | 'drawn' | 'estimated';

/** The melody on show (the `melody` property and event). */
export interface Melody {
  notes: Note[];
  /** e.g. "D dorian"; null when none was asked or found. */
  key: string | null;
  /** e.g. "6/8". */
  meter: string;
  /** Beats per minute. */
  tempo: number;
  stepsPerBar: number;
  totalSteps: number;
  /** Steps before the generated bars: a primer's, a continued melody's, or those Regenerate
   * from bar N kept (the piano roll shades them). */
  primerSteps: number;
  /** Structure figures (crate/src/theory/metrics.rs): notes, inMotif, inRepeatedMotif, … */
  metrics: Record<string, number>;
  /** The melody in a share link's compact form: `loadShared(share)` shows it anywhere. */
  share: string;
  /** The melody as ABC notation. */
  abc: string;
  /** The model that made it; null for a shared melody. */
  model: string | null;
  /** True for a melody opened from a share code (no model ran). */
  shared?: boolean;
  keyFrom?: Origin;
  style?: string | null;
  styleFrom?: Origin;
  meterFrom?: Origin;
  form?: string | null;
  formFrom?: Origin;
  seed?: number;
  temperature?: number;
  /** The theory strength it was made at (0: the data model; 1: tuned to the rules). */
  theory?: number;
  engine?: 'int8' | 'wgsl' | 'burn';
  backend?: 'cpu' | 'webgpu';
  /** Milliseconds from Generate to the melody. */
  ms?: number;
  /** Its place in the batch of candidates (0: the melody a single candidate would be). */
  candidate?: number;
  /** How it ranked: the model's mean log-likelihood a step (nats), its theory score (0–1), and
   * their sum with the theory weighted (crate/src/request.rs). */
  score?: { logLikelihood: number; theory: number; total: number };
}

export interface ProgressDetail {
  /** 'wasm' and 'model': bytes downloaded; 'generate': bars generated. */
  phase: 'wasm' | 'model' | 'generate';
  loaded: number;
  /** null while the size is unknown. */
  total: number | null;
}

export interface TunesmithGeneratorEventMap extends Omit<HTMLElementEventMap, 'error' | 'progress'> {
  ready: CustomEvent<{ model: string }>;
  progress: CustomEvent<ProgressDetail>;
  melody: CustomEvent<{ melody: Melody }>;
  start: CustomEvent<{ duration: number }>;
  /** `time`: its start on the audio clock; `lead`: seconds between scheduling and sounding;
   * `step`: steps from the melody's step 0 as playback began (endless play's dropped bars included). */
  note: CustomEvent<{ index: number; note: Note; time: number; lead: number; step: number }>;
  stop: CustomEvent<Record<string, never>>;
  /** A note of the piano roll was clicked and sounds. */
  audition: CustomEvent<{ index: number; note: Note }>;
  /** A metronome or count-in click sounds (`step`: melody steps, negative in a count-in). */
  beat: CustomEvent<{ step: number; downbeat: boolean; countIn: boolean; time: number }>;
  /** The staff notation is drawn: `notes` of the melody on the staff. */
  sheet: CustomEvent<{ notes: number }>;
  /** Endless play added a part: `bars` and `notes` now on show, `gaps`: parts that came late. */
  endless: CustomEvent<{ parts: number; bars: number; notes: number; gaps: number }>;
  error: CustomEvent<{ message: string }>;
}

export type State = 'loading' | 'ready' | 'generating' | 'done' | 'error';

export declare class TunesmithGenerator extends HTMLElement {
  static readonly observedAttributes: string[];
  /** The core's catalog: models, controls with their limits and defaults. */
  static readonly catalog: {
    models: { name: string; label: string; arch: string; weights: string; form: boolean }[];
    defaultModel: string;
    controls: { name: string; attribute: string; label: string; kind: 'integer' | 'number' | 'choice'; default: unknown; min?: number; max?: number; step?: number; options?: { value: string | null; label: string }[] }[];
    limits: Record<string, number>;
    [more: string]: unknown;
  };

  // Attributes, mirrored (unset: the default).
  /** "lstm" (default) or "transformer". */
  model: string;
  backend: 'auto' | 'cpu' | 'webgpu';
  /** The synthesized voice that plays (and renders WAV): soft (default), flute, reed, pluck. */
  voice: 'soft' | 'flute' | 'reed' | 'pluck';
  /** Which controls show: all (default), minimal (buttons, status, piano roll), none (piano roll). */
  controls: 'all' | 'minimal' | 'none';
  /** Generate once ready, and play each melody as it arrives (where the browser allows sound). */
  autoplay: boolean;
  /** Play the melody again and again, on its bar grid. */
  loop: boolean;
  /** A click on every beat while playing (can be switched during playback). */
  metronome: boolean;
  /** A bar of clicks (and the beats of a pickup) before the melody plays. */
  countIn: boolean;
  /** Keep making new bars ahead of the playhead until stopped (never loops). */
  endless: boolean;
  bars: number;
  tempo: number;
  meter: string;
  /** The key, e.g. "D dorian"; null: any. (`key` is React's and Vue's.) */
  tonality: string | null;
  /** "celtic" | "folk" | "chorale"; null: any. (`style` is HTML's.) */
  genre: string | null;
  /** e.g. "AABA"; null: automatic. */
  form: string | null;
  temperature: number;
  /** Theory strength 0–1: 0 the model trained on data alone, 1 the model tuned to the rules of
   * music theory (RL Tuner); only models with tuned weights take it (default 0.8). */
  theory: number;
  seed: number;
  /** Candidates made in one batched pass and ranked, best shown first (default 8). */
  candidates: number;

  readonly melody: Melody | null;
  /** The last generation's candidates, best first. */
  readonly candidateMelodies: Melody[];
  /** The melody as a standard MIDI file. */
  readonly midi: Uint8Array | null;
  readonly share: string | null;
  /** The melody as ABC notation. */
  readonly abc: string | null;
  readonly state: State;
  readonly playing: boolean;
  /** null until known, then true, or why WebGPU cannot be used here. */
  readonly webgpu: true | string | null;
  /** What "auto" picks for this model once measured. */
  readonly autoBackend: 'cpu' | 'webgpu' | null;

  generate(): Promise<Melody>;
  play(): Promise<void>;
  stop(): void;
  download(): void;
  /** Saves the melody as a WAV file, rendered offline with the voice that plays it. */
  downloadWav(): Promise<void>;
  /** Saves the melody as an ABC file; `copyAbc()` copies it to the clipboard. */
  downloadAbc(): void;
  copyAbc(): Promise<void>;
  loadShared(code: string): Promise<Melody>;
  /** Shows candidate `index` of the last generation (0 is the best). */
  choose(index: number): Melody;
  /** Your own start: notes a Generate continues (step 0 is a downbeat); null: none. */
  primer: Note[] | null;
  clearPrimer(): void;
  /** A MIDI file's melody line as your own start (its stated meter, else found from its rhythm). */
  loadPrimerMidi(file: Blob | ArrayBuffer | Uint8Array): Promise<Note[] | null>;
  /** Step entry from a MIDI keyboard (Web MIDI); resolves to the inputs' names. */
  connectMidiInput(): Promise<string[]>;
  /** Adds `bars` bars (default: the `bars` setting) to the melody on show, keeping it. */
  continueMelody(bars?: number): Promise<Melody>;
  /** Makes the melody on show anew from bar `bar` (1-based) on, keeping the bars before it. */
  regenerateFrom(bar: number): Promise<Melody>;

  addEventListener<K extends keyof TunesmithGeneratorEventMap>(
    type: K,
    listener: (this: TunesmithGenerator, ev: TunesmithGeneratorEventMap[K]) => unknown,
    options?: boolean | AddEventListenerOptions,
  ): void;
  addEventListener(type: string, listener: EventListenerOrEventListenerObject, options?: boolean | AddEventListenerOptions): void;
  removeEventListener<K extends keyof TunesmithGeneratorEventMap>(
    type: K,
    listener: (this: TunesmithGenerator, ev: TunesmithGeneratorEventMap[K]) => unknown,
    options?: boolean | EventListenerOptions,
  ): void;
  removeEventListener(type: string, listener: EventListenerOrEventListenerObject, options?: boolean | EventListenerOptions): void;
}

/** The page's one worker client (www/client.js; protocol.js documents its messages). */
export declare function sharedClient(): unknown;

declare global {
  interface HTMLElementTagNameMap {
    'tunesmith-generator': TunesmithGenerator;
  }
}

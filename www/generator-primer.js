// Your own start in <tunesmith-generator> (tunesmith-generator.js): the primer a Generate
// continues. Notes entered one after another (the on-screen keyboard, a MIDI keyboard, Rest,
// Undo), notes a page sets, or a MIDI file's melody line; what it says about itself; and the
// request fields that make a generation continue it.

import catalog from './catalog.js';
import { pitchName } from './keyboard.js';
import { barSteps } from './synth.js';

export class PrimerEditor {
  /** {notes, end (steps, trailing rests included), phase, from, key, meter}, or null. */
  #primer = null;
  #ui;
  #host;

  /**
   * `ui`: the shadow tree's parts (generator-form.js). `host`: fail(error) shows an error, and
   * audition(pitch, steps) sounds a note entered.
   */
  constructor(ui, host) {
    this.#ui = ui;
    this.#host = host;
    this.show();
  }

  /** The notes ({pitch, onset, duration}, 16th steps), a copy, or null. */
  get notes() {
    return this.#primer ? structuredClone(this.#primer.notes) : null;
  }

  /** Notes a page sets (step 0 is a downbeat); throws a TypeError on anything else. */
  setNotes(notes) {
    if (!Array.isArray(notes) || notes.some((n) => !n || ![n.pitch, n.onset, n.duration].every(Number.isInteger))) {
      throw new TypeError('A primer is an array of notes {pitch, onset, duration} in whole 16th steps.');
    }
    const copy = notes.map(({ pitch, onset, duration }) => ({ pitch, onset, duration }));
    this.set(copy, 'file', 'set by the page');
  }

  /** `file`: what a MIDI file states ({key, meter}, each null when it states none). */
  set(notes, phase, from, file = {}) {
    const end = notes.reduce((e, n) => Math.max(e, n.onset + n.duration), 0);
    this.#primer = notes.length || end ? { notes, end, phase, from, key: file.key ?? null, meter: file.meter ?? null } : null;
    this.show();
  }

  clear() {
    this.#primer = null;
    this.show();
  }

  /**
   * Takes a MIDI file's melody line (`read`: what the worker read of it, {notes, key, meter}) as
   * the start: its first maxPrimerSteps steps at most. `name`: the file's, when it has one.
   */
  setFile(read, name) {
    if (!read.notes.length) throw new Error('it has no notes');
    const limit = catalog.limits.maxPrimerSteps;
    const notes = read.notes.filter((n) => n.onset + n.duration <= limit);
    const what = name ? `“${name}”` : 'the MIDI file';
    this.set(notes, 'auto', notes.length < read.notes.length ? `${what} (its first ${limit / 4} beats)` : what, read);
  }

  /** Step entry: a note of the chosen length after the last (null: a rest), and it sounds. */
  enter(pitch) {
    const length = Number(this.#ui.stepLength.value);
    const p = this.#primer?.phase === 'file' ? this.#primer : { notes: [], end: 0, phase: 'file' };
    if (p.end + length > catalog.limits.maxPrimerSteps) {
      this.#host.fail(new Error(`Your start is full: at most ${catalog.limits.maxPrimerSteps / 16} bars of 4/4.`));
      return;
    }
    const notes = pitch === null ? p.notes : [...p.notes, { pitch, onset: p.end, duration: length }];
    this.#primer = { notes, end: p.end + length, phase: 'file', from: 'entered' };
    this.show();
    if (pitch !== null) this.#host.audition(pitch, length);
  }

  /** Takes back the last note or rest entered. */
  undo() {
    const p = this.#primer;
    if (!p) return;
    const last = p.notes.at(-1);
    // The last thing entered was a rest when the start runs on past its last note.
    const lastEnd = last ? last.onset + last.duration : 0;
    const notes = lastEnd === p.end ? p.notes.slice(0, -1) : p.notes;
    const end = lastEnd === p.end ? (last?.onset ?? 0) : lastEnd;
    this.#primer = notes.length || end ? { ...p, notes, end } : null;
    this.show();
  }

  show() {
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

  /**
   * The request fields that continue the start ({} without one). `meter`: the one chosen;
   * `tonality`: the key asked for, if any.
   */
  fields(meter, tonality) {
    const p = this.#primer;
    if (!p) return {};
    // Entered notes sit on the chosen meter from a downbeat; rests entered after them count.
    if (p.phase === 'file') return { primer: p.notes, primerBars: Math.ceil(p.end / barSteps(meter)), phase: 'file' };
    // A file's meter is the one it states (other than 4/4, which most files say whatever they
    // hold), else found with the bar phase from its rhythm; its key signature counts unless a
    // key is asked.
    return { primer: p.notes, primerBars: null, phase: 'auto', meter: p.meter, ...(p.key && !tonality ? { key: p.key } : {}) };
  }
}

/** The bytes of a MIDI file given as a File, Blob, ArrayBuffer or bytes. */
export async function midiBytes(file) {
  if (file instanceof Blob) return new Uint8Array(await file.arrayBuffer());
  if (ArrayBuffer.isView(file)) return new Uint8Array(file.buffer, file.byteOffset, file.byteLength);
  return new Uint8Array(file);
}

// What <tunesmith-generator> (tunesmith-generator.js) shows, in the parts of its shadow tree
// (generator-form.js): the melody on show (piano roll, staff notation, notes, figures), the
// status line's words, the candidates' strip, the download progress, what "automatic" and WebGPU
// mean here, and the attributes reflected in the form.

import { CONTROLS, FLAGS, OWN, modelEntry } from './generator-settings.js';
import { fitForm, h } from './generator-form.js';
import { hub } from './generator-hub.js';
import { PianoRoll } from './pianoroll.js';
import { Sheet } from './sheet.js';

const NOTE_NAMES = ['C', 'C#', 'D', 'Eb', 'E', 'F', 'F#', 'G', 'Ab', 'A', 'Bb', 'B'];

export const noteName = (p) => `${NOTE_NAMES[p % 12]}${Math.floor(p / 12) - 1}`;
const megabytes = (bytes) => (bytes / 1e6).toFixed(1);
const styleLabel = (name) => CONTROLS.find((c) => c.name === 'style')?.options.find((o) => o.value === name)?.label ?? name;

/**
 * " in 3/4 (estimated), D dorian (drawn), Celtic (drawn)": what the melody was made in, and which
 * of it "any" chose or the primer gave. The meter is named only when it was not the one asked for.
 */
export function describeKeyAndStyle({ key, keyFrom, style, styleFrom, meter, meterFrom }) {
  const how = (from) => (from && from !== 'asked' ? ` (${from})` : '');
  const parts = [];
  if (meter && meterFrom && meterFrom !== 'asked') parts.push(`${meter}${how(meterFrom)}`);
  if (key) parts.push(`${key}${how(keyFrom)}`);
  if (style) parts.push(`${styleLabel(style)}${how(styleFrom)}`);
  return parts.length ? ` in ${parts.join(', ')}` : '';
}

/** The status line for generated melody `m`: what it is, what made it, and its rank in `choices`. */
export function describeMelody(m, choices) {
  const label = modelEntry(m.model)?.label ?? m.model;
  const where = m.backend === 'webgpu' ? 'WebGPU' : 'the CPU';
  const form = m.form ? `, form ${m.form}${m.formFrom === 'asked' ? '' : ` (${m.formFrom})`}` : '';
  const theory = modelEntry(m.model)?.tuned ? `, theory ${m.theory}` : '';
  const n = choices.length;
  const rank = choices.indexOf(m);
  const of = n > 1 ? ` ${rank === 0 ? 'The best' : `Candidate ${rank + 1}`} of ${n}.` : '';
  return `${m.totalSteps / m.stepsPerBar} bars, ${m.notes.length} notes${describeKeyAndStyle(m)}${form}${theory} — the ${label} generated it on ${where} in ${Math.round(m.ms)} ms.${of}`;
}

/** A few of the melody's figures (crate/src/theory/metrics.rs), as shares of its notes, in `dl`. */
function showMetrics(dl, m) {
  const pct = (n, of) => (of ? `${Math.round((100 * n) / of)}%` : '–');
  const rows = [
    ['notes in a motif', pct(m.inMotif, m.notes)],
    ['notes in a repeated motif', pct(m.inRepeatedMotif, m.notes)],
    ['bars (16 steps) repeated', pct(m.repeatedChunks, m.chunks)],
    ['notes not in the key', pct(m.notInKey, m.notes)],
    ['leaps resolved', pct(m.leapsResolved, m.leaps)],
  ];
  dl.replaceChildren(...rows.flatMap(([name, value]) => [h('dt', {}, name), h('dd', {}, value)]));
}

/** The candidates' strip, best first, built once a generation (hidden for one); `pick(i)` on a click. */
function buildChoices(strip, choices, pick) {
  strip.hidden = choices.length < 2;
  strip.replaceChildren(
    h('span', { class: 'label' }, 'Candidates, best first:'),
    ...choices.map((m, i) => {
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
      b.addEventListener('click', () => pick(i));
      return b;
    }),
  );
}

/** Marks the candidate on show (the buttons stay, so keyboard focus stays on them). */
function markChoice(strip, choices, melody) {
  const buttons = strip.querySelectorAll('button');
  choices.forEach((m, i) => buttons[i]?.setAttribute('aria-pressed', String(m === melody)));
}

/** Download progress `p` on `bar`; returns the words for the status line (null once done). */
function showProgress(bar, p) {
  if (p.total && p.loaded >= p.total) {
    bar.hidden = true;
    return null;
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
  return text;
}

/** What the page knows of WebGPU: null (not yet), true, or the reason it cannot be used. */
function webGpuText(status) {
  return status === null ? 'Checking for WebGPU…' : status === true ? 'WebGPU is available.' : `WebGPU unavailable (${status}); using the CPU.`;
}

/** What 'automatic' means for a model (`r`: the worker's measurement of it; each model has its own). */
function autoText(webgpu, r) {
  const ms = (x) => `${Math.round(x)} ms`;
  if (webgpu !== null && webgpu !== true) return 'automatic (CPU: no WebGPU here)';
  if (!r) return 'automatic';
  if (r.error) return `automatic (CPU; WebGPU failed: ${r.error})`;
  if (r.estimatedFrom) {
    const seconds = Math.round(r.webgpuMs / 1000);
    return `automatic (CPU: ${ms(r.cpuMs)} vs WebGPU ~${seconds} s for 4 bars, estimated from ${r.estimatedFrom.join(' and ')} steps)`;
  }
  const name = r.backend === 'webgpu' ? 'WebGPU' : 'CPU';
  return `automatic (${name}: ${ms(Math.min(r.cpuMs, r.webgpuMs))} vs ${ms(Math.max(r.cpuMs, r.webgpuMs))} for 4 bars)`;
}

/** What depends on the melody's length: the roll's name, the bars Regenerate may start from. */
function showLength(ui, melody) {
  const bars = melody.totalSteps / melody.stepsPerBar;
  ui.roll.setAttribute('aria-label', `Piano roll of the melody: ${melody.notes.length} notes`);
  ui.fromBar.max = String(bars);
  if (Number(ui.fromBar.value) > bars) ui.fromBar.value = String(bars);
}

export class View {
  #el;

  /** `el`: the element (its settings, its `sheet` event); `ui`: its shadow tree's parts. */
  constructor(el, ui) {
    this.#el = el;
    this.ui = ui;
    this.roll = new PianoRoll(ui.roll);
    this.sheet = new Sheet(ui.sheet);
  }

  status(text) {
    this.ui.status.textContent = text;
  }

  error(message) {
    this.ui.error.textContent = message;
    this.ui.error.hidden = !message;
  }

  /** Puts `melody` on show, one of `choices` (the candidates' strip). */
  show(melody, choices) {
    const ui = this.ui;
    markChoice(ui.choices, choices, melody);
    this.roll.set(melody);
    this.drawSheet(melody);
    ui.notes.textContent = melody.notes.map((n) => noteName(n.pitch)).join(' ');
    showMetrics(ui.metrics, melody.metrics);
    ui.play.disabled = false;
    ui.download.disabled = false;
    ui.wav.disabled = false;
    ui.abc.disabled = false;
    ui.copyAbc.disabled = false;
    ui.cont.disabled = false;
    ui.regenerate.disabled = ui.fromBar.disabled = false;
    showLength(ui, melody);
  }

  /** Endless play's melody once its MIDI, ABC and figures are written (the roll has its notes). */
  written(melody) {
    this.ui.notes.textContent = melody.notes.map((n) => noteName(n.pitch)).join(' ');
    showMetrics(this.ui.metrics, melody.metrics);
    this.drawSheet(melody);
    showLength(this.ui, melody);
  }

  /**
   * The staff notation, where the full controls show it (abcjs loads with the first melody on
   * show, never before). The element's `sheet` event says when it is drawn.
   */
  drawSheet(melody) {
    const { sheet, ui } = this;
    if (this.#el.controls !== 'all') return sheet.clear();
    ui.sheetError.hidden = true;
    sheet.show(melody).then(
      () => sheet.shown === melody && this.#el.dispatchEvent(new CustomEvent('sheet', { detail: { notes: sheet.heads.length } })),
      (e) => {
        ui.sheetError.textContent = `The staff notation could not be drawn (${e.message}); the piano roll and ABC export still work.`;
        ui.sheetError.hidden = false;
      },
    );
  }

  /** The shadow tree changed size (ResizeObserver `entries`): the roll fits its width again, and
   * the sheet is laid out anew when its width crossed 560 px (sheet.js). */
  resized(entries) {
    if (entries.some((e) => e.target === this.ui.roll)) this.roll.draw();
    if (this.sheet.stale) this.drawSheet(this.sheet.shown);
  }

  /** The candidates' strip for `choices`; `pick(i)` on a click. */
  choices(choices, pick) {
    buildChoices(this.ui.choices, choices, pick);
  }

  /** Download progress `p`; returns the words for the status line (null once done). */
  progress(p) {
    return showProgress(this.ui.progress, p);
  }

  /** What the page knows of WebGPU, and what "automatic" means for the selected model. */
  webGpu() {
    this.ui.gpu.textContent = webGpuText(hub.webgpu);
    this.auto();
  }

  /** Says what 'automatic' means for the selected model: each model is measured on its own. */
  auto() {
    this.ui.inputs.backend.querySelector('option[value="auto"]').textContent = autoText(hub.webgpu, hub.auto.get(this.#el.model));
  }

  /** Attribute `name` is now `value` (null: removed): the form shows it. */
  reflect(name, value) {
    const ui = this.ui;
    const control = CONTROLS.find((c) => c.attribute === name);
    if (control) {
      const input = ui.inputs[control.name];
      const shown = value ?? (control.default === null ? '' : String(control.default));
      if (input.tagName === 'SELECT' && ![...input.options].some((o) => o.value === shown)) input.add(new Option(shown, shown));
      if (input.value !== shown) {
        input.value = shown;
        input.dispatchEvent(new Event('refresh'));
      }
    } else if (name === 'model' || name === 'backend' || name === 'voice') {
      const select = ui.inputs[name];
      const shown = value ?? OWN[name];
      if (![...select.options].some((o) => o.value === shown)) select.add(new Option(shown, shown));
      select.value = shown;
      if (name === 'model') {
        fitForm(ui, this.#el.model);
        this.auto();
      }
    } else if (FLAGS.includes(name)) {
      const toggle = ui.toggles[name];
      if (toggle) toggle.checked = value !== null;
    }
  }
}

// The shadow tree of <tunesmith-generator> (tunesmith-generator.js), built from the catalog: the
// settings form (one input per control, each setting its attribute), the actions, the playback
// switches, the status lines, the piano roll and sheet, and your own start's tools. Public
// methods are called on the element itself; what only the element can do comes in `actions`.

import catalog from './catalog.js';
import { CONTROLS, OWN, modelEntry } from './generator-settings.js';
import { VOICES } from './synth.js';

/** An element: `h('button', {id: 'play', part: 'button play'}, 'Play')`. */
export function h(tag, attributes = {}, ...children) {
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

/** Controls that model `name` cannot take are disabled, and say why. */
export function fitForm(ui, name) {
  const model = modelEntry(name);
  for (const c of CONTROLS.filter((x) => x.needsForm)) {
    const input = ui.inputs[c.name];
    input.disabled = !!model && !model.form;
    input.title = input.disabled ? `The ${model.label} has no form input; it shapes its melodies itself.` : '';
  }
  for (const c of CONTROLS.filter((x) => x.needsTuned)) {
    const input = ui.inputs[c.name];
    input.disabled = !!model && !model.tuned;
    input.title = input.disabled
      ? `The ${model.label} has no theory-tuned weights.`
      : '0: the model trained on data alone; 1: tuned to the rules of music theory.';
  }
}

/**
 * The shadow tree of `el`: settings, actions, progress, status, piano roll, metrics, notes, your
 * own start. Returns `{ui, nodes}`: the parts the element updates, and the tree's top nodes.
 * `actions`: togglePlay(), retry(), audition(x, y) (a click on the roll), rest(), undo().
 */
export function buildTree(el, actions) {
  const ui = { inputs: {} };
  const form = h('form', { class: 'full', part: 'controls', 'aria-label': 'Generation settings' });
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    el.generate().catch(() => {});
  });
  const select = (name, label, choices, value) => {
    const s = h('select', { id: name, name });
    for (const o of choices) s.add(new Option(o.label, o.value ?? ''));
    s.value = value ?? '';
    s.addEventListener('change', () => el.setAttribute(name, s.value));
    ui.inputs[name] = s;
    return h('label', {}, label, s);
  };
  form.append(select('model', 'Model', catalog.models.map((m) => ({ value: m.name, label: m.label })), OWN.model));
  for (const c of CONTROLS) form.append(control(el, ui, c));
  form.append(select('backend', 'Backend', catalog.backends, OWN.backend));
  form.append(select('voice', 'Voice', Object.entries(VOICES).map(([value, v]) => ({ value, label: v.label })), OWN.voice));
  fitForm(ui, el.model);

  const button = (id, text, extra = {}) => h('button', { id, type: 'button', part: `button ${id}`, ...extra }, text);
  ui.generate = button('generate', 'Generate', { disabled: true });
  ui.play = button('play', 'Play', { disabled: true, 'aria-pressed': 'false' });
  ui.download = button('download', 'Download MIDI', { disabled: true });
  ui.wav = button('download-wav', 'Download WAV', { disabled: true });
  ui.abc = button('download-abc', 'Download ABC', { disabled: true });
  ui.copyAbc = button('copy-abc', 'Copy ABC', { disabled: true });
  ui.retry = button('retry', 'Retry', { hidden: true });
  ui.generate.addEventListener('click', () => el.generate().catch(() => {}));
  ui.play.addEventListener('click', () => actions.togglePlay());
  ui.download.addEventListener('click', () => el.download());
  ui.wav.addEventListener('click', () => el.downloadWav().catch(() => {}));
  ui.abc.addEventListener('click', () => el.downloadAbc());
  ui.copyAbc.addEventListener('click', () => el.copyAbc().catch(() => {}));
  ui.retry.addEventListener('click', () => actions.retry());

  ui.progress = h('progress', { part: 'progress', hidden: true, 'aria-label': 'Download progress' });
  ui.status = h('p', { id: 'status', class: 'status', part: 'status', role: 'status', 'aria-live': 'polite' });
  ui.gpu = h('p', { id: 'webgpu-status', class: 'gpu full', part: 'gpu-status' }, 'Checking for WebGPU…');
  ui.error = h('p', { id: 'error', class: 'error', part: 'error', role: 'alert', hidden: true });
  ui.choices = h('div', { id: 'choices', class: 'choices', part: 'candidates', role: 'group', 'aria-label': 'Candidates', hidden: true });
  ui.roll = h('canvas', { id: 'roll', part: 'roll', role: 'img', 'aria-label': 'Piano roll of the melody' });
  // A click on a note sounds it (offsetX/Y: inside the canvas's border, as it draws).
  ui.roll.addEventListener('click', (e) => actions.audition(e.offsetX, e.offsetY));
  // What to do with the melody on show: extend it, or make it anew from a bar on.
  ui.cont = button('continue', 'Continue', { disabled: true, title: 'Add bars to the melody (as many as Bars says)' });
  ui.fromBar = h('input', { id: 'from-bar', type: 'number', min: 1, max: 1, step: 1, value: 1, disabled: true, 'aria-label': 'Bar to regenerate from' });
  ui.regenerate = button('regenerate', 'Regenerate from bar', { disabled: true, title: 'Keep the bars before this one, make the rest anew' });
  ui.cont.addEventListener('click', () => el.continueMelody().catch(() => {}));
  ui.regenerate.addEventListener('click', () => el.regenerateFrom(Number(ui.fromBar.value)).catch(() => {}));
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
  ui.rest.addEventListener('click', () => actions.rest());
  ui.undo.addEventListener('click', () => actions.undo());
  ui.clearPrimer.addEventListener('click', () => el.clearPrimer());
  ui.primerFile.addEventListener('change', () => {
    const file = ui.primerFile.files?.[0];
    if (file) el.loadPrimerMidi(file).catch(() => {});
    ui.primerFile.value = '';
  });
  ui.midiIn.addEventListener('click', () => el.connectMidiInput().catch(() => {}));
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
    box.addEventListener('change', () => el.toggleAttribute(name, box.checked));
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
  const nodes = [
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
  return { ui, nodes };
}

/** One form control for a catalog control: its id is the request field, it sets the attribute. */
function control(el, ui, c) {
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
    if (c.kind === 'choice' && input.value === '') el.removeAttribute(c.attribute);
    else el.setAttribute(c.attribute, input.value);
  });
  ui.inputs[c.name] = input;
  if (c.name === 'seed') {
    // An SVG die: an emoji shows as a missing-glyph box where no emoji font is installed.
    const dice = h('button', { type: 'button', id: 'dice', part: 'button dice', title: 'New random seed', 'aria-label': 'New random seed' }, die());
    dice.addEventListener('click', () => el.setAttribute(c.attribute, String(Math.floor(Math.random() * (c.max + 1)))));
    label.append(h('span', { class: 'seed' }, input, dice));
  } else label.append(input);
  return label;
}

// The page: settings in, a melody out, heard, seen and downloadable. The model runs in a worker
// (client.js); the form is built from the core's catalog, so its controls, limits and defaults
// are the core's own. This file only wires them.

import { TunesmithClient } from './client.js';
import { MelodyPlayer } from './synth.js';
import { PianoRoll } from './pianoroll.js';

const $ = (id) => document.getElementById(id);
const NAMES = ['C', 'C#', 'D', 'Eb', 'E', 'F', 'F#', 'G', 'Ab', 'A', 'Bb', 'B'];

const client = TunesmithClient.shared(new URL('./worker.js', import.meta.url), { wasm: window.tunesmithWasm });
const roll = new PianoRoll($('roll'));
const events = new EventTarget();
const player = new MelodyPlayer(events);
let catalog = null;
let melody = null;
let busy = false;
let noWebGpu = false;
const autoResults = new Map(); // model → the worker's last 'backend' message for it

/** One form control for a catalog control (`catalog.controls`): its element id is its name. */
function control(c) {
  const label = document.createElement('label');
  label.append(c.label);
  let input;
  if (c.kind === 'choice') {
    input = document.createElement('select');
    for (const o of c.options) input.add(new Option(o.label, o.value ?? ''));
    input.value = c.default ?? '';
  } else if (c.name === 'temperature') {
    const output = document.createElement('output');
    output.id = `${c.name}-value`;
    output.htmlFor = c.name;
    label.append(' ', output);
    input = document.createElement('input');
    input.type = 'range';
    input.addEventListener('input', () => (output.value = Number(input.value).toFixed(2)));
  } else {
    input = document.createElement('input');
    input.type = 'number';
    input.required = true;
  }
  input.id = input.name = c.name;
  if (c.kind !== 'choice') {
    Object.assign(input, { min: c.min, max: c.max, step: c.step, value: c.default });
    input.dispatchEvent(new Event('input'));
  }
  if (c.name === 'seed') {
    const row = document.createElement('span');
    row.className = 'seed';
    const dice = document.createElement('button');
    Object.assign(dice, { type: 'button', id: 'dice', title: 'New random seed', textContent: '🎲' });
    dice.setAttribute('aria-label', 'New random seed');
    dice.addEventListener('click', () => (input.value = Math.floor(Math.random() * (c.max + 1))));
    row.append(input, dice);
    label.append(row);
  } else {
    label.append(input);
  }
  return label;
}

/** The model and backend selects, then every control of the catalog. */
function buildForm(c, model) {
  const select = (id, label, choices, value) => {
    const l = document.createElement('label');
    const s = document.createElement('select');
    s.id = s.name = id;
    for (const o of choices) s.add(new Option(o.label, o.value));
    s.value = value;
    l.append(label, s);
    return l;
  };
  const form = $('controls');
  form.replaceChildren(
    select('model', 'Model', c.models.map((m) => ({ value: m.name, label: m.label })), model),
    ...c.controls.map(control),
    select('backend', 'Backend', c.backends, 'auto'),
  );
  $('model').addEventListener('change', () => {
    showAuto();
    fitForm();
  });
  fitForm();
}

/** Controls that the selected model cannot take are disabled, and say why. */
function fitForm() {
  const model = catalog.models.find((m) => m.name === $('model').value);
  for (const c of catalog.controls.filter((x) => x.needsForm)) {
    const input = $(c.name);
    input.disabled = !model.form;
    input.title = model.form ? '' : `The ${model.label} has no form input; it shapes its melodies itself.`;
    if (!model.form) input.value = '';
  }
}

/** WebGPU's status, once the worker knows it. */
function onWebGpu({ status }) {
  document.body.dataset.webgpu = status === true ? 'yes' : 'no';
  if (status !== true) {
    noWebGpu = true;
    showAuto();
  }
  $('webgpu-status').textContent = status === true ? 'WebGPU is available.' : `WebGPU unavailable (${status}); using the CPU.`;
}

/** The worker timed a model on both backends, or gave up on WebGPU for it. */
function onBackend(message) {
  autoResults.set(message.model, message);
  showAuto();
}

/** Says what 'automatic' means for the selected model: each model is measured on its own. */
function showAuto() {
  const auto = $('backend')?.querySelector('option[value="auto"]');
  if (!auto) return;
  const r = autoResults.get($('model').value);
  const ms = (x) => `${Math.round(x)} ms`;
  if (noWebGpu) auto.textContent = 'automatic (CPU: no WebGPU here)';
  else if (!r) auto.textContent = 'automatic';
  else if (r.error) auto.textContent = `automatic (CPU; WebGPU failed: ${r.error})`;
  else if (r.estimatedFrom) {
    const seconds = Math.round(r.webgpuMs / 1000);
    auto.textContent = `automatic (CPU: ${ms(r.cpuMs)} vs WebGPU ~${seconds} s for 4 bars, estimated from ${r.estimatedFrom.join(' and ')} steps)`;
  } else {
    const name = r.backend === 'webgpu' ? 'WebGPU' : 'CPU';
    auto.textContent = `automatic (${name}: ${ms(Math.min(r.cpuMs, r.webgpuMs))} vs ${ms(Math.max(r.cpuMs, r.webgpuMs))} for 4 bars)`;
  }
  const backend = noWebGpu ? 'cpu' : r?.backend;
  if (backend) document.body.dataset.auto = backend;
  else delete document.body.dataset.auto;
}

function showError(message) {
  $('error').textContent = message;
  $('error').hidden = !message;
}

function setStatus(text) {
  $('status').textContent = text;
}

/** Reads and checks the form against the catalog; throws with a message a person can act on. */
function readRequest() {
  const request = {};
  for (const c of catalog.controls) {
    const el = $(c.name);
    if (c.kind === 'choice') {
      request[c.name] = el.value === '' ? null : el.value;
      continue;
    }
    const v = Number(el.value);
    const integer = c.kind === 'integer';
    if (el.value.trim() === '' || !Number.isFinite(v) || v < c.min || v > c.max || (integer && !Number.isInteger(v))) {
      throw new Error(`${c.label} must be ${integer ? 'a whole number ' : ''}from ${c.min} to ${c.max}.`);
    }
    request[c.name] = v;
  }
  return request;
}

const noteName = (p) => `${NAMES[p % 12]}${Math.floor(p / 12) - 1}`;
const styleLabel = (name) => catalog.controls.find((c) => c.name === 'style')?.options.find((o) => o.value === name)?.label ?? name;

/** " in D dorian (drawn), Celtic (drawn)": what the melody was made in, and which of it "any" chose. */
function describeKeyAndStyle({ key, keyFrom, style, styleFrom }) {
  const how = (from) => (from === 'asked' ? '' : ` (${from})`);
  const parts = [];
  if (key) parts.push(`${key}${how(keyFrom)}`);
  if (style) parts.push(`${styleLabel(style)}${how(styleFrom)}`);
  return parts.length ? ` in ${parts.join(', ')}` : '';
}

/** A few of the melody's figures (crate/src/theory/metrics.rs), as shares of its notes. */
function showMetrics(m) {
  const pct = (n, of) => (of ? `${Math.round((100 * n) / of)}%` : '–');
  const rows = [
    ['notes in a motif', pct(m.inMotif, m.notes)],
    ['notes in a repeated motif', pct(m.inRepeatedMotif, m.notes)],
    ['bars (16 steps) repeated', pct(m.repeatedChunks, m.chunks)],
    ['notes not in the key', pct(m.notInKey, m.notes)],
    ['leaps resolved', pct(m.leapsResolved, m.leaps)],
  ];
  $('metrics').replaceChildren(
    ...rows.flatMap(([name, value]) => {
      const dt = document.createElement('dt');
      const dd = document.createElement('dd');
      dt.textContent = name;
      dd.textContent = value;
      return [dt, dd];
    }),
  );
}

function show(result, model) {
  melody = { ...result, model };
  window.tunesmith.melody = melody;
  roll.set(melody);
  const bars = melody.totalSteps / melody.stepsPerBar;
  const where = melody.backend === 'webgpu' ? 'WebGPU' : 'the CPU';
  const label = catalog.models.find((m) => m.name === model)?.label ?? model;
  const form = melody.form ? `, form ${melody.form}${melody.formFrom === 'asked' ? '' : ` (${melody.formFrom})`}` : '';
  setStatus(`${bars} bars, ${melody.notes.length} notes${describeKeyAndStyle(melody)}${form} — the ${label} generated it on ${where} in ${Math.round(melody.ms)} ms.`);
  document.body.dataset.backend = melody.backend;
  $('notes').textContent = melody.notes.map((n) => noteName(n.pitch)).join(' ');
  showMetrics(melody.metrics);
  $('play').disabled = false;
  $('download').disabled = false;
}

async function onGenerate() {
  if (busy || !catalog) return;
  showError('');
  let request;
  try {
    request = readRequest();
  } catch (e) {
    showError(e.message);
    return;
  }
  busy = true;
  $('generate').disabled = true;
  document.body.dataset.state = 'generating';
  setStatus('Generating…');
  try {
    const model = $('model').value;
    const t0 = performance.now();
    const reply = client.generate(
      { model, backend: $('backend').value, request },
      { onProgress: ({ done, total }) => setStatus(`Generating… ${done} of ${total} bars`) },
    );
    // The click is a user gesture: start the audio device while the worker generates, so
    // Play starts at once.
    player.warmUp().catch(() => {});
    const { melodies } = await reply;
    player.stop();
    show({ ...melodies[0], ms: performance.now() - t0 }, model);
    document.body.dataset.state = 'done';
    // For measuring time to first melody (navigation → melody on the page) in the field.
    if (!performance.getEntriesByName('tunesmith:first-melody').length) performance.mark('tunesmith:first-melody');
  } catch (e) {
    showError(`Could not generate: ${e.message}`);
    setStatus('');
    document.body.dataset.state = 'error';
  } finally {
    busy = false;
    $('generate').disabled = false;
  }
}

async function onPlay() {
  if (player.playing) {
    player.stop();
    return;
  }
  try {
    await player.start(melody);
  } catch (e) {
    showError(`Could not play: ${e.message}`);
  }
}

function onDownload() {
  const blob = new Blob([melody.midi], { type: 'audio/midi' });
  const a = document.createElement('a');
  a.href = URL.createObjectURL(blob);
  a.download = `tunesmith-${melody.model}-seed${melody.seed}.mid`;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(a.href), 10_000);
}

events.addEventListener('start', () => {
  $('play').textContent = 'Stop';
  $('play').setAttribute('aria-pressed', 'true');
  const tick = () => {
    if (!player.playing) return;
    const secondsPerStep = 60 / melody.tempo / 4;
    roll.mark(roll.active, player.position / secondsPerStep);
    requestAnimationFrame(tick);
  };
  requestAnimationFrame(tick);
});
events.addEventListener('note', (e) => (roll.active = e.detail.index));
events.addEventListener('stop', () => {
  $('play').textContent = 'Play';
  $('play').setAttribute('aria-pressed', 'false');
  roll.mark(-1, -1);
});

client.on('webgpu', onWebGpu);
client.on('backend', onBackend);
client.on('restart', ({ message }) => showError(`The generator restarted: ${message}`));
$('generate').addEventListener('click', onGenerate);
$('play').addEventListener('click', onPlay);
$('download').addEventListener('click', onDownload);
$('controls').addEventListener('submit', (e) => {
  e.preventDefault();
  onGenerate();
});
addEventListener('resize', () => roll.draw());

// A read-only handle for people poking at the page from the console (and for the tests).
window.tunesmith = { melody: null, player, events, client };

/** Starts the generator; a failed start says why and offers Retry. */
function start() {
  $('retry').hidden = true;
  showError('');
  setStatus('Loading the model…');
  document.body.dataset.state = 'loading';
  client
    .ready(new URLSearchParams(location.search).get('model') ?? undefined)
    .then(({ catalog: c, model }) => {
      const first = !catalog;
      catalog = c;
      if (first) buildForm(c, model);
      performance.mark('tunesmith:ready');
      setStatus('Ready.');
      document.body.dataset.state = 'ready';
      $('generate').disabled = false;
    })
    .catch((e) => {
      showError(`tunesmith could not start: ${e.message}`);
      setStatus('');
      $('retry').hidden = false;
      document.body.dataset.state = 'error';
    });
}

$('retry').addEventListener('click', start);
start();

// The page: settings in, a melody out, heard, seen and downloadable. The model runs in a worker
// (client.js); this file only wires the controls.

import { TunesmithClient } from './client.js';
import { MelodyPlayer } from './synth.js';
import { PianoRoll } from './pianoroll.js';

const $ = (id) => document.getElementById(id);
const NAMES = ['C', 'C#', 'D', 'Eb', 'E', 'F', 'F#', 'G', 'Ab', 'A', 'Bb', 'B'];
const KEYS = ['C major', 'G major', 'D major', 'A major', 'E major', 'F major', 'Bb major', 'Eb major',
  'A minor', 'E minor', 'B minor', 'D minor', 'G minor', 'C minor', 'D dorian', 'A dorian', 'E dorian',
  'G mixolydian', 'D mixolydian', 'A mixolydian'];

const client = new TunesmithClient(new URL('./worker.js', import.meta.url), {
  model: $('model').value,
  wasm: window.tunesmithWasm,
  onWebGpu,
  onBackend,
});
const roll = new PianoRoll($('roll'));
const events = new EventTarget();
const player = new MelodyPlayer(events);
let melody = null;
let busy = false;

for (const k of KEYS) $('key').add(new Option(k, k));
$('temperature').addEventListener('input', () => ($('temperature-value').value = Number($('temperature').value).toFixed(2)));
$('dice').addEventListener('click', () => ($('seed').value = Math.floor(Math.random() * 2 ** 32)));

let noWebGpu = false;
const autoResults = new Map(); // model → the worker's last 'backend' message for it

/** WebGPU's status, once the worker knows it (it may come before or after 'ready'). */
function onWebGpu(status) {
  document.body.dataset.webgpu = status === true ? 'yes' : 'no';
  if (status !== true) {
    noWebGpu = true;
    showAuto();
  }
  const note = status === true ? 'WebGPU is available.' : `WebGPU unavailable (${status}); using the CPU.`;
  $('webgpu-status').textContent = note;
}

/** The worker timed a model on both backends, or gave up on WebGPU for it. */
function onBackend(message) {
  autoResults.set(message.model, message);
  showAuto();
}

/** Says what 'automatic' means for the selected model: each model is measured on its own. */
function showAuto() {
  const auto = $('backend').querySelector('option[value="auto"]');
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

/** Reads and checks the form; throws with a message a person can act on. */
function readOptions() {
  const num = (id, label, lo, hi, integer = true) => {
    const v = Number($(id).value);
    if ($(id).value.trim() === '' || !Number.isFinite(v) || v < lo || v > hi || (integer && !Number.isInteger(v))) {
      throw new Error(`${label} must be ${integer ? 'a whole number ' : ''}from ${lo} to ${hi}.`);
    }
    return v;
  };
  return {
    bars: num('bars', 'Bars', 1, 64),
    bpm: num('bpm', 'Tempo', 20, 400, false),
    temperature: num('temperature', 'Temperature', 0, 2, false),
    seed: num('seed', 'Seed', 0, 2 ** 32 - 1),
    meter: $('meter').value,
    key: $('key').value,
    style: $('style').value,
  };
}

const noteName = (p) => `${NAMES[p % 12]}${Math.floor(p / 12) - 1}`;

/** " in D dorian (drawn), Celtic (drawn)": what the melody was made in, and which of it "any" chose. */
function describeKeyAndStyle({ key, keyFrom, style, styleFrom }) {
  const how = (from) => (from === 'asked' ? '' : ` (${from})`);
  const parts = [];
  if (key) parts.push(`${key}${how(keyFrom)}`);
  if (style) parts.push(`${$('style').querySelector(`option[value="${style}"]`)?.textContent ?? style}${how(styleFrom)}`);
  return parts.length ? ` in ${parts.join(', ')}` : '';
}

function show(result) {
  melody = result;
  window.tunesmith.melody = result;
  roll.set(result);
  const bars = result.totalSteps / result.stepsPerBar;
  const where = result.backend === 'webgpu' ? 'WebGPU' : 'the CPU';
  const model = result.model === 'lstm' ? 'LSTM' : 'Transformer';
  setStatus(`${bars} bars, ${result.notes.length} notes${describeKeyAndStyle(result)} — the ${model} generated it on ${where} in ${Math.round(result.ms)} ms.`);
  document.body.dataset.backend = result.backend;
  $('notes').textContent = result.notes.map((n) => noteName(n.pitch)).join(' ');
  $('play').disabled = false;
  $('download').disabled = false;
}

async function onGenerate() {
  if (busy) return;
  showError('');
  let options;
  try {
    options = readOptions();
  } catch (e) {
    showError(e.message);
    return;
  }
  busy = true;
  $('generate').disabled = true;
  document.body.dataset.state = 'generating';
  setStatus('Generating…');
  try {
    const request = client.generate({ model: $('model').value, backend: $('backend').value, options });
    // The click is a user gesture: start the audio device while the worker generates (after
    // the request is on its way: creating the device takes tens of milliseconds), so Play
    // starts at once.
    player.warmUp().catch(() => {});
    const result = await request;
    player.stop();
    show(result);
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
    const secondsPerStep = 60 / melody.bpm / 4;
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

$('generate').addEventListener('click', onGenerate);
$('model').addEventListener('change', showAuto);
$('play').addEventListener('click', onPlay);
$('download').addEventListener('click', onDownload);
$('controls').addEventListener('submit', (e) => {
  e.preventDefault();
  onGenerate();
});
addEventListener('resize', () => roll.draw());

// A read-only handle for people poking at the page from the console (and for the tests).
window.tunesmith = { melody: null, player, events };

client
  .ready()
  .then(() => {
    performance.mark('tunesmith:ready');
    setStatus('Ready.');
    document.body.dataset.state = 'ready';
    $('generate').disabled = false;
  })
  .catch((e) => {
    showError(`tunesmith could not start: ${e.message}`);
    document.body.dataset.state = 'error';
  });

// A small WebAudio voice and a look-ahead player for one melody.
//
// Notes are scheduled on the audio clock (not on timers) a little ahead of time, so playback
// stays steady when the main thread is busy; each note has its own envelope so nothing clicks.

/** Notes are scheduled this far ahead on the audio clock: a main thread busy for 300 ms still
 * leaves 200 ms (endless play keeps the page busy with new bars); a tempo or voice change takes
 * over from the notes after it. */
export const LOOKAHEAD_S = 0.5;
const TICK_MS = 40;
const START_DELAY_S = 0.03; // time for the first notes to be scheduled: well under 100 ms.
const STOP_FADE_S = 0.015;

let sharedContext = null;

/** One AudioContext per page: browsers limit how many can run. */
export function audioContext() {
  if (!sharedContext) {
    const Ctx = globalThis.AudioContext || globalThis.webkitAudioContext;
    if (!Ctx) throw new Error('This browser has no Web Audio support, so it cannot play melodies.');
    // iOS mutes Web Audio with the ring/silent switch unless the page's audio session says it
    // plays media (Safari 16.4+); elsewhere there is no audioSession and nothing to do.
    if (globalThis.navigator?.audioSession) navigator.audioSession.type = 'playback';
    sharedContext = new Ctx({ latencyHint: 'interactive' });
  }
  return sharedContext;
}

/**
 * Starts the audio device on the page's first gesture (a tap or a key anywhere), so a Play that
 * comes later, even from a script, is heard: iOS and Chrome only start audio inside a gesture.
 */
export function unlockOnFirstGesture() {
  if (unlockOnFirstGesture.armed) return;
  unlockOnFirstGesture.armed = true;
  const unlock = () => {
    for (const type of ['pointerdown', 'keydown']) removeEventListener(type, unlock, true);
    try {
      const ctx = audioContext();
      if (ctx.state !== 'running') ctx.resume().catch(() => {});
    } catch {
      /* no Web Audio: Play says so */
    }
  };
  for (const type of ['pointerdown', 'keydown']) addEventListener(type, unlock, true);
}

/** The voice's shared output: a gain into a gentle compressor (the same live and rendered). */
function masterChain(ctx) {
  const comp = ctx.createDynamicsCompressor();
  comp.threshold.value = -18;
  comp.connect(ctx.destination);
  const out = ctx.createGain();
  out.gain.value = 0.8;
  out.connect(comp);
  return out;
}

/** The VOICES entry `name`, or a readable error. */
export function timbreOf(name) {
  const t = VOICES[name];
  if (!t) throw new Error(`Unknown voice "${name}": the voices are ${Object.keys(VOICES).join(', ')}.`);
  return t;
}

const firstOnset = (melody) => (melody.notes.length ? melody.notes[0].onset : 0);
const lastEnd = (melody) => melody.notes.reduce((end, n) => Math.max(end, n.onset + n.duration), 0);

/**
 * The melody as a WAV file (16-bit mono PCM, `sampleRate`), rendered offline with the voice that
 * plays it, from its first note to its last note's release.
 */
export async function renderWav(melody, { voice: name = DEFAULT_VOICE, sampleRate = 44100 } = {}) {
  const timbre = timbreOf(name);
  const Offline = globalThis.OfflineAudioContext || globalThis.webkitOfflineAudioContext;
  if (!Offline) throw new Error('This browser cannot render audio offline.');
  const secondsPerStep = 60 / melody.tempo / 4;
  const lead = firstOnset(melody);
  const seconds = (lastEnd(melody) - lead) * secondsPerStep + 0.3;
  const ctx = new Offline(1, Math.max(1, Math.ceil(seconds * sampleRate)), sampleRate);
  const out = masterChain(ctx);
  for (const n of melody.notes) {
    voice(ctx, out, n.pitch, (n.onset - lead) * secondsPerStep, (n.onset + n.duration - lead) * secondsPerStep, timbre);
  }
  return encodeWav(await ctx.startRendering());
}

/** An AudioBuffer's first channel as a 16-bit PCM WAV file. */
export function encodeWav(buffer) {
  const samples = buffer.getChannelData(0);
  const bytes = new DataView(new ArrayBuffer(44 + 2 * samples.length));
  const text = (at, s) => [...s].forEach((c, i) => bytes.setUint8(at + i, c.charCodeAt(0)));
  text(0, 'RIFF');
  bytes.setUint32(4, 36 + 2 * samples.length, true);
  text(8, 'WAVE');
  text(12, 'fmt ');
  bytes.setUint32(16, 16, true); // the format chunk's size
  bytes.setUint16(20, 1, true); // PCM
  bytes.setUint16(22, 1, true); // mono
  bytes.setUint32(24, buffer.sampleRate, true);
  bytes.setUint32(28, 2 * buffer.sampleRate, true); // bytes a second
  bytes.setUint16(32, 2, true); // bytes a frame
  bytes.setUint16(34, 16, true); // bits a sample
  text(36, 'data');
  bytes.setUint32(40, 2 * samples.length, true);
  samples.forEach((x, i) => bytes.setInt16(44 + 2 * i, Math.max(-1, Math.min(1, x)) * 0x7fff, true));
  return new Uint8Array(bytes.buffer);
}

const midiToHz = (m) => 440 * 2 ** ((m - 69) / 12);

/**
 * The synthesized voices, by name: a main oscillator, a quieter one an octave (or a twelfth) up,
 * a low-pass at a multiple of the pitch, and an envelope. No samples: nothing to download.
 */
export const VOICES = Object.freeze({
  soft: { label: 'Soft (triangle)', wave: 'triangle', partial: 2, blend: 0.12, bright: 6, attack: 0.012, decay: 0.08, peak: 0.32, sustain: 0.22, release: 0.09 },
  flute: { label: 'Flute (sine)', wave: 'sine', partial: 2, blend: 0.06, bright: 4, attack: 0.04, decay: 0.15, peak: 0.34, sustain: 0.3, release: 0.12 },
  reed: { label: 'Reed (square)', wave: 'square', partial: 3, blend: 0.08, bright: 3, attack: 0.02, decay: 0.1, peak: 0.16, sustain: 0.12, release: 0.08 },
  pluck: { label: 'Pluck (sawtooth)', wave: 'sawtooth', partial: 2, blend: 0.1, bright: 8, attack: 0.004, decay: 0.25, peak: 0.22, sustain: 0.02, release: 0.1 },
});
export const DEFAULT_VOICE = 'soft';

/**
 * Plays one note in `timbre` (a VOICES entry), with an attack/decay/sustain envelope and an
 * exponential release. Returns the nodes to stop early.
 */
function voice(ctx, out, pitch, start, end, timbre = VOICES[DEFAULT_VOICE]) {
  const f = midiToHz(pitch);
  const gain = ctx.createGain();
  const filter = ctx.createBiquadFilter();
  filter.type = 'lowpass';
  filter.frequency.value = Math.min(8000, f * timbre.bright);
  filter.Q.value = 0.5;
  const osc = ctx.createOscillator();
  osc.type = timbre.wave;
  osc.frequency.value = f;
  const shimmer = ctx.createOscillator();
  shimmer.type = 'sine';
  shimmer.frequency.value = f * timbre.partial;
  const shimmerGain = ctx.createGain();
  shimmerGain.gain.value = timbre.blend;

  osc.connect(filter);
  shimmer.connect(shimmerGain).connect(filter);
  filter.connect(gain).connect(out);

  const { attack, release, peak, sustain, decay } = timbre;
  // Short notes still get their attack; the release always starts at the written end.
  const releaseAt = Math.max(start + attack, end - 0.01);
  const g = gain.gain;
  g.setValueAtTime(0, start);
  g.linearRampToValueAtTime(peak, start + attack);
  g.setTargetAtTime(sustain, start + attack, decay);
  // Anchor the release at the value the decay curve has reached, so it starts without a step.
  const reached = sustain + (peak - sustain) * Math.exp(-(releaseAt - start - attack) / decay);
  g.setValueAtTime(reached, releaseAt);
  g.setTargetAtTime(0, releaseAt, release / 4);
  const stopAt = releaseAt + release * 1.5;
  for (const o of [osc, shimmer]) {
    o.start(start);
    o.stop(stopAt);
  }
  return { gain, oscs: [osc, shimmer], stopAt };
}

/** A metronome click: short, higher on the downbeat. */
function click(ctx, out, time, downbeat) {
  const osc = ctx.createOscillator();
  osc.type = 'triangle';
  osc.frequency.value = downbeat ? 1760 : 1320;
  const gain = ctx.createGain();
  const g = gain.gain;
  g.setValueAtTime(0, time);
  g.linearRampToValueAtTime(downbeat ? 0.5 : 0.3, time + 0.002);
  g.exponentialRampToValueAtTime(0.001, time + 0.05);
  osc.connect(gain).connect(out);
  osc.start(time);
  osc.stop(time + 0.06);
  return { gain, oscs: [osc], stopAt: time + 0.06 };
}

/** A meter's numerator and denominator ("6/8" → [6, 8]); 4/4 for anything else. */
function meterParts(meter) {
  const [n, d] = String(meter).split('/').map(Number);
  return n > 0 && d > 0 ? [n, d] : [4, 4];
}

/** 16th steps a bar of `meter` ("6/8") holds. */
export function barSteps(meter) {
  const [n, d] = meterParts(meter);
  return (16 * n) / d;
}

/**
 * Steps a beat of meter `meter` ("6/8"): the denominator's note, or a dotted quarter in compound
 * meters (6/8, 9/8, 12/8), as musicians count them.
 */
export function beatSteps(meter) {
  const [n, d] = meterParts(meter);
  const unit = 16 / d;
  return d === 8 && n % 3 === 0 && n > 3 ? 3 * unit : unit;
}

/**
 * Plays a melody ({notes:[{pitch,onset,duration}], tempo, totalSteps}) from its first note: a
 * melody that opens with rests (most do: pickups) would otherwise keep Play silent for a second
 * or two. Steps map to the audio clock through an anchor (a step and the time it sounds) and the
 * seconds a step, so the tempo can change while it plays: notes already scheduled (at most
 * LOOKAHEAD_S ahead) keep their time, the rest follow the new tempo, with no restart.
 * With `metronome`, a click on every beat; with `countIn`, a bar of clicks (and the beats of a
 * pickup) before the first note. Events on `target` (an EventTarget): `start`, `note` as each note
 * sounds (detail: {index, note, time, lead, step}), `beat` as each click sounds (detail: {step,
 * downbeat, countIn, time}), `stop`. A `step` counts from the melody's step 0 as it started,
 * bars that shift() dropped included.
 */
export class MelodyPlayer {
  constructor(target) {
    this.target = target;
    this.playing = false;
    this.voices = new Set();
    this.timer = null;
    this.token = 0; // each stop() or start() ends the starts before it
    this.noteTimers = new Set();
    this.metronome = false; // settable while playing, like loop
    this.shifted = 0; // steps dropped from the front by shift(): a note's step since the start is onset + shifted
    this.hold = false; // endless play: at the last note, wait for extend() rather than stop
    this.gaps = 0; // times extend() came too late to follow on in time (endless play)
    this.drops = []; // what each shift() dropped, the last few: {at (steps shifted by then), dropped (notes)}
  }

  /**
   * Starts the audio device ahead of Play (call it from an earlier user gesture, such as the
   * Generate click): starting the device can take longer than the 100 ms Play is allowed.
   */
  warmUp() {
    const ctx = audioContext();
    this.ctx = ctx;
    this.output();
    return ctx.state === 'running' ? Promise.resolve() : ctx.resume();
  }

  output() {
    if (!this.out) this.out = masterChain(this.ctx);
    return this.out;
  }

  /** The audio-clock time of melody step `step` (counted across loops). */
  timeOf(step) {
    return this.anchorTime + (step - this.anchorStep) * this.secondsPerStep;
  }

  /**
   * Plays `melody`. With `loop` (also settable while playing), the melody starts again after
   * its last bar, on the bar grid: its opening rests are skipped only the first time.
   */
  async start(melody, { loop = false, voice: name = DEFAULT_VOICE, metronome = false, countIn = false } = {}) {
    this.stop();
    this.timbre = timbreOf(name);
    const ctx = audioContext();
    this.ctx = ctx;
    const token = this.token;
    // Must follow a user gesture (iOS, Chrome autoplay policy): resume inside the click handler.
    // Without one, resume() waits for the page's first gesture; a stop() or another start()
    // meanwhile cancels this start.
    if (ctx.state !== 'running') await ctx.resume();
    if (token !== this.token) return;
    this.output();
    this.notes = melody.notes;
    this.end = lastEnd(melody);
    this.length = Math.max(this.end, melody.totalSteps ?? 0); // steps a loop
    this.loop = loop;
    this.cycle = 0;
    this.next = 0;
    this.secondsPerStep = 60 / melody.tempo / 4;
    this.metronome = metronome;
    this.beat = beatSteps(melody.meter);
    const bar = melody.stepsPerBar || 16;
    this.first = firstOnset(melody);
    // A count-in starts a bar before the bar of the first note: its beats lead into the pickup.
    this.anchorStep = countIn ? Math.floor(this.first / bar) * bar - bar : this.first;
    this.anchorTime = ctx.currentTime + START_DELAY_S;
    this.bar = bar;
    this.nextBeat = Math.ceil(this.anchorStep / this.beat) * this.beat;
    this.duration = (this.end - this.anchorStep) * this.secondsPerStep;
    this.shifted = 0;
    this.drops = [];
    this.horizon = null;
    this.gaps = 0;
    this.playing = true;
    this.target.dispatchEvent(new CustomEvent('start', { detail: { duration: this.duration } }));
    this.pump();
    this.timer = setInterval(() => this.pump(), TICK_MS);
  }

  /** Sounds one note now, apart from any melody playing (a click on the piano roll). */
  async audition(pitch, seconds, name = DEFAULT_VOICE) {
    const ctx = audioContext();
    this.ctx = ctx;
    if (ctx.state !== 'running') await ctx.resume();
    const start = ctx.currentTime + 0.01;
    voice(ctx, this.output(), pitch, start, start + Math.min(Math.max(seconds, 0.1), 2), timbreOf(name));
  }

  /** Changes the voice from the next note on (notes already scheduled keep theirs). */
  setVoice(name) {
    this.timbre = timbreOf(name);
  }

  /** Changes the tempo from now on, without a restart (also before Play: the next start sets it). */
  setTempo(bpm) {
    if (!(bpm > 0) || !this.playing) return;
    const now = this.ctx.currentTime;
    // What is scheduled keeps its time; the new tempo runs from the last of it, so nothing
    // still to come can land before something already scheduled.
    const h = this.horizon;
    if (h && h.time > now) {
      this.anchorStep = h.step;
      this.anchorTime = h.time;
    } else {
      this.anchorStep += (now - this.anchorTime) / this.secondsPerStep;
      this.anchorTime = now;
    }
    this.secondsPerStep = 60 / bpm / 4;
  }

  /**
   * Keeps scheduled voice `v` (at melody step `step`, audio time `time`) until it ends or a stop
   * fades it, notes it as the latest scheduled for a tempo change to run on from, and calls
   * `sounded` when it sounds.
   */
  sound(v, step, time, now, sounded) {
    if (!this.horizon || step > this.horizon.step) this.horizon = { step, time };
    this.voices.add(v);
    v.oscs[0].onended = () => this.voices.delete(v);
    const timer = setTimeout(() => {
      this.noteTimers.delete(timer);
      sounded();
    }, Math.max(0, (time - now) * 1000));
    this.noteTimers.add(timer);
  }

  /** Steps since the melody's step 0 on the audio clock now (across loops; negative in a count-in). */
  get position() {
    return this.playing ? this.anchorStep + (this.ctx.currentTime - this.anchorTime) / this.secondsPerStep : -1;
  }

  /** Steps into the melody (rests before the first note included; within the loop), or -1 when stopped. */
  get step() {
    if (!this.playing) return -1;
    const s = this.anchorStep + (this.ctx.currentTime - this.anchorTime) / this.secondsPerStep;
    return this.length > 0 && s >= this.length ? s % this.length : s;
  }

  /** Clicks due within the look-ahead: the count-in's, then (with the metronome) every beat. */
  pumpBeats(now) {
    for (;;) {
      const step = this.nextBeat;
      const time = this.timeOf(step);
      if (time >= now + LOOKAHEAD_S) break;
      const countIn = step < this.first;
      // Beats run while notes do: to the last note's end, or on and on in a loop.
      const within = this.loop || step < this.cycle * this.length + this.end;
      if (!countIn && !(this.metronome && within)) break;
      this.nextBeat += this.beat;
      const downbeat = (((step % this.bar) + this.bar) % this.bar) === 0;
      const shifted = this.shifted;
      this.sound(click(this.ctx, this.out, time, downbeat), step, time, now, () =>
        this.target.dispatchEvent(new CustomEvent('beat', { detail: { step: step + shifted, downbeat, countIn, time } })),
      );
    }
    // Switched on mid-way: from the next beat to come, not the ones that passed.
    const due = this.anchorStep + (now - this.anchorTime) / this.secondsPerStep;
    if (this.nextBeat < due) this.nextBeat = Math.ceil(due / this.beat) * this.beat;
  }

  pump() {
    if (!this.playing) return;
    const now = this.ctx.currentTime;
    this.pumpBeats(now);
    for (;;) {
      if (this.next >= this.notes.length) {
        if (!this.loop || !this.notes.length || this.length <= 0) break;
        this.cycle += 1;
        this.next = 0;
      }
      const base = this.cycle * this.length;
      const n = this.notes[this.next];
      const time = this.timeOf(base + n.onset);
      if (time >= now + LOOKAHEAD_S) break;
      const index = this.next;
      this.next += 1;
      const v = voice(this.ctx, this.out, n.pitch, time, this.timeOf(base + n.onset + n.duration), this.timbre);
      // 'note' when it sounds (notes are scheduled up to LOOKAHEAD_S early), for a highlight
      // or a cursor; `time` is its start on the audio clock, `lead` how long before it the
      // note was scheduled, `step` its step since the start (beyond shifts).
      const lead = time - now;
      const step = base + n.onset + this.shifted;
      const shifted = this.shifted;
      this.sound(v, base + n.onset, time, now, () => {
        // Its index now: a shift() meanwhile moved it to the front.
        const at = index - this.dropped(shifted);
        this.target.dispatchEvent(new CustomEvent('note', { detail: { index: at, note: n, time, lead, step } }));
      });
    }
    if (!this.loop && !this.hold && this.next >= this.notes.length && now > this.timeOf(this.cycle * this.length + this.end) + 0.2) this.stop();
  }

  /**
   * Adds `notes` (steps of the melody playing, after its last note) and makes it `totalSteps`
   * long: endless play feeds the bars it generates ahead of the playhead this way.
   */
  extend(notes, totalSteps) {
    if (!this.playing) return;
    // Too late to follow on in time (the notes would pile up at once): they start a moment from
    // now instead, after a gap, counted.
    const from = this.length;
    const now = this.ctx.currentTime;
    if (this.timeOf(from) < now + START_DELAY_S) {
      this.anchorStep = from;
      this.anchorTime = now + START_DELAY_S;
      this.nextBeat = Math.ceil(from / this.beat) * this.beat;
      this.gaps += 1;
    }
    this.notes = [...this.notes, ...notes];
    this.end = lastEnd({ notes: this.notes });
    this.length = Math.max(this.end, totalSteps);
  }

  /**
   * Drops `steps` (whole bars, long played) from the front: the melody's steps now count from
   * there, so memory stays flat however long it plays. Its timing does not change.
   */
  shift(steps) {
    if (!this.playing || steps <= 0) return;
    const keep = this.notes.findIndex((n) => n.onset >= steps);
    const dropped = keep < 0 ? this.notes.length : keep;
    this.notes = this.notes.slice(dropped).map((n) => ({ ...n, onset: n.onset - steps }));
    this.next = Math.max(0, this.next - dropped);
    this.drops = [...this.drops, { at: this.shifted + steps, dropped }].slice(-8);
    this.shifted += steps;
    this.anchorStep -= steps;
    if (this.horizon) this.horizon = { ...this.horizon, step: this.horizon.step - steps };
    this.nextBeat -= steps;
    this.first -= steps;
    this.end -= steps;
    this.length -= steps;
  }

  /** Notes dropped by the shifts made after `shifted` steps had been dropped. */
  dropped(shifted) {
    return this.drops.filter((d) => d.at > shifted).reduce((sum, d) => sum + d.dropped, 0);
  }

  stop() {
    this.token += 1;
    for (const t of this.noteTimers) clearTimeout(t);
    this.noteTimers.clear();
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    if (!this.playing) return;
    this.playing = false;
    const now = this.ctx.currentTime;
    for (const v of this.voices) {
      // A short fade from wherever the envelope is, instead of a hard stop: no click. Cancelling
      // alone would drop an attack ramp in progress back to its starting value (a step);
      // cancelAndHoldAtTime keeps the value the ramp has reached (Firefox lacks it: there, the
      // value the gain had at the last render quantum, a few ms old at most).
      const g = v.gain.gain;
      if (g.cancelAndHoldAtTime) g.cancelAndHoldAtTime(now);
      else {
        g.cancelScheduledValues(now);
        g.setValueAtTime(g.value, now);
      }
      g.linearRampToValueAtTime(0, now + STOP_FADE_S);
      for (const o of v.oscs) {
        try {
          o.stop(now + STOP_FADE_S + 0.01);
        } catch {
          /* already stopped */
        }
      }
    }
    this.voices.clear();
    this.target.dispatchEvent(new CustomEvent('stop'));
  }
}

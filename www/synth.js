// A small WebAudio voice and a look-ahead player for one melody.
//
// Notes are scheduled on the audio clock (not on timers) a little ahead of time, so playback
// stays steady when the main thread is busy; each note has its own envelope so nothing clicks.

const LOOKAHEAD_S = 0.25;
const TICK_MS = 40;
const START_DELAY_S = 0.03; // time for the first notes to be scheduled: well under 100 ms.
const STOP_FADE_S = 0.015;

let sharedContext = null;

/** One AudioContext per page: browsers limit how many can run. */
export function audioContext() {
  if (!sharedContext) {
    const Ctx = globalThis.AudioContext || globalThis.webkitAudioContext;
    if (!Ctx) throw new Error('This browser has no Web Audio support, so it cannot play melodies.');
    sharedContext = new Ctx({ latencyHint: 'interactive' });
  }
  return sharedContext;
}

const midiToHz = (m) => 440 * 2 ** ((m - 69) / 12);

/**
 * Plays one note: a triangle plus a quiet sine an octave up through a gentle low-pass, with an
 * attack/decay/sustain envelope and an exponential release. Returns the nodes to stop early.
 */
function voice(ctx, out, pitch, start, end) {
  const f = midiToHz(pitch);
  const gain = ctx.createGain();
  const filter = ctx.createBiquadFilter();
  filter.type = 'lowpass';
  filter.frequency.value = Math.min(8000, f * 6);
  filter.Q.value = 0.5;
  const osc = ctx.createOscillator();
  osc.type = 'triangle';
  osc.frequency.value = f;
  const shimmer = ctx.createOscillator();
  shimmer.type = 'sine';
  shimmer.frequency.value = f * 2;
  const shimmerGain = ctx.createGain();
  shimmerGain.gain.value = 0.12;

  osc.connect(filter);
  shimmer.connect(shimmerGain).connect(filter);
  filter.connect(gain).connect(out);

  const attack = 0.012;
  const release = 0.09;
  const peak = 0.32;
  const sustain = 0.22;
  // Short notes still get their attack; the release always starts at the written end.
  const releaseAt = Math.max(start + attack, end - 0.01);
  const decay = 0.08;
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

/**
 * Plays a melody ({notes:[{pitch,onset,duration}], tempo}) from its first note: a melody that
 * opens with rests (most do: pickups) would otherwise keep Play silent for a second or two.
 * Events on `target` (an EventTarget): `start`, `note` as each note sounds (detail: {index,
 * note, time}), `stop`.
 */
export class MelodyPlayer {
  constructor(target) {
    this.target = target;
    this.playing = false;
    this.voices = new Set();
    this.timer = null;
    this.token = 0; // each stop() or start() ends the starts before it
    this.noteTimers = new Set();
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
    const ctx = this.ctx;
    if (!this.out) {
      const comp = ctx.createDynamicsCompressor();
      comp.threshold.value = -18;
      comp.connect(ctx.destination);
      this.out = ctx.createGain();
      this.out.gain.value = 0.8;
      this.out.connect(comp);
    }
    return this.out;
  }

  /**
   * Plays `melody`. With `loop` (also settable while playing), the melody starts again after
   * its last bar, on the bar grid: its opening rests are skipped only the first time.
   */
  async start(melody, { loop = false } = {}) {
    this.stop();
    const ctx = audioContext();
    this.ctx = ctx;
    const token = this.token;
    // Must follow a user gesture (iOS, Chrome autoplay policy): resume inside the click handler.
    // Without one, resume() waits for the page's first gesture; a stop() or another start()
    // meanwhile cancels this start.
    if (ctx.state !== 'running') await ctx.resume();
    if (token !== this.token) return;
    this.output();
    const secondsPerStep = 60 / melody.tempo / 4;
    this.events = melody.notes.map((n, index) => ({
      index,
      note: n,
      start: n.onset * secondsPerStep,
      end: (n.onset + n.duration) * secondsPerStep,
    }));
    this.duration = this.events.length ? this.events[this.events.length - 1].end : 0;
    this.length = Math.max(this.duration, (melody.totalSteps ?? 0) * secondsPerStep);
    this.loop = loop;
    this.cycle = 0;
    this.next = 0;
    const lead = this.events.length ? this.events[0].start : 0;
    this.t0 = ctx.currentTime + START_DELAY_S - lead; // the melody's time 0 on the audio clock
    this.playing = true;
    this.target.dispatchEvent(new CustomEvent('start', { detail: { duration: this.duration } }));
    this.pump();
    this.timer = setInterval(() => this.pump(), TICK_MS);
  }

  /** Seconds into the melody (its own clock, rests before the first note included), or -1 when stopped. */
  get position() {
    if (!this.playing) return -1;
    const t = this.ctx.currentTime - this.t0;
    return this.length > 0 && t > this.length ? t % this.length : t;
  }

  pump() {
    if (!this.playing) return;
    const now = this.ctx.currentTime;
    for (;;) {
      if (this.next >= this.events.length) {
        if (!this.loop || !this.events.length || this.length <= 0) break;
        this.cycle += 1;
        this.next = 0;
      }
      const base = this.t0 + this.cycle * this.length;
      const e = this.events[this.next];
      if (base + e.start >= now + LOOKAHEAD_S) break;
      this.next += 1;
      const time = base + e.start;
      const v = voice(this.ctx, this.out, e.note.pitch, time, base + e.end);
      this.voices.add(v);
      v.oscs[0].onended = () => this.voices.delete(v);
      // 'note' when it sounds (notes are scheduled up to LOOKAHEAD_S early), for a highlight
      // or a cursor; `time` is its start on the audio clock.
      const timer = setTimeout(() => {
        this.noteTimers.delete(timer);
        this.target.dispatchEvent(new CustomEvent('note', { detail: { index: e.index, note: e.note, time } }));
      }, Math.max(0, (time - this.ctx.currentTime) * 1000));
      this.noteTimers.add(timer);
    }
    const end = this.t0 + this.cycle * this.length + this.duration;
    if (!this.loop && this.next >= this.events.length && now > end + 0.2) this.stop();
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

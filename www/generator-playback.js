// Playback in <tunesmith-generator> (tunesmith-generator.js): the melody player (synth.js), one
// melody sounding at a time on the page, the cursor that follows it on the piano roll and the
// sheet, the Play button's state, the playback settings that change mid-play, and single notes
// sounded (a click on the roll, a key of your own start). Its events become the element's.

import { hub } from './generator-hub.js';
import { CONTROLS, OWN } from './generator-settings.js';
import { MelodyPlayer, VOICES } from './synth.js';

export class Playback {
  #inner = new EventTarget(); // the player's events, before they become the element's
  player = new MelodyPlayer(this.#inner);
  #el;
  #parts;
  #hooks;

  /**
   * `el`: the element (its settings and events). `parts`: {ui, roll, sheet}. `hooks`: started()
   * and stopped(), after the element's `start` and before its `stop` event are sent.
   */
  constructor(el, parts, hooks) {
    this.#el = el;
    this.#parts = parts;
    this.#hooks = hooks;
    this.#inner.addEventListener('start', () => this.#onStart());
    this.#inner.addEventListener('note', (e) => {
      parts.roll.active = e.detail.index;
      parts.sheet.mark(e.detail.index);
      this.#emit('note', e.detail);
    });
    this.#inner.addEventListener('beat', (e) => this.#emit('beat', e.detail));
    this.#inner.addEventListener('stop', () => this.#onStop());
  }

  get playing() {
    return this.player.playing;
  }

  /** Plays `melody` (stopping any other instance's); resolves once it has started. */
  async play(melody) {
    const el = this.#el;
    // One melody sounds at a time: the last one asked for. Stopping the other also cancels a
    // start of it still waiting for the audio device.
    const previous = hub.current;
    hub.current = el;
    if (previous && previous !== el) previous.stop();
    // Endless play never loops: it goes on with new bars instead.
    const loop = el.loop && !el.endless;
    await this.player.start(melody, { loop, voice: el.voice, metronome: el.metronome, countIn: el.countIn });
  }

  stop() {
    this.player.stop();
  }

  /** Sounds one note, `steps` 16ths long at `tempo`, in the element's voice. */
  audition(pitch, steps, tempo) {
    return this.player.audition(pitch, (steps * 60) / tempo / 4, this.#el.voice);
  }

  /** A playback attribute changed (`value`: null when removed): it takes effect mid-play. */
  setting(name, value) {
    const player = this.player;
    // A new tempo takes effect at once on the melody playing, without a restart.
    if (name === 'tempo' && player.playing && value !== null) {
      const { min, max } = CONTROLS.find((c) => c.attribute === 'tempo');
      const bpm = Number(value);
      if (bpm >= min && bpm <= max) player.setTempo(bpm);
    }
    // A new voice takes over from the next note of the melody playing.
    if (name === 'voice' && player.playing && VOICES[value ?? OWN.voice]) player.setVoice(value ?? OWN.voice);
    // Endless play never loops: it goes on with new bars instead.
    if (name === 'loop' || name === 'endless') player.loop = this.#el.loop && !this.#el.endless;
    if (name === 'metronome') player.metronome = value !== null;
  }

  #emit(type, detail) {
    this.#el.dispatchEvent(new CustomEvent(type, { detail }));
  }

  #onStart() {
    const { ui, roll } = this.#parts;
    ui.play.textContent = 'Stop';
    ui.play.setAttribute('aria-pressed', 'true');
    const tick = () => {
      if (!this.player.playing) return;
      roll.mark(roll.active, this.player.step);
      requestAnimationFrame(tick);
    };
    requestAnimationFrame(tick);
    this.#emit('start', { duration: this.player.duration });
    this.#hooks.started();
  }

  #onStop() {
    const { ui, roll, sheet } = this.#parts;
    this.#hooks.stopped();
    ui.play.textContent = 'Play';
    ui.play.setAttribute('aria-pressed', 'false');
    roll.mark(-1, -1);
    sheet.mark(-1);
    this.#emit('stop', {});
  }
}

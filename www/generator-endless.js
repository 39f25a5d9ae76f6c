// Endless play in <tunesmith-generator> (tunesmith-generator.js): while the melody plays, new
// bars, each part continuing the melody so far, are made ahead of the playhead and added to what
// plays; the last bars played, and those made ahead, stay on show.

import { client } from './generator-hub.js';
import { keep } from './generator-settings.js';

/** Bars made at a time, the bars before them each part continues, how much music is kept ready
 * ahead of the playhead, and how much of what played stays on show. */
export const ENDLESS = { bars: 4, primerBars: 8, aheadSeconds: 10, keepBars: 32, checkMs: 250 };

export class EndlessPlay {
  #run = null; // running: {timer, busy, parts, seed, cancel}
  #host;

  /**
   * `host`: player (the MelodyPlayer), melody() (the melody on show), seed() (the element's),
   * settings() ({model, backend, request}: the element's, checked), replace(melody) (puts the
   * melody with the new notes on show at once), written(melody) (shows what depends on its
   * MIDI/ABC/metrics once written), status(text), emit(type, detail), fail(error).
   */
  constructor(host) {
    this.#host = host;
  }

  start() {
    const m = this.#host.melody();
    if (this.#run || !m) return;
    const e = { busy: false, parts: 0, seed: m.seed ?? this.#host.seed(), cancel: new AbortController() };
    e.timer = setInterval(() => this.#feed(e), ENDLESS.checkMs);
    this.#run = e;
    this.#host.player.hold = true;
    this.#feed(e);
  }

  stop() {
    const e = this.#run;
    if (!e) return;
    clearInterval(e.timer);
    e.cancel.abort();
    this.#run = null;
    this.#host.player.hold = false;
  }

  /** Generates the next part when less than ENDLESS.aheadSeconds of music is left to play. */
  async #feed(e) {
    const host = this.#host;
    const player = host.player;
    if (e !== this.#run || e.busy || !player.playing) return;
    const m = host.melody();
    const bar = m.stepsPerBar;
    if ((player.length - player.position) * player.secondsPerStep > ENDLESS.aheadSeconds) return;
    e.busy = true;
    try {
      const asked = host.settings();
      const total = m.totalSteps;
      const primerBars = Math.min(ENDLESS.primerBars, total / bar);
      const from = total - primerBars * bar;
      const primer = m.notes.filter((n) => n.onset >= from).map((n) => ({ ...n, onset: n.onset - from }));
      const request = { ...asked.request, ...keep(m, primer, primerBars), bars: ENDLESS.bars, candidates: 1, seed: (e.seed + e.parts + 1) % 2 ** 32 };
      const { melodies } = await client().generate({ model: asked.model, backend: asked.backend, request }, { signal: e.cancel.signal });
      if (e !== this.#run || !player.playing) return;
      const next = melodies[0];
      const added = next.notes.filter((n) => n.onset >= next.primerSteps).map((n) => ({ ...n, onset: n.onset - next.primerSteps + total }));
      let totalSteps = total + next.totalSteps - next.primerSteps;
      player.extend(added, totalSteps);
      let notes = [...m.notes, ...added];
      // Keep the last ENDLESS.keepBars bars; drop only whole bars that have finished playing.
      const played = Math.floor(player.position / bar) * bar - bar;
      const drop = Math.max(0, Math.min(totalSteps - ENDLESS.keepBars * bar, played));
      if (drop > 0) {
        player.shift(drop);
        notes = notes.filter((n) => n.onset >= drop).map((n) => ({ ...n, onset: n.onset - drop }));
        totalSteps -= drop;
      }
      e.parts += 1;
      const shown = { ...m, notes, totalSteps, primerSteps: 0, seed: request.seed, endless: true };
      // The player's notes and the melody on show are the same list: note events index both.
      host.replace(shown);
      const written = await client().describe({ notes, tempo: m.tempo, meter: m.meter, key: m.key, totalSteps });
      if (host.melody() !== shown) return;
      Object.assign(shown, { midi: written.midi, abc: written.abc, share: written.share, metrics: written.metrics });
      host.written(shown);
      // Said once (a screen reader would otherwise announce every part).
      if (e.parts === 1) host.status(`Endless play: new bars follow until you stop; the last ${ENDLESS.keepBars} bars played, and those made ahead, are on show and can be saved.`);
      host.emit('endless', { parts: e.parts, bars: totalSteps / bar, notes: notes.length, gaps: player.gaps });
    } catch (err) {
      if (e !== this.#run) return;
      this.stop();
      host.fail(new Error(`Endless play stopped: ${err.message}`));
    } finally {
      e.busy = false;
    }
  }
}

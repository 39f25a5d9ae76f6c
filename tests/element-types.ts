// Compiled (never run) by tests/package.test.mjs: what a TypeScript user of the element writes
// must type-check against www/tunesmith-generator.d.ts, and misuse must not.
import { TunesmithGenerator, type Melody, type ProgressDetail } from '../www/tunesmith-generator.js';

const el = document.createElement('tunesmith-generator');
const typed: TunesmithGenerator = el;
el.bars = 8;
el.tonality = 'D dorian';
el.genre = null;
el.loop = true;
el.controls = 'minimal';
el.addEventListener('melody', (e) => {
  const m: Melody = e.detail.melody;
  console.log(m.notes[0].pitch.toFixed(), m.share.length, typed.state);
});
el.addEventListener('progress', (e) => {
  const p: ProgressDetail = e.detail;
  console.log(p.phase === 'wasm', p.total ?? 0);
});
el.addEventListener('note', (e) => console.log(e.detail.index, e.detail.note.onset));
el.addEventListener('error', (e) => console.log(e.detail.message.length));
const melody: Promise<Melody> = el.generate();
el.metronome = true;
el.countIn = false;
el.primer = [{ pitch: 60, onset: 0, duration: 4 }];
el.addEventListener('beat', (e) => console.log(e.detail.downbeat, e.detail.step));
const longer: Promise<Melody> = el.continueMelody(4);
console.log(longer, el.regenerateFrom(3), el.loadPrimerMidi(new Uint8Array(0)));
const bytes: Uint8Array | null = el.midi;
console.log(melody, bytes, TunesmithGenerator.catalog.controls.map((c) => c.attribute));
// @ts-expect-error: read-only
el.melody = null;
// @ts-expect-error: not a backend
el.backend = 'tpu';
// @ts-expect-error: bars is a number
el.bars = '8';
// @ts-expect-error: a primer is notes
el.primer = [60, 62];

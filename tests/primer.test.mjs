// Your own start (the musicians' issue): the on-screen keyboard and step entry, a MIDI file as the
// primer, a MIDI keyboard (Web MIDI, stubbed), Continue and Regenerate from bar N.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { serveMounts } from './server.mjs';
import { generate, launch, nextMelody, open } from './testkit.mjs';

const DIST = fileURLToPath(new URL('../dist/', import.meta.url));
let server;
before(async () => {
  server = await serveMounts({ '/': DIST });
});
after(() => server?.close());

/**
 * A type-0 MIDI file: 3/4 (no time signature at all with `stated: false`), then `notes` ([pitch,
 * onset, duration] in 16ths, 120 ticks a quarter).
 */
function midiFile(notes, { stated = true } = {}) {
  const vlq = (n) => {
    const out = [n & 0x7f];
    while ((n >>= 7)) out.unshift((n & 0x7f) | 0x80);
    return out;
  };
  const events = [];
  for (const [p, on, d] of notes) {
    events.push([on * 30, [0x90, p, 90]], [(on + d) * 30, [0x80, p, 0]]);
  }
  events.sort((a, b) => a[0] - b[0] || (a[1][0] === 0x80 ? -1 : 1));
  const track = stated ? [0, 0xff, 0x58, 4, 3, 2, 24, 8] : []; // 3/4 at tick 0
  let t = 0;
  for (const [at, bytes] of events) {
    track.push(...vlq(at - t), ...bytes);
    t = at;
  }
  track.push(0, 0xff, 0x2f, 0);
  const u32 = (n) => [(n >>> 24) & 255, (n >>> 16) & 255, (n >>> 8) & 255, n & 255];
  return [...'MThd'].map((c) => c.charCodeAt(0)).concat(u32(6), [0, 0, 0, 1, 0, 120], [...'MTrk'].map((c) => c.charCodeAt(0)), u32(track.length), track);
}

test('step entry on the on-screen keyboard (mouse and computer keys) is continued by Generate', { timeout: 300_000 }, async (t) => {
  const browser = await launch({ webgpu: false });
  t.after(() => browser.close());
  const { page, problems } = await open(browser, server);
  await page.click('summary:has-text("Your own start")');
  await page.click('.keys [aria-label="C4"]'); // a quarter (the default length)
  await page.selectOption('#step-length', '2');
  await page.click('.keys [aria-label="E4"]'); // an eighth
  await page.click('#rest'); // an eighth's rest
  await page.focus('.keys [aria-label="C4"]'); // the keyboard's one tab stop
  await page.keyboard.press('g'); // G4 from the computer keyboard: a note, not the Generate shortcut
  await page.keyboard.press('k'); // C5
  await page.keyboard.press('u'); // B♭4
  await page.click('#undo'); // takes back B♭4
  // Every key by the arrows (a roving focus) and Enter, not only those with a letter.
  await page.focus('.keys [aria-label="C4"]');
  for (let i = 0; i < 24; i++) await page.keyboard.press('ArrowRight');
  assert.equal(await page.evaluate(() => window.tunesmith.element.shadowRoot.activeElement?.getAttribute('aria-label')), 'C6');
  await page.keyboard.press('Enter'); // C6
  await page.click('#undo');
  const primer = await page.evaluate(() => window.tunesmith.element.primer);
  assert.deepEqual(primer, [
    { pitch: 60, onset: 0, duration: 4 },
    { pitch: 64, onset: 4, duration: 2 },
    { pitch: 67, onset: 8, duration: 2 },
    { pitch: 72, onset: 10, duration: 2 },
  ]);
  assert.equal(await page.evaluate(() => window.tunesmith.element.state), 'ready', 'typing notes did not generate');
  assert.equal(await page.evaluate(() => window.tunesmith.element.seed), 1, 'nor did the arrows change the seed');
  assert.match(await page.textContent('#primer-notes'), /4 notes over 3 beats: C4 E4 G4 C5/);
  const m = await generate(page, { bars: 2, seed: 3 });
  assert.deepEqual(m.notes.slice(0, 4), primer, 'the melody starts with your notes, lengths and all');
  assert.equal(m.primerSteps, 16);
  assert.equal(m.totalSteps, 48);
  assert.ok(m.notes.slice(4).every((n) => n.onset >= 16), 'new notes follow the primer bar');
  // Rests entered at the end count: a quarter, then a whole bar's rest, then Generate starts at bar 3.
  await page.click('#clear-primer');
  assert.equal(await page.evaluate(() => window.tunesmith.element.primer), null);
  await page.selectOption('#step-length', '4');
  await page.click('.keys [aria-label="D4"]');
  await page.selectOption('#step-length', '16');
  await page.click('#rest');
  const rested = await generate(page, { bars: 1, seed: 4 });
  assert.equal(rested.primerSteps, 32);
  assert.deepEqual(rested.notes[0], { pitch: 62, onset: 0, duration: 4 });
  assert.ok(rested.notes.slice(1).every((n) => n.onset >= 32), 'nothing in the rests entered');
  await page.click('#clear-primer');
  assert.deepEqual(problems, []);
});

// A waltz with a one-beat pickup, starting at its first note (no rests before the pickup), as
// most files do: half and quarter in each bar, a dotted half to end.
const LINE = [72, 74, 76, 77, 79, 77, 76, 74, 72, 71, 72, 74, 76, 74];
const WALTZ = [[67, 0, 4]];
for (let bar = 0; bar < 7; bar++) WALTZ.push([LINE[2 * bar], 4 + 12 * bar, 8], [LINE[2 * bar + 1], 12 + 12 * bar, 4]);
WALTZ.push([72, 88, 12]);

test('a MIDI file uploaded as the primer is continued, in its own meter', { timeout: 300_000 }, async (t) => {
  const browser = await launch({ webgpu: false });
  t.after(() => browser.close());
  const { page, problems } = await open(browser, server);
  const tune = WALTZ;
  await page.click('summary:has-text("Your own start")');
  await page.setInputFiles('#primer-file', { name: 'waltz.mid', mimeType: 'audio/midi', buffer: Buffer.from(midiFile(tune)) });
  await page.waitForFunction(() => window.tunesmith.element.primer !== null);
  assert.match(await page.textContent('#primer-notes'), /from “waltz\.mid”: 16 notes/);
  const m = await generate(page, { bars: 4, seed: 11, meter: null });
  assert.equal(m.meter, '3/4');
  const pitches = m.notes.map((n) => n.pitch);
  assert.deepEqual(pitches.slice(0, tune.length), tune.map(([p]) => p), 'it starts with the file\'s notes');
  assert.ok(m.notes.length > tune.length, 'and goes on');
  assert.equal(m.notes[1].onset % 12, 0, 'the bar grid found: the pickup comes before a downbeat');
  assert.ok(m.primerSteps > 0 && m.primerSteps % 12 === 0 && m.totalSteps === m.primerSteps + 48);
  // A file that is not MIDI: a readable error, and the page still works.
  await page.setInputFiles('#primer-file', { name: 'notes.txt', mimeType: 'text/plain', buffer: Buffer.from('not a midi file') });
  await page.waitForFunction(() => !document.querySelector('tunesmith-generator').shadowRoot.querySelector('#error').hidden);
  assert.match(await page.textContent('#error'), /Could not use the MIDI file: /);
  assert.equal((await page.evaluate(() => window.tunesmith.element.primer)).length, tune.length, 'the last good start stays');
  assert.deepEqual(problems.filter((p) => !/MIDI/.test(p)), []);
});

test('a MIDI file with no time signature: its meter is inferred from its rhythm, and the page names it', { timeout: 300_000 }, async (t) => {
  const browser = await launch({ webgpu: false });
  t.after(() => browser.close());
  const { page, problems } = await open(browser, server);
  const bytes = midiFile(WALTZ, { stated: false });
  assert.ok(!Buffer.from(bytes).includes(Buffer.from([0xff, 0x58])), 'no time-signature event in the file');
  await page.click('summary:has-text("Your own start")');
  await page.setInputFiles('#primer-file', { name: 'unmetered.mid', mimeType: 'audio/midi', buffer: Buffer.from(bytes) });
  await page.waitForFunction(() => window.tunesmith.element.primer !== null);
  assert.match(await page.textContent('#primer-notes'), /from “unmetered\.mid”: 16 notes/);
  assert.equal(await page.isHidden('#error'), true, 'no error');
  const m = await generate(page, { bars: 4, seed: 11, meter: null });
  assert.equal(m.meterFrom, 'estimated', 'the meter was inferred, not asked for');
  assert.match(m.meter, /^\d+\/\d+$/);
  assert.deepEqual(m.notes.slice(0, WALTZ.length).map((n) => n.pitch), WALTZ.map(([p]) => p), 'it starts with the file\'s notes');
  assert.ok(m.totalSteps % m.stepsPerBar === 0 && m.totalSteps === m.primerSteps + 4 * m.stepsPerBar, JSON.stringify(m));
  // The status line names the meter it found, and says it was estimated.
  assert.ok((await page.textContent('#status')).includes(` in ${m.meter} (estimated)`), await page.textContent('#status'));
  t.diagnostic(`inferred: ${m.meter}; status: ${await page.textContent('#status')}`);
  assert.deepEqual(problems, []);
});

test('touch: tapping the on-screen keyboard enters notes, and Generate continues them', { timeout: 300_000 }, async (t) => {
  const browser = await launch({ webgpu: false });
  t.after(() => browser.close());
  // A phone: touch only, a narrow viewport, the page's meta viewport applied.
  const device = { hasTouch: true, isMobile: true, viewport: { width: 390, height: 844 }, deviceScaleFactor: 2 };
  const { page, problems } = await open(browser, server, { device });
  assert.equal(await page.evaluate(() => navigator.maxTouchPoints > 0 && matchMedia('(pointer: coarse)').matches), true, 'a touch device');
  await page.tap('summary:has-text("Your own start")');
  await page.tap('.keys [aria-label="C4"]'); // a quarter (the default length)
  await page.selectOption('#step-length', '2');
  await page.tap('.keys [aria-label="E♭4"]'); // a black key, an eighth
  await page.tap('#rest'); // an eighth's rest
  await page.tap('.keys [aria-label="G4"]');
  await page.tap('#undo'); // takes back G4
  await page.tap('.keys [aria-label="C5"]');
  const primer = await page.evaluate(() => window.tunesmith.element.primer);
  assert.deepEqual(primer, [
    { pitch: 60, onset: 0, duration: 4 },
    { pitch: 63, onset: 4, duration: 2 },
    { pitch: 72, onset: 8, duration: 2 },
  ], 'one note a tap, none twice');
  assert.match(await page.textContent('#primer-notes'), /3 notes over 2\.5 beats: C4 E♭4 C5/);
  assert.equal(await page.evaluate(() => window.tunesmith.element.state), 'ready', 'tapping keys did not generate');
  await page.evaluate(() => Object.assign(window.tunesmith.element, { bars: 2, seed: 5, candidates: 1 }));
  await page.tap('#generate');
  await page.waitForFunction(() => window.tunesmith.element.state === 'done', null, { timeout: 240_000 });
  const m = await page.evaluate(() => window.tunesmith.element.melody);
  assert.deepEqual(m.notes.slice(0, 3), primer, 'the melody starts with the notes tapped');
  assert.deepEqual(problems, []);
});

test('a MIDI keyboard (Web MIDI) enters notes', { timeout: 300_000 }, async (t) => {
  const browser = await launch({ webgpu: false });
  t.after(() => browser.close());
  // A stand-in MIDI device: one input that plays note-ons on request.
  const init = () => {
    const input = { name: 'Test keys', type: 'input', state: 'connected', onmidimessage: null };
    window.playMidi = (...bytes) => input.onmidimessage?.({ data: new Uint8Array(bytes) });
    navigator.requestMIDIAccess = async () => ({ inputs: new Map([['1', input]]), onstatechange: null });
  };
  const { page, problems } = await open(browser, server, { init });
  await page.click('summary:has-text("Your own start")');
  await page.click('#midi-input');
  await page.waitForFunction(() => document.querySelector('tunesmith-generator').shadowRoot.querySelector('#midi-input').textContent.includes('Test keys'));
  await page.evaluate(() => {
    window.playMidi(0x90, 62, 100);
    window.playMidi(0x80, 62, 0); // note-offs add nothing
    window.playMidi(0x91, 66, 0); // nor does a note-on at velocity 0
    window.playMidi(0x92, 69, 64);
  });
  assert.deepEqual(await page.evaluate(() => window.tunesmith.element.primer), [
    { pitch: 62, onset: 0, duration: 4 },
    { pitch: 69, onset: 4, duration: 4 },
  ]);
  assert.deepEqual(problems, []);
});

test('Continue keeps the melody and adds bars; Regenerate from bar N keeps the bars before N', { timeout: 300_000 }, async (t) => {
  const browser = await launch({ webgpu: false });
  t.after(() => browser.close());
  const { page, problems } = await open(browser, server);
  const first = await generate(page, { bars: 4, seed: 21, meter: '6/8' });
  assert.equal(first.totalSteps, 48);
  await page.evaluate(() => (window.tunesmith.element.bars = 2));
  const longer = await nextMelody(page, '#continue');
  assert.equal(longer.meter, '6/8');
  assert.equal(longer.key, first.key);
  assert.equal(longer.totalSteps, 48 + 24, 'two more bars');
  assert.equal(longer.primerSteps, 48);
  assert.deepEqual(longer.notes.slice(0, first.notes.length), first.notes, 'the melody as it was');
  assert.ok(longer.notes.slice(first.notes.length).every((n) => n.onset >= 48));

  // Bar 3 of 6 on: bars 1–2 (24 steps) stay, notes cut at the bar line where they crossed it.
  await page.fill('#from-bar', '3');
  const again = await nextMelody(page, '#regenerate');
  // The kept notes exactly: none lengthened over the bar line (a tie nobody asked for).
  const cut = longer.notes.filter((n) => n.onset < 24).map((n) => ({ ...n, duration: Math.min(n.duration, 24 - n.onset) }));
  assert.deepEqual(again.notes.filter((n) => n.onset < 24), cut, 'bars before 3 unchanged');
  assert.equal(again.totalSteps, longer.totalSteps, 'as long as before');
  assert.notDeepEqual(again.notes, longer.notes, 'the rest made anew');
  assert.notEqual(again.seed, longer.seed);
  // Out of range: a readable error.
  const error = await page.evaluate(() => window.tunesmith.element.regenerateFrom(99).then(() => null, (e) => e.message));
  assert.match(error, /Regenerate from bar 1 to 6/);
  // Not while another melody is on its way: it would not be the one asked for.
  const busy = await page.evaluate(() => {
    const el = window.tunesmith.element;
    const making = el.generate();
    return el.continueMelody().then(() => 'continued', (e) => e.message).then((m) => making.then(() => m));
  });
  assert.match(busy, /A melody is being generated/);
  assert.deepEqual(problems, []);
});

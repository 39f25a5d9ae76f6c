// What musicians reach for first (part of the musicians' issue): keyboard shortcuts, a tempo
// change while playing, WAV export, and sound on iPhones with the silent switch on.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { serveMounts } from './server.mjs';
import { generate, launch, open } from './testkit.mjs';

const DIST = fileURLToPath(new URL('../dist/', import.meta.url));
let server;
before(async () => {
  server = await serveMounts({ '/': DIST });
});
after(() => server?.close());

test('keyboard alone: G generates, → and ← step the seed, Space plays and stops', { timeout: 300_000 }, async (t) => {
  const browser = await launch({ webgpu: false });
  t.after(() => browser.close());
  const { page, problems } = await open(browser, server);
  const el = () => page.evaluate(() => ({ seed: window.tunesmith.element.seed, state: window.tunesmith.element.state, playing: window.tunesmith.element.playing, notes: window.tunesmith.element.melody?.notes }));
  await page.evaluate(() => Object.assign(window.tunesmith.element, { bars: 2, seed: 40, candidates: 2 }));
  // Focus on the page's body, outside the element: a single key is not a shortcut there (it is
  // a screen reader's, in browse mode: WCAG 2.1.4), and the page does not forward it.
  await page.evaluate(() => document.activeElement?.blur());
  assert.equal(await page.evaluate(() => document.activeElement === document.body), true);
  for (const key of ['g', 'G', ' ', 'ArrowRight']) await page.keyboard.press(key);
  const outside = await el();
  assert.deepEqual([outside.seed, outside.state, outside.playing, outside.notes ?? null], [40, 'ready', false, null], 'G outside the element did not generate');
  // Focus in the element (a click on its background gives it focus): its shortcuts.
  await page.click('#webgpu-status');
  assert.equal(await page.evaluate(() => document.activeElement?.localName), 'tunesmith-generator');
  await page.keyboard.press('g');
  await page.waitForFunction(() => window.tunesmith.element.state === 'done');
  const first = await el();
  assert.equal(first.seed, 40);
  await page.keyboard.press('ArrowRight');
  await page.waitForFunction(() => window.tunesmith.element.melody?.seed === 41 && window.tunesmith.element.state === 'done');
  await page.keyboard.press('ArrowLeft');
  await page.waitForFunction(() => window.tunesmith.element.melody?.seed === 40 && window.tunesmith.element.state === 'done');
  assert.deepEqual((await el()).notes, first.notes, 'back to the same seed, the same melody');
  // Focus on the element itself.
  await page.focus('tunesmith-generator');
  await page.keyboard.press(' ');
  await page.waitForFunction(() => window.tunesmith.element.playing);
  await page.keyboard.press(' ');
  assert.equal((await el()).playing, false);
  // Typing in a field is typing, not a shortcut.
  await page.focus('#bars');
  await page.keyboard.press('g');
  assert.equal((await el()).state, 'done');
  assert.deepEqual(problems, []);
});

test('a tempo change while playing reschedules the notes still to come, without a restart', { timeout: 300_000 }, async (t) => {
  const browser = await launch({ webgpu: false });
  t.after(() => browser.close());
  const { page, problems } = await open(browser, server);
  await page.evaluate(() => (window.tunesmith.element.tempo = 60));
  const m = await generate(page, { bars: 4, seed: 8 });
  assert.equal(m.tempo, 60);
  await page.evaluate(() => {
    window.notes = [];
    window.starts = 0;
    const el = window.tunesmith.element;
    el.addEventListener('note', (e) => window.notes.push(e.detail));
    el.addEventListener('start', () => window.starts++);
  });
  await page.click('#play');
  await page.waitForFunction(() => window.notes.length >= 2);
  const changedAt = await page.evaluate(async () => {
    window.tunesmith.element.tempo = 240;
    return (await import('/www/synth.js')).audioContext().currentTime;
  });
  await page.waitForFunction((n) => window.notes.length >= n || !window.tunesmith.element.playing, Math.min(m.notes.length, 16), { timeout: 20_000 });
  const { notes, starts } = await page.evaluate(() => ({ notes: window.notes, starts: window.starts }));
  await page.evaluate(() => window.tunesmith.element.stop());
  assert.equal(starts, 1, 'no restart');
  // Notes scheduled before the change kept 60 bpm (a 16th = 0.25 s); those after follow 240.
  const gaps = [];
  for (let i = 1; i < notes.length; i++) {
    const steps = notes[i].note.onset - notes[i - 1].note.onset;
    // Scheduled after the change (both notes of the gap: the later one is scheduled later still).
    gaps.push({ after: notes[i - 1].time - notes[i - 1].lead > changedAt, secondsPerStep: (notes[i].time - notes[i - 1].time) / steps });
  }
  assert.ok(Math.abs(gaps[0].secondsPerStep - 0.25) < 1e-6, JSON.stringify(gaps));
  assert.ok(gaps.every((g) => g.secondsPerStep > 0), `every note after the one before it: ${JSON.stringify(gaps)}`);
  const later = gaps.filter((g) => g.after);
  assert.ok(later.length >= 1, `notes after the change: ${JSON.stringify(gaps)}`);
  for (const g of later) assert.ok(Math.abs(g.secondsPerStep - 0.0625) < 1e-6, JSON.stringify(gaps));
  assert.deepEqual(problems, []);
});

test('WAV export: a RIFF file as long as the melody, not silent', { timeout: 300_000 }, async (t) => {
  const browser = await launch({ webgpu: false });
  t.after(() => browser.close());
  const { page, problems } = await open(browser, server);
  const m = await generate(page, { bars: 2, seed: 3 });
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('#download-wav')]);
  assert.match(download.suggestedFilename(), /^tunesmith-lstm-seed3\.wav$/);
  const wav = await readFile(await download.path());
  assert.equal(wav.toString('ascii', 0, 4), 'RIFF');
  assert.equal(wav.toString('ascii', 8, 12), 'WAVE');
  const rate = wav.readUInt32LE(24);
  const samples = wav.readUInt32LE(40) / 2;
  const seconds = samples / rate;
  const last = m.notes.at(-1);
  const expected = ((last.onset + last.duration - m.notes[0].onset) * 60) / m.tempo / 4;
  assert.ok(Math.abs(seconds - expected) <= 1, `${seconds} s for a melody of ${expected} s`);
  let peak = 0;
  for (let i = 0; i < samples; i++) peak = Math.max(peak, Math.abs(wav.readInt16LE(44 + 2 * i)));
  assert.ok(peak > 1000, `peak ${peak}`);
  assert.deepEqual(problems, []);
});

test('four synthesized voices: each renders differently, an unknown one says so', { timeout: 300_000 }, async (t) => {
  const browser = await launch({ webgpu: false });
  t.after(() => browser.close());
  const { page, problems } = await open(browser, server);
  await generate(page, { bars: 1, seed: 5 });
  const voices = await page.$$eval('#voice option', (os) => os.map((o) => o.value));
  assert.deepEqual(voices, ['soft', 'flute', 'reed', 'pluck']);
  const rendered = {};
  for (const v of voices) {
    await page.selectOption('#voice', v);
    assert.equal(await page.evaluate(() => window.tunesmith.element.voice), v);
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('#download-wav')]);
    const wav = await readFile(await download.path());
    let energy = 0;
    for (let i = 44; i + 1 < wav.length; i += 2) energy += Math.abs(wav.readInt16LE(i));
    assert.ok(energy > 0, v);
    rendered[v] = wav.toString('base64');
  }
  assert.equal(new Set(Object.values(rendered)).size, 4, 'four different sounds');
  // Played, too; a voice that does not exist is refused with the list.
  await page.click('#play');
  await page.waitForFunction(() => window.tunesmith.element.playing);
  await page.evaluate(() => window.tunesmith.element.stop());
  const error = await page.evaluate(() => {
    const el = window.tunesmith.element;
    el.voice = 'theremin';
    return el.play().then(() => null, (e) => e.message);
  });
  assert.match(error, /Unknown voice "theremin": the voices are soft, flute, reed, pluck\./);
  assert.deepEqual(problems, []);
});

test('a click on a note of the piano roll sounds it', { timeout: 300_000 }, async (t) => {
  const browser = await launch({ webgpu: false });
  t.after(() => browser.close());
  const { page, problems } = await open(browser, server);
  const m = await generate(page, { bars: 2, seed: 6 });
  await page.evaluate(() => {
    window.auditions = [];
    window.tunesmith.element.addEventListener('audition', (e) => window.auditions.push(e.detail));
  });
  // Where the roll draws note 2: its layout (pianoroll.js) from the melody and the canvas size.
  const i = Math.min(2, m.notes.length - 1);
  const at = await page.evaluate(({ m, i }) => {
    const canvas = window.tunesmith.element.shadowRoot.querySelector('#roll');
    const pitches = m.notes.map((n) => n.pitch);
    let lo = Math.min(...pitches) - 2;
    let hi = Math.max(...pitches) + 2;
    while (hi - lo < 14) {
      lo -= 1;
      hi += 1;
    }
    const rowH = canvas.clientHeight / (hi - lo + 1);
    const stepW = (canvas.clientWidth - 28) / m.totalSteps;
    const n = m.notes[i];
    return { x: 28 + (n.onset + Math.min(n.duration, 1) / 2) * stepW + 1, y: (hi - n.pitch + 0.5) * rowH + 1 };
  }, { m, i });
  await page.click('#roll', { position: at });
  await page.waitForFunction(() => window.auditions.length === 1);
  const [heard] = await page.evaluate(() => window.auditions);
  assert.equal(heard.index, i);
  assert.deepEqual(heard.note, m.notes[i]);
  assert.equal(await page.evaluate(async () => (await import('/www/synth.js')).audioContext().state), 'running');
  // Between the notes: nothing.
  await page.click('#roll', { position: { x: 5, y: 5 } });
  assert.equal(await page.evaluate(() => window.auditions.length), 1);
  assert.deepEqual(problems, []);
});

test('iPhone: the audio session plays through the silent switch', { timeout: 300_000 }, async (t) => {
  const browser = await launch({ webgpu: false });
  t.after(() => browser.close());
  const context = await browser.newContext();
  // Safari's navigator.audioSession, stubbed: Chromium has none.
  await context.addInitScript(() => Object.defineProperty(navigator, 'audioSession', { value: { type: 'auto' }, configurable: true }));
  const page = await context.newPage();
  await page.goto(`${server.url}/`);
  await page.waitForSelector('tunesmith-generator[state="ready"]');
  assert.equal(await page.evaluate(() => navigator.audioSession.type), 'auto', 'not before any sound is wanted');
  await generate(page, { bars: 1, seed: 2 });
  await page.click('#play');
  assert.equal(await page.evaluate(() => navigator.audioSession.type), 'playback');
});

test('ABC export: the melody in ABC notation, every note written, downloadable and copyable', { timeout: 300_000 }, async (t) => {
  const browser = await launch({ webgpu: false });
  t.after(() => browser.close());
  const { page, problems } = await open(browser, server);
  await page.context().grantPermissions(['clipboard-read', 'clipboard-write']);
  const m = await generate(page, { bars: 4, seed: 12, meter: '6/8' });
  // The melody as text too (the screen reader's way to it): a note name for every note.
  const names = (await page.textContent('#notes')).trim().split(/\s+/);
  assert.equal(names.length, m.notes.length);
  assert.ok(names.every((n) => /^[A-G][#b]?-?\d$/.test(n)), names.join(' '));
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('#download-abc')]);
  assert.match(download.suggestedFilename(), /^tunesmith-lstm-seed12\.abc$/);
  const abc = await readFile(await download.path(), 'utf8');
  assert.match(abc, /^X:1\nT:tunesmith, seed 12\nM:6\/8\nL:1\/16\nQ:1\/4=120\nK:[A-G][#b]?(m|dor|phr|lyd|mix|loc)?\n/);
  // Note heads: tokens with a letter, less those that continue a tie.
  const body = abc.split('\n').slice(6).join(' ');
  let heads = 0;
  let tied = false;
  for (const token of body.split(/[\s|\]]+/).filter(Boolean)) {
    if (/[A-Ga-g]/.test(token) && !tied) heads++;
    tied = token.endsWith('-');
  }
  assert.equal(heads, m.notes.length, abc);
  assert.equal((abc.match(/\|/g) ?? []).length, 4, 'four bars');
  await page.click('#copy-abc');
  await page.waitForFunction(() => /copied/.test(window.tunesmith.element.shadowRoot.querySelector('#status').textContent));
  assert.equal(await page.evaluate(() => navigator.clipboard.readText()), abc);
  assert.deepEqual(problems, []);
});

const ARTIFACTS = fileURLToPath(new URL('./artifacts/', import.meta.url));

/** The id of the element that has focus, through shadow roots. */
const focused = (page) =>
  page.evaluate(() => {
    let el = document.activeElement;
    while (el?.shadowRoot?.activeElement) el = el.shadowRoot.activeElement;
    return el?.id || el?.localName;
  });

test('by keyboard alone, at 360 and 1,440 px, light and dark: axe finds nothing serious, nothing is clipped', { timeout: 300_000 }, async (t) => {
  const browser = await launch({ webgpu: false });
  t.after(() => browser.close());
  const { page, problems } = await open(browser, server);
  // Tab to Generate, Enter; Tab to Play, Space.
  for (let i = 0; i < 40 && (await focused(page)) !== 'generate'; i++) await page.keyboard.press('Tab');
  assert.equal(await focused(page), 'generate');
  await page.keyboard.press('Enter');
  await page.waitForSelector('tunesmith-generator[state="done"]');
  for (let i = 0; i < 5 && (await focused(page)) !== 'play'; i++) await page.keyboard.press('Tab');
  assert.equal(await focused(page), 'play');
  await page.keyboard.press(' ');
  await page.waitForFunction(() => window.tunesmith.element.playing);
  await page.keyboard.press(' ');
  assert.equal(await page.evaluate(() => window.tunesmith.element.playing), false);
  // The focus ring shows (an outline, not the browser's default nothing-on-click).
  assert.notEqual(await page.$eval('#play', (b) => getComputedStyle(b).outlineStyle), 'none');

  // Everything on show: the staff notation, and your own start's keyboard.
  await page.waitForSelector('#sheet svg');
  await page.click('summary:has-text("Your own start")');
  const axe = await readFile(fileURLToPath(new URL('./node_modules/axe-core/axe.min.js', import.meta.url)), 'utf8');
  await mkdir(ARTIFACTS, { recursive: true });
  for (const scheme of ['light', 'dark']) {
    await page.emulateMedia({ colorScheme: scheme });
    for (const width of [360, 1440]) {
      await page.setViewportSize({ width, height: 1000 });
      await page.evaluate(axe);
      const { violations } = await page.evaluate(() => window.axe.run(document, { resultTypes: ['violations'] }));
      const serious = violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
      assert.deepEqual(serious.map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`), [], `${scheme} at ${width} px`);
      // Nothing wider than the viewport, in the page or the element's shadow tree.
      const wide = await page.evaluate(() => {
        const out = [];
        const walk = (root) => {
          for (const el of root.querySelectorAll('*')) {
            if (el.getBoundingClientRect().right > innerWidth + 0.5) out.push(el.id || el.localName);
            if (el.shadowRoot) walk(el.shadowRoot);
          }
        };
        walk(document);
        return out;
      });
      assert.deepEqual(wide, [], `${scheme} at ${width} px`);
      await page.screenshot({ path: `${ARTIFACTS}page-${width}-${scheme}.png`, fullPage: true });
    }
  }
  t.diagnostic(`screenshots in ${ARTIFACTS}`);
  assert.deepEqual(problems, []);
});

test('sheet music: abcjs (self-hosted, loaded after the first melody) draws every note; a cursor follows playback', { timeout: 300_000 }, async (t) => {
  const browser = await launch({ webgpu: false });
  t.after(() => browser.close());
  const { page, problems } = await open(browser, server);
  const drawn = page.evaluate(() => new Promise((r) => window.tunesmith.element.addEventListener('sheet', (e) => r(e.detail), { once: true })));
  const m = await generate(page, { bars: 4, seed: 14 });
  assert.equal((await drawn).notes, m.notes.length, 'a staff note for every note');
  const heads = await page.$$eval('#sheet .abcjs-note', (els) => els.length);
  assert.ok(heads >= m.notes.length, `${heads} heads (ties add some) for ${m.notes.length} notes`);
  // abcjs came from this origin, after the melody was on show.
  const timing = await page.evaluate(() => ({
    abcjs: performance.getEntriesByType('resource').find((e) => e.name.endsWith('/www/vendor/abcjs-basic-min.js'))?.startTime,
    melody: performance.getEntriesByName('tunesmith:first-melody')[0]?.startTime,
  }));
  assert.ok(timing.abcjs > timing.melody, JSON.stringify(timing));

  // A note across a bar line is two tied heads, one note.
  const tied = await page.evaluate(async () => {
    const el = window.tunesmith.element;
    const d = await window.tunesmith.client.describe({ notes: [{ pitch: 60, onset: 0, duration: 20 }, { pitch: 64, onset: 20, duration: 12 }], tempo: 120, meter: '4/4' });
    const drawn = new Promise((r) => el.addEventListener('sheet', (e) => r(e.detail), { once: true }));
    await el.loadShared(d.share);
    return { notes: (await drawn).notes, heads: el.shadowRoot.querySelectorAll('#sheet .abcjs-note').length };
  });
  assert.deepEqual(tied, { notes: 2, heads: 3 });

  // The cursor: the note sounding is lit, and moves on.
  await generate(page, { bars: 2, seed: 15 });
  await page.evaluate(() => {
    window.lit = [];
    const el = window.tunesmith.element;
    el.addEventListener('note', (e) => {
      const on = [...el.shadowRoot.querySelectorAll('#sheet .tunesmith-playing')];
      window.lit.push({ index: e.detail.index, count: on.length, first: on[0] && [...el.shadowRoot.querySelectorAll('#sheet .abcjs-note')].indexOf(on[0]) });
    });
  });
  await page.click('#play');
  await page.waitForFunction(() => window.lit.length >= 3);
  await page.evaluate(() => window.tunesmith.element.stop());
  const lit = await page.evaluate(() => window.lit);
  assert.ok(lit.every((l) => l.count >= 1), JSON.stringify(lit));
  assert.ok(new Set(lit.map((l) => l.first)).size >= 2, `the lit note moves: ${JSON.stringify(lit)}`);
  assert.equal(await page.$$eval('#sheet .tunesmith-playing', (els) => els.length), 0, 'nothing lit once stopped');

  // The piano roll's playhead: a column of its colour that moves right as the melody plays.
  const playhead = () =>
    page.evaluate(() => {
      const c = window.tunesmith.element.shadowRoot.querySelector('#roll');
      const hex = getComputedStyle(c).getPropertyValue('--roll-playhead').trim() || '#ee6c4d';
      const want = [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16));
      const row = c.getContext('2d').getImageData(0, 1, c.width, 1).data;
      for (let x = 0; x < c.width; x++) if (want.every((v, k) => Math.abs(row[4 * x + k] - v) <= 2)) return x;
      return -1;
    });
  assert.equal(await playhead(), -1, 'no playhead before Play');
  await page.click('#play');
  const seen = [];
  for (let i = 0; i < 6; i++) {
    await page.waitForTimeout(300);
    seen.push(await playhead());
  }
  await page.evaluate(() => window.tunesmith.element.stop());
  const shown = seen.filter((x) => x >= 0);
  assert.ok(shown.length >= 4 && new Set(shown).size >= 3, `the playhead moves: ${seen}`);
  assert.ok(shown.every((x, i) => i === 0 || x >= shown[i - 1]), `and only forwards: ${seen}`);
  assert.deepEqual(problems, [], 'nothing blocked by the page\'s strict CSP either');
});

test('sheet music is laid out anew when its width crosses 560 px: shorter lines below it, four bars a line above', { timeout: 300_000 }, async (t) => {
  const browser = await launch({ webgpu: false });
  t.after(() => browser.close());
  const { page, problems } = await open(browser, server);
  await page.setViewportSize({ width: 1000, height: 900 });
  await page.evaluate(() => {
    window.sheets = 0;
    window.tunesmith.element.addEventListener('sheet', () => window.sheets++);
  });
  await generate(page, { bars: 8, seed: 14 });
  await page.waitForFunction(() => window.sheets === 1);
  // A system (one line of staff) is an abcjs-staff-wrapper; the sheet's width is measured too.
  const layout = () =>
    page.$eval('#sheet', (el) => ({
      systems: el.querySelectorAll('.abcjs-staff-wrapper').length,
      width: el.clientWidth,
      drawn: window.sheets,
      // Bar lines and notes past the box are cut off: the drawing must fit (within 2.5 px, a
      // line's stroke at the staff's end).
      fits: [...el.querySelectorAll('svg path, svg text')].every((p) => p.getBoundingClientRect().right <= el.getBoundingClientRect().right + 2.5),
    }));
  const frames = () => page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));
  const wide = await layout();
  assert.ok(wide.width >= 560 && wide.systems >= 1 && wide.fits, JSON.stringify(wide));
  // Narrower, still above 560 px: nothing is drawn again.
  await page.setViewportSize({ width: 800, height: 900 });
  await frames();
  assert.equal((await layout()).drawn, 1, 'no redraw above 560 px');
  // Below 560 px: at most two bars a line, so more systems.
  await page.setViewportSize({ width: 400, height: 900 });
  await page.waitForFunction(() => window.sheets === 2);
  const narrow = await layout();
  assert.ok(narrow.width < 560 && narrow.fits, JSON.stringify(narrow));
  assert.ok(narrow.systems > wide.systems, `narrow ${JSON.stringify(narrow)}, wide ${JSON.stringify(wide)}`);
  t.diagnostic(`systems for 8 bars: ${wide.systems} at ${wide.width} px, ${narrow.systems} at ${narrow.width} px`);
  // And back above it: the wide layout again.
  await page.setViewportSize({ width: 1000, height: 900 });
  await page.waitForFunction(() => window.sheets === 3);
  // Nothing of the narrow layout stays (abcjs leaves its container's styles): as wide as before.
  assert.deepEqual(await layout(), { ...wide, drawn: 3 });
  assert.deepEqual(problems, []);
});

test('count-in and metronome: a bar of clicks before the first note, then a click on every beat', { timeout: 300_000 }, async (t) => {
  const browser = await launch({ webgpu: false });
  t.after(() => browser.close());
  const { page, problems } = await open(browser, server);
  await page.evaluate(() => (window.tunesmith.element.tempo = 240));
  const m = await generate(page, { bars: 2, seed: 9, meter: '3/4' });
  await page.check('#count-in');
  assert.equal(await page.evaluate(() => window.tunesmith.element.countIn), true, 'the toggle sets the attribute');
  const listen = () =>
    page.evaluate(() => {
      window.heard = [];
      const el = window.tunesmith.element;
      el.addEventListener('beat', (e) => window.heard.push({ kind: 'beat', ...e.detail }));
      el.addEventListener('note', (e) => window.heard.push({ kind: 'note', time: e.detail.time, onset: e.detail.note.onset }));
    });
  await listen();
  await page.click('#play');
  await page.waitForFunction(() => !window.tunesmith.element.playing, null, { timeout: 20_000 });
  let heard = await page.evaluate(() => window.heard);
  const firstNote = heard.find((e) => e.kind === 'note');
  const countIn = heard.filter((e) => e.kind === 'beat' && e.countIn);
  // 3/4 at 240 bpm: a beat every 4 steps, 0.25 s; a bar before the first note's bar, plus its pickup beats.
  const firstBar = Math.floor(m.notes[0].onset / 12) * 12;
  assert.equal(countIn.length, 3 + Math.ceil((m.notes[0].onset - firstBar) / 4), JSON.stringify(countIn));
  assert.ok(countIn[0].downbeat && countIn[0].step === firstBar - 12);
  for (let i = 1; i < countIn.length; i++) assert.ok(Math.abs(countIn[i].time - countIn[i - 1].time - 0.25) < 1e-6);
  assert.ok(countIn.every((b) => b.time < firstNote.time), 'all before the first note');
  assert.equal(heard.filter((e) => e.kind === 'beat' && !e.countIn).length, 0, 'no metronome: silent after the count-in');

  // The metronome alone: beats through the melody, every 4 steps, downbeats every 12.
  await page.uncheck('#count-in');
  await page.check('#metronome');
  await listen();
  await page.click('#play');
  await page.waitForFunction(() => !window.tunesmith.element.playing, null, { timeout: 20_000 });
  heard = await page.evaluate(() => window.heard);
  const beats = heard.filter((e) => e.kind === 'beat');
  const last = m.notes.at(-1);
  assert.ok(beats.length >= Math.floor((last.onset + last.duration - m.notes[0].onset) / 4), `${beats.length} beats`);
  assert.ok(beats.every((b) => b.step % 4 === 0 && b.downbeat === (b.step % 12 === 0) && !b.countIn));
  assert.ok(beats[0].step >= m.notes[0].onset, 'none before the melody without a count-in');
  assert.deepEqual(problems, []);
});

test('loop: the toggle plays on past the end', { timeout: 300_000 }, async (t) => {
  const browser = await launch({ webgpu: false });
  t.after(() => browser.close());
  const { page, problems } = await open(browser, server);
  await page.evaluate(() => (window.tunesmith.element.tempo = 400));
  const m = await generate(page, { bars: 1, seed: 4 });
  await page.check('#loop');
  await page.evaluate(() => {
    window.onsets = [];
    window.tunesmith.element.addEventListener('note', (e) => window.onsets.push(e.detail.index));
  });
  await page.click('#play');
  await page.waitForFunction((n) => window.onsets.length >= 2 * n + 1, m.notes.length, { timeout: 20_000 });
  assert.equal(await page.evaluate(() => window.tunesmith.element.playing), true);
  await page.uncheck('#loop');
  await page.waitForFunction(() => !window.tunesmith.element.playing, null, { timeout: 20_000 });
  const onsets = await page.evaluate(() => window.onsets);
  assert.deepEqual(onsets.slice(0, m.notes.length), [...m.notes.keys()]);
  assert.deepEqual(onsets.slice(m.notes.length, 2 * m.notes.length), [...m.notes.keys()], 'the second time round');
  assert.deepEqual(problems, []);
});

test('endless: a minute of audio clock with no gaps, each part primed by the melody so far, memory flat', { timeout: 300_000 }, async (t) => {
  const browser = await launch({ webgpu: false });
  t.after(() => browser.close());
  const { page, problems } = await open(browser, server);
  await page.evaluate(() => (window.tunesmith.element.tempo = 400)); // a bar of 4/4 in 0.6 s
  const first = await generate(page, { bars: 2, seed: 5 });
  await page.check('#endless');
  await page.evaluate(() => {
    window.heard = [];
    window.parts = [];
    const el = window.tunesmith.element;
    el.addEventListener('note', (e) => window.heard.push({ time: e.detail.time, lead: e.detail.lead, step: e.detail.step, pitch: e.detail.note.pitch }));
    el.addEventListener('endless', (e) => window.parts.push(e.detail));
  });
  await page.click('#play');
  await page.waitForFunction(() => window.parts.length >= 2);
  const wasmBefore = (await page.evaluate(() => window.tunesmith.client.stats())).wasmBytes;
  const clock = () => page.evaluate(async () => (await import('/www/synth.js')).audioContext().currentTime);
  const start = await clock();
  while ((await clock()) - start < 60) await page.waitForTimeout(2_000);
  const wasmAfter = (await page.evaluate(() => window.tunesmith.client.stats())).wasmBytes;
  const shown = await page.evaluate(() => window.tunesmith.element.melody);
  const { heard, parts } = await page.evaluate(() => ({ heard: window.heard, parts: window.parts }));
  await page.evaluate(() => window.tunesmith.element.stop());
  assert.equal(await page.evaluate(() => window.tunesmith.element.playing), false);

  const secondsPerStep = 60 / 400 / 4;
  const span = heard.at(-1).time - heard[0].time;
  assert.ok(span >= 55, `${span.toFixed(1)} s of notes`);
  assert.ok(parts.length >= 20, `${parts.length} parts of 4 bars`);
  // It went on with the melody: the first notes are the first melody's, then new ones.
  assert.deepEqual(heard.slice(0, first.notes.length).map((n) => n.pitch), first.notes.map((n) => n.pitch));
  // No gaps: every note on the one grid of the audio clock, none scheduled late, each with at
  // least 200 ms of audio clock between being scheduled and sounding.
  for (const n of heard) assert.ok(Math.abs(n.time - heard[0].time - (n.step - heard[0].step) * secondsPerStep) < 1e-6, JSON.stringify(n));
  // (Play itself starts the first notes 30 ms ahead: those are not endless play's.)
  const later = heard.filter((n) => n.time - heard[0].time > 0.5);
  const lead = Math.min(...later.map((n) => n.lead));
  assert.ok(lead >= 0.2, `the shortest lead: ${lead.toFixed(3)} s; ${later.filter((n) => n.lead < 0.2).length} of ${later.length} under 0.2 s`);
  for (let i = 1; i < heard.length; i++) assert.ok(heard[i].step > heard[i - 1].step);
  assert.equal(parts.at(-1).gaps, 0, 'no part came too late');
  // The longest silence between notes is one the model wrote, not a wait for a part.
  const longest = Math.max(...heard.slice(1).map((n, i) => n.step - heard[i].step));
  assert.ok(longest <= 32, `the longest gap between onsets: ${longest} steps`);
  // Memory flat: the worker's wasm memory did not grow; the melody kept is the last 32 bars.
  assert.ok(wasmAfter - wasmBefore < 1 << 20, `wasm memory ${wasmBefore} → ${wasmAfter}`);
  assert.ok(shown.totalSteps <= (32 + 16) * 16 && shown.endless, `${shown.totalSteps / 16} bars on show`);
  assert.ok(parts.every((p) => p.bars <= 48), JSON.stringify(parts.map((p) => p.bars)));
  // The last bars download as MIDI.
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('#download')]);
  const midi = await readFile(await download.path());
  assert.equal(midi.toString('ascii', 0, 4), 'MThd');
  assert.deepEqual(problems, []);
});

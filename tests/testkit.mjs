// Shared helpers of the browser tests: Debian's Chromium under playwright-core (never a
// downloaded browser), the page opened and driven as a person would, MIDI read back with an
// independent parser.

import assert from 'node:assert/strict';
import { chromium } from 'playwright-core';
import midiFile from 'midi-file';

export const SLOW = 240_000; // software WebGPU compiles its shaders on first use

const BASE_FLAGS = [
  '--headless=new',
  '--no-sandbox',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];

/**
 * `webgpu: true` adds the flag that gives Chromium a (software, SwiftShader) WebGPU adapter;
 * `extra`: more switches (benchmark experiments).
 */
export async function launch({ webgpu, extra = [] }) {
  return chromium.launch({
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    headless: true,
    args: [...BASE_FLAGS, ...(webgpu ? ['--enable-unsafe-webgpu'] : []), ...extra],
  });
}

/**
 * Every problem `page` shows, as it happens: console errors, page errors, failed requests, and
 * requests to anything but `origins` (and blob:/data: URLs). Returns the list it fills.
 */
export function watch(page, origins) {
  const problems = [];
  page.on('console', (m) => m.type() === 'error' && problems.push(`console: ${m.text()}`));
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('requestfailed', (r) => problems.push(`request failed: ${r.url()} ${r.failure()?.errorText ?? ''}`));
  page.on('request', (r) => {
    const url = r.url();
    if (![...origins, 'blob:', 'data:'].some((o) => url.startsWith(o))) problems.push(`request off the page's origins: ${url}`);
  });
  return problems;
}

/**
 * Opens the page (at `path`) and waits until its generator is in one of `states`; collects every
 * error it shows. `init`: a script run in the page before its own (stand-ins for devices);
 * `device`: more options of the browser context (a phone's `hasTouch`, `isMobile`, `viewport`).
 */
export async function open(browser, server, { path = '/', states = ['ready'], init, device = {} } = {}) {
  const context = await browser.newContext({ acceptDownloads: true, ...device });
  if (init) await context.addInitScript(init);
  const page = await context.newPage();
  const problems = watch(page, [server.url]);
  const requests = [];
  page.on('request', (r) => requests.push(new URL(r.url()).pathname));
  await page.goto(`${server.url}${path}`);
  await page.waitForSelector(states.map((s) => `tunesmith-generator[state="${s}"]`).join(', '), { timeout: SLOW });
  return { page, problems, requests };
}

/** Clicks `selector` and returns the next melody the page's generator shows. */
export async function nextMelody(page, selector) {
  await page.evaluate(() => {
    window.nextMelody = new Promise((resolve, reject) => {
      const el = window.tunesmith.element;
      el.addEventListener('melody', (e) => resolve(e.detail.melody), { once: true });
      el.addEventListener('error', (e) => reject(new Error(e.detail.message)), { once: true });
    });
  });
  await page.click(selector);
  return page.evaluate(() => window.nextMelody);
}

/** The state of the page's generator, once it has left 'generating' (or `states`). */
export async function settled(page, states = ['done', 'error']) {
  await page.waitForSelector(states.map((s) => `tunesmith-generator[state="${s}"]`).join(', '), { timeout: SLOW });
  return page.getAttribute('tunesmith-generator', 'state');
}

/** Fills the form, clicks Generate and returns the melody the page shows (one candidate unless asked). */
export async function generate(page, { bars = 2, seed = 1, temperature = 1, backend = 'auto', meter = '4/4', model = 'lstm', candidates = 1, theory } = {}) {
  await page.selectOption('#model', model);
  await page.fill('#bars', String(bars));
  await page.fill('#candidates', String(candidates));
  await page.fill('#seed', String(seed));
  if (meter === null) await page.evaluate(() => window.tunesmith.element.removeAttribute('meter')); // any
  else await page.selectOption('#meter', meter);
  await page.selectOption('#backend', backend);
  await page.$eval('#temperature', (el, t) => {
    el.value = t;
    el.dispatchEvent(new Event('input'));
  }, String(temperature));
  if (theory !== undefined) {
    await page.$eval('#theory', (el, s) => {
      el.value = s;
      el.dispatchEvent(new Event('input'));
    }, String(theory));
  }
  await page.click('#generate');
  await page.waitForSelector('tunesmith-generator[state="generating"]', { timeout: 5_000 }).catch(() => {});
  const state = await settled(page);
  const error = await page.textContent('#error');
  assert.equal(state, 'done', `generation failed: ${error}`);
  return page.evaluate(() => {
    const { element } = window.tunesmith;
    return { ...element.melody, midi: Array.from(element.midi) };
  });
}

/** Notes of a MIDI file, in 16th steps, with an independent parser (npm midi-file). */
export function notesOf(bytes) {
  const smf = midiFile.parseMidi(bytes);
  const stepTicks = smf.header.ticksPerBeat / 4;
  const notes = [];
  const sounding = new Map();
  for (const track of smf.tracks) {
    let tick = 0;
    for (const e of track) {
      tick += e.deltaTime;
      const on = e.type === 'noteOn' && e.velocity > 0;
      const off = e.type === 'noteOff' || (e.type === 'noteOn' && e.velocity === 0);
      if (off && sounding.has(e.noteNumber)) {
        const start = sounding.get(e.noteNumber);
        sounding.delete(e.noteNumber);
        notes.push({ pitch: e.noteNumber, onset: start / stepTicks, duration: (tick - start) / stepTicks });
      }
      if (on) sounding.set(e.noteNumber, tick);
    }
  }
  assert.equal(sounding.size, 0, 'every note-on has its note-off');
  return notes.sort((a, b) => a.onset - b.onset);
}


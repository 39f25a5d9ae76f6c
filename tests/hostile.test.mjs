// Hostile and broken inputs, each expecting a readable error and a page that still works: a
// missing, garbage or damaged model file (Retry once it is fixed), protocol messages of every bad
// kind, a lost WebGPU device, and the longest primer for both models. All under the strict CSP
// the server sends.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { launch, open, generate, SLOW } from './testkit.mjs';
import { serveMounts } from './server.mjs';

const DIST = new URL('../dist', import.meta.url).pathname;
const models = mkdtempSync(join(tmpdir(), 'tunesmith-models-'));
// The file the page downloads first: the weights of the default theory strength (their blend).
const PACK = join(models, 'lstm.blend.pack');
const real = readFileSync(join(DIST, 'models', 'lstm.blend.pack'));
let server;

before(async () => {
  for (const file of ['transformer.bpk', 'lstm.pack', 'lstm.tuned.pack']) copyFileSync(join(DIST, 'models', file), join(models, file));
  server = await serveMounts({ '/models/': models, '/': DIST });
});
after(() => {
  server?.close();
  rmSync(models, { recursive: true, force: true });
});

/** Opens the page without waiting for it to be ready (it may never be). */
async function openRaw(browser) {
  const page = await (await browser.newContext()).newPage();
  const problems = [];
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('request', (r) => {
    if (!r.url().startsWith(server.url) && !r.url().startsWith('blob:')) problems.push(`request off the page's origin: ${r.url()}`);
  });
  await page.goto(`${server.url}/`);
  return { page, problems };
}

/** A copy of `bytes` with the byte at `at` inverted. */
function flipped(bytes, at) {
  const copy = Buffer.from(bytes);
  copy[at] ^= 0xff;
  return copy;
}

const broken = [
  ['missing', null, /HTTP 404/],
  ['garbage', Buffer.from('<!doctype html><p>Not found</p>'), /neither a \.pack nor a burnpack/],
  ['truncated', real.subarray(0, real.length >> 1), /does not match its spec/],
  ['a NaN in it', Buffer.concat([real.subarray(0, 64), Buffer.from([0xff, 0x7f, 0xff, 0x7f]), real.subarray(68)]), /does not match its spec/],
  // Parses and loads (an int8 weight changed): only the spec's checksum tells.
  ['one byte changed', flipped(real, real.length >> 1), /does not match its spec/],
];

test('a broken model file: a readable error, then Retry works once it is fixed', { timeout: 600_000 }, async (t) => {
  const browser = await launch({ webgpu: false });
  t.after(() => browser.close());
  for (const [what, bytes, message] of broken) {
    rmSync(PACK, { force: true });
    if (bytes) writeFileSync(PACK, bytes);
    const { page, problems } = await openRaw(browser);
    await page.waitForSelector('tunesmith-generator[state="error"]', { timeout: SLOW });
    const error = await page.textContent('#error');
    assert.match(error, /^tunesmith could not start: /, what);
    assert.match(error, message, `${what}: ${error}`);
    assert.equal(await page.isVisible('#retry'), true, what);
    writeFileSync(PACK, real);
    await page.click('#retry');
    await page.waitForSelector('tunesmith-generator[state="ready"]', { timeout: SLOW });
    assert.equal(await page.isVisible('#retry'), false);
    const m = await generate(page, { bars: 2, seed: 3, backend: 'cpu' });
    assert.ok(m.notes.length > 0, what);
    assert.deepEqual(problems, [], what);
    await page.context().close();
  }
});

test('a broken model file on WebGPU: a readable error, and the next Generate works once it is fixed', { timeout: 900_000 }, async (t) => {
  writeFileSync(PACK, real);
  const bpk = join(models, 'transformer.bpk');
  const goodBpk = readFileSync(bpk);
  t.after(() => {
    writeFileSync(bpk, goodBpk);
    writeFileSync(PACK, real);
  });
  const browser = await launch({ webgpu: true });
  t.after(() => browser.close());
  // The Transformer loads when first asked for, through Burn on the WebGPU device; the LSTM's
  // pack goes to the WGSL kernels when the page started on the Transformer (so the CPU never
  // fetched it).
  const files = [
    ['transformer', bpk, goodBpk, '/'],
    ['lstm', PACK, real, '/?model=transformer'],
  ];
  for (const [model, file, good, path] of files) {
    const cases = [
      ['missing', null, /HTTP 404/],
      ['garbage', Buffer.from('<!doctype html><p>Not found</p>'), /neither a \.pack nor a burnpack/],
      ['truncated', good.subarray(0, good.length >> 1), /does not match its spec/],
      ['one byte changed', flipped(good, good.length >> 1), /does not match its spec/],
    ];
    for (const [what, bytes, message] of cases) {
      rmSync(file, { force: true });
      if (bytes) writeFileSync(file, bytes);
      // A fresh context each time: a worker keeps a model it has loaded.
      const { page, problems } = await open(browser, server, { path });
      const send = (seed) =>
        page.evaluate(
          async ([model, seed]) => {
            try {
              const reply = await window.tunesmith.client.generate({ model, backend: 'webgpu', request: { bars: 1, seed } });
              return { backend: reply.backend, notes: reply.melodies[0].notes.length };
            } catch (e) {
              return e.message;
            }
          },
          [model, seed],
        );
      assert.match(String(await send(1)), message, `${model}, ${what}`);
      writeFileSync(file, good);
      const next = await send(2);
      assert.equal(next.backend, 'webgpu', `${model}, ${what}: ${JSON.stringify(next)}`);
      assert.ok(next.notes > 0, what);
      assert.deepEqual(problems, [], what);
      await page.context().close();
    }
  }
});

test('a worker script that cannot load: a readable error and Retry, not a restart loop', { timeout: 600_000 }, async (t) => {
  const www = mkdtempSync(join(tmpdir(), 'tunesmith-www-'));
  t.after(() => rmSync(www, { recursive: true, force: true }));
  cpSync(join(DIST, 'www'), www, { recursive: true });
  const worker = readFileSync(join(www, 'worker.js'));
  rmSync(join(www, 'worker.js'));
  const site = await serveMounts({ '/www/': www, '/': DIST });
  t.after(() => site.close());
  const browser = await launch({ webgpu: false });
  t.after(() => browser.close());
  const page = await browser.newPage();
  let workers = 0;
  page.on('worker', () => workers++);
  await page.goto(`${site.url}/`);
  await page.waitForSelector('tunesmith-generator[state="error"]', { timeout: SLOW });
  assert.match(await page.textContent('#error'), /^tunesmith could not start: the generator worker failed to start/);
  await page.waitForTimeout(2000);
  assert.equal(workers, 1, 'a worker that cannot load is not started again by itself');
  writeFileSync(join(www, 'worker.js'), worker);
  await page.click('#retry');
  await page.waitForSelector('tunesmith-generator[state="ready"]', { timeout: SLOW });
  assert.equal(workers, 2);
  assert.ok((await generate(page, { bars: 1, seed: 2 })).notes.length > 0);
});

for (const webgpu of [false, true]) {
test(`protocol messages of every bad kind are refused, and the next Generate works (${webgpu ? 'WebGPU' : 'CPU'})`, { timeout: 600_000 }, async (t) => {
  writeFileSync(PACK, real);
  const backend = webgpu ? 'webgpu' : 'cpu';
  const browser = await launch({ webgpu });
  t.after(() => browser.close());
  const { page, problems } = await open(browser, server);
  const send = (message) =>
    page.evaluate(async (m) => {
      try {
        await window.tunesmith.client.generate(m);
        return 'accepted';
      } catch (e) {
        return e.message;
      }
    }, message);
  const bad = [
    [{ bars: 4294967300 }, /bars|invalid value/],
    [{ bars: 2.9 }, /bars|invalid/],
    [{ bars: '8' }, /invalid type/],
    [{ seed: 4294967297 }, /seed|invalid value/],
    [{ meter: 4 }, /meter|invalid type/],
    [{ meter: { length: 2e8 } }, /meter|invalid type/],
    [{ meter: 'x'.repeat(100_000) }, /meter/],
    [{ temperature: -1 }, /temperature/],
    [{ tempo: -120 }, /tempo/],
    [{ candidates: 100 }, /candidates/],
    [{ theory: 1.5 }, /theory strength must be from 0 to 1/],
    [{ theory: 'strong' }, /invalid type/],
    [{ bar: 4 }, /unknown field/],
    [{ primer: [{ pitch: 60, onset: 4294967295, duration: 1 }] }, /primer/],
  ];
  for (const [request, message] of bad) {
    const answer = await send({ model: 'lstm', backend, request });
    assert.match(answer, message, JSON.stringify(request).slice(0, 80));
  }
  assert.match(await send({ model: 'nope', request: {} }), /Unknown model "nope"/);
  assert.match(await send({ model: 'transformer', backend: 'cpu', request: { theory: 0.5 } }), /no theory-tuned weights/);
  assert.match(await send({ model: 'lstm', backend: 'tpu', request: {} }), /Unknown backend "tpu"/);
  // The other messages: MIDI bytes, share codes, melodies to describe.
  const other = (method, arg) =>
    page.evaluate(async ([method, arg]) => {
      const value = arg === 'big-midi' ? new Uint8Array((16 << 20) + 1) : arg === 'garbage' ? new Uint8Array([1, 2, 3]) : arg;
      try {
        await window.tunesmith.client[method](value);
        return 'accepted';
      } catch (e) {
        return e.message;
      }
    }, [method, arg]);
  assert.match(await other('readMidi', 'not bytes'), /a MIDI file comes as bytes/);
  assert.match(await other('readMidi', 'big-midi'), /the MIDI file is 16777217 bytes; at most 16777216 are read/);
  assert.match(await other('readMidi', 'garbage'), /not a readable MIDI file/);
  assert.match(await other('openShared', 'x'.repeat(30_000)), /a share link holds at most 20000/);
  assert.match(await other('openShared', '!!!'), /.+/);
  assert.notEqual(await other('openShared', '!!!'), 'accepted');
  assert.notEqual(await other('describe', { notes: 'many' }), 'accepted');
  assert.notEqual(await other('describe', 42), 'accepted');
  const m = await generate(page, { bars: 2, seed: 5, backend });
  assert.equal(m.backend, backend);
  assert.ok(m.notes.length > 0);
  assert.deepEqual(problems, []);
});
}

test('a lost WebGPU device: a readable error, then a fresh worker with a new device, and the next Generate works', { timeout: 600_000 }, async (t) => {
  writeFileSync(PACK, real);
  const browser = await launch({ webgpu: true });
  t.after(() => browser.close());
  const context = await browser.newContext();
  const page = await context.newPage();
  // Each worker keeps the devices it makes, so that the test can destroy them as a driver
  // reset would (the worker asks for its device only when WebGPU is first needed).
  const workers = [];
  page.on('worker', (w) => {
    workers.push(w);
    w.evaluate(() => {
      const request = GPUAdapter.prototype.requestDevice;
      self.devices = [];
      GPUAdapter.prototype.requestDevice = async function (...args) {
        const device = await request.apply(this, args);
        self.devices.push(device);
        return device;
      };
    }).catch(() => {});
  });
  const problems = [];
  page.on('pageerror', (e) => problems.push(e.message));
  await page.goto(`${server.url}/`);
  await page.waitForSelector('tunesmith-generator[state="ready"]', { timeout: SLOW });
  const send = (request) =>
    page.evaluate(async (r) => {
      try {
        const { melodies, backend } = await window.tunesmith.client.generate({ model: 'lstm', backend: 'webgpu', request: r });
        return { backend, notes: melodies[0].notes.length };
      } catch (e) {
        return e.message;
      }
    }, request);
  const first = await send({ bars: 1, seed: 1 });
  assert.equal(first.backend, 'webgpu', JSON.stringify(first));
  const destroyed = await workers[0].evaluate(() => self.devices.map((d) => (d.destroy(), 'destroyed')));
  assert.deepEqual(destroyed, ['destroyed']);
  assert.match(await send({ bars: 1, seed: 2 }), /GPU device was lost.*restarts/);
  const next = await send({ bars: 2, seed: 3 });
  assert.equal(next.backend, 'webgpu', JSON.stringify(next));
  assert.ok(next.notes > 0);
  assert.equal(workers.length, 2, 'one restart');
  assert.equal(await workers[1].evaluate(() => self.devices.length), 1, 'the fresh worker made its own device');
  assert.deepEqual(problems, []);
});

test('a crash in the worker (a Rust panic) rejects what is pending with a readable message, and the next Generate works', { timeout: 300_000 }, async (t) => {
  writeFileSync(PACK, real);
  const browser = await launch({ webgpu: false });
  t.after(() => browser.close());
  const page = await (await browser.newContext()).newPage();
  const workers = [];
  page.on('worker', (w) => workers.push(w));
  const problems = [];
  page.on('pageerror', (e) => problems.push(e.message));
  await page.goto(`${server.url}/`);
  await page.waitForSelector('tunesmith-generator[state="ready"]', { timeout: SLOW });
  // The core's panic hook (what web.rs installs calls it) fires while a long request is in
  // flight: at its first yield between bars.
  await workers[0].evaluate(() =>
    self.addEventListener('message', ({ data }) => {
      if (data?.type === 'generate') setTimeout(() => self.tunesmithPanic('index out of bounds (a test)'));
    }),
  );
  const answer = await page.evaluate(() =>
    window.tunesmith.client
      .generate({ model: 'lstm', backend: 'cpu', request: { bars: 64, candidates: 16, seed: 1 } })
      .then(() => 'finished', (e) => e.message),
  );
  assert.match(answer, /the generator crashed: index out of bounds \(a test\)/);
  const m = await generate(page, { bars: 2, seed: 3, backend: 'cpu' });
  assert.ok(m.notes.length > 0);
  assert.equal(workers.length, 2, 'one fresh worker');
  assert.deepEqual(problems, []);
});

for (const webgpu of [false, true]) {
test(`the longest primer works for both models, and so does the next Generate (${webgpu ? 'WebGPU' : 'CPU'})`, { timeout: 900_000 }, async (t) => {
  writeFileSync(PACK, real);
  const backend = webgpu ? 'webgpu' : 'cpu';
  const browser = await launch({ webgpu });
  t.after(() => browser.close());
  const { page, problems } = await open(browser, server);
  const { maxPrimerSteps } = await page.evaluate(() => window.tunesmith.client.ready().then(({ catalog }) => catalog.limits));
  const primer = Array.from({ length: maxPrimerSteps / 4 }, (_, i) => ({ pitch: 60 + ((i * 5) % 12), onset: 4 * i, duration: 4 }));
  for (const model of ['lstm', 'transformer']) {
    const reply = await page.evaluate(
      ({ model, primer, backend }) => window.tunesmith.client.generate({ model, backend, request: { bars: 1, primer, phase: 'file', meter: '4/4' } }),
      { model, primer, backend },
    );
    const [melody] = reply.melodies;
    assert.equal(melody.primerSteps, maxPrimerSteps, model);
    assert.equal(melody.totalSteps, maxPrimerSteps + 16, model);
    assert.equal(reply.backend, backend, model);
  }
  const tooLong = [...primer, { pitch: 60, onset: maxPrimerSteps, duration: 4 }];
  const refused = await page.evaluate(
    (primer) => window.tunesmith.client.generate({ model: 'lstm', request: { bars: 1, primer } }).then(() => 'accepted', (e) => e.message),
    tooLong,
  );
  assert.match(refused, /primer ends at step \d+; at most \d+ steps/);
  const m = await generate(page, { bars: 2, seed: 6, backend });
  assert.ok(m.notes.length > 0);
  assert.deepEqual(problems, []);
});
}

// The worker client (www/client.js) on the built page: several users share one worker, a
// generation can be cancelled between bars, and a worker that stops answering is restarted.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { serveMounts } from './server.mjs';
import { launch, open } from './testkit.mjs';

const DIST = fileURLToPath(new URL('../dist/', import.meta.url));
let server;

before(async () => {
  server = await serveMounts({ '/': DIST });
});
after(() => server?.close());

test('the client shares one worker, cancels between bars and restarts a hung worker', { timeout: 600_000 }, async (t) => {
  const browser = await launch({ webgpu: false });
  t.after(() => browser.close());
  const { page, problems, requests } = await open(browser, server);
  const r = await page.evaluate(async () => {
    const { TunesmithClient } = await import('/www/client.js');
    const client = TunesmithClient.shared(new URL('/www/worker.js', location.href));
    const out = { shared: client === window.tunesmith.client };
    const lstm = (seed) => ({ model: 'lstm', backend: 'cpu', request: { bars: 2, seed } });
    const long = { model: 'transformer', backend: 'cpu', request: { bars: 64, seed: 3 } };

    // Two users at once, one worker: both answered, each with its own melody.
    const [a, b] = await Promise.all([client.generate(lstm(1)), window.tunesmith.client.generate(lstm(2))]);
    out.both = [a.melodies[0].seed, b.melodies[0].seed];

    // The request is typed: wrong types, values out of range and unknown fields are refused
    // with a message, never rounded, wrapped or ignored.
    const refused = async (request) => {
      try {
        await client.generate({ model: 'lstm', backend: 'cpu', request });
        return 'accepted';
      } catch (e) {
        return e.message;
      }
    };
    out.refused = await Promise.all(
      [{ bars: 2.9 }, { bars: '8' }, { bars: 2 ** 32 + 4 }, { seed: 2 ** 32 + 1 }, { meter: 4 }, { meter: { length: 2e8 } }, { temprature: 1 }, { bars: 65 }, { key: 'H major' }].map(refused),
    );

    // Cancel: stop a 64-bar Transformer melody after its second bar.
    const stop = new AbortController();
    const bars = [];
    const started = performance.now();
    try {
      await client.generate(long, {
        signal: stop.signal,
        onProgress: ({ done }) => {
          bars.push(done);
          if (done === 2) stop.abort();
        },
      });
      out.cancel = 'finished';
    } catch (e) {
      out.cancel = { cancelled: e.cancelled, message: e.message, ms: performance.now() - started, bars: Math.max(...bars) };
    }
    out.afterCancel = (await client.generate(lstm(1))).melodies[0].notes.length;

    // One signal for many requests (as endless play uses): none of them stays attached to it.
    const shared = new AbortController();
    let listening = 0;
    const add = shared.signal.addEventListener.bind(shared.signal);
    const remove = shared.signal.removeEventListener.bind(shared.signal);
    shared.signal.addEventListener = (...a) => (listening++, add(...a));
    shared.signal.removeEventListener = (...a) => (listening--, remove(...a));
    for (let i = 0; i < 5; i++) await client.generate(lstm(i), { signal: shared.signal });
    out.listening = listening;

    // A worker that does not answer in time is restarted; what it held fails, then all works.
    const restarts = [];
    client.on('restart', (e) => restarts.push(e.message));
    try {
      await client.generate(long, { timeoutMs: 300 });
      out.hang = 'finished';
    } catch (e) {
      out.hang = e.message;
    }
    out.restarts = restarts.length;
    out.afterRestart = (await client.generate(lstm(1))).melodies[0].notes.length;
    return out;
  });
  assert.ok(r.shared, 'one client per worker script on the page');
  const [fraction, text, huge, seed, meter, object, unknown, long, key] = r.refused;
  for (const m of [fraction, text, huge, seed, meter, object, unknown, key]) assert.match(m, /^bad request: /, JSON.stringify(r.refused));
  assert.match(fraction, /floating point `2.9`/);
  assert.match(object, /invalid type: map, expected a string/);
  assert.match(object, /invalid type: map, expected a string/);
  assert.match(unknown, /unknown field `temprature`/);
  assert.match(key, /unknown key "H major"/);
  assert.match(long, /length must be 1–64 bars, got 65/);
  assert.deepEqual(r.both, [1, 2]);
  assert.equal(r.cancel.cancelled, true, JSON.stringify(r.cancel));
  assert.ok(r.cancel.bars < 64, `stopped early: ${JSON.stringify(r.cancel)}`);
  assert.ok(r.afterCancel > 0);
  assert.equal(r.listening, 0, 'a shared signal holds no finished request');
  assert.match(r.hang, /did not answer in 0.3 s and was restarted/);
  assert.equal(r.restarts, 1);
  assert.ok(r.afterRestart > 0);
  // One wasm module for everything on the page, and after the restart one more.
  assert.equal(requests.filter((p) => p.endsWith('.wasm')).length <= 2, true, requests.join(' '));
  assert.deepEqual(problems, []);
});

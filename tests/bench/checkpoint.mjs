// Writes a Magenta.js MusicRNN checkpoint with the basic_rnn shape (2 × 512 LSTM, 38 classes) but
// random weights. The benchmark measures speed, which depends only on the shapes, so there is no
// need to download Google's trained checkpoint (and no internet to download it from).
// `node tests/bench/checkpoint.mjs DIR` writes one by hand.

import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { rng } from './basic_rnn.js';

const CLASSES = 38; // 0 = no event, 1 = note-off, 2.. = MIDI 48–83
const UNITS = 512;
const CELL = 'rnn/multi_rnn_cell/cell_%d/basic_lstm_cell/';

/** [name, shape] in the order MusicRNN's tf.basicLSTMCell expects: kernel is [input+units, 4·units]. */
export const BASIC_RNN_VARIABLES = [
  [CELL.replace('%d', 0) + 'kernel', [CLASSES + UNITS, 4 * UNITS]],
  [CELL.replace('%d', 0) + 'bias', [4 * UNITS]],
  [CELL.replace('%d', 1) + 'kernel', [UNITS + UNITS, 4 * UNITS]],
  [CELL.replace('%d', 1) + 'bias', [4 * UNITS]],
  ['fully_connected/weights', [UNITS, CLASSES]],
  ['fully_connected/biases', [CLASSES]],
];

// MusicRNN reads only `type` and `dataConverter` here: no `attentionLength` (attention is detected
// from variable names), no `chordEncoder` (it would then demand a chord progression), no `auxInputs`.
export const BASIC_RNN_CONFIG = {
  type: 'MusicRNN',
  dataConverter: { type: 'MelodyConverter', args: { minPitch: 48, maxPitch: 83 } },
};

/**
 * Writes config.json, weights_manifest.json (TF.js format, one group) and one .bin shard into
 * `dir`. Resolves to {dir, files: [names], bytes: total size on disk}.
 */
export async function writeBasicRnnCheckpoint(dir, { seed = 1, scale = 0.08 } = {}) {
  const next = rng(seed);
  const count = BASIC_RNN_VARIABLES.reduce((n, [, shape]) => n + shape.reduce((a, b) => a * b), 0);
  const values = new Float32Array(count);
  for (let i = 0; i < count; i++) values[i] = (next() * 2 - 1) * scale;
  const shard = 'group1-shard1of1.bin';
  const manifest = [
    {
      paths: [shard],
      weights: BASIC_RNN_VARIABLES.map(([name, shape]) => ({ name, shape, dtype: 'float32' })),
    },
  ];
  const files = {
    'config.json': JSON.stringify(BASIC_RNN_CONFIG),
    'weights_manifest.json': JSON.stringify(manifest),
    // Little-endian f32, concatenated in manifest order: what tf.io.loadWeights expects.
    [shard]: new Uint8Array(values.buffer),
  };
  await mkdir(dir, { recursive: true });
  let bytes = 0;
  for (const [name, body] of Object.entries(files)) {
    await writeFile(join(dir, name), body);
    bytes += typeof body === 'string' ? Buffer.byteLength(body) : body.byteLength;
  }
  return { dir, files: Object.keys(files), bytes };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const out = await writeBasicRnnCheckpoint(process.argv[2] ?? 'basic_rnn_random');
  console.log(`${out.dir}: ${out.files.join(', ')} — ${out.bytes} bytes`);
}

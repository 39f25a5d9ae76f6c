// A hand-written ONNX writer, just big enough for the benchmark's basic_rnn model, so that the
// model is made at bench time (in the page, from the seeded weights) and never committed, with
// no Python or protobuf dependency. Protobuf wire format: each field is a varint key
// (number << 3 | wire type) then a varint (type 0), length-prefixed bytes (type 2) or 4 bytes
// (type 5). Field numbers are onnx.proto's (ModelProto, GraphProto, NodeProto, AttributeProto,
// TensorProto, ValueInfoProto, TypeProto, TensorShapeProto).

import { CLASSES, UNITS, onnxLayout } from './basic_rnn.js';

const FLOAT = 1; // TensorProto.DataType
const INT64 = 7;
const ATTR = { FLOAT: 1, INT: 2, STRING: 3 }; // AttributeProto.AttributeType

/** Bytes of a message: an array of already-encoded fields. */
class Message {
  constructor() {
    this.parts = [];
  }

  varint(n) {
    // int64 fields here are small and non-negative.
    let v = BigInt(n);
    const out = [];
    do {
      let byte = Number(v & 0x7fn);
      v >>= 7n;
      if (v) byte |= 0x80;
      out.push(byte);
    } while (v);
    this.parts.push(Uint8Array.from(out));
    return this;
  }

  key(field, wire) {
    return this.varint((field << 3) | wire);
  }

  int(field, n) {
    return this.key(field, 0).varint(n);
  }

  bytes(field, data) {
    this.key(field, 2).varint(data.length);
    this.parts.push(data);
    return this;
  }

  string(field, s) {
    return this.bytes(field, new TextEncoder().encode(s));
  }

  message(field, m) {
    return this.bytes(field, m.finish());
  }

  float(field, x) {
    this.key(field, 5);
    const b = new Uint8Array(4);
    new DataView(b.buffer).setFloat32(0, x, true);
    this.parts.push(b);
    return this;
  }

  finish() {
    const out = new Uint8Array(this.parts.reduce((n, p) => n + p.length, 0));
    let at = 0;
    for (const p of this.parts) {
      out.set(p, at);
      at += p.length;
    }
    return out;
  }
}

/** TensorProto: dims (1), data_type (2), name (8), raw_data (9, little-endian). */
function tensor(name, dims, data) {
  const m = new Message();
  for (const d of dims) m.int(1, d);
  m.int(2, data instanceof BigInt64Array ? INT64 : FLOAT);
  m.string(8, name);
  return m.bytes(9, new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
}

/** ValueInfoProto of a float tensor with fixed dims: name (1), type (2) → tensor_type (1) → elem_type (1), shape (2) → dim (1) → dim_value (1). */
function valueInfo(name, dims) {
  const shape = new Message();
  for (const d of dims) shape.message(1, new Message().int(1, d));
  const tensorType = new Message().int(1, FLOAT).message(2, shape);
  return new Message().string(1, name).message(2, new Message().message(1, tensorType));
}

/** AttributeProto: name (1), f (2), i (3), s (4), type (20). */
function attribute(name, value) {
  const m = new Message().string(1, name);
  if (typeof value === 'string') return m.string(4, value).int(20, ATTR.STRING);
  if (Number.isInteger(value)) return m.int(3, value).int(20, ATTR.INT);
  return m.float(2, value).int(20, ATTR.FLOAT);
}

/** NodeProto: input (1), output (2), name (3), op_type (4), attribute (5). Empty input name = absent optional input. */
function node(op, name, inputs, outputs, attrs = {}) {
  const m = new Message();
  for (const i of inputs) m.string(1, i);
  for (const o of outputs) m.string(2, o);
  m.string(3, name).string(4, op);
  for (const [k, v] of Object.entries(attrs)) m.message(5, attribute(k, v));
  return m;
}

/** State inputs and outputs of the step model, in order: layer 0 h, c, layer 1 h, c. */
export const STATE_IN = ['h0', 'c0', 'h1', 'c1'];
export const STATE_OUT = ['h0_out', 'c0_out', 'h1_out', 'c1_out'];

/**
 * One step of basic_rnn as ONNX (opset 17): x [1, 1, 38] one-hot (seq 1, batch 1) and the four
 * states [1, 1, 512] in; two ONNX LSTM nodes (layer 1 reads layer 0's Y, reshaped from
 * [seq, dirs, batch, H] to [seq, batch, H]), MatMul + Add on layer 1's last h for the logits
 * [1, 1, 38]; logits and the four new states out.
 */
export function basicRnnOnnx(weights) {
  const { layers, head } = onnxLayout(weights);
  const graph = new Message();
  const state = [1, 1, UNITS];
  let x = 'x';
  layers.forEach(({ inputs, W, R, B }, l) => {
    graph.message(1, node('LSTM', `lstm${l}`, [x, `W${l}`, `R${l}`, `B${l}`, '', `h${l}`, `c${l}`], [`Y${l}`, `h${l}_out`, `c${l}_out`], { hidden_size: UNITS, direction: 'forward' }));
    if (l + 1 < layers.length) {
      graph.message(1, node('Reshape', `reshape${l}`, [`Y${l}`, 'seq_batch_h'], [`Y${l}_flat`]));
      x = `Y${l}_flat`;
    }
    graph.message(5, tensor(`W${l}`, [1, 4 * UNITS, inputs], W));
    graph.message(5, tensor(`R${l}`, [1, 4 * UNITS, UNITS], R));
    graph.message(5, tensor(`B${l}`, [1, 8 * UNITS], B));
  });
  const last = layers.length - 1;
  graph.message(1, node('MatMul', 'head_matmul', [`h${last}_out`, 'head_w'], ['head_mm']));
  graph.message(1, node('Add', 'head_add', ['head_mm', 'head_b'], ['logits']));
  graph.string(2, 'basic_rnn_step');
  graph.message(5, tensor('seq_batch_h', [3], BigInt64Array.from([1n, 1n, BigInt(UNITS)])));
  graph.message(5, tensor('head_w', [UNITS, CLASSES], head.w));
  graph.message(5, tensor('head_b', [CLASSES], head.b));
  graph.message(11, valueInfo('x', [1, 1, CLASSES]));
  for (const name of STATE_IN) graph.message(11, valueInfo(name, state));
  graph.message(12, valueInfo('logits', [1, 1, CLASSES]));
  for (const name of STATE_OUT) graph.message(12, valueInfo(name, state));

  // ModelProto: ir_version (1), producer_name (2), graph (7), opset_import (8) → domain (1), version (2).
  return new Message()
    .int(1, 8)
    .string(2, 'tunesmith bench')
    .message(7, graph)
    .message(8, new Message().string(1, '').int(2, 17))
    .finish();
}

// The settings of <tunesmith-generator> (tunesmith-generator.js): its attributes are the core's
// controls (catalog.js, generated from crate/src/catalog.rs) plus its own (model, backend,
// controls, voice and the flags); each is mirrored by a property. Here: the lists of them, the
// properties, and the request a generation sends, read and checked from the attributes.

import catalog from './catalog.js';
import { DEFAULT_VOICE } from './synth.js';

export const CONTROLS = catalog.controls;
/** The element's own attributes, beside the catalog's controls. */
export const OWN = { model: catalog.defaultModel, backend: 'auto', controls: 'all', voice: DEFAULT_VOICE };
export const FLAGS = ['autoplay', 'loop', 'metronome', 'count-in', 'endless'];
export const ATTRIBUTES = [...Object.keys(OWN), ...FLAGS, ...CONTROLS.map((c) => c.attribute)];

export const modelEntry = (name) => catalog.models.find((m) => m.name === name);
export const camel = (name) => name.replace(/-([a-z])/g, (_, ch) => ch.toUpperCase());

/** Reads and checks `el`'s settings against the catalog; throws with a message a person can act on. */
export function readRequest(el) {
  const model = modelEntry(el.model);
  if (!model) throw new Error(`Unknown model "${el.model}": the models are ${catalog.models.map((m) => m.name).join(', ')}.`);
  const request = {};
  for (const c of CONTROLS) {
    const raw = el.getAttribute(c.attribute);
    if (c.kind === 'choice') {
      request[c.name] = raw === null || raw === '' ? c.default : raw;
      continue;
    }
    if (raw === null) {
      request[c.name] = c.default;
      continue;
    }
    const v = Number(raw);
    const integer = c.kind === 'integer';
    if (raw.trim() === '' || !Number.isFinite(v) || v < c.min || v > c.max || (integer && !Number.isInteger(v))) {
      throw new Error(`${c.label} must be ${integer ? 'a whole number ' : ''}from ${c.min} to ${c.max}.`);
    }
    request[c.name] = v;
  }
  // A model without a form input shapes its melodies itself; one without tuned weights has
  // no theory strength to set.
  if (!model.form) request.form = null;
  if (!model.tuned) request.theory = null;
  return { model: model.name, request };
}

/** Request fields that keep `notes` of melody `m` as the first `bars` bars, in its meter and key. */
export function keep(m, notes, bars) {
  return { primer: notes, primerBars: bars, phase: 'file', meter: m.meter, key: m.key ?? null, ...(m.style ? { style: m.style } : {}) };
}

/**
 * Request fields that make melody `m` anew from bar `bar` (1 is the first) to its end, with a new
 * seed, the bars before it kept exactly (notes cut at the bar line); throws when out of range.
 */
export function regenerating(m, bar) {
  const total = m.totalSteps / m.stepsPerBar;
  if (!Number.isInteger(bar) || bar < 1 || bar > total) throw new Error(`Regenerate from bar 1 to ${total}, the melody's last bar (got ${bar}).`);
  const max = catalog.limits.maxBars;
  if (total - bar + 1 > max) throw new Error(`Regenerate from bar ${total - max + 1} or later: at most ${max} bars are made at once.`);
  const cut = (bar - 1) * m.stepsPerBar;
  const kept = m.notes.filter((n) => n.onset < cut).map((n) => ({ ...n, duration: Math.min(n.duration, cut - n.onset) }));
  const seed = crypto.getRandomValues(new Uint32Array(1))[0];
  return { ...keep(m, kept, bar - 1), bars: total - bar + 1, seed };
}

/** Properties set on `el` before the element was defined shadow the accessors: move them over. */
export function upgradeProperties(el) {
  for (const name of ATTRIBUTES) {
    const prop = camel(name);
    if (Object.hasOwn(el, prop)) {
      const v = el[prop];
      delete el[prop];
      el[prop] = v;
    }
  }
}

/** Properties mirroring the attributes on `cls`: numbers as numbers, flags as booleans, unset as default. */
export function defineProperties(cls) {
  for (const name of ATTRIBUTES) {
    const control = CONTROLS.find((c) => c.attribute === name);
    let get;
    let set;
    if (FLAGS.includes(name)) {
      get = function () {
        return this.hasAttribute(name);
      };
      set = function (v) {
        this.toggleAttribute(name, !!v);
      };
    } else {
      const fallback = control ? control.default : OWN[name];
      const numeric = control && control.kind !== 'choice';
      get = function () {
        const raw = this.getAttribute(name);
        if (raw === null || raw === '') return fallback;
        return numeric ? Number(raw) : raw;
      };
      set = function (v) {
        if (v === null || v === undefined || v === '') this.removeAttribute(name);
        else this.setAttribute(name, String(v));
      };
    }
    Object.defineProperty(cls.prototype, camel(name), { get, set, configurable: true, enumerable: true });
  }
}

// The melody as staff notation: abcjs (npm, MIT) draws the ABC that the core writes
// (crate/src/abc.rs), and a cursor follows playback by lighting the note sounding. abcjs ships in
// the bundle (www/vendor/, copied from node_modules by the build: nothing from other origins) and
// loads only once a melody is on show: 150 KB gzip that the first melody does not wait for.

import { trusted } from './client.js';

const ABCJS_URL = new URL('./vendor/abcjs-basic-min.js', import.meta.url);
const PLAYING = 'tunesmith-playing';
/** Below this width (CSS px) the sheet is laid out two bars a line; at or above it, four. */
export const NARROW = 560;

let loading = null;

/** abcjs, loaded once per page (a classic script: its UMD build sets `ABCJS` on the window). */
export function loadAbcjs() {
  if (globalThis.ABCJS) return Promise.resolve(globalThis.ABCJS);
  loading ??= new Promise((resolve, reject) => {
    const script = document.createElement('script');
    script.src = trusted(ABCJS_URL.href); // a TrustedScriptURL where the page enforces Trusted Types
    script.async = true;
    script.onload = () => (globalThis.ABCJS ? resolve(globalThis.ABCJS) : reject(new Error('abcjs loaded but did not start')));
    script.onerror = () => {
      loading = null; // a later melody tries again
      script.remove();
      reject(new Error(`could not load ${ABCJS_URL.pathname}`));
    };
    document.head.append(script);
  });
  return loading;
}

/**
 * Runs `draw` (abcjs's renderer) so that a strict Content-Security-Policy (`style-src 'self'`, as
 * tunesmith's page sends) has nothing to block or report: abcjs sets inline styles with
 * `setAttribute('style', …)` (on the hidden SVG it measures text in), here applied through the
 * CSSOM, which the policy allows; it puts a `<style>` in each SVG for dragging notes with the
 * mouse, which the sheet does not offer, here left out; and it empties elements by assigning
 * `innerHTML = ''`, which a page enforcing Trusted Types refuses, here `replaceChildren()`.
 */
function withinStrictCsp(draw) {
  const html = Object.getOwnPropertyDescriptor(Element.prototype, 'innerHTML');
  Object.defineProperty(Element.prototype, 'innerHTML', {
    ...html,
    set(value) {
      if (value === '') this.replaceChildren();
      else html.set.call(this, value);
    },
  });
  const setAttribute = Element.prototype.setAttribute;
  Element.prototype.setAttribute = function (name, value) {
    if (String(name).toLowerCase() === 'style' && this.style) this.style.cssText = String(value);
    else setAttribute.call(this, name, value);
  };
  Object.defineProperty(SVGSVGElement.prototype, 'insertBefore', {
    configurable: true,
    value(node, before) {
      return node?.localName === 'style' ? node : Node.prototype.insertBefore.call(this, node, before);
    },
  });
  try {
    return draw();
  } finally {
    Element.prototype.setAttribute = setAttribute;
    delete SVGSVGElement.prototype.insertBefore;
    Object.defineProperty(Element.prototype, 'innerHTML', html);
  }
}

/**
 * The SVG elements of each of the melody's notes, in order: abcjs draws a note that crosses a bar
 * line (or has a length no single symbol has) as tied heads, which all belong to one note.
 */
function headsOfNotes(tune) {
  const notes = [];
  let tied = false; // the element before ended with a tie into this one
  for (const line of tune.lines ?? []) {
    for (const staff of line.staff ?? []) {
      for (const voice of staff.voices ?? []) {
        for (const el of voice) {
          if (el.el_type !== 'note' || el.rest || !el.pitches?.length) continue;
          const svg = el.abselem?.elemset ?? [];
          if (tied && notes.length) notes.at(-1).push(...svg);
          else notes.push([...svg]);
          tied = el.pitches.some((p) => p.startTie);
        }
      }
    }
  }
  return notes;
}

export class Sheet {
  constructor(container) {
    this.container = container;
    this.heads = [];
    this.active = -1;
    this.shown = null;
    this.drawn = null; // the melody drawn last
    this.narrow = null; // whether it was drawn two bars a line
  }

  #width() {
    return this.container.clientWidth || 800;
  }

  /**
   * Whether the sheet's width has crossed NARROW since the melody on show was drawn: drawn again,
   * it would be laid out the other way.
   */
  get stale() {
    return this.drawn !== null && this.drawn === this.shown && (this.#width() < NARROW) !== this.narrow;
  }

  /** Draws `melody.abc`; resolves once drawn (rejects if abcjs cannot load). */
  async show(melody) {
    this.shown = melody;
    // A task later: the melody is on show (and the page has marked it) before abcjs is fetched.
    if (!globalThis.ABCJS) await new Promise((resolve) => setTimeout(resolve));
    if (this.shown !== melody) return;
    const ABCJS = await loadAbcjs();
    if (this.shown !== melody) return; // a newer melody came meanwhile
    // abcjs styles the container for the layout it draws (inline-block, a width, an aspect ratio
    // as padding) and leaves what it does not set: the other layout's styles would stay.
    this.container.removeAttribute('style');
    const width = this.#width();
    const narrow = width < NARROW;
    const lit = this.drawn === melody ? this.active : -1; // drawn again (a new width): the cursor stays
    const [tune] = withinStrictCsp(() =>
      ABCJS.renderAbc(this.container, melody.abc, {
        add_classes: true,
        paddingleft: 0,
        paddingright: 0,
        paddingtop: 4,
        paddingbottom: 4,
        // A phone gets two bars a line at a readable size; a wider view, four scaled to fit.
        ...(narrow
          ? // Two bars of sixteenths can need more than the staff's width: scaled to fit, the
            // last bar line stays inside the box.
            { staffwidth: Math.max(200, width - 24), wrap: { minSpacing: 1.2, maxSpacing: 2.4, preferredMeasuresPerLine: 2 }, responsive: 'resize' }
          : { responsive: 'resize' }),
      }),
    );
    this.heads = tune ? headsOfNotes(tune) : [];
    this.active = -1;
    this.drawn = melody;
    this.narrow = narrow;
    this.mark(lit);
    const svg = this.container.querySelector('svg');
    svg?.setAttribute('role', 'img');
    svg?.setAttribute('aria-label', `Staff notation of the melody: ${this.heads.length} notes`);
  }

  /** Lights note `index` (-1: none), the cursor that follows playback. */
  mark(index) {
    if (index === this.active) return;
    for (const el of this.heads[this.active] ?? []) el.classList.remove(PLAYING);
    for (const el of this.heads[index] ?? []) el.classList.add(PLAYING);
    this.active = index;
  }

  clear() {
    this.shown = null;
    this.drawn = null;
    this.narrow = null;
    this.heads = [];
    this.active = -1;
    this.container.replaceChildren();
  }
}

// Draws a melody as a piano roll on a canvas: one row per semitone, bar lines, a playhead.
// Its colours are CSS custom properties of the canvas (--roll-background, --roll-note, …), so a
// stylesheet themes it, light or dark.

const COLORS = {
  background: '#fbfaf7',
  blackKeyRow: '#f0ede6',
  bar: '#c9c2b3',
  beat: '#e6e1d6',
  note: '#3d5a80',
  noteActive: '#ee6c4d',
  label: '#8a8170',
  playhead: '#ee6c4d',
  primer: 'rgba(61, 90, 128, 0.09)',
};
const cssName = (k) => `--roll-${k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;

/** The colours the canvas's style gives, else the defaults above. */
function colors(canvas) {
  const style = globalThis.getComputedStyle?.(canvas);
  const out = {};
  for (const [k, fallback] of Object.entries(COLORS)) out[k] = style?.getPropertyValue(cssName(k)).trim() || fallback;
  return out;
}
const BLACK = new Set([1, 3, 6, 8, 10]);

export class PianoRoll {
  constructor(canvas) {
    this.canvas = canvas;
    this.melody = null;
    this.active = -1;
    this.playhead = -1;
  }

  /** The note drawn at (`px`, `py`), CSS pixels inside the canvas, or -1. */
  noteAt(px, py) {
    return (this.boxes ?? []).findIndex(([x, y, w, h]) => px >= x && px <= x + w && py >= y && py <= y + h);
  }

  set(melody) {
    this.melody = melody;
    this.active = -1;
    this.playhead = -1;
    this.draw();
  }

  /** Highlights note `index` and moves the playhead to `step` (fractional; -1 hides it). */
  mark(index, step) {
    this.active = index;
    this.playhead = step;
    this.draw();
  }

  draw() {
    const { canvas } = this;
    const dpr = globalThis.devicePixelRatio || 1;
    const cssW = canvas.clientWidth || 800;
    const cssH = canvas.clientHeight || 240;
    if (canvas.width !== Math.round(cssW * dpr) || canvas.height !== Math.round(cssH * dpr)) {
      canvas.width = Math.round(cssW * dpr);
      canvas.height = Math.round(cssH * dpr);
    }
    const COLORS = colors(canvas);
    const g = canvas.getContext('2d');
    g.setTransform(dpr, 0, 0, dpr, 0, 0);
    g.fillStyle = COLORS.background;
    g.fillRect(0, 0, cssW, cssH);
    const m = this.melody;
    this.boxes = [];
    if (!m || m.notes.length === 0) return;

    const pitches = m.notes.map((n) => n.pitch);
    // Pad the range so a narrow melody is not drawn as fat bars.
    let lo = Math.min(...pitches) - 2;
    let hi = Math.max(...pitches) + 2;
    while (hi - lo < 14) {
      lo -= 1;
      hi += 1;
    }
    const rows = hi - lo + 1;
    const gutter = 28;
    const rowH = cssH / rows;
    const steps = Math.max(m.totalSteps, 1);
    const stepW = (cssW - gutter) / steps;
    const x = (s) => gutter + s * stepW;
    const y = (p) => (hi - p) * rowH;

    for (let p = lo; p <= hi; p++) {
      if (BLACK.has(((p % 12) + 12) % 12)) {
        g.fillStyle = COLORS.blackKeyRow;
        g.fillRect(gutter, y(p), cssW - gutter, rowH);
      }
      if (p % 12 === 0 && rowH * 1.5 >= 8) {
        g.fillStyle = COLORS.label;
        g.font = `${Math.min(11, rowH * 1.4)}px system-ui, sans-serif`;
        g.fillText(`C${p / 12 - 1}`, 2, y(p) + rowH * 0.85);
      }
    }
    // The primer's bars (a continuation's, or those kept by Regenerate from bar N), shaded.
    if (m.primerSteps > 0) {
      g.fillStyle = COLORS.primer;
      g.fillRect(gutter, 0, Math.min(m.primerSteps, steps) * stepW, cssH);
    }
    const beat = 16 / Number(String(m.meter).split('/')[1] || 4); // a beat line per denominator unit
    for (let s = 0; s <= steps; s += beat) {
      g.fillStyle = s % m.stepsPerBar === 0 ? COLORS.bar : COLORS.beat;
      g.fillRect(x(s), 0, s % m.stepsPerBar === 0 ? 1.5 : 1, cssH);
    }
    this.boxes = m.notes.map((n, i) => {
      g.fillStyle = i === this.active ? COLORS.noteActive : COLORS.note;
      const w = Math.max(n.duration * stepW - 1.5, 2);
      const h = Math.max(rowH - 1, 2);
      g.beginPath();
      g.roundRect(x(n.onset) + 0.5, y(n.pitch) + 0.5, w, h, Math.min(3, h / 3));
      g.fill();
      return [x(n.onset), y(n.pitch), w + 1.5, h + 1];
    });
    if (this.playhead >= 0) {
      g.fillStyle = COLORS.playhead;
      g.fillRect(x(this.playhead), 0, 2, cssH);
    }
  }
}

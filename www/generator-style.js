// The element's shadow stylesheet. Built as a constructable stylesheet (one object shared by every
// instance), so it needs no inline <style> or style attribute that a strict Content-Security-Policy
// would block. Hosts theme it with the --tunesmith-* custom properties and ::part() names
// (README, "Embed it").

export const CSS = `
:host {
  --ink: var(--tunesmith-ink, #1f2a37);
  --muted: var(--tunesmith-muted, #6b6456);
  --paper: var(--tunesmith-paper, #fbfaf7);
  --panel: var(--tunesmith-panel, #f2efe8);
  --field: var(--tunesmith-field, #ffffff);
  --line: var(--tunesmith-line, #d6d0c4);
  --accent: var(--tunesmith-accent, #3d5a80);
  --on-accent: var(--tunesmith-on-accent, #ffffff);
  --hot: var(--tunesmith-hot, #c2410c);
  --error-bg: var(--tunesmith-error-bg, #fdecea);
  --error-ink: var(--tunesmith-error-ink, #8a1c0f);
  --radius: var(--tunesmith-radius, 10px);
  display: block;
  box-sizing: border-box;
  padding: var(--tunesmith-padding, 0);
  color-scheme: light dark;
  background: var(--paper);
  border-radius: var(--radius);
  font-family: var(--tunesmith-font, system-ui, -apple-system, 'Segoe UI', sans-serif);
  color: var(--ink);
  line-height: 1.45;
}
@media (prefers-color-scheme: dark) {
  :host {
    --ink: var(--tunesmith-ink, #e8e4dc);
    --muted: var(--tunesmith-muted, #b3ab9c);
    --paper: var(--tunesmith-paper, #15191f);
    --panel: var(--tunesmith-panel, #1f252d);
    --field: var(--tunesmith-field, #11151a);
    --line: var(--tunesmith-line, #3a424d);
    --accent: var(--tunesmith-accent, #8fb3e0);
    --on-accent: var(--tunesmith-on-accent, #10161d);
    --hot: var(--tunesmith-hot, #f4a36b);
    --error-bg: var(--tunesmith-error-bg, #3b1a16);
    --error-ink: var(--tunesmith-error-ink, #ffc9bf);
  }
  canvas {
    --roll-background: #15191f;
    --roll-black-key-row: #1c2128;
    --roll-bar: #4a525e;
    --roll-beat: #2a3038;
    --roll-note: #8fb3e0;
    --roll-note-active: #f4a36b;
    --roll-label: #9a927f;
    --roll-playhead: #f4a36b;
    --roll-primer: rgba(143, 179, 224, 0.1);
  }
}
:host([hidden]) { display: none; }
[hidden] { display: none !important; }
:host([controls='minimal']) .full,
:host([controls='none']) .full,
:host([controls='none']) .actions,
:host([controls='none']) .status,
:host([controls='none']) .choices,
:host([controls='none']) .toggles { display: none !important; }

form {
  display: grid;
  grid-template-columns: repeat(auto-fill, minmax(min(150px, 100%), 1fr));
  gap: 0.75rem 1rem;
  padding: 1rem;
  background: var(--panel);
  border-radius: var(--radius);
}
form label {
  display: flex;
  flex-direction: column;
  gap: 0.25rem;
  min-width: 0;
  font-size: 0.85rem;
  color: var(--muted);
}
/* A select is as wide as its longest option unless told otherwise: fit the column instead. */
form select, form input[type='number'] { width: 100%; min-width: 0; box-sizing: border-box; }
input, select, button { font: inherit; color: var(--ink); }
input[type='number'], select {
  padding: 0.35rem 0.5rem;
  border: 1px solid var(--line);
  border-radius: 6px;
  background: var(--field);
}
.seed { display: flex; gap: 0.25rem; }
.seed input { flex: 1; min-width: 0; }
.actions { display: flex; flex-wrap: wrap; gap: 0.5rem; margin: 1rem 0 0.5rem; }
button {
  padding: 0.5rem 1.1rem;
  border: 1px solid var(--accent);
  border-radius: 999px;
  background: var(--field);
  cursor: pointer;
}
.seed button { padding: 0.35rem 0.6rem; }
#generate { background: var(--accent); color: var(--on-accent); }
button:disabled { opacity: 0.45; cursor: not-allowed; }
:host(:focus-visible) { outline: 3px solid var(--hot); outline-offset: 2px; }
.seed button svg { display: block; }
button:focus-visible, input:focus-visible, select:focus-visible, summary:focus-visible {
  outline: 3px solid var(--hot);
  outline-offset: 2px;
}
progress { width: 100%; height: 0.5rem; accent-color: var(--accent); }
.status { min-height: 1.5em; margin: 0.5rem 0; color: var(--muted); }
.gpu { margin-top: -0.5rem; font-size: 0.85em; color: var(--muted); }
.choices { display: flex; flex-wrap: wrap; align-items: center; gap: 0.35rem; margin: 0 0 0.5rem; }
.choices .label { font-size: 0.85rem; color: var(--muted); margin-right: 0.25rem; }
.choices button { min-width: 2.5rem; padding: 0.3rem 0.6rem; }
.choices button[aria-pressed='true'] { background: var(--accent); color: var(--on-accent); }
.error { padding: 0.6rem 0.8rem; border-radius: 6px; background: var(--error-bg); color: var(--error-ink); }
canvas {
  display: block;
  width: 100%;
  height: var(--tunesmith-roll-height, 260px);
  border-radius: var(--radius);
  border: 1px solid var(--line);
}
details { margin-top: 0.75rem; color: var(--muted); }
.notes { font-family: ui-monospace, monospace; font-size: 0.85rem; word-spacing: 0.2em; }
dl {
  display: grid;
  grid-template-columns: repeat(auto-fill, minmax(200px, 1fr));
  gap: 0.25rem 1rem;
  margin: 0.75rem 0;
  font-size: 0.85rem;
}
dt { color: var(--muted); }
dd { margin: 0 0 0.25rem; font-variant-numeric: tabular-nums; }
/* Staff notation (abcjs draws it in currentColor); the note sounding is lit. */
.sheet:not(:empty) { box-sizing: border-box; margin-top: 0.75rem; padding: 0.5rem; border: 1px solid var(--line); border-radius: var(--radius); background: var(--field); color: var(--ink); }
.sheet svg { display: block; }
.sheet .tunesmith-playing { fill: var(--hot); stroke: var(--hot); }
/* Your own start: the keyboard, step entry, a MIDI file or a MIDI keyboard. */
.primer { margin-top: 0.75rem; padding: 0.75rem 1rem; background: var(--panel); border-radius: var(--radius); color: var(--ink); }
.primer summary { color: var(--muted); cursor: pointer; }
.keys { display: flex; max-width: 40rem; height: 7rem; margin: 0.75rem 0; }
.keys .key {
  flex: 1 1 0; min-width: 0; height: 100%; padding: 0 0 0.3rem; margin: 0; display: flex; align-items: flex-end; justify-content: center;
  border: 1px solid var(--line); border-radius: 0 0 6px 6px; background: #ffffff; color: #444; font-size: 0.7rem; overflow: hidden;
}
/* Black keys take no room of their own: they sit over the gap between two white keys. */
.keys .key.black {
  flex: 0 0 1.2rem; height: 62%; margin: 0 -0.6rem; z-index: 1; background: #1f2a37; border-color: #1f2a37; color: #fff;
}
.keys .key.down, .keys .key:active { background: var(--accent); color: var(--on-accent); }
.keys:focus-visible { outline: 3px solid var(--hot); outline-offset: 2px; }
.primer-tools { display: flex; flex-wrap: wrap; align-items: center; gap: 0.5rem; }
.primer-tools label { font-size: 0.85rem; color: var(--muted); display: inline-flex; flex-wrap: wrap; align-items: center; gap: 0.35rem; max-width: 100%; }
.primer-tools input[type='file'] { max-width: 100%; min-width: 0; }
.primer-tools button { padding: 0.35rem 0.8rem; }
.primer-notes { font-family: ui-monospace, monospace; font-size: 0.85rem; margin: 0.5rem 0 0; }
.edit { display: flex; flex-wrap: wrap; align-items: center; gap: 0.5rem; margin: 0 0 0.5rem; }
.edit input { width: 4.5rem; }
.toggles { display: flex; flex-wrap: wrap; gap: 0.25rem 1rem; margin: 0 0 0.5rem; font-size: 0.85rem; color: var(--muted); }
.toggles label { display: inline-flex; align-items: center; gap: 0.35rem; }
@media (max-width: 420px) {
  form { grid-template-columns: minmax(0, 1fr) minmax(0, 1fr); padding: 0.75rem; }
}
`;

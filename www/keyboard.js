// The on-screen keyboard that enters a primer: two octaves of keys for the mouse and touch; from
// the computer keyboard, ← → move between the keys and Enter or Space plays the one focused (every
// key), and a row of letters plays like a piano's white and black keys (C4 to E5); and Web MIDI
// input where the browser has it. It only reports pitches ('key' events, detail
// {pitch}); the element decides what a key means (a note of the chosen length).

const NAMES = ['C', 'C♯', 'D', 'E♭', 'E', 'F', 'F♯', 'G', 'A♭', 'A', 'B♭', 'B'];
const BLACK = new Set([1, 3, 6, 8, 10]);
/** The computer keys, from C4: the home row plays the white keys, the row above the black ones. */
const LETTERS = 'awsedftgyhujkolp;';
export const LOWEST = 60;
export const HIGHEST = 84;

export const pitchName = (p) => `${NAMES[p % 12]}${Math.floor(p / 12) - 1}`;

/** The pitch a computer key plays (C4 upward from `a`), or null. */
export function pitchOfKey(key) {
  const i = LETTERS.indexOf(key.toLowerCase());
  return i < 0 ? null : LOWEST + i;
}

/**
 * The keys as buttons in `container`, which gets `role=group`: each button's name is its pitch
 * (read out by screen readers) and its `part` is `key` (`key black` for the black keys).
 */
export class Keyboard extends EventTarget {
  constructor(container) {
    super();
    this.container = container;
    this.midi = null; // the MIDIAccess in use, once connected
    for (let p = LOWEST; p <= HIGHEST; p++) {
      const black = BLACK.has(p % 12);
      const key = document.createElement('button');
      key.type = 'button';
      key.className = black ? 'key black' : 'key';
      key.setAttribute('part', black ? 'key black' : 'key');
      key.dataset.pitch = String(p);
      // One tab stop for the whole keyboard, not 25: the arrows move along it (a roving focus).
      key.tabIndex = p === LOWEST ? 0 : -1;
      key.setAttribute('aria-label', pitchName(p));
      key.title = pitchName(p);
      // Only C's are labelled on the key itself; every key has its name for assistive technology.
      key.textContent = p % 12 === 0 ? pitchName(p) : '';
      key.addEventListener('click', () => this.#play(p));
      container.append(key);
    }
    container.addEventListener('keydown', (e) => {
      if (e.altKey || e.ctrlKey || e.metaKey || e.repeat) return;
      const keys = [...container.querySelectorAll('.key')];
      const at = keys.indexOf(e.target);
      const to = { ArrowLeft: at - 1, ArrowRight: at + 1, Home: 0, End: keys.length - 1 }[e.key];
      if (to !== undefined && at >= 0) {
        e.preventDefault();
        e.stopPropagation(); // not the element's ← → (new seed)
        const next = keys[Math.max(0, Math.min(keys.length - 1, to))];
        for (const k of keys) k.tabIndex = k === next ? 0 : -1;
        next.focus();
        return;
      }
      if (e.key === ' ' || e.key === 'Enter') {
        e.stopPropagation(); // the key's own click plays it; not the element's Space (play)
        return;
      }
      const p = pitchOfKey(e.key);
      if (p === null) return;
      e.preventDefault();
      e.stopPropagation(); // not also the element's shortcuts (G generates)
      this.#play(p);
    });
  }

  #play(pitch) {
    const key = this.container.querySelector(`[data-pitch="${pitch}"]`);
    key?.classList.add('down');
    setTimeout(() => key?.classList.remove('down'), 150);
    this.dispatchEvent(new CustomEvent('key', { detail: { pitch } }));
  }

  /**
   * Listens to every MIDI input (and to ones plugged in later): each note-on plays its key.
   * Resolves to the inputs' names; rejects when the browser has no Web MIDI or it is refused.
   */
  async connectMidi() {
    if (!navigator.requestMIDIAccess) throw new Error('this browser has no Web MIDI');
    const access = await navigator.requestMIDIAccess();
    this.midi = access;
    const listen = (input) => {
      input.onmidimessage = ({ data }) => {
        // Note-on with a velocity (note-on at velocity 0 is a note-off), on any channel.
        if (data && data.length >= 3 && (data[0] & 0xf0) === 0x90 && data[2] > 0) this.#play(data[1]);
      };
    };
    access.inputs.forEach(listen);
    access.onstatechange = (e) => {
      if (e.port?.type === 'input' && e.port.state === 'connected') listen(e.port);
    };
    return [...access.inputs.values()].map((i) => i.name || 'MIDI input');
  }
}

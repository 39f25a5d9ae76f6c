// The core's catalog (crate/src/catalog.rs) for the element, which needs it before the wasm
// loads. Generated: `TUNESMITH_BLESS=1 cargo test -p tunesmith catalog` rewrites it, and
// the test beside `catalog()` fails while it is stale.
export default {
  "models": [
    {
      "name": "lstm",
      "label": "LSTM",
      "arch": "lstm",
      "weights": "models/lstm.pack",
      "packed": true,
      "form": true,
      "tuned": "models/lstm.tuned.pack",
      "blend": "models/lstm.blend.pack"
    },
    {
      "name": "transformer",
      "label": "Transformer",
      "arch": "transformer",
      "weights": "models/transformer.bpk",
      "packed": false,
      "form": true,
      "tuned": null,
      "blend": null
    }
  ],
  "defaultModel": "lstm",
  "backends": [
    {
      "value": "auto",
      "label": "automatic"
    },
    {
      "value": "webgpu",
      "label": "WebGPU"
    },
    {
      "value": "cpu",
      "label": "CPU"
    }
  ],
  "engines": [
    {
      "value": "int8",
      "label": "int8 LSTM engine"
    },
    {
      "value": "wgsl",
      "label": "WGSL LSTM kernels"
    },
    {
      "value": "burn",
      "label": "Burn"
    }
  ],
  "modes": [
    "major",
    "minor",
    "dorian",
    "phrygian",
    "lydian",
    "mixolydian",
    "locrian"
  ],
  "controls": [
    {
      "name": "bars",
      "attribute": "bars",
      "label": "Bars",
      "kind": "integer",
      "default": 8,
      "min": 1.0,
      "max": 64.0,
      "step": 1.0
    },
    {
      "name": "tempo",
      "attribute": "tempo",
      "label": "Tempo (bpm)",
      "kind": "number",
      "default": 120.0,
      "min": 20.0,
      "max": 400.0,
      "step": 1.0
    },
    {
      "name": "meter",
      "attribute": "meter",
      "label": "Meter",
      "kind": "choice",
      "default": "4/4",
      "options": [
        {
          "value": "4/4",
          "label": "4/4"
        },
        {
          "value": "3/4",
          "label": "3/4"
        },
        {
          "value": "2/4",
          "label": "2/4"
        },
        {
          "value": "2/2",
          "label": "2/2"
        },
        {
          "value": "6/8",
          "label": "6/8"
        },
        {
          "value": "9/8",
          "label": "9/8"
        },
        {
          "value": "12/8",
          "label": "12/8"
        },
        {
          "value": "3/8",
          "label": "3/8"
        }
      ]
    },
    {
      "name": "key",
      "attribute": "tonality",
      "label": "Key",
      "kind": "choice",
      "default": null,
      "options": [
        {
          "value": null,
          "label": "any"
        },
        {
          "value": "C major",
          "label": "C major"
        },
        {
          "value": "G major",
          "label": "G major"
        },
        {
          "value": "D major",
          "label": "D major"
        },
        {
          "value": "A major",
          "label": "A major"
        },
        {
          "value": "E major",
          "label": "E major"
        },
        {
          "value": "F major",
          "label": "F major"
        },
        {
          "value": "Bb major",
          "label": "Bb major"
        },
        {
          "value": "Eb major",
          "label": "Eb major"
        },
        {
          "value": "A minor",
          "label": "A minor"
        },
        {
          "value": "E minor",
          "label": "E minor"
        },
        {
          "value": "B minor",
          "label": "B minor"
        },
        {
          "value": "D minor",
          "label": "D minor"
        },
        {
          "value": "G minor",
          "label": "G minor"
        },
        {
          "value": "C minor",
          "label": "C minor"
        },
        {
          "value": "D dorian",
          "label": "D dorian"
        },
        {
          "value": "A dorian",
          "label": "A dorian"
        },
        {
          "value": "E dorian",
          "label": "E dorian"
        },
        {
          "value": "G mixolydian",
          "label": "G mixolydian"
        },
        {
          "value": "D mixolydian",
          "label": "D mixolydian"
        },
        {
          "value": "A mixolydian",
          "label": "A mixolydian"
        }
      ]
    },
    {
      "name": "style",
      "attribute": "genre",
      "label": "Style",
      "kind": "choice",
      "default": null,
      "options": [
        {
          "value": null,
          "label": "any"
        },
        {
          "value": "celtic",
          "label": "Celtic"
        },
        {
          "value": "folk",
          "label": "European folk"
        },
        {
          "value": "chorale",
          "label": "Chorale"
        }
      ]
    },
    {
      "name": "form",
      "attribute": "form",
      "label": "Form",
      "kind": "choice",
      "default": null,
      "options": [
        {
          "value": null,
          "label": "automatic"
        },
        {
          "value": "AABB",
          "label": "AABB: a phrase, again; another, again"
        },
        {
          "value": "AABA",
          "label": "AABA: a phrase, again, a bridge, the phrase"
        },
        {
          "value": "ABAB",
          "label": "ABAB: question and answer, twice"
        },
        {
          "value": "ABAC",
          "label": "ABAC: the phrase returns, the ending changes"
        },
        {
          "value": "ABCD",
          "label": "ABCD: always new"
        }
      ],
      "needsForm": true
    },
    {
      "name": "temperature",
      "attribute": "temperature",
      "label": "Temperature",
      "kind": "number",
      "default": 1.0,
      "min": 0.0,
      "max": 3.0,
      "step": 0.05
    },
    {
      "name": "theory",
      "attribute": "theory",
      "label": "Theory",
      "kind": "number",
      "default": 0.8,
      "min": 0.0,
      "max": 1.0,
      "step": 0.05,
      "needsTuned": true
    },
    {
      "name": "seed",
      "attribute": "seed",
      "label": "Seed",
      "kind": "integer",
      "default": 1,
      "min": 0.0,
      "max": 4294967295.0,
      "step": 1.0
    },
    {
      "name": "candidates",
      "attribute": "candidates",
      "label": "Candidates",
      "kind": "integer",
      "default": 8,
      "min": 1.0,
      "max": 16.0,
      "step": 1.0
    }
  ],
  "limits": {
    "maxBars": 64,
    "maxTemperature": 3.0,
    "minTempo": 20.0,
    "maxTempo": 400.0,
    "maxPrimerSteps": 8192,
    "maxMelodySteps": 16384,
    "maxCandidates": 16,
    "maxSeed": 4294967295,
    "maxShareChars": 20000,
    "maxMidiBytes": 16777216
  }
};

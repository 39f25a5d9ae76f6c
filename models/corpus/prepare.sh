#!/usr/bin/env bash
# Build the melody training corpus (models/data/*.tsv.gz, STATS.md) from the
# music21 corpus. Usage: models/corpus/prepare.sh [extra args for prepare.py]
# Uses a private venv in ${TUNESMITH_CACHE:-$HOME/.cache/tunesmith}/venv with
# music21 pinned; a second run skips the install.
set -euo pipefail

MUSIC21_VERSION=10.5.1
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
cache="${TUNESMITH_CACHE:-$HOME/.cache/tunesmith}"
venv="$cache/venv"

if [ ! -x "$venv/bin/python" ]; then
    if ! python3 -c 'import ensurepip' 2>/dev/null; then
        echo "error: Python's venv module is missing; install it with: apt-get install python3-venv" >&2
        exit 1
    fi
    mkdir -p "$cache"
    python3 -m venv "$venv"
fi
installed="$("$venv/bin/python" -c 'import importlib.metadata as m; print(m.version("music21"))' 2>/dev/null || true)"
if [ "$installed" != "$MUSIC21_VERSION" ]; then
    "$venv/bin/python" -m pip install --disable-pip-version-check -q "music21==$MUSIC21_VERSION"
fi

# fixed hash seed: output must be byte-identical between runs
export PYTHONHASHSEED=0
exec "$venv/bin/python" "$here/prepare.py" --out "$repo/models/data" "$@"

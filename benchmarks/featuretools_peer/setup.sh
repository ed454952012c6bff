#!/usr/bin/env bash
# Create the featuretools peer's own venv (pandas 2.3; never the main .venv) and print its python.
# Idempotent: skips the install when the stamp matches the current requirements.txt.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
venv="$repo/benchmarks/out/featuretools-venv"
req="$here/requirements.txt"
stamp="$venv/.requirements.sha256"
want="$(sha256sum "$req" | cut -d' ' -f1)"

if [[ -x "$venv/bin/python" && -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then
    echo "featuretools venv up to date: $venv" >&2
else
    echo "creating featuretools venv: $venv" >&2
    mkdir -p "$(dirname "$venv")"
    python3.11 -m venv --clear "$venv"  # a fresh venv, so no stale package survives a pin change
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$req"
    "$venv/bin/python" -m pip check >&2
    echo "$want" > "$stamp"
fi
echo "$venv/bin/python"

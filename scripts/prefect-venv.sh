#!/usr/bin/env bash
# Makes, once per machine, the virtualenv with the pinned Prefect server that the
# integration tests and the demo run; prints its path. Every package is pinned in
# requirements.txt: Prefect 3.8.8 does not start with the FastAPI that an
# unpinned install picks today (Body() lost `min_items`), so nothing floats.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
requirements="$root/test/integration/prefect/requirements.txt"
key=$(sha256sum "$requirements" | cut -c1-12)
venv="${FLOW_DISPATCH_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/flow-dispatch}/prefect-$key"
if [ ! -f "$venv/.complete" ]; then
  echo "Installing Prefect into $venv (once per machine) ..." >&2
  rm -rf "$venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$requirements" >&2
  touch "$venv/.complete"
fi
echo "$venv"

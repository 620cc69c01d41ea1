#!/usr/bin/env bash
# Makes, once per machine, the virtualenv with a pinned Prefect server that the
# integration tests and the demo run; prints its path.
#   bash scripts/prefect-venv.sh [requirements.txt]
# The default is test/integration/prefect/requirements.txt (the newest Prefect, the
# full suite); test/compat/prefect-*/requirements.txt are the older servers of the
# smoke tests. Each venv is keyed by its file's hash, so they live side by side.
# Every package is pinned: Prefect 3.8.8 does not start with the FastAPI that an
# unpinned install picks today (Body() lost `min_items`), and older releases break
# the same way on other packages, so nothing floats.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
requirements=$(realpath "${1:-$root/test/integration/prefect/requirements.txt}")
key=$(sha256sum "$requirements" | cut -c1-12)
venv="${FLOW_DISPATCH_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/flow-dispatch}/prefect-$key"
if [ ! -f "$venv/.complete" ]; then
  echo "Installing Prefect from $requirements into $venv (once per machine) ..." >&2
  rm -rf "$venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$requirements" >&2
  touch "$venv/.complete"
fi
echo "$venv"

#!/usr/bin/env bash
# Runs a workflow (default: .github/workflows/self-test.yml), every job, under act
# (github.com/nektos/act, installed once per machine with `go install`) on this host,
# without Docker and without the internet, and fails unless every job of the file ran
# and succeeded and nothing a job started is left running.
#   bash scripts/act.sh [workflow file] [more act options...]      (npm run act)
#
# - Jobs run on the host (`-P ubuntu-latest=-self-hosted`), side by side (they start
#   their servers on free ports). act copies the working tree (less .gitignore's paths,
#   so without node_modules/) into each job's workspace for actions/checkout, and sets
#   ACT=true: steps under `if: ${{ !env.ACT }}` are skipped.
# - act runs a JavaScript action (node20 or node24 alike) with the first `node` on its
#   PATH: node_modules/.bin comes first, the npm package `node` 24, what the runner runs
#   `using: node24` with. act's own log says which node ran each action; checked below.
# - act resolves every `uses: owner/repo@ref` of a job before its first step, skipped
#   or not, by cloning it from GitHub (--action-offline-mode does not stop that: it
#   fetches first and falls back to its cache). Each one but actions/checkout (which
#   act does itself, from the working tree) is given a local stand-in with
#   --local-repository, which fails if a step that uses it is not skipped. The check
#   for a newer act (api.nektosact.com) is off, and the cache server is not started.
# - The jobs see this shell's environment (act's host mode passes it on), but for the
#   variables the action falls back on (KESTRA_URL, PREFECT_API_URL, ...); act reads no
#   .env, .secrets, .vars or .input file.
# - Ctrl-C (or SIGTERM) asks act, once, to cancel: it kills the running steps (SIGKILL),
#   runs the steps under always() and the action's post step (post-if: cancelled()),
#   which cancels the remote run; then this script stops the servers the jobs left.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
workflow=${1:-.github/workflows/self-test.yml}
shift $(($# > 0 ? 1 : 0))

version=0.2.89
bin_dir="${FLOW_DISPATCH_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/flow-dispatch}/act-v$version"
act="$bin_dir/act"
if ! "$act" --version 2>/dev/null | grep -qx "act version $version"; then
  command -v go >/dev/null || { echo "act.sh: Go is needed to install act v$version (go install)" >&2; exit 1; }
  echo "Installing act v$version into $bin_dir (once per machine) ..." >&2
  GOBIN="$bin_dir" GOTOOLCHAIN=local go install "github.com/nektos/act@v$version"
fi
"$act" --version

node24="$root/node_modules/.bin/node"
if ! "$node24" -e 'process.exit(+process.versions.node.split(".")[0] >= 24 ? 0 : 1)' 2>/dev/null; then
  echo "act.sh: no Node 24 at $node24: run 'npm ci' first" >&2
  exit 1
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/flow-dispatch-act-XXXXXX")
act_pid=""
finish() {
  local status=$?
  if [ -n "$act_pid" ] && kill -0 "$act_pid" 2>/dev/null; then kill -KILL "$act_pid" 2>/dev/null || true; fi
  # Whatever ended this script, no server a job started outlives it.
  if [ -f "$work/pids" ]; then
    while read -r pgid; do kill -TERM -- "-$pgid" 2>/dev/null || true; done <"$work/pids"
    sleep 1
    while read -r pgid; do kill -KILL -- "-$pgid" 2>/dev/null || true; done <"$work/pids"
  fi
  rm -rf "$work"
  exit "$status"
}
trap finish EXIT

# The jobs' ids, from the file itself rather than from act, so that a job act leaves out is missed.
mapfile -t jobs < <(awk '/^jobs:/ { inside = 1; next } /^[^ #]/ { inside = 0 } inside && /^  [A-Za-z0-9_-]+:/ { sub(/^  /, ""); sub(/:.*/, ""); print }' "$workflow")
if [ ${#jobs[@]} = 0 ]; then
  echo "act.sh: no jobs found in $workflow" >&2
  exit 1
fi

# A stand-in for each action the workflow uses, but actions/checkout.
stand_ins=()
while read -r uses; do
  repo=${uses%%@*} ref=${uses#*@}
  owner_repo=$(cut -d/ -f1-2 <<<"$repo")
  sub_path=$(cut -s -d/ -f3- <<<"$repo")
  [ "$owner_repo" = actions/checkout ] && continue
  dir="$work/stand-ins/$owner_repo@$ref"
  mkdir -p "$dir/$sub_path"
  cat >"$dir/$sub_path/action.yml" <<EOF
name: stand-in for $uses under act
description: Never runs; act needs an action.yml for every action a job uses, skipped or not.
runs:
  using: composite
  steps:
    - shell: bash
      run: |
        echo "::error::$uses cannot run under act (no GitHub here): its step needs if: !env.ACT"
        exit 1
EOF
  stand_ins+=(--local-repository "$owner_repo@$ref=$dir")
done < <(grep -oE "^[[:space:]-]*uses:[[:space:]]*['\"]?[A-Za-z0-9_.-]+/[A-Za-z0-9_./-]+@[^[:space:]'\"#]+" "$workflow" | sed -E "s/.*uses:[[:space:]]*['\"]?//" | sort -u)

# A Prefect virtualenv built once, before the jobs that use it start side by side.
bash scripts/prefect-venv.sh >/dev/null

log="$work/act.log"
: >"$work/pids"
# The Kestra server beside the clone: an absolute path, since each job's workspace is a copy elsewhere.
kestra_dir=$(cd "${KESTRA_SERVER_DIR:-$root/../shared/kestra-server}" 2>/dev/null && pwd || echo "${KESTRA_SERVER_DIR:-$root/../shared/kestra-server}")
started=$(date +%s)
# -v: act's debug lines name the node each action ran with; they (and the jobs' environment they
# print) stay in $log, in this script's private directory, removed at its end, not on the screen.
# setsid: a Ctrl-C on the terminal reaches act only through the trap below, once (twice forces it).
env -u KESTRA_URL -u KESTRA_API_TOKEN -u KESTRA_USERNAME -u KESTRA_PASSWORD -u KESTRA_TENANT \
  -u PREFECT_API_URL -u PREFECT_API_KEY -u PREFECT_API_AUTH_STRING \
  ACT_DISABLE_VERSION_CHECK=1 PATH="$root/node_modules/.bin:$PATH" \
  setsid "$act" workflow_dispatch -W "$workflow" -v \
  -P ubuntu-latest=-self-hosted \
  --no-cache-server --action-cache-path "$work/act-cache" \
  --env-file /dev/null --secret-file /dev/null --var-file /dev/null --input-file /dev/null \
  --log-prefix-job-id \
  --env KESTRA_SERVER_DIR="$kestra_dir" --env FLOW_DISPATCH_PIDS="$work/pids" \
  "${stand_ins[@]}" "$@" </dev/null >"$log" 2>&1 &
act_pid=$!
interrupted=0
trap 'interrupted=1; kill -INT "$act_pid" 2>/dev/null || true' INT TERM
# An entry starts with `[job] ` (or `time=`); the lines that follow it, up to the next, are its own.
tail -n +1 -f --pid="$act_pid" "$log" | awk '/^\[[^]]*\] |^time=/ { hide = /^\[[^]]*\] \[DEBUG\]/ || /level=debug/ } !hide { print; fflush() }' &
tail_pid=$!
status=0
while :; do
  wait "$act_pid" && status=0 || status=$?
  # A trapped signal ends `wait` early (status > 128) while act is still cancelling.
  kill -0 "$act_pid" 2>/dev/null || break
done
act_pid=""
wait "$tail_pid" || true
echo "== act exited with $status after $(($(date +%s) - started)) s"

failed=0
if [ "$status" != 0 ]; then failed=1; fi
# act 0.2.89 may call a cancelled job a success (when the step it killed had continue-on-error).
if [ "$interrupted" = 1 ]; then
  echo "act was interrupted: its jobs were cancelled" >&2
  failed=1
fi
for job in "${jobs[@]}"; do
  if grep -qF "[$job] 🏁  Job succeeded" "$log"; then
    echo "job $job: succeeded"
  else
    echo "job $job: did not succeed (or did not run)" >&2
    failed=1
  fi
done
# Each run of a JavaScript action: `[job] [DEBUG] executing remote job container: [<node> <script>]`.
mapfile -t nodes < <(sed -nE 's/^\[[^]]*\] \[DEBUG\] executing remote job container: \[([^ ]*node) .*\]$/\1/p' "$log" | sort -u)
if [ ${#nodes[@]} = 0 ] && grep -qE '^[[:space:]-]*uses:[[:space:]]*\./' "$workflow"; then
  echo "act's log names no node that ran the action" >&2
  failed=1
fi
for node in "${nodes[@]}"; do
  v=$("$node" --version 2>/dev/null || echo "?")
  echo "actions ran with $node ($v)"
  if [[ "$v" != v24.* ]]; then
    echo "an action ran on $v, not Node 24" >&2
    failed=1
  fi
done
if grep -E 'git clone|Unable to clone' "$log" | grep -v '^\[[^]]*\] \[DEBUG\]' >&2; then
  echo "act tried to fetch an action from GitHub" >&2
  failed=1
fi
# A job stops its servers in its last step, but not when it was cancelled (see self-test.yml).
left=0
while read -r pgid; do
  if kill -0 -- "-$pgid" 2>/dev/null; then
    echo "left running by a job: process group $pgid ($(ps -o args= -p "$pgid" | cut -c1-100)): stopping it" >&2
    kill -TERM -- "-$pgid" 2>/dev/null || true
    left=1
  fi
done <"$work/pids"
if [ "$left" = 1 ]; then
  sleep 5
  while read -r pgid; do kill -KILL -- "-$pgid" 2>/dev/null || true; done <"$work/pids"
  if [ "$interrupted" = 0 ]; then failed=1; fi
fi
: >"$work/pids"
if [ "$failed" = 1 ]; then
  echo "== $workflow under act: FAILED" >&2
  exit 1
fi
echo "== $workflow under act: all ${#jobs[@]} jobs succeeded (${jobs[*]})"

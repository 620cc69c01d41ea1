#!/usr/bin/env bash
# Starts a Prefect server on 127.0.0.1 (SQLite, analytics off) and serves the test
# flow as deployment it-flow/<name>, both in the background, for a workflow that
# runs the action with `uses: ./` (self-test.yml). Waits until the deployment is
# READY, then prints PREFECT_API_URL=... and appends it to $GITHUB_ENV when set.
#   bash scripts/prefect-local.sh [deployment-name] [port]   port 0: any free port
#   bash scripts/prefect-local.sh --stop                     stops what the start left running
# Each program runs in a process group of its own, listed in <work>/pids; the start
# appends PREFECT_LOCAL_DIR=<work> to $GITHUB_ENV, which is how --stop finds them in a
# later step. With FLOW_DISPATCH_PIDS set (scripts/act.sh sets it), the groups are listed
# there too, so that whoever runs the workflow can check nothing was left running.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)

# shellcheck source=scripts/local-servers.sh
source "$root/scripts/local-servers.sh"

if [ "${1:-}" = --stop ]; then stop_and_exit PREFECT_LOCAL_DIR "the Prefect server and flow"; fi

name=${1:-self-test}
port=${2:-4200}
venv=$(bash "$root/scripts/prefect-venv.sh")
if [ "$port" = 0 ]; then
  port=$(free_port "$venv/bin/python")
fi
work=$(mktemp -d "${RUNNER_TEMP:-/tmp}/prefect-local-XXXXXX")
api="http://127.0.0.1:$port/api"
# Nothing started here may call out of the machine.
export DO_NOT_TRACK=1 PREFECT_SERVER_ANALYTICS_ENABLED=false PREFECT_CLOUD_ENABLE_ORCHESTRATION_TELEMETRY=false

wait_for() { # what, command...
  local what=$1; shift
  for _ in $(seq 120); do "$@" >/dev/null 2>&1 && return 0; sleep 1; done
  echo "$what did not happen within 120 s; logs in $work:" >&2
  tail -n 40 "$work"/*.log >&2
  return 1
}

if [ -n "${GITHUB_ENV:-}" ]; then echo "PREFECT_LOCAL_DIR=$work" >>"$GITHUB_ENV"; fi
# A start that fails leaves nothing running.
ready=0
trap '[ "$ready" = 1 ] || stop_groups "$work/pids"' EXIT
PREFECT_HOME="$work/server-home" background "$work/server.log" \
  "$venv/bin/prefect" server start --no-ui --analytics-off --host 127.0.0.1 --port "$port"
wait_for "The Prefect server's health check" curl -fsS "$api/health"
(cd "$root/test/integration/prefect" && PREFECT_HOME="$work/serve-home" PREFECT_API_URL="$api" PREFECT_RUNNER_POLL_FREQUENCY=1 \
  background "$work/serve.log" "$venv/bin/python" it_flow.py "$name")
deployment_ready() { curl -fsS "$api/deployments/name/it-flow/$name" | grep -q '"status":"READY"'; }
wait_for "Deployment it-flow/$name becoming READY" deployment_ready
ready=1
echo "PREFECT_API_URL=$api"
if [ -n "${GITHUB_ENV:-}" ]; then echo "PREFECT_API_URL=$api" >>"$GITHUB_ENV"; fi

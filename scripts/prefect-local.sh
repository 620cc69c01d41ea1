#!/usr/bin/env bash
# Starts a Prefect server on 127.0.0.1 (SQLite, analytics off) and serves the test
# flow as deployment it-flow/<name>, both in the background, for a workflow that
# runs the action with `uses: ./` (self-test.yml). Waits until the deployment is
# READY, then prints PREFECT_API_URL=... and appends it to $GITHUB_ENV when set.
#   bash scripts/prefect-local.sh [deployment-name] [port]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
name=${1:-self-test}
port=${2:-4200}
venv=$(bash "$root/scripts/prefect-venv.sh")
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

PREFECT_HOME="$work/server-home" nohup "$venv/bin/prefect" server start --no-ui --analytics-off --host 127.0.0.1 --port "$port" >"$work/server.log" 2>&1 &
wait_for "The Prefect server's health check" curl -fsS "$api/health"
(cd "$root/test/integration/prefect" && PREFECT_HOME="$work/serve-home" PREFECT_API_URL="$api" PREFECT_RUNNER_POLL_FREQUENCY=1 \
  nohup "$venv/bin/python" it_flow.py "$name" >"$work/serve.log" 2>&1 &)
ready() { curl -fsS "$api/deployments/name/it-flow/$name" | grep -q '"status":"READY"'; }
wait_for "Deployment it-flow/$name becoming READY" ready
echo "PREFECT_API_URL=$api"
if [ -n "${GITHUB_ENV:-}" ]; then echo "PREFECT_API_URL=$api" >>"$GITHUB_ENV"; fi

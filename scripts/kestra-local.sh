#!/usr/bin/env bash
# Starts the real Kestra OSS 1.3 server of shared/kestra-server on 127.0.0.1 in the background
# (or, with --url, uses one already running), waits until it answers, and creates the named flows
# of test/integration/kestra/flows.yml through its flows API, for a workflow that runs the action
# with `uses: ./` (self-test.yml). Then prints KESTRA_URL=... and appends KESTRA_URL,
# KESTRA_USERNAME and KESTRA_PASSWORD (the action's fallbacks for url, username and password)
# to $GITHUB_ENV when set.
#   bash scripts/kestra-local.sh FLOW...              start shared/kestra-server, create the flows
#   bash scripts/kestra-local.sh --url URL FLOW...    a server already running there (Docker, say)
#   bash scripts/kestra-local.sh --stop               stops what the start left running
# Environment: KESTRA_SERVER_DIR (default: shared/kestra-server beside the clone, ../shared/kestra-server),
# KESTRA_PORT (default: any free port), KESTRA_USERNAME / KESTRA_PASSWORD (default: the integration
# tests' ci@example.com / Ci-Passw0rd-42). The server runs in a process group of its own, listed in
# <work>/pids; the start appends KESTRA_LOCAL_DIR=<work> to $GITHUB_ENV, which is how --stop finds it
# in a later step, and lists it in $FLOW_DISPATCH_PIDS too when that is set (scripts/act.sh sets it).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)

# shellcheck source=scripts/local-servers.sh
source "$root/scripts/local-servers.sh"

if [ "${1:-}" = --stop ]; then stop_and_exit KESTRA_LOCAL_DIR "the Kestra server"; fi

url=""
ready=0
if [ "${1:-}" = --url ]; then
  url=${2:?--url needs the server URL}
  shift 2
fi
if [ $# = 0 ]; then
  echo "usage: kestra-local.sh [--url URL] FLOW... (flow ids of test/integration/kestra/flows.yml) | --stop" >&2
  exit 2
fi
flows_file="$root/test/integration/kestra/flows.yml"
username=${KESTRA_USERNAME:-ci@example.com}
password=${KESTRA_PASSWORD:-Ci-Passw0rd-42}

# The flows file is a YAML list of flows, each item starting with `- id: <id>` at the margin and
# indented by two spaces: one item, un-indented, is that flow's source.
flow_source() { # id
  awk -v id="$1" '
    /^- / { inside = ($0 == "- id: " id) }
    /^[^ -]/ { inside = 0 }
    inside { sub(/^(- |  )/, ""); print }
  ' "$flows_file"
}
for flow in "$@"; do
  if [ -z "$(flow_source "$flow")" ]; then
    echo "No flow '$flow' in $flows_file" >&2
    exit 2
  fi
done

if [ -z "$url" ]; then
  server_dir=$(cd "${KESTRA_SERVER_DIR:-$root/../shared/kestra-server}" 2>/dev/null && pwd) || server_dir=""
  if [ -z "$server_dir" ] || [ ! -f "$server_dir/start.sh" ]; then
    echo "No Kestra server at ${KESTRA_SERVER_DIR:-$root/../shared/kestra-server} (start.sh missing): set KESTRA_SERVER_DIR to the folder of shared/kestra-server" >&2
    exit 1
  fi
  java=$(bash "$root/scripts/kestra-java.sh")
  port=${KESTRA_PORT:-$(free_port python3)}
  work=$(mktemp -d "${RUNNER_TEMP:-/tmp}/kestra-local-XXXXXX")
  url="http://127.0.0.1:$port"
  if [ -n "${GITHUB_ENV:-}" ]; then echo "KESTRA_LOCAL_DIR=$work" >>"$GITHUB_ENV"; fi
  # A start that fails leaves nothing running.
  trap '[ "$ready" = 1 ] || stop_groups "$work/pids"' EXIT
  cd "$work"
  KESTRA_JAVA="$java" KESTRA_DATA_DIR="$work/data" KESTRA_USERNAME="$username" KESTRA_PASSWORD="$password" \
    background "$work/server.log" bash "$server_dir/start.sh" "$port"
  server=$(tail -n 1 "$work/pids")
  cd "$root"
  # The first start on a machine resolves ~130 MB of jars from Maven Central before the JVM starts.
  for _ in $(seq 600); do
    if curl -fsS "$url/ping" >/dev/null 2>&1; then break; fi
    if ! kill -0 "$server" 2>/dev/null; then
      echo "Kestra's start.sh exited before the server answered; its log ($work/server.log):" >&2
      tail -n 60 "$work/server.log" >&2
      exit 1
    fi
    sleep 0.5
  done
  if ! curl -fsS "$url/ping" >/dev/null 2>&1; then
    echo "The Kestra server did not answer /ping within 300 s; its log ($work/server.log):" >&2
    tail -n 60 "$work/server.log" >&2
    exit 1
  fi
else
  for _ in $(seq 600); do curl -fsS "$url/ping" >/dev/null 2>&1 && break; sleep 0.5; done
  curl -fsS "$url/ping" >/dev/null || { echo "No Kestra server answers at $url/ping" >&2; exit 1; }
fi

# curl's config for basic auth: the password stays out of its command line.
credentials() { printf 'user = "%s"\n' "$(printf '%s' "$username:$password" | sed 's/[\\"]/\\&/g')"; }

# Creates the flow, or updates it where it exists already (a server given by --url).
for flow in "$@"; do
  namespace=$(flow_source "$flow" | sed -n 's/^namespace: *//p' | head -1)
  answer=$(flow_source "$flow" | curl -sS -K <(credentials) -H 'content-type: application/x-yaml' \
    --data-binary @- -w '\n%{http_code}' "$url/api/v1/main/flows")
  if [ "${answer##*$'\n'}" = 422 ] && [[ "$answer" == *'already exists'* ]]; then
    answer=$(flow_source "$flow" | curl -sS -K <(credentials) -H 'content-type: application/x-yaml' \
      --data-binary @- -X PUT -w '\n%{http_code}' "$url/api/v1/main/flows/$namespace/$flow")
  fi
  if [ "${answer##*$'\n'}" != 200 ]; then
    echo "Creating Kestra flow $namespace.$flow: ${answer##*$'\n'} ${answer%$'\n'*}" >&2
    exit 1
  fi
  echo "Flow $namespace.$flow is on $url"
done

ready=1
echo "KESTRA_URL=$url"
if [ -n "${GITHUB_ENV:-}" ]; then
  echo "::add-mask::$password"
  printf 'KESTRA_URL=%s\nKESTRA_USERNAME=%s\nKESTRA_PASSWORD=%s\n' "$url" "$username" "$password" >>"$GITHUB_ENV"
fi

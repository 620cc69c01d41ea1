# Sourced by prefect-local.sh and kestra-local.sh: how they start a server in the background, so that
# it can be stopped later, from another step, with everything it started. Expects $work (the start's
# own folder) to be set before `background` is called.

# setsid: the program leads a process group of its own (its pid is the group's id), so that stopping
# the group reaches what it starts too (Prefect's flow runs, the JVM start.sh execs). The group is
# listed in $work/pids, and in $FLOW_DISPATCH_PIDS when that is set (scripts/act.sh sets it, to check
# that nothing was left running).
background() { # log file, command...
  local log=$1; shift
  setsid nohup "$@" </dev/null >"$log" 2>&1 &
  echo "$!" >>"$work/pids"
  if [ -n "${FLOW_DISPATCH_PIDS:-}" ]; then echo "$!" >>"$FLOW_DISPATCH_PIDS"; fi
}

stop_groups() { # pid file: SIGTERM to each group, SIGKILL to what lingers 10 s on
  local pgid _
  [ -f "$1" ] || return 0
  while read -r pgid; do kill -TERM -- "-$pgid" 2>/dev/null || true; done <"$1"
  for _ in $(seq 20); do
    local alive=0
    while read -r pgid; do if kill -0 -- "-$pgid" 2>/dev/null; then alive=1; fi; done <"$1"
    [ "$alive" = 0 ] && return 0
    sleep 0.5
  done
  while read -r pgid; do kill -KILL -- "-$pgid" 2>/dev/null || true; done <"$1"
}

# `--stop`: stops what the start whose folder the variable names left running, and exits.
stop_and_exit() { # name of the variable that holds the start's folder, what it started
  local dir=${!1:-}
  if [ -z "$dir" ]; then
    echo "$1 is not set: nothing of $(basename "$0") to stop" >&2
    exit 0
  fi
  stop_groups "$dir/pids"
  echo "Stopped $2 of $dir"
  exit 0
}

free_port() { # python
  "$1" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

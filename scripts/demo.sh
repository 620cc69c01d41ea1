#!/usr/bin/env bash
# One command on a fresh machine: Python 3 and Node (any) are all it needs (`demo.sh kestra`: and
# shared/kestra-server beside the clone; scripts/kestra-java.sh finds or brings Java 21). Prefect
# goes into a cached virtualenv, and Node 24 (what the runner runs the action with)
# comes from the npm registry's `node` package.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -x node_modules/.bin/node ] && node_modules/.bin/node -e 'process.exit(+process.versions.node.split(".")[0] >= 24 ? 0 : 1)'; then
  exec node_modules/.bin/node --no-warnings scripts/demo.ts "$@"
fi
exec npx --yes node@24.21.0 --no-warnings scripts/demo.ts "$@"

#!/usr/bin/env bash
# The whole test suite: lint, unit and integration tests (with -race), the
# fuzz targets briefly, and the README's demo. CI runs exactly this.
set -euo pipefail
cd "$(dirname "$0")/.."
start=$(date +%s)
bash scripts/tools.sh
bash scripts/services/install.sh
bash scripts/browser.sh
bash scripts/lint.sh
# The machines CI runs on have io_uring: the payload writer's tests must
# then test it, not quietly the fallback (encrypt/payload_linux_test.go).
SIIRTO_REQUIRE_IO_URING=1 go test -race -count=1 ./...
make --no-print-directory release >/dev/null
echo "release: the client built for every platform (dist/)"
FUZZTIME=${FUZZTIME:-5000x} bash scripts/fuzz.sh
demo_log=$(mktemp)
if ! make --no-print-directory demo >"$demo_log" 2>&1; then
  cat "$demo_log"; rm -f "$demo_log"; echo "demo: FAILED"; exit 1
fi
rm -f "$demo_log"
echo "demo: the README's first command ran"
echo "test: everything passed in $(( $(date +%s) - start ))s"

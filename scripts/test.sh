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
# Outside a seccomp sandbox (CI's machines, a plain Linux host) io_uring
# works, and the payload writer's tests must test it, not quietly the
# fallback (encrypt/payload_linux_test.go). Docker's and containerd's
# default profiles refuse it: there the fallback is what runs.
if grep -qs '^Seccomp:[[:space:]]*0' /proc/self/status; then
  export SIIRTO_REQUIRE_IO_URING=1
fi
go test -race -count=1 ./...
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

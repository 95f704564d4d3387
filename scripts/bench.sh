#!/usr/bin/env bash
# make bench: siirto's throughput against its baselines (cmd/siirto-bench,
# in one process), then the peak memory of the real binary, bin/siirto, on
# large inputs, uploads, the gateway, and siirto app in a browser against
# siirto send (scripts/bench-app.sh). It is a report: it exits 0 even when
# a target is missed, and says MISSED. It exits 1 only when something is
# broken: a command that fails is reported as FAILED, the other figures
# are still printed.
#
#   SIZE=1GiB            input for the throughput run (256MiB, 4GiB, 1000000…)
#   RUNS=1               best of RUNS runs of each contender
#   RSS_SIZES="1GiB 4GiB" inputs for the peak-memory runs ("" to skip them)
#   RSS_LIMIT_MIB=64     the peak-memory target
#   BENCH_DIR=/tmp       where the temporary files go (they are removed)
#   GATEWAY_SIZE=2GiB    the bundle the gateway stages (cmd/siirto-gateway BenchmarkGatewayStage)
#   GATEWAY_COUNT=500    small bundles uploaded back to back (BenchmarkGatewayMany)
#   WORKERS_COUNT=300    bundles for 1, 2 and 3 workers on PostgreSQL and MinIO (BenchmarkGatewayWorkers)
#   EVENTS_COUNT=100     bundles for the latency with S3 events on and off (BenchmarkGatewayEvents)
#   APP_SIZE=1GiB        the file sent through siirto app in chromium and by siirto send (scripts/bench-app.sh)
#   APP_ROUNDS=2         rounds of each, alternating
set -euo pipefail
cd "$(dirname "$0")/.."

SIZE=${SIZE:-1GiB}
RUNS=${RUNS:-1}
RSS_SIZES=${RSS_SIZES-"1GiB 4GiB"}
RSS_LIMIT_MIB=${RSS_LIMIT_MIB:-64}
BENCH_DIR=${BENCH_DIR:-/tmp}
JOURNAL='THL/1234/14.02.00/2023'
SIIRTO=$PWD/bin/siirto

if [ ! -x "$SIIRTO" ]; then
  echo "bench: $SIIRTO is missing; run 'make bench', which builds it first" >&2
  exit 1
fi

# GNU time reports the peak resident set size; the shell's time keyword
# does not. services/install.sh has it in its list.
if [ ! -x /usr/bin/time ]; then
  echo "bench: installing GNU time for the peak-memory figures"
  bash scripts/services/install.sh >/dev/null
fi

work=$(mktemp -d "$BENCH_DIR/siirto-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT
missed=()
failed=()
rss=()

echo "== throughput: SIZE=$SIZE RUNS=$RUNS"
go run ./cmd/siirto-bench -size "$SIZE" -runs "$RUNS" -dir "$work" | tee "$work/throughput.txt"
while read -r name _; do
  missed+=("throughput $name")
done < <(grep 'BELOW target' "$work/throughput.txt" || true)

# peak_rss LABEL -- COMMAND...: runs COMMAND (its stdout discarded) under
# GNU time, prints its peak RSS against the target and records a miss, or
# a failure (with the command's own error above it).
peak_rss() {
  local label=$1; shift 2
  local ok=1 kb elapsed mib verdict
  /usr/bin/time -v -o "$work/time.txt" "$@" >/dev/null || ok=0
  kb=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$work/time.txt")
  elapsed=$(awk -F': ' '/Elapsed \(wall clock\) time/ {print $2}' "$work/time.txt")
  mib=$(awk -v kb="${kb:-0}" 'BEGIN {printf "%.1f", kb / 1024}')
  if [ "$ok" = 0 ]; then
    rss+=("peak RSS $label: FAILED ($(grep -m1 'exit' "$work/time.txt" || echo 'no exit status'); $mib MiB before it stopped)")
    echo "${rss[-1]} [wall $elapsed]"
    failed+=("peak RSS $label: $*")
    return
  fi
  if [ "$kb" -le $((RSS_LIMIT_MIB * 1024)) ]; then
    verdict="meets target"
  else
    verdict="OVER target"
    missed+=("peak RSS $label: $mib MiB")
  fi
  rss+=("peak RSS $label: $mib MiB (target ≤ $RSS_LIMIT_MIB MiB: $verdict)")
  echo "${rss[-1]} [wall $elapsed]"
}

if [ -n "$RSS_SIZES" ]; then
  echo
  echo "== peak RSS of bin/siirto: $RSS_SIZES"
  "$SIIRTO" --quiet keygen --no-passphrase "$work/bench" >/dev/null
  printf '%s\n' "$JOURNAL" >"$work/journal_number.txt"
  for size in $RSS_SIZES; do
    mkdir "$work/in" "$work/out"
    go run ./cmd/siirto-bench -generate "$work/in/bench.zip" -size "$size"
    peak_rss "encrypt $size" -- "$SIIRTO" --quiet encrypt --recipient "$work/bench.pub" \
      --journal "$work/journal_number.txt" --out "$work/out" --force "$work/in/bench.zip"
    peak_rss "decrypt $size" -- "$SIIRTO" --quiet decrypt --key "$work/bench.sec" -o - "$work/out/bench.json"
    rm -rf "$work/in" "$work/out"
  done
fi

echo
echo "== upload: SIZE=${UPLOAD_SIZE:-2GiB} against Apache WebDAV and versitygw (S3), rclone copyto as the baseline"
bash scripts/tools.sh >/dev/null
bash scripts/services/install.sh >/dev/null
SIIRTO_BENCH_UPLOAD="${UPLOAD_SIZE:-2GiB}" go test -run '^$' -bench UploadVsRclone -benchtime "${UPLOAD_RUNS:-1}x" -timeout 60m ./cmd/siirto \
  | grep '^bench:' | tee "$work/upload.txt" || true
echo
echo "== gateway: verify, decrypt and stage a ${GATEWAY_SIZE:-2GiB} bundle against siirto decrypt; ${GATEWAY_COUNT:-500} bundles of 1 MiB back to back"
bash scripts/services/install.sh >/dev/null
SIIRTO_BENCH_GATEWAY_SIZE="${GATEWAY_SIZE:-2GiB}" SIIRTO_BENCH_GATEWAY_COUNT="${GATEWAY_COUNT:-500}" \
  go test -run '^$' -bench 'Gateway(Stage|Many)' -benchtime 1x -timeout 60m ./cmd/siirto-gateway \
  | grep '^bench:' | tee "$work/gateway.txt" || true
if ! grep -q 'gateway-stage' "$work/gateway.txt" || ! grep -q 'gateway-many' "$work/gateway.txt"; then
  failed+=("gateway benchmarks (go test -bench 'Gateway(Stage|Many)' ./cmd/siirto-gateway)")
fi
while read -r line; do
  missed+=("$line")
done < <(grep -E 'BELOW target|OVER target' "$work/gateway.txt" || true)

echo
echo "== gateway on PostgreSQL and MinIO: ${WORKERS_COUNT:-300} bundles with 1, 2 and 3 workers; latency with S3 events on and off"
SIIRTO_BENCH_WORKERS_COUNT="${WORKERS_COUNT:-300}" SIIRTO_BENCH_EVENTS_COUNT="${EVENTS_COUNT:-100}" \
  go test -run '^$' -bench 'Gateway(Workers|Events)' -benchtime 1x -timeout 60m ./cmd/siirto-gateway \
  | grep '^bench:' | tee "$work/workers.txt" || true
if ! grep -q 'gateway-workers scaling' "$work/workers.txt" || [ "$(grep -c 'gateway-events' "$work/workers.txt")" != 2 ]; then
  failed+=("gateway worker and event benchmarks (go test -bench 'Gateway(Workers|Events)' ./cmd/siirto-gateway)")
fi

echo
echo "== app: a ${APP_SIZE:-1GiB} file through siirto app in headless chromium against siirto send (rounds: ${APP_ROUNDS:-2})"
if ! BENCH_DIR="$BENCH_DIR" bash scripts/bench-app.sh | tee "$work/app.txt"; then
  failed+=("app benchmark (bash scripts/bench-app.sh)")
fi
while read -r line; do
  missed+=("$line")
done < <(grep -E 'OVER target' "$work/app.txt" || true)

echo
echo "== summary: SIZE=$SIZE RUNS=$RUNS RSS_SIZES=$RSS_SIZES"
grep -E '((meets|BELOW) target|^info: [a-z]+/ceiling.*)$' "$work/throughput.txt" || true
grep -E 'target' "$work/upload.txt" "$work/gateway.txt" 2>/dev/null | sed 's/^[^:]*://' || true
grep -E 'scaling|gateway-events' "$work/workers.txt" 2>/dev/null || true
grep -E '^bench: app-send( peak RSS)?:' "$work/app.txt" 2>/dev/null || true
for line in "${rss[@]}"; do
  echo "$line"
done
if [ ${#missed[@]} -eq 0 ] && [ ${#failed[@]} -eq 0 ]; then
  echo "bench: every target met"
fi
if [ ${#missed[@]} -gt 0 ]; then
  echo "************************************************************"
  echo "MISSED: ${#missed[@]} target(s)"
  for m in "${missed[@]}"; do
    echo "  MISSED $m"
  done
  echo "************************************************************"
fi
if [ ${#failed[@]} -gt 0 ]; then
  echo "FAILED: ${#failed[@]} command(s) did not run to the end:"
  for f in "${failed[@]}"; do
    echo "  FAILED $f"
  done
  exit 1
fi

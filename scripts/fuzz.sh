#!/usr/bin/env bash
# Runs every fuzz target for FUZZTIME each: a count of executions such as
# 5000x (the default, what CI runs), or a duration such as 10s (make fuzz).
# A count avoids a race in Go's fuzz coordinator before Go 1.27, where the
# end of a duration can fail a target with "context deadline exceeded" and
# no failing input (golang/go#75804); a failure without a saved input gets
# one more try for that reason.
set -euo pipefail
cd "$(dirname "$0")/.."
FUZZTIME=${FUZZTIME:-5000x}
# inputs DIR: how many saved failing inputs DIR holds (0 if none).
inputs() { if [ -d "$1" ]; then find "$1" -type f | wc -l; else echo 0; fi; }
for pkg in $(go list ./...); do
  dir=$(go list -f '{{.Dir}}' "$pkg")
  for target in $(grep -ho '^func Fuzz[A-Za-z0-9_]*' "$dir"/*_test.go 2>/dev/null | sed 's/func //'); do
    echo "fuzz: $pkg $target for $FUZZTIME"
    saved="$dir/testdata/fuzz/$target"
    before=$(inputs "$saved")
    for try in 1 2; do
      if out=$(go test -run '^$' -fuzz "^${target}\$" -fuzztime "$FUZZTIME" "$pkg" 2>&1); then
        break
      fi
      echo "$out" | tail -30
      # A finding is always saved as a failing input; a failure without one
      # is the fuzzing engine itself (a worker starved on a loaded machine):
      # that alone gets one more try.
      if [ "$(inputs "$saved")" != "$before" ] || [ "$try" = 2 ]; then
        echo "fuzz: $target FAILED; a failing input, if found, is in $saved"
        exit 1
      fi
      echo "fuzz: $target failed without a failing input; trying once more"
    done
  done
done
echo "fuzz: all targets ran without a failure"

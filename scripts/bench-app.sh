#!/usr/bin/env bash
# make bench's app run: one big file sent through siirto app, driven in
# headless chromium (app/e2e/bench.mjs), against siirto send of the same
# file from the command line, to a gateway on embedded defaults. Rounds
# alternate (send, app, send, app…) so that a busy machine slows both
# alike; the best round of each counts. Target: app ≤ 1.3 × send.
# Its own script, called by bench.sh, because it needs a gateway, node
# and chromium of its own, and runs alone while working on the app:
#   bash scripts/bench-app.sh          (after make build)
#
#   APP_SIZE=1GiB      the file (256MiB, 4GiB, 1000000…)
#   APP_ROUNDS=2       rounds of each
#   BENCH_DIR=/tmp     where the temporary files go (they are removed; the
#                      gateway keeps every bundle: about 4 × APP_SIZE a round)
set -euo pipefail
cd "$(dirname "$0")/.."

APP_SIZE=${APP_SIZE:-1GiB}
APP_ROUNDS=${APP_ROUNDS:-2}
BENCH_DIR=${BENCH_DIR:-/tmp}
JOURNAL='THL/1234/14.02.00/2023'
TARGET=1.3
bin=$PWD/bin

for b in siirto siirto-gateway; do
  [ -x "$bin/$b" ] || { echo "bench-app: $bin/$b is missing; run 'make build'" >&2; exit 1; }
done
bash scripts/browser.sh
# GNU time reports the peak RSS; install.sh has it in its list.
[ -x /usr/bin/time ] || bash scripts/services/install.sh >/dev/null
bytes=$(numfmt --from=iec-i "${APP_SIZE%B}")

work=$(mktemp -d "$BENCH_DIR/siirto-bench-app.XXXXXX")
gw_pid="" app_pid=""
cleanup() {
  # app_pid is GNU time's: the app is its child.
  if [ -n "$app_pid" ]; then pkill -INT -P "$app_pid" 2>/dev/null || true; wait "$app_pid" 2>/dev/null || true; fi
  if [ -n "$gw_pid" ]; then kill "$gw_pid" 2>/dev/null || true; wait "$gw_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT
# Both clients run with a home of their own: no user configuration, and
# the app's encrypted copy (its spool, in the cache folder) goes in $work.
iso=(env "HOME=$work/home" "XDG_CONFIG_HOME=$work/home/.config" "XDG_CACHE_HOME=$work/home/.cache")
mkdir -p "$work/home"

"$bin/siirto-gateway" init --listen 127.0.0.1:0 "$work/gw" >/dev/null
printf 'bench-password-alice\n' >"$work/alice.pass"
"$bin/siirto-gateway" -d "$work/gw" journal add "$JOURNAL" --user alice --password-file "$work/alice.pass" >/dev/null
"$bin/siirto-gateway" -d "$work/gw" serve >"$work/gateway.log" 2>&1 &
gw_pid=$!
for _ in $(seq 1 100); do [ -s "$work/gw/state/url" ] && break; sleep 0.1; done
[ -s "$work/gw/state/url" ] || { cat "$work/gateway.log" >&2; echo "bench-app: the gateway did not start" >&2; exit 1; }
folder="$(cat "$work/gw/state/url")/remote.php/dav/files/alice/THL_1234_14.02.00_2023/"
cred=(--to "$folder" --user alice --password-file "$work/alice.pass")

# Incompressible, and fast to make: AES-CTR of zeros (GB/s, where
# /dev/urandom gives a few hundred MB/s). Not a .zip: both pack it.
head -c "$bytes" /dev/zero | openssl enc -aes-128-ctr -K 5369697274206170702062656e636800 -iv 00000000000000000000000000000000 -out "$work/big.bin"

# field FILE LABEL: a figure of GNU time's report; wall seconds for "Elapsed".
field() { awk -F': ' -v l="$2" 'index($0, l) {
  if (l ~ /Elapsed/) { n = split($NF, t, ":"); s = 0; for (i = 1; i <= n; i++) s = s * 60 + t[i]; print s } else print $NF }' "$1"; }

echo "bench: app-send ${APP_SIZE} ($bytes bytes), $APP_ROUNDS round(s) of each, alternating"
cli_s=() cli_kb=() app_s=() app_kb=() browser_mib=()
for k in $(seq 1 "$APP_ROUNDS"); do
  # The gateway syncs every chunk: the last round's dirty pages go first.
  sync
  /usr/bin/time -v -o "$work/cli$k.time" "${iso[@]}" "$bin/siirto" --quiet send "${cred[@]}" \
    --recipient "$work/gw/keys/gateway.pub" --name "cli_round$k" "$work/big.bin" >/dev/null
  # Untimed: the gateway's work on the bundle must not overlap the next round.
  "${iso[@]}" "$bin/siirto" --quiet status --wait --interval 1s --timeout 30m "${cred[@]}" \
    --receipt-key "$work/gw/keys/receipt-key.pub" "cli_round$k" >/dev/null
  cli_s+=("$(field "$work/cli$k.time" Elapsed)") cli_kb+=("$(field "$work/cli$k.time" 'Maximum resident')")
  echo "bench:   round $k siirto send: ${cli_s[-1]} s, peak RSS ${cli_kb[-1]} KiB"

  sync
  : >"$work/app.out"
  /usr/bin/time -v -o "$work/app$k.time" "${iso[@]}" "$bin/siirto" --json app --no-browser --window-grace 2s \
    --recipient "$work/gw/keys/gateway.pub" >"$work/app.out" 2>"$work/app.log" &
  app_pid=$!
  for _ in $(seq 1 100); do grep -q '"url"' "$work/app.out" && break; sleep 0.1; done
  url=$(sed -n 's/.*"url": *"\([^"]*\)".*/\1/p' "$work/app.out")
  [ -n "$url" ] || { cat "$work/app.log" >&2; echo "bench-app: siirto app printed no address" >&2; exit 1; }
  APP_URL=$url DAV_FOLDER_URL=$folder DAV_USER=alice DAV_PASSWORD=bench-password-alice FILE="$work/big.bin" \
    NAME="app_round$k" node app/e2e/bench.mjs >"$work/app$k.json"
  # The window is gone: the app stops by itself after --window-grace.
  for _ in $(seq 1 300); do kill -0 "$app_pid" 2>/dev/null || break; sleep 0.1; done
  if kill -0 "$app_pid" 2>/dev/null; then
    echo "bench-app: siirto app still runs 30 s after its window closed; stopping it" >&2
    pkill -INT -P "$app_pid" || true
  fi
  wait "$app_pid" || { cat "$work/app.log" >&2; echo "bench-app: siirto app failed" >&2; exit 1; }
  app_pid=""
  rm -rf "$work/home/.cache/siirto/app"
  read -r secs mib < <(node -p 'const r = JSON.parse(require("fs").readFileSync(0)); r.seconds.toFixed(2) + " " + r.browser_peak_mib.toFixed(1)' <"$work/app$k.json")
  app_s+=("$secs") browser_mib+=("$mib") app_kb+=("$(field "$work/app$k.time" 'Maximum resident')")
  echo "bench:   round $k siirto app:  $secs s, peak RSS ${app_kb[-1]} KiB"
done

# The best round of each against the target; each round's ratio too, as
# the machine's load drifts (send and app alternate). Peak RSS: the
# highest of any round.
awk -v b="$bytes" -v t="$TARGET" -v cs="${cli_s[*]}" -v as="${app_s[*]}" -v ck="${cli_kb[*]}" -v ak="${app_kb[*]}" \
  -v bm="${browser_mib[*]}" 'BEGIN {
  n = split(cs, c, " "); split(as, a, " "); split(ck, ckb, " "); split(ak, akb, " "); split(bm, bmib, " ")
  bc = c[1]; ba = a[1]; mc = mk = mb = 0
  for (i = 1; i <= n; i++) {
    if (c[i] < bc) bc = c[i]; if (a[i] < ba) ba = a[i]
    if (ckb[i] > mc) mc = ckb[i]; if (akb[i] > mk) mk = akb[i]; if (bmib[i] > mb) mb = bmib[i]
    per = per sprintf("%s%.2f", i > 1 ? ", " : "", a[i] / c[i])
  }
  r = ba / bc; v = r <= t ? "meets target" : "OVER target"
  printf "bench: app-send: siirto send %.2f s (%.0f MB/s), siirto app in chromium %.2f s (%.0f MB/s): ratio %.2f, per round %s (target ≤ %.2f: %s)\n",
    bc, b / bc / 1e6, ba, b / ba / 1e6, r, per, t, v
  printf "bench: app-send peak RSS: siirto app %.1f MiB, siirto send %.1f MiB; chromium %.1f MiB (PSS, all processes)\n", mk / 1024, mc / 1024, mb }'

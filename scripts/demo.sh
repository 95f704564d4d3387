#!/usr/bin/env bash
# The README's first command: the whole story on embedded defaults, in a
# temporary folder, with no external server. It starts a gateway, opens a
# journal with an uploader, encrypts and uploads sample data with siirto,
# waits for the signed receipt, and shows the staged plaintext, the
# notification and the audit log's check. Then it stops the gateway.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
export PATH="$root/bin:$PATH"
work=$(mktemp -d "${TMPDIR:-/tmp}/siirto-demo.XXXXXX")
gw_pid=""
cleanup() {
  if [ -n "$gw_pid" ]; then kill "$gw_pid" 2>/dev/null || true; wait "$gw_pid" 2>/dev/null || true; fi
  if [ -z "${KEEP:-}" ]; then rm -rf "$work"; fi
}
trap cleanup EXIT
cd "$work"
start=$(date +%s)

step() { printf '\n\033[1m$ %s\033[0m\n' "$*"; "$@"; }
note() { printf '\n# %s\n' "$*"; }

note "The authority: a new gateway in one folder (keys, config, inbox, staging, ledger, audit log)."
step siirto-gateway init --listen 127.0.0.1:0 gw

note "Open the permit's journal and an uploader account for the researcher."
printf 'demo-password-alice\n' > alice.pass
chmod 600 alice.pass
step siirto-gateway -d gw journal add THL/1234/14.02.00/2023 --user alice --password-file alice.pass

note "Start the gateway (its log goes to gateway.log)."
siirto-gateway -d gw serve >gateway.log 2>&1 &
gw_pid=$!
# serve writes its URL once it listens; uploads are taken from then on.
for _ in $(seq 1 100); do
  [ -s gw/state/url ] && break
  kill -0 "$gw_pid" 2>/dev/null || { cat gateway.log; echo "demo: the gateway did not start" >&2; exit 1; }
  sleep 0.1
done
[ -s gw/state/url ] || { cat gateway.log; echo "demo: the gateway wrote no URL in 10 s" >&2; exit 1; }
url=$(cat gw/state/url)
echo "gateway ready at $url"
folder="$url/remote.php/dav/files/alice/THL_1234_14.02.00_2023/"

note "The researcher's folder of data."
mkdir -p cohort/forms
printf 'id;birth_year;diagnosis\n' > cohort/persons.csv
for i in $(seq 1 20000); do printf '%d;%d;I%02d\n' "$i" $((1930 + i % 80)) $((i % 99)); done >> cohort/persons.csv
printf 'Consent forms are kept by the research group.\n' > cohort/forms/README.txt
step ls -R cohort

note "Encrypt to the authority's public key (pack and encrypt in one stream), then upload."
step siirto encrypt --recipient gw/keys/gateway.pub --journal gw/inbox/THL_1234_14.02.00_2023/journal_number.txt cohort
step siirto upload --to "$folder" --user alice --password-file alice.pass cohort.json

note "Wait for the gateway's signed receipt (checked against the key it gave out of band)."
step siirto status --wait --interval 1s --timeout 60s --to "$folder" --user alice --password-file alice.pass \
  --receipt-key gw/keys/receipt-key.pub cohort

note "On the authority's side: the ledger, and the verified plaintext staged for pseudonymisation."
step siirto-gateway -d gw bundle list
staged=$(echo gw/staging/THL_1234_14.02.00_2023/*)   # staging/<journal folder>/<bundle id>
step ls -lR "$staged"
diff -r cohort "$staged/cohort"
echo "identical: the staged files are the researcher's files, byte for byte"

note "The notification the handlers got (a structured log line; SMTP and webhook when configured)."
grep 'msg=notification' gateway.log | head -1

note "A tampered copy is refused with a code, and the uploader gets a receipt saying why."
# A second bundle, damaged in transit: one byte of its payload flipped after
# encryption. It lands in the journal folder (here straight into the
# gateway's inbox folder, as a file share would put it), payload first.
siirto --quiet encrypt --name damaged --out bad --recipient gw/keys/gateway.pub \
  --journal gw/inbox/THL_1234_14.02.00_2023/journal_number.txt cohort
printf '\x01' | dd of=bad/damaged.c4gh bs=1 seek=5000 count=1 conv=notrunc status=none
cp bad/damaged.c4gh gw/inbox/THL_1234_14.02.00_2023/
cp bad/damaged.json gw/inbox/THL_1234_14.02.00_2023/
set +e
step siirto --lang fi status --wait --interval 1s --timeout 60s --to "$folder" --user alice --password-file alice.pass \
  --receipt-key gw/keys/receipt-key.pub bad/damaged.json
rc=$?
set -e
[ "$rc" -eq 3 ] || { echo "demo: expected exit status 3 for the rejected bundle, got $rc" >&2; exit 1; }

note "Every step is in the hash-chained audit log; any edit or deletion would be found."
step siirto-gateway -d gw audit verify

note "Stop the gateway."
kill -TERM "$gw_pid"; wait "$gw_pid" || true; gw_pid=""
printf '\nDemo done in %ss in %s%s\n' "$(( $(date +%s) - start ))" "$work" "$([ -n "${KEEP:-}" ] && echo ' (kept)' || echo ' (removed; KEEP=1 keeps it)')"

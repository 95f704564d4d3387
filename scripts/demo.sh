#!/usr/bin/env bash
# The README's first command: the client's whole story in a temporary folder,
# on embedded defaults and with no server. It makes a key pair standing in for
# the authority's, encrypts a folder for a journal number, verifies the bundle
# with and without the key, decrypts it and compares the result.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
export PATH="$root/bin:$PATH"
work=$(mktemp -d "${TMPDIR:-/tmp}/siirto-demo.XXXXXX")
if [ -z "${KEEP:-}" ]; then trap 'rm -rf "$work"' EXIT; fi
cd "$work"

step() { printf '\n\033[1m$ %s\033[0m\n' "$*"; "$@"; }
note() { printf '\n# %s\n' "$*"; }

note "A researcher's folder: the data, and journal_number.txt from the transfer folder."
mkdir -p cohort/forms
printf 'id;birth_year;diagnosis\n' > cohort/persons.csv
for i in $(seq 1 20000); do printf '%d;%d;I%02d\n' "$i" $((1930 + i % 80)) $((i % 99)); done >> cohort/persons.csv
printf 'Consent forms are kept by the research group.\n' > cohort/forms/README.txt
printf 'THL/1234/14.02.00/2023\n' > journal_number.txt
step ls -R

note "The authority's key pair (normally you only receive its public key, csc.pub)."
step siirto keygen --no-passphrase authority

note "Pack and encrypt in one stream: no unencrypted zip touches the disk."
step siirto encrypt --recipient authority.pub --journal journal_number.txt cohort

note "The manifest: journal number and checksums, no personal data, no inner file names."
step cat cohort.json

note "What the gateway checks before decrypting, and with its key."
step siirto verify --recipient authority.pub cohort.json
step siirto verify --key authority.sec cohort.json

note "Decrypt and extract: the folder appears only when every check has passed."
step siirto decrypt --key authority.sec --extract received cohort.json
step diff -r cohort received/cohort
echo "identical: the files came back byte for byte"

note "A damaged copy is refused with a stable code and advice."
mkdir damaged && cp cohort.c4gh cohort.json damaged/
printf '\x01' | dd of=damaged/cohort.c4gh bs=1 seek=5000 count=1 conv=notrunc status=none
set +e
step siirto --lang fi verify --key authority.sec damaged/cohort.json
status=$?
set -e
[ "$status" -eq 3 ] || { echo "demo: expected exit status 3 for the damaged copy, got $status" >&2; exit 1; }
echo "exit status $status: the bundle breaks a rule"
printf '\nDemo done in %s%s\n' "$work" "$([ -n "${KEEP:-}" ] && echo ' (kept)' || echo ' (removed; KEEP=1 keeps it)')"

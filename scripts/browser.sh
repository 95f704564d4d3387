#!/usr/bin/env bash
# Sets up what the browser tests need: Debian's chromium (Playwright's own
# browser downloads can't be fetched here, so app/e2e drives the packaged one
# through playwright-core), Debian's nodejs and npm if the machine has no
# node, and app/e2e's npm packages (playwright-core,
# axe-core), installed exactly from package-lock.json. Idempotent and quiet
# when everything is already there. Check: node app/e2e/selftest.mjs
set -euo pipefail
cd "$(dirname "$0")/.."

# Debian's packages for what is missing: chromium, and node and npm to
# drive it (app/e2e) if the machine has none of its own.
pkgs=()
[ -x /usr/bin/chromium ] || pkgs+=(chromium)
command -v node >/dev/null 2>&1 || pkgs+=(nodejs)
command -v npm >/dev/null 2>&1 || pkgs+=(npm)
if [ "${#pkgs[@]}" -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "browser: need root to install ${pkgs[*]}" >&2; exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  log=$(mktemp)
  trap 'rm -f "$log"' EXIT
  # No recommends: chromium still brings a font (fonts-dejavu-core through
  # fontconfig), which is all the screenshots and axe's contrast checks need.
  apt_install() { apt-get install -y --no-install-recommends -q "${pkgs[@]}" >"$log" 2>&1; }
  if ! apt_install; then
    # The package lists may be missing or stale on a fresh machine: refresh once, retry.
    if ! apt-get update -q >>"$log" 2>&1 || ! apt_install; then
      cat "$log" >&2
      echo "browser: FAILED to install ${pkgs[*]}" >&2
      exit 1
    fi
  fi
  for t in /usr/bin/chromium node npm; do
    if ! command -v "$t" >/dev/null 2>&1; then
      echo "browser: $t is missing after installing ${pkgs[*]}" >&2; exit 1
    fi
  done
fi

# playwright-core wants node 20 or later (Debian 12's own nodejs is 18).
major=$(node -p 'process.versions.node.split(".")[0]')
if [ "$major" -lt 20 ]; then
  echo "browser: node $(node --version) is too old for playwright-core (20 or later); install a newer nodejs" >&2
  exit 1
fi

# npm ci when node_modules is missing or older than the lock file (npm writes
# node_modules/.package-lock.json on every install).
e2e=app/e2e
if [ ! -f "$e2e/node_modules/.package-lock.json" ] ||
   [ "$e2e/package-lock.json" -nt "$e2e/node_modules/.package-lock.json" ]; then
  log=$(mktemp)
  trap 'rm -f "$log"' EXIT
  if ! (cd "$e2e" && npm ci --no-audit --no-fund) >"$log" 2>&1; then
    cat "$log" >&2
    echo "browser: npm ci in $e2e FAILED" >&2
    exit 1
  fi
fi

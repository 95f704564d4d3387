#!/usr/bin/env bash
# Installs the real servers and tools the integration tests start themselves
# (see internal/testserver): Apache with mod_dav, htpasswd, rclone (a second
# WebDAV server), litmus (the WebDAV test suite), postfix's smtp-sink (the
# SMTP sink for notification mail), PostgreSQL (Debian's version; the
# tests make private clusters with its initdb; the packaged cluster is
# never used), GNU time (make bench's peak RSS figures), openssl and procps
# (make bench's app run: its test file, pkill), from Debian's packages.
# Idempotent and quiet when everything is already there. apt never starts
# a service on CI (policy-rc.d exits 101); the tests start Apache by PID
# and PostgreSQL as their own child process.
set -euo pipefail
cd "$(dirname "$0")/../.."

pkgs=(apache2 apache2-utils rclone litmus postfix postgresql time openssl procps)

missing=()
for p in "${pkgs[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q '^install ok installed$'; then
    missing+=("$p")
  fi
done

if [ "${#missing[@]}" -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "services: need root to install: ${missing[*]}" >&2; exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  # postfix asks which mail setup to make; none: only its smtp-sink is used.
  echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
  log=$(mktemp)
  trap 'rm -f "$log"' EXIT
  apt_install() { apt-get install -y --no-install-recommends -q "${missing[@]}" >"$log" 2>&1; }
  if ! apt_install; then
    # The package lists may be missing or stale on a fresh machine: refresh once, retry.
    if ! apt-get update -q >>"$log" 2>&1 || ! apt_install; then
      cat "$log" >&2
      echo "services: FAILED to install ${missing[*]}" >&2
      exit 1
    fi
  fi
fi

if [ ! -x /usr/sbin/apache2 ] || [ ! -e /usr/lib/apache2/modules/mod_dav_fs.so ] || ! command -v htpasswd >/dev/null; then
  echo "services: apache2 is installed but /usr/sbin/apache2, mod_dav_fs or htpasswd is missing" >&2
  exit 1
fi
if ! command -v rclone >/dev/null; then
  echo "services: rclone is installed but not on PATH" >&2
  exit 1
fi
for t in litmus /usr/sbin/smtp-sink /usr/bin/time; do
  if ! command -v "$t" >/dev/null; then
    echo "services: $t is missing after install" >&2
    exit 1
  fi
done
pgbin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -t/ -k4 -n | tail -1)
if [ -z "$pgbin" ] || [ ! -x "$pgbin/initdb" ] || [ ! -x "$pgbin/postgres" ]; then
  echo "services: postgresql is installed but no /usr/lib/postgresql/*/bin holds initdb and postgres" >&2
  exit 1
fi
echo "services: apache2, rclone, litmus, smtp-sink, postgresql ($pgbin), GNU time, openssl and procps ready"

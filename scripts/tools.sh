#!/usr/bin/env bash
# Installs the tools the checks need into .tools/bin, once; later runs reuse them.
set -euo pipefail
cd "$(dirname "$0")/.."
export GOBIN="$PWD/.tools/bin"
mkdir -p "$GOBIN"
STATICCHECK_VERSION=v0.8.2
if ! "$GOBIN/staticcheck" -version 2>/dev/null | grep -q "${STATICCHECK_VERSION#v}"; then
  echo "tools: installing staticcheck $STATICCHECK_VERSION"
  go install "honnef.co/go/tools/cmd/staticcheck@$STATICCHECK_VERSION"
fi
# versitygw: a real S3 server over a local folder, for the S3 store's
# integration tests (internal/testserver). Its --version needs build-time
# ldflags that go install does not set, so a marker file names the version.
VERSITYGW_VERSION=v1.8.0
if [ ! -x "$GOBIN/versitygw" ] || [ ! -e "$GOBIN/.versitygw-$VERSITYGW_VERSION" ]; then
  echo "tools: installing versitygw $VERSITYGW_VERSION (a few minutes on the first run)"
  rm -f "$GOBIN"/.versitygw-*
  go install "github.com/versity/versitygw/cmd/versitygw@$VERSITYGW_VERSION"
  touch "$GOBIN/.versitygw-$VERSITYGW_VERSION"
fi

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
# MinIO: the reference S3 server, a second real S3 server for the
# integration tests and the upload benchmark (internal/testserver). Only
# full pseudo-versions can be installed; like versitygw's, its version is
# named by a marker file.
MINIO_VERSION=v0.0.0-20260212201848-7aac2a2c5b7c
if [ ! -x "$GOBIN/minio" ] || [ ! -e "$GOBIN/.minio-$MINIO_VERSION" ]; then
  echo "tools: installing minio $MINIO_VERSION (about 5 minutes and 1.5 GB of memory on the first run)"
  rm -f "$GOBIN"/.minio-*
  go install "github.com/minio/minio@$MINIO_VERSION"
  touch "$GOBIN/.minio-$MINIO_VERSION"
fi

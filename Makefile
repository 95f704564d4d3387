# siirto: see README.md. Every target installs what it needs itself.
GO       ?= go
BIN      := $(CURDIR)/bin
TOOLS    := $(CURDIR)/.tools/bin
VERSION  ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS  := -s -w -X main.buildVersion=$(VERSION)

.PHONY: all build demo test test-short lint fuzz bench testdata clean tools release

all: build

build:
	$(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN)/ ./cmd/...

# The README's first command: the whole client story on a temporary folder.
demo: build
	bash scripts/demo.sh

# The README's second command, and what .ci/run calls.
test:
	bash scripts/test.sh

# Unit tests only, for a quick loop while editing.
test-short:
	$(GO) test -short ./...

lint: tools
	bash scripts/lint.sh

# Each fuzz target for FUZZTIME (default 10s) instead of the CI's short run.
fuzz:
	FUZZTIME=$${FUZZTIME:-10s} bash scripts/fuzz.sh

# Throughput and memory against the baselines; SIZE=4GiB for a larger run.
bench: build
	bash scripts/bench.sh

# The client for every desktop it supports, static (no cgo), into dist/.
PLATFORMS := linux/amd64 linux/arm64 darwin/arm64 windows/amd64
release:
	@mkdir -p dist
	@for p in $(PLATFORMS); do \
	  os=$${p%/*}; arch=$${p#*/}; ext=; [ $$os = windows ] && ext=.exe; \
	  CGO_ENABLED=0 GOOS=$$os GOARCH=$$arch $(GO) build -trimpath -ldflags '$(LDFLAGS)' \
	    -o dist/siirto-$(VERSION)-$$os-$$arch$$ext ./cmd/siirto || exit 1; \
	  echo "dist/siirto-$(VERSION)-$$os-$$arch$$ext"; \
	done

# Regenerate testdata/ (keys and sample bundles).
testdata:
	$(GO) run ./internal/mktestdata -out testdata

tools:
	bash scripts/tools.sh

clean:
	rm -rf $(BIN) .cache dist

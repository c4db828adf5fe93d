# crossdock — build, test, lint, bench. `make test` is the whole suite (CI runs it).
GO          ?= go
STATICCHECK ?= honnef.co/go/tools/cmd/staticcheck@v0.8.2
GOBIN       := $(shell $(GO) env GOPATH)/bin
VERSION     ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)

.PHONY: all build run test unit lint fmt vet staticcheck bench fuzz clean screenshots

all: lint test

build:
	$(GO) build -ldflags "-X main.version=$(VERSION)" -o bin/crossdock ./cmd/crossdock

run:
	$(GO) run ./cmd/crossdock serve

# The whole suite: lint, then every test with the race detector. Integration
# tests run when their service variable is set (CROSSDOCK_TEST_POSTGRES_URL, _MQTT_URL, _NATS_URL, _AMQP_URL, _TRYTON_URL); the console's browser tests when CROSSDOCK_TEST_CHROMIUM is set or chromium is on PATH.
test: lint unit

unit:
	$(GO) test -race -count=1 -timeout 20m ./...

lint: fmt vet staticcheck

fmt:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi

vet:
	$(GO) vet ./...

staticcheck:
	@test -x $(GOBIN)/staticcheck || $(GO) install $(STATICCHECK)
	$(GOBIN)/staticcheck ./...

# Go benchmarks of the hot paths (parse, apply, store). The HTTP load figures
# in docs/benchmarks.md come from `crossdock bench` against a running hub.
bench:
	$(GO) test -run '^$$' -bench . -benchmem -count 1 ./internal/...

# Run every fuzz target for FUZZTIME each (default 30s); corpora live in testdata/fuzz.
FUZZTIME ?= 30s
fuzz:
	@for pkg in $$($(GO) list ./internal/...); do \
	  for f in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz'); do \
	    echo "== $$pkg $$f"; $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) $$pkg || exit 1; \
	  done; \
	done

clean:
	rm -rf bin

# The console screenshots of docs/console.md, from a demo run in headless
# Chromium (about four minutes: the demo runs until its finance clerk has
# reconciled at simulated noon).
screenshots:
	CROSSDOCK_SCREENSHOTS=$(CURDIR)/docs/images $(GO) test -count=1 -timeout 10m -run TestConsoleScreenshots ./cmd/crossdock

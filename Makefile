GO ?= go
# bash for pipefail: a test run piped through testreport keeps go test's
# exit status.
SHELL := /bin/bash

.PHONY: test peers fmt vet race load client-interop bench-smoke fuzz soak bench bench-quick

# make test: everything CI runs. Installs missing test peers first (quick
# when they are present).
test: peers fmt vet race load client-interop bench-smoke

# Each .ci/peers.d/*.sh installs one group of test peers when missing.
peers:
	@for f in .ci/peers.d/*.sh; do [ -e "$$f" ] || continue; bash "$$f" || exit 1; done

fmt:
	@out=$$(gofmt -l $$(git ls-files -co --exclude-standard '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

vet:
	$(GO) vet ./...

# Output as without -v, plus the list of tests that skipped and why
# (internal/cmd/testreport).
race:
	set -o pipefail; $(GO) test -race -count=1 -json ./... | $(GO) run ./internal/cmd/testreport

# Load tests and allocation counts skip themselves under -race (it slows
# their clients 5-10x and makes sync.Pool drop items): they run here.
load:
	$(GO) test -count=1 -run 'AmongThousand|DeferredUpgradeLoad|PublishAllocs|PublishDeflateAllocs|SteadyStateAllocs|DeflateLimitedAllocs|LargeEchoHeap' -v ./hub/ ./engine/ ./internal/pmd/ ./client/

# The client against the benchmark peers' servers (gorilla, gws, nbio), with
# permessage-deflate where they have it: a module of its own, like the
# benchmarks, so the peers stay out of go.mod.
client-interop:
	cd client/internal/memcmp && $(GO) vet ./... && $(GO) test -count=1 ./...

# The benchmark harness is its own module (peers' dependencies stay out of
# go.mod): gofmt, vet and a tiny run of the generator against every server.
bench-smoke:
	$(MAKE) -C benchmarks test

# Full suite (< 15 min on 2 cores) into docs/benchmarks.md and docs/img/;
# quick one (< 2 min) into benchmarks/out/quick/.
bench:
	$(MAKE) -C benchmarks bench

bench-quick:
	$(MAKE) -C benchmarks bench-quick

# make fuzz FUZZTIME=5m runs every fuzz target of every package for
# FUZZTIME each (FUZZPKGS narrows it: make fuzz FUZZPKGS=./codec/).
FUZZTIME ?= 30s
FUZZPKGS ?= ./...
fuzz:
	@for p in $$($(GO) list -f '{{if or .TestGoFiles .XTestGoFiles}}{{.Dir}}{{end}}' $(FUZZPKGS)); do \
		for t in $$(cd $$p && $(GO) test -list '^Fuzz' . | grep ^Fuzz); do \
			echo "== $$p $$t"; (cd $$p && $(GO) test -run='^$$' -fuzz="^$$t$$" -fuzztime=$(FUZZTIME) .) || exit 1; \
		done; done

# make soak SOAK=10m runs the churn soak for longer than make test's 20s.
SOAK ?= 5m
soak:
	SWITCHBOARD_SOAK=$(SOAK) $(GO) test -race -count=1 -run 'Soak' -timeout 0 -v ./engine/

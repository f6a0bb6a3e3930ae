# infertune: build, run, test. GNU make.
SHELL := /bin/bash
.DEFAULT_GOAL := build

# go from PATH; on a fresh machine where it is not on PATH, the default install location.
GO ?= $(or $(shell command -v go 2>/dev/null),$(wildcard /usr/local/go/bin/go),go)
GOFMT ?= $(if $(findstring /,$(GO)),$(dir $(GO))gofmt,gofmt)

BIN := bin/infertune
# The simd kernel tier needs this experiment; without it the binary uses the generic tier.
SIMD := GOEXPERIMENT=simd

# Packages that start goroutines run under the race detector; the rest run without it,
# which keeps `make test` well under ten minutes on two cores.
RACE_PKGS ?= ./engine ./engine/kernels/... ./engine/sched/... ./loadgen/... ./tuner/... ./reports/... ./cmd/...
# End-to-end tunes and generation benches time a real load generator and engine, which
# the race detector slows until their probes are invalid or empty, and capacity searches
# simulate thousands of requests, which it slows twentyfold: they skip under -race and
# run again without it, one package at a time (-p 1): two packages' tunes at once on two
# cores left the load generator late on its sends until probes were invalid.
E2E := ^(TestTune|TestCapacity|TestBenchE2E)
E2E_PKGS := ./cmd/infertune ./tuner
# (Each is computed once, when first used.)
OTHER_PKGS = $(eval OTHER_PKGS := $(filter-out $(shell $(GO) list $(RACE_PKGS) 2>/dev/null),$(shell $(GO) list ./...)))$(OTHER_PKGS)
# -race needs cgo (a C compiler); without one the race packages run without it.
RACE = $(eval RACE := $(if $(filter 1,$(shell $(GO) env CGO_ENABLED)),-race,))$(RACE)

.PHONY: build run test vet lint bench clean

build:
	$(SIMD) $(GO) build -o $(BIN) ./cmd/infertune

# A short tune of the default workload (classify) on the embedded defaults: it prints the
# best config and writes every measurement to infertune.db.
run: build
	$(BIN) tune --slo p99=50ms --budget 3m

# The whole suite twice: with the simd tier, then generic only; go vet in both modes.
test: vet
	@test -n "$(RACE)" || echo "note: no C compiler (CGO_ENABLED=0): running without -race"
	$(SIMD) $(GO) test $(RACE) $(RACE_PKGS)
	$(if $(RACE),$(SIMD) $(GO) test -run '^TestNoSSEInVectorCode$$' ./engine/kernels)
	$(if $(OTHER_PKGS),$(SIMD) $(GO) test $(OTHER_PKGS))
	$(if $(RACE),$(SIMD) $(GO) test -p 1 -run '$(E2E)' $(E2E_PKGS))
	$(GO) test $(RACE) $(RACE_PKGS)
	$(if $(OTHER_PKGS),$(GO) test $(OTHER_PKGS))
	$(if $(RACE),$(GO) test -p 1 -run '$(E2E)' $(E2E_PKGS))

vet:
	$(SIMD) $(GO) vet ./...
	$(GO) vet ./...

lint: vet
	@out="$$($(GOFMT) -l .)"; \
	if [ -n "$$out" ]; then echo "gofmt needed on:"; echo "$$out"; exit 1; fi

bench:
	$(SIMD) $(GO) test -run '^$$' -bench . -benchmem ./engine/...

clean:
	rm -rf bin
	$(GO) clean -testcache

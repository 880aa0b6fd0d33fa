#!/usr/bin/env bash
# Refreshes cmd/flycheck/default.pgo, the CPU profile `go build` uses for
# profile-guided optimisation of the flycheck binary (Go's -pgo=auto: the
# operator image, bin/flycheck and the benchmark all pick it up). It is the
# merge of `flycheck screen --cpuprofile` on the benchmark's extracts
# (string and typed Parquet, hack/bench-data.sh) with the 6-rule,
# ~200-rule and matching-nothing catalogues, profiled on a build without
# PGO.
#
# A stale profile is safe (Go ignores what no longer matches), so refresh
# it after changing the screening engine's hot paths, not on every change;
# docs/benchmarks.md gives what it bought when it came in.
#
# Usage: hack/pgo.sh                        (called by `make pgo`)
# Env:   as hack/bench-data.sh (the extracts are generated once when missing)
set -euo pipefail
cd "$(dirname "$0")/.."

source hack/bench-data.sh
PROF="$BENCH_DIR/pgo"
BIN="$PROF/bin" # not the benchmark's: this one is built without PGO
mkdir -p "$BIN"
go build -pgo=off -o "$BIN/flycheck" ./cmd/flycheck

for kind in strings typed; do
  dataset "$kind"
  for cat in bench-6 bench-200 bench-none; do
    echo "pgo: profiling $kind $cat" >&2
    rm -rf "$PROF/out"
    "$BIN/flycheck" screen --quiet --input "$DATA" --rules "config/rules/bench/$cat.yaml" \
      --output "$PROF/out" --cpuprofile "$PROF/$kind-$cat.prof" >/dev/null
  done
done
rm -rf "$PROF/out"
go tool pprof -proto "$PROF"/*.prof >cmd/flycheck/default.pgo
echo "pgo: wrote cmd/flycheck/default.pgo ($(wc -c <cmd/flycheck/default.pgo) bytes); rebuild to use it" >&2

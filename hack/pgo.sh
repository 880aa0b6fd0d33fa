#!/usr/bin/env bash
# Refreshes cmd/flycheck/default.pgo, the CPU profile `go build` uses for
# profile-guided optimisation of the flycheck binary (Go's -pgo=auto: the
# operator image, bin/flycheck and the benchmark all pick it up). It is the
# merge of `flycheck screen --cpuprofile` on the benchmark's 20 M-line
# extracts (string and typed Parquet) with the 6-rule, ~200-rule and
# matching-nothing catalogues, profiled on a build without PGO.
#
# A stale profile is safe (Go ignores what no longer matches), so refresh
# it after changing the screening engine's hot paths, not on every change;
# docs/benchmarks.md gives what it bought when it came in.
#
# Usage: hack/pgo.sh                        (called by `make pgo`)
# Env:   BENCH_DIR (default .bench; the extracts are generated there once,
#        as hack/bench-screening.sh does, when missing)
set -euo pipefail
cd "$(dirname "$0")/.."

BENCH_DIR=${BENCH_DIR:-.bench}
LINES=21500000
BIN="$BENCH_DIR/bin"
PROF="$BENCH_DIR/pgo"
mkdir -p "$BIN" "$PROF"
go build -pgo=off -o "$BIN/flycheck-nopgo" ./cmd/flycheck

for kind in strings typed; do
  suffix=""
  [ "$kind" = strings ] || suffix="-$kind"
  data="$BENCH_DIR/province-$LINES-s1-parquet$suffix"
  if [ ! -f "$data/manifest.json" ]; then
    echo "pgo: generating $data (once)" >&2
    rm -rf "$data.tmp"
    "$BIN/flycheck-nopgo" generate --output "$data.tmp" --format parquet --parquet-types "$kind" --seed 1 \
      --fee-lines "$LINES" --institutions-per-city 200 \
      --rules config/rules/bench/bench-200.yaml --violation-rate 0.0005 >/dev/null
    mv "$data.tmp" "$data"
  fi
  for cat in bench-6 bench-200 bench-none; do
    echo "pgo: profiling $kind $cat" >&2
    rm -rf "$PROF/out"
    "$BIN/flycheck-nopgo" screen --quiet --input "$data" --rules "config/rules/bench/$cat.yaml" \
      --output "$PROF/out" --cpuprofile "$PROF/$kind-$cat.prof" >/dev/null
  done
done
rm -rf "$PROF/out"
go tool pprof -proto "$PROF"/*.prof >cmd/flycheck/default.pgo
echo "pgo: wrote cmd/flycheck/default.pgo ($(wc -c <cmd/flycheck/default.pgo) bytes); rebuild to use it" >&2

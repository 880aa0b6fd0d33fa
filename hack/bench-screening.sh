#!/usr/bin/env bash
# Benchmark of DESIGN §7: `flycheck screen` against DuckDB running the same
# rules as SQL (hack/oracle), end to end (read the claims files → findings
# written as Parquet), on the same ≥20-million-line Parquet extract, at 6 and
# at ~200 rules. Prints lines/s, the DuckDB/ours time ratio and peak RSS.
#
# Usage: hack/bench-screening.sh            (called by `make bench-screening`)
# Env:   BENCH_LINES (default 21500000 requested → ≥20 M generated),
#        BENCH_DIR (default .bench), DUCKDB_MEMORY (default 4GB),
#        DUCKDB_THREADS (default 2), BENCH_RUNS (default 1).
# The data set is generated once and cached under $BENCH_DIR (git-ignored).
set -euo pipefail
cd "$(dirname "$0")/.."

BENCH_DIR=${BENCH_DIR:-.bench}
BENCH_LINES=${BENCH_LINES:-21500000}
MIN_LINES=${MIN_LINES:-20000000}
DUCKDB_MEMORY=${DUCKDB_MEMORY:-4GB}
DUCKDB_THREADS=${DUCKDB_THREADS:-2}
SEED=${SEED:-1}
DATA="$BENCH_DIR/province-${BENCH_LINES}-s${SEED}-parquet"
BIN="$BENCH_DIR/bin"
OUT="$BENCH_DIR/out"
CATALOGUES=(config/rules/bench/bench-6.yaml config/rules/bench/bench-200.yaml)

# GNU time for peak RSS (Debian package "time").
if [ ! -x /usr/bin/time ]; then
  echo "bench: installing GNU time (apt-get install time)" >&2
  (apt-get install -y time >/dev/null 2>&1 || { apt-get update >/dev/null && apt-get install -y time >/dev/null; })
fi

mkdir -p "$BIN" "$OUT"
BIN=$(cd "$BIN" && pwd)
echo "bench: building flycheck and duckscreen" >&2
go build -o "$BIN/flycheck" ./cmd/flycheck
(cd hack/oracle && go build -o "$BIN/duckscreen" ./cmd/duckscreen)

if [ ! -f "$DATA/manifest.json" ]; then
  echo "bench: generating $BENCH_LINES fee lines as Parquet into $DATA (once)" >&2
  rm -rf "$DATA.tmp"
  /usr/bin/time -f "bench: generated in %e s, peak RSS %M KiB" \
    "$BIN/flycheck" generate --output "$DATA.tmp" --format parquet --seed "$SEED" \
      --fee-lines "$BENCH_LINES" --institutions-per-city 200 \
      --rules config/rules/bench/bench-200.yaml --violation-rate 0.0005
  mv "$DATA.tmp" "$DATA"
fi
LINES=$(sed -n 's/^    "feeLines": \([0-9]*\),*$/\1/p' "$DATA/manifest.json" | head -1)
if [ "${LINES:-0}" -lt "$MIN_LINES" ]; then
  echo "bench: $DATA has only $LINES fee lines (< $MIN_LINES); delete it and raise BENCH_LINES" >&2
  exit 1
fi
echo "bench: $DATA: $LINES fee lines, $(du -sh "$DATA" | cut -f1) on disk" >&2

# timed NAME CMD...: runs CMD under GNU time, leaves "seconds rss_kib" in $OUT/NAME.time
timed() {
  local name=$1; shift
  rm -rf "${OUT:?}/$name"
  /usr/bin/time -v -o "$OUT/$name.timev" "$@" >"$OUT/$name.log" 2>&1 || {
    echo "bench: $name failed:" >&2; tail -20 "$OUT/$name.log" >&2; exit 1; }
  local wall rss
  wall=$(sed -n 's/.*Elapsed (wall clock) time (h:mm:ss or m:ss): //p' "$OUT/$name.timev" |
    awk -F: '{ if (NF==3) print $1*3600+$2*60+$3; else print $1*60+$2 }')
  rss=$(sed -n 's/.*Maximum resident set size (kbytes): //p' "$OUT/$name.timev")
  echo "$wall $rss" >"$OUT/$name.time"
}

findings() { # findings count from a stats.json
  sed -n 's/^  "findings": \([0-9]*\),*$/\1/p' "$1" | head -1
}

ROWS=()
for cat in "${CATALOGUES[@]}"; do
  n=$(grep -c '^ *template:' "$cat" || true)
  tag=$(basename "$cat" .yaml)
  echo "bench: $tag ($n rules): flycheck screen" >&2
  timed "ours-$tag" "$BIN/flycheck" screen --quiet --input "$DATA" --rules "$cat" --output "$OUT/ours-$tag"
  echo "bench: $tag ($n rules): DuckDB ($DUCKDB_THREADS threads, memory_limit $DUCKDB_MEMORY)" >&2
  timed "duck-$tag" "$BIN/duckscreen" --quiet --threads "$DUCKDB_THREADS" --memory-limit "$DUCKDB_MEMORY" \
    --input "$DATA" --rules "$cat" --output "$OUT/duck-$tag"
  read -r ot orss <"$OUT/ours-$tag.time"
  read -r dt drss <"$OUT/duck-$tag.time"
  of=$(findings "$OUT/ours-$tag/stats.json"); df=$(findings "$OUT/duck-$tag/stats.json")
  ROWS+=("$n $ot $orss $dt $drss $of $df")
done

printf '\nScreening benchmark: %s fee lines (Parquet), %s, %s cores\n' "$LINES" "$DATA" "$(nproc)"
printf '%-6s | %-10s %-12s %-9s | %-10s %-12s %-9s | %-7s | %-8s %-8s\n' \
  rules "ours s" "ours lines/s" "ours RSS" "DuckDB s" "Duck lines/s" "Duck RSS" "ratio" "findings" "(duck)"
for row in "${ROWS[@]}"; do
  read -r n ot orss dt drss of df <<<"$row"
  awk -v n="$n" -v ot="$ot" -v orss="$orss" -v dt="$dt" -v drss="$drss" -v lines="$LINES" -v of="$of" -v df="$df" 'BEGIN {
    printf "%-6s | %-10.1f %-12.0f %-9s | %-10.1f %-12.0f %-9s | %-7.2f | %-8s %-8s\n",
      n, ot, lines/ot, sprintf("%.0fMiB", orss/1024), dt, lines/dt, sprintf("%.0fMiB", drss/1024), dt/ot, of, df }'
done
echo "(ratio = DuckDB time / ours; targets: ≥3 at 6 rules, ≥10 at ~200 rules; ours peak RSS ≤ 1024 MiB)"

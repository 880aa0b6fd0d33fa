#!/usr/bin/env bash
# Benchmark of DESIGN §7: `flycheck screen` against DuckDB running the same
# rules as SQL, end to end (read the claims files → findings written as
# Parquet), on the same ≥20-million-line Parquet extract, at 6 and at ~200
# rules, for both kinds of Parquet file (strings; typed: DECIMAL, TIMESTAMP,
# DATE — `flycheck generate --parquet-types`). The ratio's denominator is the
# expert SQL (hack/oracle/expert.go: what a performance-minded engineer
# writes); the correctness oracle's time is a second column. A second table
# gives DuckDB's read floor (the columns the engine reads, nothing else)
# and the engine's time with a catalogue that matches nothing.
#
# Usage: hack/bench-screening.sh            (called by `make bench-screening`)
# Env:   BENCH_LINES (default 21500000 requested → ≥20 M generated),
#        MIN_LINES (default 20000000; 0 for a smoke run on a small set),
#        BENCH_KINDS (default "strings typed"), BENCH_ORACLE (default 1;
#        0 skips the oracle column), BENCH_DIR (default .bench),
#        DUCKDB_MEMORY (default 4GB), DUCKDB_THREADS (default 2).
# The data sets are generated once and cached under $BENCH_DIR (git-ignored).
set -euo pipefail
cd "$(dirname "$0")/.."

BENCH_DIR=${BENCH_DIR:-.bench}
BENCH_LINES=${BENCH_LINES:-21500000}
MIN_LINES=${MIN_LINES:-20000000}
DUCKDB_MEMORY=${DUCKDB_MEMORY:-4GB}
DUCKDB_THREADS=${DUCKDB_THREADS:-2}
BENCH_ORACLE=${BENCH_ORACLE:-1}
read -r -a KINDS <<<"${BENCH_KINDS:-strings typed}"
SEED=${SEED:-1}
BIN="$BENCH_DIR/bin"
OUT="$BENCH_DIR/out"
CATALOGUES=(config/rules/bench/bench-6.yaml config/rules/bench/bench-200.yaml)
NONE=config/rules/bench/bench-none.yaml

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

# dataset KIND: generates (once) the extract of that kind; sets DATA and LINES.
dataset() {
  local kind=$1 suffix=""
  [ "$kind" = strings ] || suffix="-$kind"
  DATA="$BENCH_DIR/province-${BENCH_LINES}-s${SEED}-parquet$suffix"
  if [ ! -f "$DATA/manifest.json" ]; then
    echo "bench: generating $BENCH_LINES fee lines as $kind Parquet into $DATA (once)" >&2
    rm -rf "$DATA.tmp"
    /usr/bin/time -f "bench: generated in %e s, peak RSS %M KiB" \
      "$BIN/flycheck" generate --output "$DATA.tmp" --format parquet --parquet-types "$kind" --seed "$SEED" \
        --fee-lines "$BENCH_LINES" --institutions-per-city 200 \
        --rules config/rules/bench/bench-200.yaml --violation-rate 0.0005 >/dev/null
    mv "$DATA.tmp" "$DATA"
  fi
  LINES=$(sed -n 's/^    "feeLines": \([0-9]*\),*$/\1/p' "$DATA/manifest.json" | head -1)
  if [ "${LINES:-0}" -lt "$MIN_LINES" ]; then
    echo "bench: $DATA has only $LINES fee lines (< $MIN_LINES); delete it and raise BENCH_LINES" >&2
    exit 1
  fi
  echo "bench: $DATA: $LINES fee lines, $(du -sh "$DATA" | cut -f1) on disk" >&2
}

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

duck() { # duck NAME MODE CATALOGUE: duckscreen on $DATA
  local name=$1 mode=$2 cat=$3
  timed "$name" "$BIN/duckscreen" --quiet --mode "$mode" --threads "$DUCKDB_THREADS" --memory-limit "$DUCKDB_MEMORY" \
    --input "$DATA" --rules "$cat" --output "$OUT/$name"
}

ROWS=()
FLOORS=()
for kind in "${KINDS[@]}"; do
  dataset "$kind"
  echo "bench: $kind: DuckDB read floor; flycheck screen with a catalogue matching nothing" >&2
  duck "floor-$kind" floor "$NONE"
  timed "none-$kind" "$BIN/flycheck" screen --quiet --input "$DATA" --rules "$NONE" --output "$OUT/none-$kind"
  read -r ft _ <"$OUT/floor-$kind.time"
  read -r nt nrss <"$OUT/none-$kind.time"
  FLOORS+=("$kind $LINES $ft $nt $nrss")
  for cat in "${CATALOGUES[@]}"; do
    n=$(grep -c '^ *template:' "$cat" || true)
    tag=$kind-$(basename "$cat" .yaml)
    echo "bench: $tag ($n rules): flycheck screen" >&2
    timed "ours-$tag" "$BIN/flycheck" screen --quiet --input "$DATA" --rules "$cat" --output "$OUT/ours-$tag"
    echo "bench: $tag ($n rules): DuckDB expert SQL ($DUCKDB_THREADS threads, memory_limit $DUCKDB_MEMORY)" >&2
    duck "expert-$tag" expert "$cat"
    ot=0 dt=0 of=0 ef=0 df=-
    if [ "$BENCH_ORACLE" = 1 ]; then
      echo "bench: $tag ($n rules): DuckDB oracle SQL" >&2
      duck "oracle-$tag" oracle "$cat"
      read -r dt _ <"$OUT/oracle-$tag.time"
      df=$(findings "$OUT/oracle-$tag/stats.json")
    fi
    read -r ot orss <"$OUT/ours-$tag.time"
    read -r et erss <"$OUT/expert-$tag.time"
    of=$(findings "$OUT/ours-$tag/stats.json"); ef=$(findings "$OUT/expert-$tag/stats.json")
    if [ "$of" != "$ef" ]; then
      echo "bench: WARNING $tag: engine $of findings, expert SQL $ef" >&2
    fi
    ROWS+=("$kind $LINES $n $ot $orss $et $erss $dt $of $ef $df")
  done
done

printf '\nScreening benchmark: Parquet extracts under %s, %s cores, DuckDB %s threads\n' "$BENCH_DIR" "$(nproc)" "$DUCKDB_THREADS"
printf '%-8s %-9s %-6s | %-8s %-11s %-8s | %-9s %-8s | %-6s | %-9s %-6s | %-8s %-8s %-8s\n' \
  kind lines rules "ours s" "lines/s" "RSS" "expert s" "RSS" ratio "oracle s" ratio findings expert oracle
for row in "${ROWS[@]}"; do
  read -r kind lines n ot orss et erss dt of ef df <<<"$row"
  awk -v k="$kind" -v lines="$lines" -v n="$n" -v ot="$ot" -v orss="$orss" -v et="$et" -v erss="$erss" -v dt="$dt" \
      -v of="$of" -v ef="$ef" -v df="$df" 'BEGIN {
    ov = (dt > 0) ? sprintf("%.2f", dt) : "-"; orr = (dt > 0) ? sprintf("%.2f", dt/ot) : "-"
    printf "%-8s %-9d %-6s | %-8.2f %-11.0f %-8s | %-9.2f %-8s | %-6.2f | %-9s %-6s | %-8s %-8s %-8s\n",
      k, lines, n, ot, lines/ot, sprintf("%.0fMiB", orss/1024), et, sprintf("%.0fMiB", erss/1024), et/ot, ov, orr, of, ef, df }'
done
echo "(ratio = DuckDB time / ours: expert SQL, then oracle SQL; targets vs expert: ≥3 at 6 rules, ≥10 at ~200 rules; ours peak RSS ≤ 1024 MiB)"
printf '\nDecode floor (%s: the columns the engine reads)\n' "$NONE"
printf '%-8s %-9s | %-13s | %-16s %-8s | %-6s\n' kind lines "DuckDB read s" "ours no-rule s" "RSS" "ours/floor"
for row in "${FLOORS[@]}"; do
  read -r kind lines ft nt nrss <<<"$row"
  awk -v k="$kind" -v lines="$lines" -v ft="$ft" -v nt="$nt" -v nrss="$nrss" 'BEGIN {
    printf "%-8s %-9d | %-13.2f | %-16.2f %-8s | %-6.2f\n", k, lines, ft, nt, sprintf("%.0fMiB", nrss/1024), nt/ft }'
done
echo "(target: ours/floor ≤ 1.00)"

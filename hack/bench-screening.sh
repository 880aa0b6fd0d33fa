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
# Two more tables (issue 14 items 4 and 5): linearity — the engine alone on
# extracts of other sizes (default 5 M and 80 M fee lines requested) next to
# the main run, cost per million lines relative to it; and shards — the main
# extract partitioned by institution (`flycheck generate --partitions N`),
# one `flycheck screen --shard k --shards N` per shard, with the files and
# bytes each shard opened (stats.json "inputs").
#
# Usage: hack/bench-screening.sh            (called by `make bench-screening`)
# Env:   BENCH_LINES (default 21500000 requested → ≥20 M generated),
#        MIN_LINES (default 20000000; 0 for a smoke run on a small set),
#        BENCH_KINDS (default "strings typed"), BENCH_ORACLE (default 1;
#        0 skips the oracle column), BENCH_DIR (default .bench),
#        DUCKDB_MEMORY (default 4GB), DUCKDB_THREADS (default 2),
#        BENCH_LINEARITY (default "5400000 86000000": fee lines requested
#        for the linearity table; "" skips it), BENCH_LINEARITY_KINDS
#        (default "strings"), BENCH_SHARDS (default 4; 0 skips the shards
#        table), BENCH_FLOOR_RUNS (default 3: the read floor and the
#        no-rule run are short and noisy, so each runs that many times,
#        alternating, and the table gives the fastest and the median),
#        BENCH_RUNS (default 3: the engine and the expert SQL at 6 and
#        ~200 rules run that many times each, alternating; the table
#        gives the median of each and their ratio, and the fastest of each
#        and theirs; the oracle runs once).
# The data sets are generated once and cached under $BENCH_DIR (git-ignored).
set -euo pipefail
cd "$(dirname "$0")/.."

# BENCH_DIR, BENCH_LINES, MIN_LINES, SEED, GNU time and dataset().
source hack/bench-data.sh
DUCKDB_MEMORY=${DUCKDB_MEMORY:-4GB}
DUCKDB_THREADS=${DUCKDB_THREADS:-2}
BENCH_ORACLE=${BENCH_ORACLE:-1}
read -r -a KINDS <<<"${BENCH_KINDS:-strings typed}"
# Unset → the default; set to "" → no linearity table.
read -r -a LIN_SIZES <<<"${BENCH_LINEARITY-5400000 86000000}"
read -r -a LIN_KINDS <<<"${BENCH_LINEARITY_KINDS:-strings}"
SHARDS=${BENCH_SHARDS:-4}
FLOOR_RUNS=${BENCH_FLOOR_RUNS:-3}
RUNS=${BENCH_RUNS:-3}
[ "$RUNS" -ge 1 ] || RUNS=1
BIN="$BENCH_DIR/bin"
OUT="$BENCH_DIR/out"
CATALOGUES=(config/rules/bench/bench-6.yaml config/rules/bench/bench-200.yaml)
NONE=config/rules/bench/bench-none.yaml

mkdir -p "$BIN" "$OUT"
BIN=$(cd "$BIN" && pwd)
echo "bench: building flycheck and duckscreen" >&2
go build -o "$BIN/flycheck" ./cmd/flycheck
(cd hack/oracle && go build -o "$BIN/duckscreen" ./cmd/duckscreen)

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

min_median() { # min_median FILE...: "min median max_rss_kib" of timed's "seconds rss_kib" files
  cat "$@" | sort -n | awk '{ t[NR] = $1; if ($2 > rss) rss = $2 }
    END { m = (NR % 2) ? t[(NR + 1) / 2] : (t[NR / 2] + t[NR / 2 + 1]) / 2; print t[1], m, rss }'
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
declare -A MAIN # "KIND CATALOGUE" → "lines seconds rss_kib" of the engine's main runs
for kind in "${KINDS[@]}"; do
  dataset "$kind"
  echo "bench: $kind: DuckDB read floor; flycheck screen with a catalogue matching nothing" >&2
  for ((r = 1; r <= FLOOR_RUNS; r++)); do # alternating, so that drift in the machine's speed hits both
    duck "floor-$kind-$r" floor "$NONE"
    timed "none-$kind-$r" "$BIN/flycheck" screen --quiet --input "$DATA" --rules "$NONE" --output "$OUT/none-$kind-$r"
  done
  runs=$(seq 1 "$FLOOR_RUNS")
  read -r ftmin ftmed _ < <(min_median $(printf "$OUT/floor-$kind-%s.time " $runs))
  read -r ntmin ntmed nrss < <(min_median $(printf "$OUT/none-$kind-%s.time " $runs))
  FLOORS+=("$kind $LINES $ftmin $ftmed $ntmin $ntmed $nrss")
  MAIN["$kind bench-none"]="$LINES $ntmed $nrss"
  for cat in "${CATALOGUES[@]}"; do
    n=$(grep -c '^ *template:' "$cat" || true)
    tag=$kind-$(basename "$cat" .yaml)
    # Run r > 1 is named …-r; run 1's output is the one kept and checked.
    for ((r = 1; r <= RUNS; r++)); do # alternating, as the floor
      sfx=""; [ "$r" = 1 ] || sfx="-$r"
      echo "bench: $tag ($n rules): flycheck screen (run $r of $RUNS)" >&2
      timed "ours-$tag$sfx" "$BIN/flycheck" screen --quiet --input "$DATA" --rules "$cat" --output "$OUT/ours-$tag$sfx"
      echo "bench: $tag ($n rules): DuckDB expert SQL ($DUCKDB_THREADS threads, memory_limit $DUCKDB_MEMORY; run $r of $RUNS)" >&2
      duck "expert-$tag$sfx" expert "$cat"
    done
    ot=0 dt=0 of=0 ef=0 df=-
    if [ "$BENCH_ORACLE" = 1 ]; then
      echo "bench: $tag ($n rules): DuckDB oracle SQL" >&2
      duck "oracle-$tag" oracle "$cat"
      read -r dt _ <"$OUT/oracle-$tag.time"
      df=$(findings "$OUT/oracle-$tag/stats.json")
    fi
    oruns=("$OUT/ours-$tag.time") eruns=("$OUT/expert-$tag.time")
    for ((r = 2; r <= RUNS; r++)); do oruns+=("$OUT/ours-$tag-$r.time"); eruns+=("$OUT/expert-$tag-$r.time"); done
    read -r otmin ot orss < <(min_median "${oruns[@]}")
    read -r etmin et erss < <(min_median "${eruns[@]}")
    of=$(findings "$OUT/ours-$tag/stats.json"); ef=$(findings "$OUT/expert-$tag/stats.json")
    if [ "$of" != "$ef" ]; then
      echo "bench: WARNING $tag: engine $of findings, expert SQL $ef" >&2
    fi
    ROWS+=("$kind $LINES $n $ot $orss $et $erss $dt $of $ef $df $otmin $etmin")
    MAIN["$kind $(basename "$cat" .yaml)"]="$LINES $ot $orss"
  done
done

# Linearity (issue 14 item 4): the engine alone on other sizes, same
# generator flags, at no rule, 6 and ~200 rules; the main run is the
# reference row.
LIN=() # "kind catalogue-order catalogue lines seconds rss_kib"
[ "${#LIN_SIZES[@]}" -gt 0 ] || LIN_KINDS=()
for kind in ${LIN_KINDS[@]+"${LIN_KINDS[@]}"}; do
  for size in "${LIN_SIZES[@]}"; do
    dataset "$kind" "$size"
    i=0
    for cat in "$NONE" "${CATALOGUES[@]}"; do
      tag=$kind-$(basename "$cat" .yaml)-$size
      echo "bench: linearity $tag: flycheck screen" >&2
      timed "lin-$tag" "$BIN/flycheck" screen --quiet --input "$DATA" --rules "$cat" --output "$OUT/lin-$tag"
      read -r t rss <"$OUT/lin-$tag.time"
      LIN+=("$kind $i $(basename "$cat" .yaml) $LINES $t $rss")
      i=$((i + 1))
    done
  done
  i=0
  for cat in "$NONE" "${CATALOGUES[@]}"; do
    c=$(basename "$cat" .yaml)
    [ -z "${MAIN["$kind $c"]:-}" ] || LIN+=("$kind $i $c ${MAIN["$kind $c"]} main")
    i=$((i + 1))
  done
done

# inputs STATS: "table files bytes" per input table of a stats.json
# (json.MarshalIndent layout: tables at 4 spaces, their fields at 6).
inputs() {
  awk '/^  "inputs": \{/ { on = 1; next } on && /^  \}/ { on = 0 }
    on && /^    "[a-z_]+": \{/ { t = $1; gsub(/[":]/, "", t) }
    on && /^      "files": / { f = $2; gsub(/[^0-9]/, "", f) }
    on && /^      "bytes": / { b = $2; gsub(/[^0-9]/, "", b); print t, f, b }' "$1"
}
size_of() { # total bytes of the Parquet files of a table (one file or a directory of parts)
  { find "$1/$2.parquet" "$1/$2" -name '*.parquet' -printf '%s\n' 2>/dev/null || true; } | awk '{ s += $1 } END { print s + 0 }'
}

# Shards (issue 14 item 5): the main string extract partitioned by
# institution; each shard of N opens only its part files.
SHROWS=() # "label seconds rss_kib lines findings fee_files fee_bytes visits_files visits_bytes diag_files diag_bytes all_bytes"
SHCHECK=""
if [ "$SHARDS" -gt 0 ]; then
  if [ -n "${MAIN["strings bench-6"]:-}" ]; then
    read -r mainlines _ <<<"${MAIN["strings bench-6"]}"
  fi
  dataset strings "$BENCH_LINES" "$SHARDS"
  PDATA=$DATA
  if [ -n "${mainlines:-}" ] && [ "$LINES" != "$mainlines" ]; then
    echo "bench: WARNING $PDATA has $LINES fee lines, the main set $mainlines" >&2
  fi
  FEE_TOTAL=$(size_of "$PDATA" fee_lines) VISITS_TOTAL=$(size_of "$PDATA" visits) DIAG_TOTAL=$(size_of "$PDATA" diagnoses)
  shard_row() { # shard_row LABEL NAME STATS: appends to SHROWS
    local label=$1 name=$2 stats=$3 t rss lines f tb all=0
    declare -A fl=() by=()
    read -r t rss <"$OUT/$name.time"
    lines=$(sed -n 's/^  "linesRead": \([0-9]*\),*$/\1/p' "$stats" | head -1)
    f=$(findings "$stats")
    while read -r tb nf nb; do fl[$tb]=$nf; by[$tb]=$nb; all=$((all + nb)); done < <(inputs "$stats")
    SHROWS+=("$label $t $rss $lines $f ${fl[fee_lines]:-0} ${by[fee_lines]:-0} ${fl[visits]:-0} ${by[visits]:-0} ${fl[diagnoses]:-0} ${by[diagnoses]:-0} $all")
  }
  sumf=0
  for ((k = 0; k < SHARDS; k++)); do
    name=shard-$k-of-$SHARDS
    echo "bench: $name of the partitioned extract (bench-6): flycheck screen --shard $k --shards $SHARDS" >&2
    timed "$name" "$BIN/flycheck" screen --quiet --input "$PDATA" --rules "${CATALOGUES[0]}" --output "$OUT/$name" \
      --shard "$k" --shards "$SHARDS"
    shard_row "$k/$SHARDS" "$name" "$OUT/$name/$name/stats.json"
    sumf=$((sumf + $(findings "$OUT/$name/$name/stats.json")))
  done
  # The same shard 0 on the unpartitioned extract, for comparison: it opens every file whole.
  if [ -n "${mainlines:-}" ]; then
    dataset strings "$BENCH_LINES"
    name=whole-0-of-$SHARDS
    echo "bench: shard 0 of $SHARDS on the unpartitioned extract (bench-6)" >&2
    timed "$name" "$BIN/flycheck" screen --quiet --input "$DATA" --rules "${CATALOGUES[0]}" --output "$OUT/$name" \
      --shard 0 --shards "$SHARDS"
    shard_row "0/$SHARDS-whole" "$name" "$OUT/$name/shard-0-of-$SHARDS/stats.json"
    # The shards' findings together must be the unpartitioned run's.
    mainf=$(findings "$OUT/ours-strings-bench-6/stats.json")
    if [ "$sumf" != "$mainf" ]; then
      SHCHECK="WARNING: the $SHARDS shards found $sumf findings, the unpartitioned run $mainf"
    elif ! diff -q <(tail -q -n +2 "$OUT"/shard-*-of-"$SHARDS"/shard-*/findings.csv | sort) \
      <(tail -n +2 "$OUT/ours-strings-bench-6/findings.csv" | sort) >/dev/null; then
      SHCHECK="WARNING: the $SHARDS shards' findings differ from the unpartitioned run's (both $sumf)"
    else
      SHCHECK="findings: the $SHARDS shards' union is the unpartitioned run's ($sumf, same rows of findings.csv)"
    fi
  else
    SHCHECK="findings: $sumf in all (no unpartitioned strings run to compare: BENCH_KINDS has no strings)"
  fi
  [[ $SHCHECK != WARNING* ]] || echo "bench: $SHCHECK" >&2
fi

printf '\nScreening benchmark: Parquet extracts under %s, %s cores, DuckDB %s threads\n' "$BENCH_DIR" "$(nproc)" "$DUCKDB_THREADS"
printf '%-8s %-9s %-6s | %-8s %-11s %-8s | %-9s %-8s | %-6s | %-8s %-9s %-6s | %-9s %-6s | %-8s %-8s %-8s\n' \
  kind lines rules "ours s" "lines/s" "RSS" "expert s" "RSS" ratio "ours min" "expert min" ratio "oracle s" ratio findings expert oracle
for row in "${ROWS[@]}"; do
  read -r kind lines n ot orss et erss dt of ef df otmin etmin <<<"$row"
  awk -v k="$kind" -v lines="$lines" -v n="$n" -v ot="$ot" -v orss="$orss" -v et="$et" -v erss="$erss" -v dt="$dt" \
      -v of="$of" -v ef="$ef" -v df="$df" -v oa="$otmin" -v ea="$etmin" 'BEGIN {
    ov = (dt > 0) ? sprintf("%.2f", dt) : "-"; orr = (dt > 0) ? sprintf("%.2f", dt/ot) : "-"
    printf "%-8s %-9d %-6s | %-8.2f %-11.0f %-8s | %-9.2f %-8s | %-6.2f | %-8.2f %-10.2f %-6.2f | %-9s %-6s | %-8s %-8s %-8s\n",
      k, lines, n, ot, lines/ot, sprintf("%.0fMiB", orss/1024), et, sprintf("%.0fMiB", erss/1024), et/ot, oa, ea, ea/oa, ov, orr, of, ef, df }'
done
echo "(ours s, expert s: medians of $RUNS alternating runs, ratio = expert / ours; then the fastest of each and their ratio; the oracle: one run, ratio to our median; targets vs expert: ≥3 at 6 rules, ≥10 at ~200 rules; ours peak RSS ≤ 1024 MiB)"
printf '\nDecode floor (%s: the columns the engine reads; %d runs each, alternating: fastest, median)\n' "$NONE" "$FLOOR_RUNS"
printf '%-8s %-9s | %-8s %-8s | %-8s %-8s %-8s | %-10s %-10s\n' kind lines "DuckDB s" median "ours s" median "RSS" "ours/floor" median
for row in "${FLOORS[@]}"; do
  read -r kind lines ftmin ftmed ntmin ntmed nrss <<<"$row"
  awk -v k="$kind" -v lines="$lines" -v fa="$ftmin" -v fb="$ftmed" -v na="$ntmin" -v nb="$ntmed" -v nrss="$nrss" 'BEGIN {
    printf "%-8s %-9d | %-8.2f %-8.2f | %-8.2f %-8.2f %-8s | %-10.2f %-10.2f\n", k, lines, fa, fb, na, nb,
      sprintf("%.0fMiB", nrss/1024), na/fa, nb/fb }'
done
echo "(target: ours/floor ≤ 1.00; the ratios compare fastest with fastest and median with median)"

if [ "${#LIN[@]}" -gt 0 ]; then
  printf '\nLinearity (flycheck screen alone; "main" = the run above; rel = s per M lines / the main row'"'"'s)\n'
  printf '%-8s %-7s %-10s | %-8s %-11s %-8s | %-9s %-6s\n' kind rules lines "ours s" "lines/s" "RSS" "s/M lines" rel
  declare -A REF=()
  for row in "${LIN[@]}"; do
    read -r kind _ c lines t _ main <<<"$row"
    [ -z "${main:-}" ] || REF["$kind $c"]=$(awk -v t="$t" -v l="$lines" 'BEGIN { printf "%.6f", t / (l / 1e6) }')
  done
  printf '%s\n' "${LIN[@]}" | sort -k1,1 -k2,2n -k4,4n | while read -r kind _ c lines t rss main; do
    case $c in bench-none) n=none ;; *) n=$(grep -c '^ *template:' "config/rules/bench/$c.yaml" || true) ;; esac
    awk -v k="$kind" -v n="$n" -v lines="$lines" -v t="$t" -v rss="$rss" -v ref="${REF["$kind $c"]:-}" -v m="${main:-}" 'BEGIN {
      spm = t / (lines / 1e6); rel = (ref > 0) ? sprintf("%.2f", spm / ref) : "-"
      printf "%-8s %-7s %-10d | %-8.2f %-11.0f %-8s | %-9.3f %-6s %s\n",
        k, n, lines, t, lines / t, sprintf("%.0fMiB", rss / 1024), spm, rel, (m != "") ? "main" : "" }'
  done
  echo "(target: cost linear in lines, rel ≈ 1.00 at every size — small sets carry fixed costs, rel > 1; peak RSS ≤ 1024 MiB)"
fi

if [ "${#SHROWS[@]}" -gt 0 ]; then
  printf '\nShards (%s, partitioned by institution into %d; bench-6): what each shard opened\n' "$PDATA" "$SHARDS"
  printf 'whole tables: fee_lines %.1f MiB, visits %.1f MiB, diagnoses %.1f MiB\n' \
    "$(awk -v b="$FEE_TOTAL" 'BEGIN { print b / 1048576 }')" "$(awk -v b="$VISITS_TOTAL" 'BEGIN { print b / 1048576 }')" \
    "$(awk -v b="$DIAG_TOTAL" 'BEGIN { print b / 1048576 }')"
  printf '%-11s | %-7s %-8s | %-10s %-8s | %-5s %-9s %-6s | %-5s %-9s %-6s | %-5s %-9s | %-9s\n' \
    shard "ours s" RSS "lines read" findings files "fee MiB" share files "visit MiB" share files "diag MiB" "all MiB"
  for row in "${SHROWS[@]}"; do
    read -r label t rss lines f ffl fby vfl vby dfl dby all <<<"$row"
    awk -v label="$label" -v t="$t" -v rss="$rss" -v lines="$lines" -v f="$f" -v ffl="$ffl" -v fby="$fby" -v vfl="$vfl" \
        -v vby="$vby" -v dfl="$dfl" -v dby="$dby" -v all="$all" -v ft="$FEE_TOTAL" -v vt="$VISITS_TOTAL" 'BEGIN {
      M = 1048576
      printf "%-11s | %-7.2f %-8s | %-10d %-8d | %-5d %-9.1f %-6.3f | %-5d %-9.1f %-6.3f | %-5d %-9.1f | %-9.1f\n",
        label, t, sprintf("%.0fMiB", rss / 1024), lines, f, ffl, fby / M, (ft > 0) ? fby / ft : 0, vfl, vby / M,
        (vt > 0) ? vby / vt : 0, dfl, dby / M, all / M }'
  done
  echo "$SHCHECK"
  echo "(share = bytes opened / the whole table's; target: fee share ≤ 1/$SHARDS (hashing institutions leaves a small skew) plus the visits the shard looks up; peak RSS ≤ 1024 MiB per shard; \"whole\" = the same shard on the unpartitioned extract)"
fi

# Sourced by hack/bench-screening.sh and hack/pgo.sh: the benchmark's
# extracts, where they are cached and how they are generated, in one place.
# Needs BIN (a directory with the flycheck binary that generates them).
# Env: BENCH_DIR (default .bench), BENCH_LINES (default 21500000 requested
# → ≥20 M generated), MIN_LINES (default 20000000), SEED (default 1).

BENCH_DIR=${BENCH_DIR:-.bench}
BENCH_LINES=${BENCH_LINES:-21500000}
MIN_LINES=${MIN_LINES:-20000000}
SEED=${SEED:-1}

# GNU time for peak RSS (Debian package "time").
if [ ! -x /usr/bin/time ]; then
  echo "bench: installing GNU time (apt-get install time)" >&2
  (apt-get install -y time >/dev/null 2>&1 || { apt-get update >/dev/null && apt-get install -y time >/dev/null; })
fi

# dataset KIND [LINES [PARTITIONS]]: generates (once) the extract of that
# kind with LINES fee lines requested (default $BENCH_LINES; the generator
# rounds, the manifest says what it wrote), as one file per table, or with
# PARTITIONS > 0 as TABLE/part-<k>-of-<N> for visits, fee_lines and
# diagnoses; sets DATA and LINES. MIN_LINES applies to the main size only.
dataset() {
  local kind=$1 want=${2:-$BENCH_LINES} parts=${3:-0} suffix="" pflag=()
  [ "$kind" = strings ] || suffix="-$kind"
  if [ "$parts" -gt 0 ]; then suffix="$suffix-p$parts"; pflag=(--partitions "$parts"); fi
  DATA="$BENCH_DIR/province-${want}-s${SEED}-parquet$suffix"
  if [ ! -f "$DATA/manifest.json" ]; then
    echo "bench: generating $want fee lines as $kind Parquet${pflag[*]:+ (${pflag[*]})} into $DATA (once)" >&2
    rm -rf "$DATA.tmp"
    /usr/bin/time -f "bench: generated in %e s, peak RSS %M KiB" \
      "$BIN/flycheck" generate --output "$DATA.tmp" --format parquet --parquet-types "$kind" --seed "$SEED" \
        --fee-lines "$want" --institutions-per-city 200 ${pflag[@]+"${pflag[@]}"} \
        --rules config/rules/bench/bench-200.yaml --violation-rate 0.0005 >/dev/null
    mv "$DATA.tmp" "$DATA"
  fi
  LINES=$(sed -n 's/^    "feeLines": \([0-9]*\),*$/\1/p' "$DATA/manifest.json" | head -1)
  if [ "$want" = "$BENCH_LINES" ] && [ "${LINES:-0}" -lt "$MIN_LINES" ]; then
    echo "bench: $DATA has only $LINES fee lines (< $MIN_LINES); delete it and raise BENCH_LINES" >&2
    exit 1
  fi
  echo "bench: $DATA: $LINES fee lines, $(du -sh "$DATA" | cut -f1) on disk" >&2
}

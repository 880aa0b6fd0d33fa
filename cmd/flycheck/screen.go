package main

import (
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/pprof"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/medfund/flycheck-operator/internal/screening"
)

// newScreenCommand runs the screening engine over a claims extract: one
// shard of one city's data, findings and summaries to --output. It is what
// a ScreeningJob's pods run.
func newScreenCommand() *cobra.Command {
	var o screening.Options
	var format, encoding string
	var quiet bool
	var cpuProfile string
	var memLimitMiB int
	var result resultConfigMapFlags
	var columns columnFlags
	cmd := &cobra.Command{
		Use:   "screen --input DIR --rules FILE|DIR... --output DIR",
		Short: "Screen a claims extract with rule sets (筛查疑点)",
		Long: `Screen reads a claims extract (institutions, visits, fee_lines, optional
diagnoses and persons; CSV or Parquet, see docs/data-format.md), applies every
rule of the given RuleSet files in one pass (docs/rules.md) and writes:

  findings.csv, findings.parquet   one row per finding
  summary.json                     every institution in scope with its risk score
  stats.json                       rows read and rejected, findings by rule, time
  quarantine.csv                   rejected rows with file, line and reason

Headers match the documented names ignoring case and surrounding spaces;
--columns FILE, --column-profile NAME (national, short, zh) and --column
TABLE.NAME=DOCUMENTED map other spellings. Values as platforms write them
(codes with spaces around them, full-width digits, 2006/1/2 15:04:05 and
other date layouts, 1,200.00) are normalised and counted in stats.json;
--strict accepts only the documented forms. --encoding auto (the default)
reads a CSV file as UTF-8 when it is valid UTF-8, else as GB18030. Input it
cannot read correctly is never screened as if it could: a record that is not
UTF-8 in a file declared UTF-8, a last record cut inside a quoted field, a
value beyond the documented range are quarantined with the reason; a quote
never closed, a byte-order mark contradicting --encoding, sums beyond exact
arithmetic stop the run (docs/rules.md §2, "Input that is refused").

A sharded run (--shards n) writes to OUTPUT/shard-<i>-of-<n>/ and screens the
institutions with FNV-1a-32(fixmedins_code) mod n = i. Input clustered by
institution (all fee lines of an institution together, e.g. sorted by
fixmedins_code) is streamed; other orders are handled through temporary
partition files (slower; see docs/screening.md).

In a ScreeningJob's pod, --report also reports the shard's summary and
statistics to the operator as a ConfigMap in $POD_NAMESPACE (gzip JSON under
a generated name, owned by the ScreeningJob named in
$FLYCHECK_SCREENINGJOB_NAME/_UID, signed with the job's key from
--signing-key; docs/screening.md, trust model).`,
		Example: `  flycheck screen --input /data/2024 --rules config/rules/ --output /out
  flycheck screen --input /data/2024 --rules a.yaml --rules b.yaml --output /out --shard 0 --shards 4 --city 320100 --from 2024-01-01 --to 2024-12-31`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if o.Input == "" || len(o.RuleFiles) == 0 || o.Output == "" {
				return fmt.Errorf("--input, --rules and --output are required")
			}
			o.Format = screening.Format(strings.ToLower(format))
			switch strings.ToUpper(encoding) {
			case "AUTO":
				o.Encoding = screening.EncodingAuto
			case "UTF-8", "UTF8":
				o.Encoding = screening.EncodingUTF8
			case "GB18030":
				o.Encoding = screening.EncodingGB18030
			default:
				return fmt.Errorf("--encoding %q: expected auto, UTF-8 or GB18030", encoding)
			}
			var err error
			if o.Columns, err = columns.resolve(); err != nil {
				return err
			}
			stderr := cmd.ErrOrStderr()
			reporter, err := result.prepare(stderr)
			if err != nil {
				return err
			}
			if !quiet {
				o.Progress = func(p screening.Progress) {
					fmt.Fprintf(stderr, "screen: %-18s %12d lines read %10d findings %8.1fs\n",
						p.Phase, p.LinesRead, p.Findings, p.Elapsed.Seconds())
				}
				o.ProgressInterval = 5 * time.Second
			}
			// A soft heap limit keeps the shard inside its memory budget: the
			// GC works harder near it instead of letting the heap double. The
			// run raises it if its live heap outgrows it (and says so below).
			if _, set := os.LookupEnv("GOMEMLIMIT"); !set && memLimitMiB > 0 {
				o.MemoryLimit = int64(memLimitMiB) << 20
			}
			if cpuProfile != "" {
				f, err := os.Create(cpuProfile)
				if err != nil {
					return err
				}
				defer f.Close()
				pprof.StartCPUProfile(f)
				defer pprof.StopCPUProfile()
			}
			// A pod being stopped (SIGTERM) or a user's Ctrl-C cancels the run,
			// so that it removes its staging directory and spill files
			// instead of dying with them on disk.
			ctx, stop := signal.NotifyContext(cmd.Context(), syscall.SIGTERM, os.Interrupt)
			defer stop()
			res, err := screening.Run(ctx, o)
			if err != nil {
				return err
			}
			printScreenSummary(cmd.OutOrStdout(), res)
			if s := res.Stats; s.MemoryLimitRaisedTo > 0 {
				fmt.Fprintf(stderr, "screen: warning: the live heap reached %d MiB, over what --memory-limit %d MiB leaves the GC; "+
					"the limit was raised to %d MiB for this run (the GC would otherwise run without pause). Use more shards (docs/screening.md, Memory).\n",
					s.LiveHeapBytes>>20, s.MemoryLimitBytes>>20, s.MemoryLimitRaisedTo>>20)
			}
			if reporter != nil {
				return reporter.report(cmd.Context(), o.Shard, res)
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.Input, "input", "", "directory with the claims tables (<table>.csv or <table>.parquet; visits, fee_lines, diagnoses may be partitioned as <table>/part-<k>-of-<N>.<ext>)")
	f.StringArrayVar(&o.RuleFiles, "rules", nil, "RuleSet manifest file, or a directory standing for its *.yaml and *.yml files in name order (repeatable; multi-document YAML allowed)")
	f.StringVar(&o.Output, "output", "", "directory for findings, summary.json, stats.json and quarantine.csv; must be empty or absent "+
		"(the run writes to OUTPUT.incomplete and moves it into place, with complete.json, when it succeeded)")
	f.BoolVar(&o.Overwrite, "overwrite", false, "replace an earlier run in --output (once this run has completed) instead of refusing it")
	f.StringVar(&format, "format", "auto", "input format: auto (by file extension), csv or parquet")
	f.StringVar(&encoding, "encoding", "auto", "CSV encoding: auto (UTF-8 if the file is valid UTF-8, else GB18030), UTF-8 or GB18030; a BOM is skipped")
	f.BoolVar(&o.Strict, "strict", false, "accept values only in the documented forms (no trimming, other date layouts, thousands separators or full-width digits)")
	columns.addFlags(f)
	f.IntVar(&o.Shard, "shard", 0, "index of this shard, 0 ≤ shard < shards")
	f.IntVar(&o.Shards, "shards", 1, "number of shards; institutions are partitioned by FNV-1a-32(fixmedins_code) mod shards")
	f.StringVar(&o.City, "city", "", "only institutions whose admdvs (city code) equals this, e.g. 320100")
	f.StringVar(&o.From, "from", "", "only visits whose endtime is on or after this date (YYYY-MM-DD)")
	f.StringVar(&o.To, "to", "", "only visits whose endtime is on or before this date (YYYY-MM-DD)")
	f.IntVar(&o.Workers, "workers", 0, "decoding goroutines (default: number of CPUs)")
	f.StringVar(&o.TempDir, "temp-dir", "", "directory for spill files when the input is not clustered by institution (default: --output)")
	f.BoolVar(&quiet, "quiet", false, "no progress lines on stderr")
	f.IntVar(&memLimitMiB, "memory-limit", 768, "soft Go heap limit in MiB (0 = none; GOMEMLIMIT overrides)")
	f.BoolVar(&o.Spill, "force-spill", false, "evaluate grouped rules through temporary partition files even if the input is clustered (for benchmarking the spill path)")
	f.StringVar(&cpuProfile, "cpuprofile", "", "write a Go CPU profile of the run to this file (diagnostics)")
	result.addFlags(f)
	return cmd
}

func printScreenSummary(w io.Writer, res *screening.Result) {
	s := res.Stats
	fmt.Fprintf(w, "screened %d lines of %d institutions in %.1fs (%.0f lines/s, %s mode)\n",
		s.LinesInScope, s.Institutions, s.Seconds, s.LinesPerSecond, s.Mode)
	fmt.Fprintf(w, "rejected %d fee lines", s.LinesRejected)
	var other int64
	for t, n := range s.RowsRejected {
		if t != "fee_lines" {
			other += n
		}
	}
	if other > 0 {
		fmt.Fprintf(w, " and %d other rows", other)
	}
	fmt.Fprintln(w, " (see quarantine.csv)")
	fmt.Fprintf(w, "%d findings, %s yuan at risk, %d of %d institutions flagged\n",
		s.Findings, s.AmountAtRisk, s.FlaggedInsts, s.Institutions)
	for _, t := range screening.Tables {
		in, ok := s.Inputs[t]
		if !ok {
			continue
		}
		var notes []string
		if in.Encoding != "" {
			notes = append(notes, in.Encoding)
		}
		if in.BOM != "" {
			notes = append(notes, in.BOM+" BOM")
		}
		if len(in.Columns) > 0 {
			notes = append(notes, fmt.Sprintf("%d columns renamed", len(in.Columns)))
		}
		var n int64
		for _, kinds := range s.Normalized[t] {
			for _, c := range kinds {
				n += c
			}
		}
		if n > 0 {
			notes = append(notes, fmt.Sprintf("%d values normalised", n))
		}
		if len(notes) > 0 {
			fmt.Fprintf(w, "  %-12s %s\n", in.File+":", strings.Join(notes, ", "))
		}
	}
	cats := make([]string, 0, len(s.FindingsByCat))
	for c := range s.FindingsByCat {
		cats = append(cats, c)
	}
	sort.Strings(cats)
	for _, c := range cats {
		fmt.Fprintf(w, "  %-20s %d\n", c, s.FindingsByCat[c])
	}
	if len(s.SkippedRules) > 0 {
		fmt.Fprintf(w, "skipped rules (needed table absent): %s\n", strings.Join(s.SkippedRules, ", "))
	}
	fmt.Fprintf(w, "output: %s\n", res.OutputDir)
}

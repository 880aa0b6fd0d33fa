// Command duckscreen runs a rule catalogue as DuckDB SQL over a claims
// extract, end to end: read the files, evaluate every rule, write
// findings.parquet. It is the DuckDB side of `make bench-screening`:
// --mode expert (the default) runs the SQL a performance-minded engineer
// would write (oracle.ExpertScreen), --mode oracle the correctness oracle
// (oracle.Screen), --mode floor only reads the columns the engine reads
// (DuckDB's read floor; no findings).
//
//	duckscreen --input DIR --rules FILE... --output DIR [--mode expert] [--threads 2] [--memory-limit 4GB]
package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	_ "github.com/duckdb/duckdb-go/v2"

	"github.com/medfund/flycheck-operator/api/v1alpha1/rules"
	oracle "github.com/medfund/flycheck-operator/hack/oracle"
)

type ruleFiles []string

func (r *ruleFiles) String() string     { return strings.Join(*r, ",") }
func (r *ruleFiles) Set(s string) error { *r = append(*r, s); return nil }

func main() {
	var (
		input, output, format, memLimit, tempDir, mode string
		threads                                        int
		files                                          ruleFiles
		quiet                                          bool
	)
	flag.StringVar(&input, "input", "", "directory with the claims tables")
	flag.Var(&files, "rules", "RuleSet file (repeatable)")
	flag.StringVar(&output, "output", "", "directory for findings.parquet and stats.json")
	flag.StringVar(&format, "format", "", "csv or parquet (default: by the files present)")
	flag.IntVar(&threads, "threads", 2, "DuckDB threads")
	flag.StringVar(&memLimit, "memory-limit", "4GB", "DuckDB memory_limit (it spills to --temp-dir beyond)")
	flag.StringVar(&tempDir, "temp-dir", "", "DuckDB temp_directory (default OUTPUT/duckdb.tmp)")
	flag.BoolVar(&quiet, "quiet", false, "no progress on stderr")
	flag.StringVar(&mode, "mode", "expert", "expert (tuned SQL), oracle (correctness reference) or floor (read the needed columns only)")
	flag.Parse()
	if err := run(mode, input, output, format, memLimit, tempDir, threads, files, quiet); err != nil {
		fmt.Fprintln(os.Stderr, "duckscreen:", err)
		os.Exit(1)
	}
}

func run(mode, input, output, format, memLimit, tempDir string, threads int, files []string, quiet bool) error {
	if input == "" || output == "" || len(files) == 0 {
		return fmt.Errorf("--input, --output and --rules are required")
	}
	cat, err := rules.LoadFiles(files...)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(output, 0o755); err != nil {
		return err
	}
	if tempDir == "" {
		tempDir = filepath.Join(output, "duckdb.tmp")
	}
	start := time.Now()
	db, err := sql.Open("duckdb", "")
	if err != nil {
		return err
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	ctx := context.Background()
	for _, q := range []string{
		fmt.Sprintf("SET threads = %d", threads),
		fmt.Sprintf("SET memory_limit = '%s'", memLimit),
		fmt.Sprintf("SET temp_directory = '%s'", strings.ReplaceAll(tempDir, "'", "''")),
		"SET preserve_insertion_order = false",
	} {
		if _, err := db.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("%s: %w", q, err)
		}
	}
	progress := func(phase string) {
		if !quiet {
			fmt.Fprintf(os.Stderr, "duckscreen: %6.1fs %s\n", time.Since(start).Seconds(), phase)
		}
	}
	st := &oracle.Stats{}
	switch mode {
	case "oracle":
		st, err = oracle.Screen(ctx, db, oracle.Options{Input: input, Format: format, Rules: cat.Rules, Progress: progress,
			// The benchmark input is clean: DuckDB reads it as the engine's
			// fast path does, without the normalising rewrites.
			Strict: true})
	case "expert":
		st.Findings, err = oracle.ExpertScreen(ctx, db, oracle.ExpertOptions{Input: input, Format: format, Rules: cat.Rules, Progress: progress})
	case "floor":
		st.Lines, err = oracle.ReadFloor(ctx, db, input, format, progress)
		if err == nil {
			secs := time.Since(start).Seconds()
			os.RemoveAll(tempDir)
			fmt.Printf("read floor: %d fee lines in %.1fs\n", st.Lines, secs)
			return writeStats(output, map[string]any{"lines": st.Lines, "findings": 0, "seconds": secs, "threads": threads, "memoryLimit": memLimit, "mode": mode})
		}
	default:
		return fmt.Errorf("--mode %q: expert, oracle or floor", mode)
	}
	if err != nil {
		return err
	}
	progress("write findings.parquet")
	out := filepath.Join(output, "findings.parquet")
	if _, err := db.ExecContext(ctx, fmt.Sprintf("COPY findings TO '%s' (FORMAT parquet)", strings.ReplaceAll(out, "'", "''"))); err != nil {
		return err
	}
	secs := time.Since(start).Seconds()
	stats := map[string]any{"lines": st.Lines, "findings": st.Findings, "rules": len(cat.Rules),
		"skippedRules": st.SkippedRule, "seconds": secs, "threads": threads, "memoryLimit": memLimit, "mode": mode}
	if err := writeStats(output, stats); err != nil {
		return err
	}
	os.RemoveAll(tempDir)
	fmt.Printf("%d lines, %d findings, %d rules in %.1fs\n", st.Lines, st.Findings, len(cat.Rules), secs)
	return nil
}

func writeStats(output string, stats map[string]any) error {
	data, _ := json.MarshalIndent(stats, "", "  ")
	return os.WriteFile(filepath.Join(output, "stats.json"), append(data, '\n'), 0o644)
}

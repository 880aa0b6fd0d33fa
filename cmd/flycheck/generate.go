package main

import (
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/medfund/flycheck-operator/api/v1alpha1/rules"
	"github.com/medfund/flycheck-operator/internal/synth"
)

func newGenerateCommand() *cobra.Command {
	d := synth.DefaultConfig()
	var (
		out, format, encoding, from string
		ruleFiles, cities           []string
		perCity                     bool
	)
	opt := synth.Options{Config: d}
	cmd := &cobra.Command{
		Use:   "generate --output DIR [flags]",
		Short: "Generate a seeded synthetic province (claims tables) with labelled violations",
		Long: `Generate a synthetic Jiangsu-like province: cities with their real admdvs
codes, designated institutions (tertiary/secondary/primary hospitals, clinics,
retail pharmacies), persons, visits, diagnoses and fee lines, as the claims
extract that 'flycheck screen' reads (docs/data-format.md).

With --rules, the background respects every rule of the catalogue and
--violation-rate of the visits are replaced by injected violations, one rule
each (every rule at least once); ground_truth.csv lists the findings the
screener must produce for them (docs/rules.md). manifest.json records the
seed, sizes and counts. The same flags always give the same bytes.

Examples:
  flycheck generate --output .demo/province --rules config/rules/ --violation-rate 0.01
  flycheck generate --output .demo/cities --per-city --format parquet --fee-lines 2000000
  flycheck generate rules --count 200 --output config/rules/bench-200.yaml`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if out == "" {
				return fmt.Errorf("--output is required")
			}
			t, err := time.Parse("2006-01-02", from)
			if err != nil {
				return fmt.Errorf("--from: %w", err)
			}
			opt.From = t
			opt.Format = synth.Format(strings.ToLower(format))
			opt.Encoding = encoding
			opt.OnlyCities = cities
			opt.PerCity = perCity
			if len(ruleFiles) > 0 {
				cat, err := rules.LoadFiles(ruleFiles...)
				if err != nil {
					return err
				}
				opt.Rules = cat.Rules
			}
			opt.Progress = cmd.ErrOrStderr()
			start := time.Now()
			m, err := synth.Generate(out, opt)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "wrote %s: %d cities, %d institutions, %d persons, %d visits, %d fee lines; %d injected violations (%d expected findings) in %s\n",
				out, len(m.Cities), m.Counts.Institutions, m.Counts.Persons, m.Counts.Visits, m.Counts.FeeLines,
				m.Violations.Scenarios, m.Violations.Findings, time.Since(start).Round(time.Millisecond))
			for id, why := range m.Violations.NotInjected {
				fmt.Fprintf(cmd.ErrOrStderr(), "generate: rule %s not injected: %s\n", id, why)
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVarP(&out, "output", "o", "", "output directory (created)")
	f.Uint64Var(&opt.Seed, "seed", d.Seed, "random seed; the same seed and flags give identical files")
	f.IntVar(&opt.Cities, "cities", d.Cities, "number of Jiangsu cities (1..13, in admdvs order 320100 南京 … 321300 宿迁)")
	f.IntVar(&opt.InstitutionsPerCity, "institutions-per-city", d.InstitutionsPerCity, "designated institutions per city (≥2 tertiary hospitals from 3 on)")
	f.Int64Var(&opt.FeeLines, "fee-lines", d.FeeLines, "approximate number of background fee lines of the whole province")
	f.StringVar(&from, "from", d.From.Format("2006-01-02"), "first day of the claims window")
	f.IntVar(&opt.Days, "days", d.Days, "length of the claims window in days")
	f.StringVar(&format, "format", "csv", "table format: csv or parquet")
	f.StringVar(&opt.ParquetTypes, "parquet-types", synth.ParquetStrings, "Parquet column types: strings (every value as text, hosp_lv and age INT32) or typed (DECIMAL amounts, TIMESTAMP times, DATE dates, INT32 numbers, as real extracts converted to Parquet)")
	f.StringVar(&encoding, "encoding", "UTF-8", "CSV encoding: UTF-8 or GB18030")
	f.Float64Var(&opt.ViolationRate, "violation-rate", 0, "share of visits carrying an injected violation (0 = clean background)")
	f.StringSliceVar(&ruleFiles, "rules", nil, "RuleSet files or directories (their *.yaml and *.yml files): the background respects them, violations break them")
	f.StringSliceVar(&cities, "city", nil, "only write these cities (admdvs codes); identical to their part of the whole province")
	f.BoolVar(&opt.Quirks, "quirks", false, "write CSV as platforms export it (padded codes, full-width digits, 2006/1/2 dates, 1,200.00, CRLF, BOMs); the findings stay those of the clean extract")
	f.IntVar(&opt.Partitions, "partitions", 0, "write visits, fee_lines and diagnoses as directories TABLE/part-<k>-of-<N> by institution (fnv1a32(fixmedins_code) mod N, the shard function): a shard of a run with N a multiple of its shard count reads only its partitions")
	f.BoolVar(&perCity, "per-city", false, "write one directory per city (OUTPUT/<admdvs>/) instead of one province directory")
	cmd.AddCommand(newGenerateRulesCommand())
	return cmd
}

func newGenerateRulesCommand() *cobra.Command {
	var (
		out   string
		count int
		seed  uint64
	)
	cmd := &cobra.Command{
		Use:   "rules --count N --output FILE",
		Short: "Generate a large RuleSet catalogue (e.g. ~200 instances for the benchmark)",
		Long: `Generate a RuleSet manifest with about --count realistic rule instances over the
synthetic item catalogue: knowledge-table rules (gender, age, setting, level,
indication, price caps, unit limits) for many items plus the behavioural
templates, every template at least once. Deterministic for a given seed.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if out == "" {
				return fmt.Errorf("--output is required")
			}
			name := fmt.Sprintf("bench-%d", count)
			data, err := synth.CatalogueYAML(name, synth.GenerateRules(count, seed))
			if err != nil {
				return err
			}
			if out == "-" {
				_, err = cmd.OutOrStdout().Write(data)
				return err
			}
			return os.WriteFile(out, data, 0o644)
		},
	}
	cmd.Flags().StringVarP(&out, "output", "o", "", "output file (- for stdout)")
	cmd.Flags().IntVar(&count, "count", 200, "number of rule instances")
	cmd.Flags().Uint64Var(&seed, "seed", 1, "random seed")
	return cmd
}

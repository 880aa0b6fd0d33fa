package main

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/medfund/flycheck-operator/internal/casebook"
	"github.com/medfund/flycheck-operator/internal/screening"
)

// newLeadsCommand groups what a bureau does with screening findings before
// the self-inspection: `leads export`.
func newLeadsCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "leads",
		Short: "Hand screening findings to institutions as leads (疑点线索) for their guided self-inspection",
	}
	cmd.AddCommand(newLeadsExportCommand())
	return cmd
}

func newLeadsExportCommand() *cobra.Command {
	var (
		findings, output, campaign, due string
		only                            []string
	)
	cmd := &cobra.Command{
		Use:   "export --findings DIR --output DIR [--campaign NAME] [--due DATE]",
		Short: "Write one leads workbook (xlsx, in Chinese) per institution from a screening's findings",
		Long: `Reads the findings of a screening run (findings.csv, or findings.parquet,
in DIR or its shard-<i>-of-<n>/ directories, with summary.json for the
institutions' names) and writes OUTPUT/<institution code>.xlsx for every
institution with findings: a cover sheet to sign off (report date, written
pledge) and one row per lead with a response column (属实/不属实), the
amount confirmed and the evidence for a dispute. The returned workbooks go
back in with 'flycheck cases import'.`,
		Example: `  flycheck leads export --findings /out/xicheng-2023/dataanalysis/xicheng --output leads/ --campaign xicheng-2023 --due 2023-06-30`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if findings == "" || output == "" {
				return fmt.Errorf("--findings and --output are required")
			}
			rows, insts, err := readFindingsDir(findings)
			if err != nil {
				return err
			}
			books := leadsWorkbooks(rows, insts, campaign, due, only)
			if len(books) == 0 {
				return fmt.Errorf("%s: no findings for the institutions asked for", findings)
			}
			if err := os.MkdirAll(output, 0o755); err != nil {
				return err
			}
			leads := 0
			for _, wb := range books {
				path := filepath.Join(output, wb.Institution.Code+".xlsx")
				f, err := os.Create(path)
				if err != nil {
					return err
				}
				if err := casebook.WriteLeads(f, wb); err != nil {
					f.Close()
					return fmt.Errorf("%s: %w", path, err)
				}
				if err := f.Close(); err != nil {
					return err
				}
				leads += len(wb.Leads)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "wrote %d leads workbooks (%d leads) to %s\n", len(books), leads, output)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&findings, "findings", "", "screening output directory (flycheck screen --output)")
	f.StringVar(&output, "output", "", "directory for the workbooks")
	f.StringVar(&campaign, "campaign", "", "campaign name, written on the cover (cases import reads it)")
	f.StringVar(&due, "due", "", "date the returns are due, written on the cover (YYYY-MM-DD)")
	f.StringSliceVar(&only, "institution", nil, "only these institution codes (repeat or comma-separate)")
	return cmd
}

// readFindingsDir reads every findings file and summary under dir.
func readFindingsDir(dir string) ([]screening.FindingRow, map[string]screening.InstitutionSummary, error) {
	var rows []screening.FindingRow
	insts := map[string]screening.InstitutionSummary{}
	found := false
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || !d.IsDir() {
			return err
		}
		csvPath, pqPath := filepath.Join(path, "findings.csv"), filepath.Join(path, "findings.parquet")
		var part []screening.FindingRow
		switch {
		case fileExists(csvPath):
			part, err = screening.ReadFindingsCSV(csvPath)
		case fileExists(pqPath):
			part, err = screening.ReadFindingsParquet(pqPath)
		default:
			return nil
		}
		if err != nil {
			return err
		}
		found = true
		rows = append(rows, part...)
		if sum := filepath.Join(path, "summary.json"); fileExists(sum) {
			s, err := screening.ReadSummary(sum)
			if err != nil {
				return err
			}
			for _, in := range s.Institutions {
				insts[in.Code] = in
			}
		}
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	if !found {
		return nil, nil, fmt.Errorf("%s: no findings.csv or findings.parquet in it or its shard directories", dir)
	}
	return rows, insts, nil
}

func fileExists(path string) bool {
	st, err := os.Stat(path)
	return err == nil && st.Mode().IsRegular()
}

// leadsWorkbooks groups findings per institution, leads ordered by id.
func leadsWorkbooks(rows []screening.FindingRow, insts map[string]screening.InstitutionSummary, campaign, due string, only []string) []casebook.LeadsWorkbook {
	by := map[string][]casebook.Lead{}
	for _, r := range rows {
		if len(only) > 0 && !slices.Contains(only, r.FixmedinsCode) {
			continue
		}
		by[r.FixmedinsCode] = append(by[r.FixmedinsCode], casebook.Lead{ID: LeadID(r), RuleID: r.RuleID, Category: r.Category,
			VisitID: r.MdtrtID, PersonID: r.PsnNo, ItemCode: r.HilistCode, LineID: r.FeedetlSn, Amount: r.Amount, Evidence: r.Evidence})
	}
	codes := make([]string, 0, len(by))
	for c := range by {
		codes = append(codes, c)
	}
	slices.Sort(codes)
	out := make([]casebook.LeadsWorkbook, 0, len(codes))
	for _, code := range codes {
		leads := by[code]
		slices.SortFunc(leads, func(a, b casebook.Lead) int { return strings.Compare(a.ID, b.ID) })
		in := insts[code]
		out = append(out, casebook.LeadsWorkbook{Campaign: campaign, Due: due, Leads: leads,
			Institution: casebook.Institution{Code: code, Name: in.Name, CityCode: in.CityCode}})
	}
	return out
}

// LeadID names a finding the way docs/rules.md §2 identifies it: the rule
// and the fee line, or the rule and the visit for a visit-level finding.
func LeadID(r screening.FindingRow) string {
	if r.FeedetlSn != "" {
		return r.RuleID + ":" + r.FeedetlSn
	}
	return r.RuleID + ":" + r.MdtrtID
}

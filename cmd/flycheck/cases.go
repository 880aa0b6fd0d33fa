package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/client"

	flycheckv1 "github.com/medfund/flycheck-operator/api/v1alpha1"
	"github.com/medfund/flycheck-operator/controllers"
	"github.com/medfund/flycheck-operator/internal/casebook"
)

// errRejected makes `cases import` exit 1 after it printed what it rejected.
var errRejected = errors.New("some returns were rejected")

// newCasesCommand groups the bureau's spreadsheet work on InspectionCases:
// `cases import` (self-inspection returns in) and `cases export` (a city's
// register out).
func newCasesCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "cases",
		Short: "Import self-inspection returns into InspectionCases, export a city's cases as a workbook",
	}
	cmd.AddCommand(newCasesImportCommand(), newCasesExportCommand())
	return cmd
}

// namespace is --namespace, else the kubeconfig context's namespace.
func (k kubeFlags) namespace(flag string) (string, error) {
	if flag != "" {
		return flag, nil
	}
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	rules.ExplicitPath = k.kubeconfig
	ns, _, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules,
		&clientcmd.ConfigOverrides{CurrentContext: k.context}).Namespace()
	if err != nil {
		return "", fmt.Errorf("kubeconfig: %w", err)
	}
	return ns, nil
}

type importFlags struct {
	kube           kubeFlags
	namespace      string
	campaign       string
	partial        bool
	reportedAt     string
	pledge         bool
	encoding       string
	forceConflicts bool
}

func newCasesImportCommand() *cobra.Command {
	var f importFlags
	cmd := &cobra.Command{
		Use:   "import FILE... [--namespace NS] [--campaign NAME] [--partial]",
		Short: "Apply returned leads workbooks (or CSV) to the cases' spec.selfInspection",
		Long: `Reads returned leads workbooks (.xlsx, from 'flycheck leads export') or the
same rows as CSV (UTF-8 or GB18030, detected unless --encoding says), sums
each institution's answers and server-side applies spec.selfInspection of
its InspectionCase <campaign>-<code> (field manager flycheck-import):
leadsConfirmed, leadsDisputed, confirmedAmount, reportedAt (the cover's
报告日期, else --reported-at, else today) and pledgeSigned (the cover's
承诺书, or --pledge-signed).

Every row that cannot be placed is printed with file, row and reason (no
institution, an institution without a case, a lead answered twice, a
response other than 属实/不属实, an amount that is not yuan with at most 2
decimals, a dispute without evidence). A file with any rejected row
changes nothing, unless --partial: then the institutions whose rows are all
good are applied and the others are left as they were. Each file's changes
are first dry-run on the server, so a file the API server would refuse in
part is not applied in part either.`,
		Example: `  flycheck cases import returns/*.xlsx --namespace xicheng
  flycheck cases import returns.csv --namespace nanjing --campaign jiangsu-2020 --reported-at 2020-07-10`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, files []string) error {
			return runCasesImport(cmd.Context(), cmd.OutOrStdout(), cmd.ErrOrStderr(), f, files)
		},
	}
	fs := cmd.Flags()
	fs.StringVarP(&f.namespace, "namespace", "n", "", "the city's namespace (default: the kubeconfig context's)")
	fs.StringVar(&f.campaign, "campaign", "", "campaign of the cases (default: the workbook cover's 专项治理)")
	fs.BoolVar(&f.partial, "partial", false, "apply the institutions without rejected rows even when a file has some")
	fs.StringVar(&f.reportedAt, "reported-at", "", "report date where the return has none (default: today, Asia/Shanghai)")
	fs.BoolVar(&f.pledge, "pledge-signed", false, "the institutions of CSV returns signed the written pledge (承诺书)")
	fs.StringVar(&f.encoding, "encoding", "", "CSV encoding: UTF-8 or GB18030 (default: detected)")
	fs.BoolVar(&f.forceConflicts, "force-conflicts", false, "take over spec.selfInspection fields someone else set by hand")
	f.kube.bind(cmd)
	return cmd
}

func runCasesImport(ctx context.Context, out, errOut io.Writer, f importFlags, files []string) error {
	ns, err := f.kube.namespace(f.namespace)
	if err != nil {
		return err
	}
	if f.reportedAt == "" {
		loc, _ := time.LoadLocation("Asia/Shanghai")
		f.reportedAt = time.Now().In(loc).Format(time.DateOnly)
	} else if _, err := time.Parse(time.DateOnly, f.reportedAt); err != nil {
		return fmt.Errorf("--reported-at %q: want YYYY-MM-DD", f.reportedAt)
	}
	c, err := f.kube.client()
	if err != nil {
		return err
	}
	known := map[string]map[string]string{} // campaign → code → case name
	failed := false
	var total importCounts
	for _, file := range files {
		ok, n, err := importFile(ctx, c, out, errOut, f, ns, file, known)
		if err != nil {
			return err
		}
		failed = failed || !ok
		total.cases, total.confirmed, total.disputed = total.cases+n.cases, total.confirmed+n.confirmed, total.disputed+n.disputed
	}
	if len(files) > 1 {
		fmt.Fprintf(out, "%d files: applied the self-inspection of %d cases in %s (%d leads confirmed, %d disputed)\n",
			len(files), total.cases, ns, total.confirmed, total.disputed)
	}
	if failed {
		return errRejected
	}
	return nil
}

// casesOf lists the campaign's cases in the namespace by institution code.
func casesOf(ctx context.Context, c client.Client, ns, campaign string) (map[string]string, error) {
	var list flycheckv1.InspectionCaseList
	if err := c.List(ctx, &list, client.InNamespace(ns), client.MatchingFields{"spec.campaignRef.name": campaign}); err != nil {
		return nil, fmt.Errorf("listing the cases of campaign %s in %s: %w", campaign, ns, err)
	}
	out := map[string]string{}
	for _, ic := range list.Items {
		out[ic.Spec.Institution.Code] = ic.Name
	}
	return out, nil
}

// importCounts is what an import applied.
type importCounts struct{ cases, confirmed, disputed int }

// importFile imports one file; ok is false when some of it was rejected.
func importFile(ctx context.Context, c client.Client, out, errOut io.Writer, f importFlags, ns, file string,
	known map[string]map[string]string) (ok bool, n importCounts, err error) {
	data, err := os.Open(file)
	if err != nil {
		return false, n, err
	}
	defer data.Close()
	campaign := f.campaign
	var byCode map[string]string
	opts := casebook.ReadOptions{Encoding: f.encoding, Known: func(code string) error {
		if _, ok := byCode[code]; !ok {
			return fmt.Errorf("no InspectionCase %s in namespace %s", controllers.CaseName(campaign, code), ns)
		}
		return nil
	}}
	var rs *casebook.Returns
	if strings.EqualFold(filepath.Ext(file), ".xlsx") {
		// The cover names the campaign: read once to learn it, then check.
		if campaign == "" {
			first, err := casebook.ReadWorkbook(file, data, casebook.ReadOptions{})
			if err != nil {
				return false, n, err
			}
			if first.Cover != nil {
				campaign = first.Cover.Campaign
			}
			if _, err := data.Seek(0, io.SeekStart); err != nil {
				return false, n, err
			}
		}
		if byCode, err = knownCases(ctx, c, ns, campaign, file, known); err != nil {
			return false, n, err
		}
		rs, err = casebook.ReadWorkbook(file, data, opts)
	} else {
		if byCode, err = knownCases(ctx, c, ns, campaign, file, known); err != nil {
			return false, n, err
		}
		rs, err = casebook.ReadCSV(file, data, opts)
	}
	if err != nil {
		return false, n, err
	}
	for _, e := range rs.Errors {
		fmt.Fprintln(errOut, "rejected:", e.Error())
	}
	if len(rs.Errors) > 0 && !f.partial {
		fmt.Fprintf(out, "%s: %d rows rejected; nothing applied (fix them, or --partial)\n", file, len(rs.Errors))
		return false, n, nil
	}
	reports, err := rs.Reports(f.reportedAt, f.pledge)
	if err != nil {
		return false, n, err
	}
	var apply []casebook.Report
	skipped := 0
	for _, r := range reports {
		if r.Rejected {
			skipped++
			continue
		}
		apply = append(apply, r)
	}
	applyOpts := []client.ApplyOption{client.FieldOwner(flycheckv1.ImportFieldManager)}
	if f.forceConflicts {
		applyOpts = append(applyOpts, client.ForceOwnership)
	}
	// The whole file is dry-run first. (Apply decodes the answer into the
	// object it sends, so each call gets a fresh one.)
	for _, r := range apply {
		u := selfInspectionApply(ns, byCode[r.Institution], r)
		if err := c.Apply(ctx, client.ApplyConfigurationFromUnstructured(u), append(slices.Clone(applyOpts), client.DryRunAll)...); err != nil {
			fmt.Fprintf(errOut, "rejected: %s: case %s/%s: %v\n", file, ns, byCode[r.Institution], err)
			fmt.Fprintf(out, "%s: the API server refused case %s; nothing applied\n", file, byCode[r.Institution])
			return false, n, nil
		}
	}
	confirmed, disputed := 0, 0
	for i, r := range apply {
		u := selfInspectionApply(ns, byCode[r.Institution], r)
		if err := c.Apply(ctx, client.ApplyConfigurationFromUnstructured(u), applyOpts...); err != nil {
			return false, n, fmt.Errorf("%s: case %s/%s (after %d applied): %w", file, ns, u.GetName(), i, err)
		}
	}
	for _, r := range reports {
		if !r.Rejected {
			confirmed += r.LeadsConfirmed
			disputed += r.LeadsDisputed
		}
	}
	msg := fmt.Sprintf("%s: applied the self-inspection of %d cases in %s (%d leads confirmed, %d disputed)", file, len(apply), ns, confirmed, disputed)
	if skipped > 0 || len(rs.Errors) > 0 {
		msg += fmt.Sprintf("; %d rows rejected, %d institutions left unchanged", len(rs.Errors), skipped)
	}
	fmt.Fprintln(out, msg)
	n = importCounts{len(apply), confirmed, disputed}
	return len(rs.Errors) == 0, n, nil
}

func knownCases(ctx context.Context, c client.Client, ns, campaign, file string, known map[string]map[string]string) (map[string]string, error) {
	if campaign == "" {
		return nil, fmt.Errorf("%s: which campaign? the file names none (give --campaign)", file)
	}
	if m, ok := known[campaign]; ok {
		return m, nil
	}
	m, err := casesOf(ctx, c, ns, campaign)
	if err != nil {
		return nil, err
	}
	known[campaign] = m
	return m, nil
}

// selfInspectionApply is the apply configuration of one case: its
// spec.selfInspection and nothing else, so the import owns only that.
func selfInspectionApply(ns, name string, r casebook.Report) *unstructured.Unstructured {
	return &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": flycheckv1.GroupVersion.String(),
		"kind":       "InspectionCase",
		"metadata":   map[string]any{"name": name, "namespace": ns},
		"spec": map[string]any{"selfInspection": map[string]any{
			"reportedAt":      r.ReportedAt,
			"leadsConfirmed":  int64(r.LeadsConfirmed),
			"leadsDisputed":   int64(r.LeadsDisputed),
			"confirmedAmount": r.Confirmed.String(),
			"pledgeSigned":    r.Pledge,
		}},
	}}
}

func newCasesExportCommand() *cobra.Command {
	var (
		kube                        kubeFlags
		namespace, campaign, output string
	)
	cmd := &cobra.Command{
		Use:     "export [--namespace NS] [--campaign NAME] --output FILE.xlsx",
		Short:   "Write a city's InspectionCases as one workbook (案件台账 and 汇总)",
		Example: `  flycheck cases export --namespace nanjing --campaign jiangsu-2020 --output nanjing-cases.xlsx`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if output == "" {
				return fmt.Errorf("--output is required")
			}
			ns, err := kube.namespace(namespace)
			if err != nil {
				return err
			}
			c, err := kube.client()
			if err != nil {
				return err
			}
			var list flycheckv1.InspectionCaseList
			opts := []client.ListOption{client.InNamespace(ns)}
			if campaign != "" {
				opts = append(opts, client.MatchingFields{"spec.campaignRef.name": campaign})
			}
			if err := c.List(cmd.Context(), &list, opts...); err != nil {
				return err
			}
			slices.SortFunc(list.Items, func(a, b flycheckv1.InspectionCase) int { return strings.Compare(a.Name, b.Name) })
			rows := make([]casebook.CaseRow, len(list.Items))
			for i := range list.Items {
				rows[i] = caseRow(&list.Items[i])
			}
			title := ns
			if campaign != "" {
				title += " · " + campaign
			}
			fh, err := os.Create(output)
			if err != nil {
				return err
			}
			if err := casebook.WriteCases(fh, title, rows); err != nil {
				fh.Close()
				return err
			}
			if err := fh.Close(); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "wrote %d cases of %s to %s\n", len(rows), ns, output)
			return nil
		},
	}
	cmd.Flags().StringVarP(&namespace, "namespace", "n", "", "the city's namespace (default: the kubeconfig context's)")
	cmd.Flags().StringVar(&campaign, "campaign", "", "only this campaign's cases")
	cmd.Flags().StringVarP(&output, "output", "o", "", "the workbook to write")
	kube.bind(cmd)
	return cmd
}

func caseRow(ic *flycheckv1.InspectionCase) casebook.CaseRow {
	st := ic.Status
	r := casebook.CaseRow{Name: ic.Name, Code: ic.Spec.Institution.Code, InstName: ic.Spec.Institution.Name,
		City: ic.Spec.Institution.CityCode, Level: int(ic.Spec.Institution.Level), Stage: string(st.Stage),
		UnderReportedFlag: st.UnderReported, Blank: st.Blank, RepeatOffender: st.RepeatOffender,
		SelfReport: ic.Spec.SelfInspection != nil}
	var types, phases []string
	for _, o := range st.Origins {
		types, phases = append(types, string(o.Type)), append(phases, o.Phase)
	}
	r.Origins = casebook.OriginText(types, phases)
	if a := st.Amounts; a != nil {
		r.Leads, r.SelfReported, r.Found, r.UnderReported = string(a.Leads), string(a.SelfReported), string(a.Found), string(a.UnderReported)
		r.Ordered, r.Recovered, r.Outstanding = string(a.Ordered), string(a.Recovered), string(a.Outstanding)
	}
	onSite := ic.Spec.OnSite
	if onSite == nil && st.HandOff != nil && st.HandOff.From != "" {
		onSite = st.HandOff.OnSite
	}
	r.Inspected = onSite != nil && onSite.To != ""
	for _, c := range st.Conditions {
		if c.Type == flycheckv1.ConditionOverdue && c.Status == "True" {
			r.Overdue = true
		}
	}
	var ds []string
	for _, d := range st.Deadlines {
		ds = append(ds, fmt.Sprintf("%s %s %s", d.Name, d.Due.Time.In(shanghaiLocation()).Format(time.DateOnly), d.State))
	}
	r.Deadlines = strings.Join(ds, "; ")
	return r
}

func shanghaiLocation() *time.Location {
	loc, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		return time.UTC
	}
	return loc
}

package main

// The second half of the demo campaign (DESIGN §8): the bureaus' work on
// InspectionCases, played through the same tools a bureau uses — lead
// workbooks out with `flycheck leads export`, filled in as institutions
// would, back in with `flycheck cases import`, then on-site results,
// decisions and recoveries recorded on the cases, and a province fly-check
// case handed off to its city.
//
// The three cities behave differently on purpose (demoPlays), so that the
// per-city table and the cards of the reports have something to tell.

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/xuri/excelize/v2"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	"sigs.k8s.io/controller-runtime/pkg/client"

	flycheckv1 "github.com/medfund/flycheck-operator/api/v1alpha1"
	"github.com/medfund/flycheck-operator/controllers"
	"github.com/medfund/flycheck-operator/internal/casebook"
	"github.com/medfund/flycheck-operator/internal/cases"
)

// demoBureauManager is the field manager of what the demo's bureaus record.
const demoBureauManager = "demo-bureau"

// demoInspectors are the two people every on-site check needs.
var demoInspectors = []string{"王检查", "李核查"}

// cityPlay is what a city's bureau does in the demo.
type cityPlay struct {
	// returns: its institutions answer their leads; disputer: the first of
	// them disputes every lead (and is found on site to have under-reported).
	returns, disputer bool
	// inspect: on-site results for its cases (only those of origin
	// inspectOnly, when set); decide: decisions and recoveries as well.
	inspect, decide bool
	inspectOnly     flycheckv1.OriginType
}

// demoPlays: 南京 does all its paperwork in time (green card), 无锡 files
// its returns and inspects its spot-check cases but decides nothing
// (yellow), 徐州 does nothing (red; its self-inspection deadlines overdue).
var demoPlays = map[string]cityPlay{
	"nanjing": {returns: true, disputer: true, inspect: true, decide: true},
	"wuxi":    {returns: true, inspect: true, inspectOnly: flycheckv1.OriginRecheck},
	"xuzhou":  {},
}

// bureaus plays the city and province bureaus of camp.
type bureaus struct {
	c                             client.Client
	camp                          *flycheckv1.Campaign
	flycheck, kubectl, kubeconfig string
	workdir                       string
	say                           *demoPrinter
	// leads are each institution's leads by category (yuan), read back from
	// the workbooks the institutions returned.
	leads map[string][]demoLead
}

type demoLead struct {
	category  flycheckv1.ViolationCategory
	amount    cases.Fen
	confirmed bool
}

// playSecondHalf runs the bureaus' work as the campaign reaches each step.
// It returns when the fly-check case has been handed off, or on an error.
func (b *bureaus) playSecondHalf(ctx context.Context) error {
	b.leads = map[string][]demoLead{}
	// 自查自纠: the self-inspection phase opens a case per flagged institution.
	for _, city := range b.camp.Spec.Cities {
		if play := demoPlays[city.Name]; play.returns {
			if err := b.selfInspect(ctx, city, play.disputer); err != nil {
				return fmt.Errorf("%s self-inspection: %w", city.Name, err)
			}
		}
	}
	// Mid-campaign, what a city bureau sees first.
	b.say.block(func(out io.Writer) { showKubectl(ctx, out, b.kubectl, b.kubeconfig, "get", "camp,sj,isample", "-A") })

	// 检查抽查: on-site checks once the city's recheck sample is drawn.
	for _, city := range b.camp.Spec.Cities {
		if play := demoPlays[city.Name]; play.inspect {
			if err := b.inspectCity(ctx, city, play); err != nil {
				return fmt.Errorf("%s on-site checks: %w", city.Name, err)
			}
		}
	}

	// 飞行检查: the province inspects two of its cases and hands them off.
	return b.flyCheck(ctx)
}

// selfInspect exports the city's leads, has every institution answer them
// (the first one disputing all of its leads when disputer is set) and
// imports the returns.
func (b *bureaus) selfInspect(ctx context.Context, city flycheckv1.City, disputer bool) error {
	sjName := controllers.ChildName(b.camp.Name, "dataanalysis", city.Name)
	var sj flycheckv1.ScreeningJob
	var flagged int32
	err := b.poll(ctx, func() (bool, error) {
		if err := b.c.Get(ctx, types.NamespacedName{Namespace: city.Namespace, Name: sjName}, &sj); err != nil {
			return false, client.IgnoreNotFound(err)
		}
		if sj.Status.State != flycheckv1.ScreeningSucceeded {
			return false, nil
		}
		flagged = sj.Status.Institutions.Flagged
		n, err := b.countCases(ctx, city.Namespace, flycheckv1.OriginScreening)
		return n >= int(flagged), err
	})
	if err != nil {
		return err
	}
	b.say.line("%s (%s): %d self-inspection cases opened; exporting their leads", city.DisplayName, city.Name, flagged)

	findings := filepath.Join(b.workdir, "pvc", sj.Spec.Output.PersistentVolumeClaim, sj.Spec.Output.Path)
	books := filepath.Join(b.workdir, "leads", city.Name)
	if err := os.RemoveAll(books); err != nil {
		return err
	}
	due := b.phaseEnd("selfinspection")
	out, err := b.run(ctx, "leads", "export", "--findings", findings, "--output", books, "--campaign", b.camp.Name, "--due", due)
	if err != nil {
		return err
	}
	b.say.line("%s: %s", city.Name, out)

	files, err := filepath.Glob(filepath.Join(books, "*.xlsx"))
	if err != nil {
		return err
	}
	slices.Sort(files)
	today := time.Now().In(b.zone()).Format(time.DateOnly)
	for i, path := range files {
		if err := b.answer(path, today, disputer && i == 0); err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
	}
	if disputer && len(files) > 0 {
		b.say.line("%s: %s disputes every lead; the other %d institutions confirm theirs", city.Name,
			strings.TrimSuffix(filepath.Base(files[0]), ".xlsx"), len(files)-1)
	}
	out, err = b.run(ctx, append([]string{"cases", "import", "--namespace", city.Namespace, "--campaign", b.camp.Name}, files...)...)
	if err != nil {
		return err
	}
	b.say.line("%s: %s", city.Name, lastLine(out))
	return nil
}

// answer fills a leads workbook as its institution would: every lead
// confirmed at its amount (or disputed, with a reason), the report dated
// today and the pledge signed. It remembers the leads for the on-site check.
func (b *bureaus) answer(path, today string, dispute bool) error {
	f, err := excelize.OpenFile(path)
	if err != nil {
		return err
	}
	defer f.Close()
	rows, err := f.GetRows(casebook.LeadsSheet)
	if err != nil || len(rows) == 0 {
		return fmt.Errorf("no %s sheet: %v", casebook.LeadsSheet, err)
	}
	col := map[string]int{}
	for i, h := range rows[0] {
		col[h] = i
	}
	categories := map[string]flycheckv1.ViolationCategory{}
	for k, v := range casebook.CategoryNames {
		categories[v] = flycheckv1.ViolationCategory(k)
	}
	cell := func(name string, row int) string {
		c, _ := excelize.CoordinatesToCellName(col[name]+1, row)
		return c
	}
	code := strings.TrimSuffix(filepath.Base(path), ".xlsx")
	for r, row := range rows[1:] {
		get := func(name string) string {
			if i := col[name]; i < len(row) {
				return row[i]
			}
			return ""
		}
		amount, err := cases.ParseYuan(get(casebook.ColLeadAmount))
		if err != nil {
			return fmt.Errorf("row %d: %w", r+2, err)
		}
		cat, ok := categories[get(casebook.ColCategory)]
		if !ok {
			cat = "Other"
		}
		b.leads[code] = append(b.leads[code], demoLead{category: cat, amount: amount, confirmed: !dispute})
		values := map[string]string{casebook.ColResponse: casebook.Confirmed, casebook.ColAmount: amount.String()}
		if dispute {
			values = map[string]string{casebook.ColResponse: casebook.Disputed, casebook.ColEvidence: "经核对病历，收费符合规定"}
		}
		for name, v := range values {
			if err := f.SetCellValue(casebook.LeadsSheet, cell(name, r+2), v); err != nil {
				return err
			}
		}
	}
	if err := setCover(f, casebook.CoverReportedAt, today); err != nil {
		return err
	}
	if err := setCover(f, casebook.CoverPledge, casebook.Yes); err != nil {
		return err
	}
	return f.Save()
}

// setCover writes value next to the cover's label (column A: label, B: value).
func setCover(f *excelize.File, label, value string) error {
	rows, err := f.GetRows(casebook.CoverSheet)
	if err != nil {
		return err
	}
	for i, row := range rows {
		if len(row) > 0 && row[0] == label {
			return f.SetCellValue(casebook.CoverSheet, fmt.Sprintf("B%d", i+1), value)
		}
	}
	return fmt.Errorf("the cover has no %q", label)
}

// inspectCity records, once the city's recheck sample is drawn, an on-site
// result for the city's cases and, if the play decides, a decision for
// those with findings and the money recovered: all of it, except from the
// institution that disputed its leads (found to have under-reported), which
// has paid 90 % so far.
func (b *bureaus) inspectCity(ctx context.Context, city flycheckv1.City, play cityPlay) error {
	sample := controllers.ChildName(b.camp.Name, "spotcheck", city.Name)
	var selected int
	err := b.poll(ctx, func() (bool, error) {
		var is flycheckv1.InspectionSample
		if err := b.c.Get(ctx, types.NamespacedName{Namespace: city.Namespace, Name: sample}, &is); err != nil {
			return false, client.IgnoreNotFound(err)
		}
		if is.Status.DrawnAt == nil {
			return false, nil
		}
		selected = len(is.Status.Selected)
		n, err := b.countCases(ctx, city.Namespace, flycheckv1.OriginRecheck)
		return n >= selected, err
	})
	if err != nil {
		return err
	}
	var list flycheckv1.InspectionCaseList
	if err := b.c.List(ctx, &list, client.InNamespace(city.Namespace)); err != nil {
		return err
	}
	todo := list.Items[:0]
	for _, ic := range list.Items {
		if play.inspectOnly == "" || slices.ContainsFunc(ic.Status.Origins, func(o flycheckv1.CaseOrigin) bool { return o.Type == play.inspectOnly }) {
			todo = append(todo, ic)
		}
	}
	what := "inspecting all %d cases on site"
	if play.inspectOnly != "" {
		what = "inspecting its %d " + string(play.inspectOnly) + " cases on site"
	}
	if !play.decide {
		what += " (no decisions yet)"
	}
	b.say.line("%s: recheck sample drawn (%d institutions); "+what, city.Name, selected, len(todo))
	var found, recovered cases.Fen
	blank := 0
	for i := range todo {
		ic := &todo[i]
		f, r, err := b.inspect(ctx, ic, play.decide, play.decide)
		if err != nil {
			return fmt.Errorf("case %s: %w", ic.Name, err)
		}
		if f == 0 {
			blank++
		}
		if found, err = found.Add(f); err != nil {
			return err
		}
		if recovered, err = recovered.Add(r); err != nil {
			return err
		}
	}
	b.say.line("%s: %d cases inspected (%d blank), ¥%s found, ¥%s recovered", city.Name, len(todo), blank, found, recovered)
	return nil
}

// inspect records the on-site result of a case from the institution's leads
// (each confirmed lead a self-reported violation, each disputed one found
// all the same) and, when decide is set, the decision (refund what was
// found; an agreement suspended for 3 months where the return
// under-reported) and, when recover is set, the recoveries. It returns the amounts found and
// recovered.
func (b *bureaus) inspect(ctx context.Context, ic *flycheckv1.InspectionCase, decide, recover bool) (found, recovered cases.Fen, err error) {
	now := time.Now().In(b.zone())
	today := flycheckv1.Date(now.Format(time.DateOnly))
	byCat := map[flycheckv1.ViolationCategory]*flycheckv1.Violation{}
	var order []flycheckv1.ViolationCategory
	underReported := false
	for _, l := range b.leads[ic.Spec.Institution.Code] {
		v := byCat[l.category]
		if v == nil {
			v = &flycheckv1.Violation{Category: l.category, Amount: "0.00", SelfReported: l.confirmed}
			byCat[l.category] = v
			order = append(order, l.category)
		}
		sum, err := mustYuan(v.Amount).Add(l.amount)
		if err != nil {
			return 0, 0, err
		}
		v.Amount = flycheckv1.Money(sum.String())
		if found, err = found.Add(l.amount); err != nil {
			return 0, 0, err
		}
		underReported = underReported || !l.confirmed
	}
	old := ic.DeepCopy()
	ic.Spec.OnSite = &flycheckv1.OnSite{
		Inspectors:   demoInspectors,
		From:         today,
		To:           today,
		WorkingPaper: "工作底稿-" + ic.Spec.Institution.Code,
	}
	for _, c := range order {
		ic.Spec.OnSite.Violations = append(ic.Spec.OnSite.Violations, *byCat[c])
	}
	if found > 0 {
		ic.Spec.OnSite.AcknowledgedAt = today
	}
	if found > 0 && decide {
		actions := []flycheckv1.DecisionAction{{Type: flycheckv1.ActionRefund, Amount: flycheckv1.Money(found.String())}}
		if underReported {
			actions = append(actions, flycheckv1.DecisionAction{Type: flycheckv1.ActionSuspendAgreement, Months: 3})
		}
		ic.Spec.Decision = &flycheckv1.CaseDecision{DecidedAt: today, Actions: actions, RectificationWorkingDays: 10}
		if recover {
			recovered = found
			if underReported {
				recovered = found * 9 / 10
			}
			ic.Spec.Recoveries = []flycheckv1.Recovery{{Amount: flycheckv1.Money(recovered.String()), At: today, Ref: "退回-" + ic.Spec.Institution.Code}}
		}
	}
	return found, recovered, b.c.Patch(ctx, ic, client.MergeFrom(old), client.FieldOwner(demoBureauManager))
}

func mustYuan(m flycheckv1.Money) cases.Fen {
	f, _ := cases.ParseYuan(string(m))
	return f
}

// flyCheck has the province inspect, once its fly-check cases are open, one
// case of an institution with leads (findings, a decision) and one without
// (a blank inspection), and hand both off to their cities.
func (b *bureaus) flyCheck(ctx context.Context) error {
	ns := b.camp.Spec.ProvinceNamespace
	var list flycheckv1.InspectionCaseList
	err := b.poll(ctx, func() (bool, error) {
		if err := b.c.List(ctx, &list, client.InNamespace(ns)); err != nil {
			return false, err
		}
		return len(list.Items) > 0 && len(list.Items[0].Status.Origins) > 0, nil
	})
	if err != nil {
		return err
	}
	var withLeads, without *flycheckv1.InspectionCase
	for i := range list.Items {
		ic := &list.Items[i]
		if len(b.leads[ic.Spec.Institution.Code]) > 0 && withLeads == nil {
			withLeads = ic
		}
		if len(b.leads[ic.Spec.Institution.Code]) == 0 && without == nil {
			without = ic
		}
	}
	for _, ic := range []*flycheckv1.InspectionCase{withLeads, without} {
		if ic == nil {
			continue
		}
		found, _, err := b.inspect(ctx, ic, true, false)
		if err != nil {
			return fmt.Errorf("fly-check case %s: %w", ic.Name, err)
		}
		var fresh flycheckv1.InspectionCase
		if err := b.c.Get(ctx, client.ObjectKeyFromObject(ic), &fresh); err != nil {
			return err
		}
		old := fresh.DeepCopy()
		fresh.Spec.HandOff = true
		if err := b.c.Patch(ctx, &fresh, client.MergeFrom(old), client.FieldOwner(demoBureauManager)); err != nil {
			return err
		}
		what := fmt.Sprintf("¥%s found", found)
		if found == 0 {
			what = "nothing found: a blank inspection"
		}
		b.say.line("province: fly-check case %s (%s, %s) handed off to its city", ic.Name, ic.Spec.Institution.Name, what)
	}
	return nil
}

// countCases counts the cases in ns that have an origin of type t.
func (b *bureaus) countCases(ctx context.Context, ns string, t flycheckv1.OriginType) (int, error) {
	var list flycheckv1.InspectionCaseList
	if err := b.c.List(ctx, &list, client.InNamespace(ns)); err != nil {
		return 0, err
	}
	n := 0
	for _, ic := range list.Items {
		if slices.ContainsFunc(ic.Status.Origins, func(o flycheckv1.CaseOrigin) bool { return o.Type == t }) {
			n++
		}
	}
	return n, nil
}

// poll checks cond every 200 ms until it holds, for as long as the campaign
// could take.
func (b *bureaus) poll(ctx context.Context, cond func() (bool, error)) error {
	return wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, 10*time.Minute, true,
		func(context.Context) (bool, error) { return cond() })
}

// run runs the flycheck CLI against the demo cluster, as a bureau would.
func (b *bureaus) run(ctx context.Context, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, b.flycheck, args...)
	cmd.Env = append(os.Environ(), "KUBECONFIG="+b.kubeconfig)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("flycheck %s: %w\n%s", strings.Join(args[:2], " "), err, out)
	}
	return strings.TrimSpace(string(out)), nil
}

func (b *bureaus) zone() *time.Location {
	loc, err := time.LoadLocation(b.camp.Spec.TimeZone)
	if err != nil {
		return time.UTC
	}
	return loc
}

// phaseEnd is the date a phase ends, in the campaign's zone.
func (b *bureaus) phaseEnd(phase string) string {
	for _, p := range b.camp.Spec.Phases {
		if p.Name == phase {
			if t, err := time.Parse(time.RFC3339, string(p.End)); err == nil {
				return t.In(b.zone()).Format(time.DateOnly)
			}
			return string(p.End)[:10]
		}
	}
	return ""
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}

// printCaseTable prints the per-city case figures as the Campaign's status
// reports them (DESIGN §8: counts and sums only).
func printCaseTable(ctx context.Context, c client.Client, name string, out io.Writer) {
	var camp flycheckv1.Campaign
	if err := c.Get(ctx, types.NamespacedName{Name: name}, &camp); err != nil {
		fmt.Fprintln(out, "reading the campaign:", err)
		return
	}
	fmt.Fprintf(out, "\nCases of %s (from the Campaign's status):\n", name)
	w := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(w, "CITY\tCASES\tSELF-REPORTED\tINSPECTED\tWITH FINDINGS\tBLANK\tDISCOVERY\tFOUND ¥\tORDERED ¥\tRECOVERED ¥\tOVERDUE")
	for _, cs := range camp.Status.Cities {
		rate := "-"
		if cs.ProblemDiscoveryPercent != nil {
			rate = fmt.Sprintf("%d %%", *cs.ProblemDiscoveryPercent)
		}
		fmt.Fprintf(w, "%s\t%d\t%d\t%d\t%d\t%d\t%s\t%s\t%s\t%s\t%d\n", cs.Name, cs.Cases, cs.SelfReported, cs.Inspected,
			cs.WithFindings, cs.Blank, rate, orZero(cs.Found), orZero(cs.Ordered), orZero(cs.Recovered), cs.Overdue)
	}
	_ = w.Flush()
}

func orZero(m flycheckv1.Money) string {
	if m == "" {
		return "0.00"
	}
	return string(m)
}

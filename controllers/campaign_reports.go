package controllers

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	logf "sigs.k8s.io/controller-runtime/pkg/log"

	flycheckv1 "github.com/medfund/flycheck-operator/api/v1alpha1"
	"github.com/medfund/flycheck-operator/internal/cases"
	"github.com/medfund/flycheck-operator/internal/report"
	"github.com/medfund/flycheck-operator/internal/schedule"
)

// The Campaign's report snapshots (DESIGN §9): at each weekly instant (周报)
// and when the summary phase ends, one ConfigMap holding report.json and
// report.html per scope: the province's in the province namespace, each
// city's, with its own figures only, in the city's namespace. A snapshot
// is created once, immutable, and never rewritten; weekly ones beyond
// reporting.keep are deleted oldest first. The Campaign owns them all.

const (
	LabelReport   = flycheckv1.LabelReport
	LabelScope    = flycheckv1.LabelScope
	reportWeekly  = flycheckv1.ReportWeekly
	reportSummary = flycheckv1.ReportSummary
)

// +kubebuilder:rbac:groups="",resources=configmaps,verbs=get;list;watch;create;delete

// snapshotMemo is the set of snapshots ("campaign uid/namespace/name") this process
// saw exist. Snapshots are never rewritten, so a name once seen needs no
// GET again; a deleted one (trimmed) is never due again either.
type snapshotMemo struct{ m sync.Map }

func (s *snapshotMemo) seen(key string) bool { _, ok := s.m.Load(key); return ok }
func (s *snapshotMemo) add(key string)       { s.m.Store(key, struct{}{}) }

// reportScope is one report's audience.
type reportScope struct {
	name, namespace string
	city            *flycheckv1.City // nil: the province
}

func reportScopes(camp *flycheckv1.Campaign) []reportScope {
	var out []reportScope
	if camp.Spec.ProvinceNamespace != "" {
		out = append(out, reportScope{name: report.ProvinceScope, namespace: camp.Spec.ProvinceNamespace})
	}
	for i := range camp.Spec.Cities {
		c := &camp.Spec.Cities[i]
		out = append(out, reportScope{name: c.Name, namespace: c.Namespace, city: c})
	}
	return out
}

// ReportSchedule is the weekly (or every) schedule inside the campaign's
// length, from its first phase's start to its last phase's end.
func ReportSchedule(camp *flycheckv1.Campaign, plan *schedule.Plan) (report.Schedule, bool, error) {
	rp := camp.Spec.Reporting
	if rp == nil || (rp.Weekly == nil && rp.Every == nil) || len(plan.Phases) == 0 {
		return report.Schedule{}, false, nil
	}
	s := report.Schedule{Location: plan.Location, From: plan.Phases[0].Start, To: plan.Phases[0].End}
	for _, p := range plan.Phases {
		s.From, s.To = minTime(s.From, p.Start), maxTime(s.To, p.End)
	}
	if rp.Every != nil {
		s.Every, s.Anchor = rp.Every.Duration, s.From
		return s, true, nil
	}
	var err error
	s.Weekday, s.Hour, s.Minute, err = report.ParseWeekly(string(rp.Weekly.Day), rp.Weekly.Time)
	return s, err == nil, err
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

func maxTime(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// writeReports writes the snapshots due at now that do not exist yet and
// returns the next instant one is due (zero: none).
func (r *CampaignReconciler) writeReports(ctx context.Context, camp *flycheckv1.Campaign, plan *schedule.Plan, now time.Time) (time.Time, error) {
	rp := camp.Spec.Reporting
	if rp == nil || camp.Spec.Suspend {
		return time.Time{}, nil
	}
	type due struct {
		kind, suffix string
		at           time.Time
		reportKind   report.Kind
	}
	var dues []due
	var next time.Time
	sched, ok, err := ReportSchedule(camp, plan)
	if err != nil {
		return time.Time{}, err
	}
	if ok {
		if t, ok := sched.Latest(now); ok {
			dues = append(dues, due{reportWeekly, report.Stamp(t, plan.Location), t, report.Weekly})
		}
		if t, ok := sched.Next(now); ok {
			next = t
		}
	}
	if rp.SummaryPhase != "" {
		for _, p := range plan.Phases {
			if p.Name != rp.SummaryPhase {
				continue
			}
			if !now.Before(p.End) {
				dues = append(dues, due{reportSummary, "", p.End, report.Summary})
			} else if next.IsZero() || p.End.Before(next) {
				next = p.End
			}
		}
	}
	for _, d := range dues {
		if err := r.writeSnapshot(ctx, camp, plan, d.kind, d.suffix, d.reportKind, d.at, now); err != nil {
			return next, err
		}
	}
	return next, nil
}

// snapshotName is "<campaign>-weekly-<scope>-<yyyymmdd-hhmmss>" or
// "<campaign>-summary-<scope>".
func snapshotName(campaign, kind, scope, suffix string) string {
	name := campaign + "-" + kind + "-" + scope
	if suffix != "" {
		name += "-" + suffix
	}
	return name
}

// writeSnapshot creates one snapshot per scope unless it exists. The
// figures are built only when a scope's ConfigMap is missing.
func (r *CampaignReconciler) writeSnapshot(ctx context.Context, camp *flycheckv1.Campaign, plan *schedule.Plan,
	kind, suffix string, rk report.Kind, at, now time.Time) error {
	var figures *campaignFigures
	for _, sc := range reportScopes(camp) {
		name := snapshotName(camp.Name, kind, sc.name, suffix)
		key := string(camp.UID) + "/" + sc.namespace + "/" + name
		if r.written.seen(key) {
			continue
		}
		var existing corev1.ConfigMap
		err := r.APIReader.Get(ctx, client.ObjectKey{Namespace: sc.namespace, Name: name}, &existing)
		if err == nil {
			r.checkOwnSnapshot(ctx, camp, &existing, key)
			continue // written once, never rewritten
		}
		if !apierrors.IsNotFound(err) {
			return err
		}
		if figures == nil {
			if figures, err = gatherFigures(ctx, r.Client, camp, plan, ""); err != nil {
				return err
			}
		}
		rep := figures.report(camp, sc, rk, at)
		js, err := rep.JSON()
		if err != nil {
			return err
		}
		html, err := report.HTML(rep)
		if err != nil {
			return err
		}
		cm := &corev1.ConfigMap{
			ObjectMeta: metav1.ObjectMeta{Namespace: sc.namespace, Name: name, Labels: map[string]string{
				flycheckv1.LabelCampaign: camp.Name, LabelReport: kind, LabelScope: sc.name},
				Annotations: map[string]string{"flycheck.medfund.io/generated-at": now.UTC().Format(time.RFC3339)}},
			Data:      map[string]string{flycheckv1.ReportJSONKey: string(js), flycheckv1.ReportHTMLKey: string(html)},
			Immutable: ptr.To(true),
		}
		if err := controllerutil.SetControllerReference(camp, cm, r.Scheme()); err != nil {
			return err
		}
		if err := r.Create(ctx, cm); err != nil {
			if apierrors.IsAlreadyExists(err) {
				if err := r.APIReader.Get(ctx, client.ObjectKeyFromObject(cm), &existing); err == nil {
					r.checkOwnSnapshot(ctx, camp, &existing, key)
				}
				continue
			}
			return fmt.Errorf("writing report %s/%s: %w", sc.namespace, name, err)
		}
		r.written.add(key)
		r.Recorder.Eventf(camp, cm, corev1.EventTypeNormal, CampaignReasonReportWritten, "Report",
			"Wrote the %s report %s/%s", kind, sc.namespace, name)
		logf.FromContext(ctx).V(1).Info("report written", "namespace", sc.namespace, "name", name)
		if kind == reportWeekly {
			if err := r.trimSnapshots(ctx, camp, sc); err != nil {
				return err
			}
		}
	}
	return nil
}

// checkOwnSnapshot remembers an existing snapshot as written when the
// Campaign owns it. Anyone who may create ConfigMaps in a city namespace
// (the screener's ServiceAccount among them) could plant one under the
// predictable name: such an object is never taken for the report, and a
// Warning says which name is taken (once per process).
func (r *CampaignReconciler) checkOwnSnapshot(ctx context.Context, camp *flycheckv1.Campaign, cm *corev1.ConfigMap, key string) {
	if metav1.IsControlledBy(cm, camp) {
		r.written.add(key)
		return
	}
	if r.written.seen("taken/" + key) {
		return
	}
	r.written.add("taken/" + key)
	r.Recorder.Eventf(camp, nil, corev1.EventTypeWarning, CampaignReasonReportNameTaken, "Report",
		"ConfigMap %s/%s holds a report's name but this Campaign does not own it; the report is not written there until it is deleted",
		cm.Namespace, cm.Name)
	logf.FromContext(ctx).Info("report name taken", "namespace", cm.Namespace, "name", cm.Name)
}

// trimSnapshots deletes a scope's oldest weekly snapshots beyond keep
// (names sort by their instant).
func (r *CampaignReconciler) trimSnapshots(ctx context.Context, camp *flycheckv1.Campaign, sc reportScope) error {
	keep := int(camp.Spec.Reporting.Keep)
	if keep <= 0 {
		return nil
	}
	var list corev1.ConfigMapList
	if err := r.APIReader.List(ctx, &list, client.InNamespace(sc.namespace), client.MatchingLabels{
		flycheckv1.LabelCampaign: camp.Name, LabelReport: reportWeekly, LabelScope: sc.name}); err != nil {
		return err
	}
	var owned []corev1.ConfigMap
	for _, cm := range list.Items {
		if metav1.IsControlledBy(&cm, camp) {
			owned = append(owned, cm)
		}
	}
	sort.Slice(owned, func(i, j int) bool { return owned[i].Name < owned[j].Name })
	for _, cm := range owned[:max(0, len(owned)-keep)] {
		// The operator may delete ConfigMaps anywhere (for this alone): the
		// preconditions make sure it deletes exactly the snapshot it read.
		uid, rv := cm.UID, cm.ResourceVersion
		if err := r.Delete(ctx, &cm, client.Preconditions{UID: &uid, ResourceVersion: &rv}); client.IgnoreNotFound(err) != nil {
			return err
		}
	}
	return nil
}

// campaignFigures is what the reports are made of: the status (written
// just before) and the violations of the cases per namespace.
type campaignFigures struct {
	plan     *schedule.Plan
	status   *flycheckv1.CampaignStatus
	findings map[string]map[string]*findingSum // namespace -> category
}

type findingSum struct {
	count  int
	amount cases.Fen
}

// gatherFigures reads the campaign's cases in namespace ns, or in every
// namespace when ns is "" (a city bureau may list only its own).
func gatherFigures(ctx context.Context, c client.Reader, camp *flycheckv1.Campaign, plan *schedule.Plan, ns string) (*campaignFigures, error) {
	var list flycheckv1.InspectionCaseList
	if err := c.List(ctx, &list, client.InNamespace(ns), client.MatchingFields{caseCampaignIndex: camp.Name}); err != nil {
		return nil, err
	}
	f := &campaignFigures{plan: plan, status: &camp.Status, findings: map[string]map[string]*findingSum{}}
	for i := range list.Items {
		ic := &list.Items[i]
		// A province case handed off counts once, as its city's.
		if ic.Namespace == camp.Spec.ProvinceNamespace && ic.Status.HandOff != nil && ic.Status.HandOff.To != "" {
			continue
		}
		os := effectiveOnSite(ic, ic.Status.HandOff)
		if os == nil {
			continue
		}
		byCat := f.findings[ic.Namespace]
		if byCat == nil {
			byCat = map[string]*findingSum{}
			f.findings[ic.Namespace] = byCat
		}
		for _, v := range os.Violations {
			s := byCat[string(v.Category)]
			if s == nil {
				s = &findingSum{}
				byCat[string(v.Category)] = s
			}
			amount, err := cases.ParseOptional(string(v.Amount))
			if err != nil {
				continue // the case's own status reports it
			}
			s.count++
			if s.amount, err = s.amount.Add(amount); err != nil {
				return nil, err
			}
		}
	}
	return f, nil
}

// CampaignReport is the report the operator would write now for the
// province (city "") or one city, from the Campaign's stored status and its
// cases: what `flycheck report` prints from a cluster.
func CampaignReport(ctx context.Context, c client.Reader, camp *flycheckv1.Campaign, city string, at time.Time) (*report.Report, error) {
	plan, err := schedule.Parse(camp.Spec.TimeZone, phaseSpecs(camp.Spec.Phases))
	if err != nil {
		return nil, err
	}
	sc := reportScope{name: report.ProvinceScope, namespace: camp.Spec.ProvinceNamespace}
	if city != "" {
		i := slices.IndexFunc(camp.Spec.Cities, func(c flycheckv1.City) bool { return c.Name == city })
		if i < 0 {
			return nil, fmt.Errorf("campaign %s has no city %q", camp.Name, city)
		}
		sc = reportScope{name: city, namespace: camp.Spec.Cities[i].Namespace, city: &camp.Spec.Cities[i]}
	}
	ns := ""
	if sc.city != nil {
		ns = sc.namespace
	}
	figures, err := gatherFigures(ctx, c, camp, plan, ns)
	if err != nil {
		return nil, err
	}
	return figures.report(camp, sc, report.OnDemand, at), nil
}

// report is one scope's report: a city's holds its row and its own
// namespace's findings only (a fly-check case reaches it only once handed
// off, as its own case); the province's holds every city and every case.
func (f *campaignFigures) report(camp *flycheckv1.Campaign, sc reportScope, kind report.Kind, at time.Time) *report.Report {
	tz := camp.Spec.TimeZone
	if tz == "" {
		tz = schedule.DefaultTimeZone
	}
	rep := &report.Report{Campaign: camp.Name, DisplayName: camp.Spec.DisplayName, Kind: kind, Scope: sc.name,
		TimeZone: tz, At: at, ScopeName: "全省"}
	states := map[string]string{}
	for _, p := range f.status.Phases {
		states[p.Name] = string(p.State)
	}
	for i, p := range f.plan.Phases {
		rep.Phases = append(rep.Phases, report.Phase{Name: p.Name, DisplayName: camp.Spec.Phases[i].DisplayName,
			Start: p.Start, End: p.End, State: states[p.Name]})
	}
	for _, m := range camp.Spec.Milestones {
		due, err := cases.DueBy(string(m.Due), f.plan.Location)
		if err != nil {
			continue
		}
		pct := 100
		if m.MinPercent != nil {
			pct = int(*m.MinPercent)
		}
		rep.Milestones = append(rep.Milestones, report.Milestone{Name: m.Name, DisplayName: m.DisplayName,
			Requirement: string(m.Requirement), MinPercent: pct, Due: due})
	}
	display := map[string]string{}
	for _, c := range camp.Spec.Cities {
		display[c.Name] = c.DisplayName
	}
	var namespaces []string
	if sc.city != nil {
		rep.ScopeName = sc.city.DisplayName
		namespaces = []string{sc.city.Namespace}
	} else {
		for ns := range f.findings {
			namespaces = append(namespaces, ns)
		}
	}
	for _, row := range f.status.Cities {
		if sc.city != nil && row.Name != sc.city.Name {
			continue
		}
		rep.Cities = append(rep.Cities, reportCity(row, display[row.Name]))
	}
	rep.Findings = findingsOf(f.findings, namespaces)
	return rep
}

func reportCity(row flycheckv1.CityStatus, displayName string) report.City {
	c := report.City{Name: row.Name, DisplayName: displayName, Cases: int(row.Cases), SelfReported: int(row.SelfReported),
		Inspected: int(row.Inspected), WithFindings: int(row.WithFindings), Blank: int(row.Blank), Overdue: int(row.Overdue),
		Found: orZero(row.Found), Ordered: orZero(row.Ordered), Recovered: orZero(row.Recovered),
		Card: string(row.Card), CardMilestones: slices.Clone(row.CardMilestones)}
	for _, m := range row.Milestones {
		c.Milestones = append(c.Milestones, report.CityMilestone{Name: m.Name, Done: int(m.Done), Total: int(m.Total), State: string(m.State)})
	}
	return c
}

func orZero(m flycheckv1.Money) string {
	if m == "" {
		return "0.00"
	}
	return string(m)
}

func findingsOf(byNS map[string]map[string]*findingSum, namespaces []string) []report.Finding {
	sums := map[string]*findingSum{}
	for _, ns := range namespaces {
		for cat, s := range byNS[ns] {
			t := sums[cat]
			if t == nil {
				t = &findingSum{}
				sums[cat] = t
			}
			t.count += s.count
			t.amount, _ = t.amount.Add(s.amount)
		}
	}
	out := make([]report.Finding, 0, len(sums))
	for cat, s := range sums {
		out = append(out, report.Finding{Category: cat, Count: s.count, Amount: s.amount.String()})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Category < out[j].Category })
	return out
}

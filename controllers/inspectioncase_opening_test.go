package controllers

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/cache"
	watchtools "k8s.io/client-go/tools/watch"
	"k8s.io/utils/clock"
	clocktesting "k8s.io/utils/clock/testing"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/config"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	flycheckv1 "github.com/medfund/flycheck-operator/api/v1alpha1"
	"github.com/medfund/flycheck-operator/controllers/testenv"
	"github.com/medfund/flycheck-operator/internal/sampling"
	"github.com/medfund/flycheck-operator/internal/screening"
)

// startCaseManager runs every controller of the operator (SetupWithManager)
// as restCfg with the given clock until stop is called or the test ends.
func startCaseManager(t *testing.T, restCfg *rest.Config, clk clock.Clock, opNS string) (stop func()) {
	t.Helper()
	mgr, err := ctrl.NewManager(restCfg, ctrl.Options{Scheme: testScheme, Metrics: metricsserver.Options{BindAddress: "0"},
		Controller: config.Controller{SkipNameValidation: ptr.To(true)}})
	if err != nil {
		t.Fatal(err)
	}
	if err := SetupWithManager(mgr, Options{Clock: clk, OperatorNamespace: opNS}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := mgr.Start(ctx); err != nil {
			t.Errorf("manager: %v", err)
		}
	}()
	var once sync.Once
	stop = func() { once.Do(func() { cancel(); <-done }) }
	t.Cleanup(stop)
	return stop
}

func listCases(t *testing.T, ns string) map[string]flycheckv1.InspectionCase {
	t.Helper()
	var list flycheckv1.InspectionCaseList
	if err := k8sClient.List(context.Background(), &list, client.InNamespace(ns)); err != nil {
		t.Fatal(err)
	}
	out := map[string]flycheckv1.InspectionCase{}
	for _, ic := range list.Items {
		out[ic.Spec.Institution.Code] = ic
	}
	return out
}

func getCase(t *testing.T, ns, name string) *flycheckv1.InspectionCase {
	t.Helper()
	var ic flycheckv1.InspectionCase
	if err := k8sClient.Get(context.Background(), types.NamespacedName{Namespace: ns, Name: name}, &ic); err != nil {
		t.Fatal(err)
	}
	return &ic
}

func originTypes(ic flycheckv1.InspectionCase) []string {
	var out []string
	for _, o := range ic.Status.Origins {
		out = append(out, string(o.Type)+"/"+o.Phase)
	}
	sort.Strings(out)
	return out
}

func drawnSample(ns, name string) (*flycheckv1.InspectionSample, error) {
	var is flycheckv1.InspectionSample
	if err := k8sClient.Get(context.Background(), types.NamespacedName{Namespace: ns, Name: name}, &is); err != nil {
		return nil, err
	}
	if is.Status.DrawnAt == nil {
		return nil, fmt.Errorf("%s/%s not drawn yet", ns, name)
	}
	return &is, nil
}

// openingCampaign has a self-inspection phase over each city's roster
// (flagged institutions), a recheck and a fly-check, all active at
// 2020-07-15 09:00.
func openingCampaign(t *testing.T, name string, cityNS []string, province, opNS string) (*flycheckv1.Campaign, map[string][]sampling.Institution) {
	t.Helper()
	createNamespace(t, province)
	createNamespace(t, opNS)
	camp := testCampaign(name, cityNS,
		phase("selfinspection", "2020-05-01", "2020-06-30"),
		phase("spotcheck", "2020-07-01", "2020-08-31"),
		phase("flycheck", "2020-07-01", "2020-11-30"))
	camp.Spec.ProvinceNamespace = province
	camp.Spec.Roster = "designated-institutions"
	camp.Spec.Phases[0].SelfInspection = &flycheckv1.PhaseSelfInspection{Scope: flycheckv1.ScopeFlagged, ReportDue: ptr.To(flycheckv1.Date("2020-06-05"))}
	camp.Spec.Phases[1].Sampling = &flycheckv1.PhaseSampling{Purpose: flycheckv1.PurposeRecheck,
		SamplingPolicy: flycheckv1.SamplingPolicy{MinPercent: 20, MinTertiaryPerCity: 2, RiskBasedPercent: 0}}
	camp.Spec.Phases[2].Sampling = &flycheckv1.PhaseSampling{Purpose: flycheckv1.PurposeFlyCheck,
		SamplingPolicy: flycheckv1.SamplingPolicy{MinPercent: 0, MinTertiaryPerCity: 1, MinTotal: 4}}
	frames := map[string][]sampling.Institution{}
	for i, ns := range cityNS {
		createNamespace(t, ns)
		code := camp.Spec.Cities[i].Code
		csv := makeFrameCSV(testCity{code, 24, 3})
		mustCreate(t, frameConfigMap(ns, "designated-institutions", csv))
		frames[ns] = parseFrame(t, csv)
	}
	createCampaign(t, camp)
	return camp, frames
}

// TestCaseOpeningFromPhases: every flagged institution of the
// self-inspection phase and every institution drawn by the recheck gets
// one case in its city's namespace (both origins when both apply), every
// fly-check draw one case in the province namespace; nothing is opened
// twice, and after a manager restart a deleted case stays deleted.
func TestCaseOpeningFromPhases(t *testing.T) {
	cityNS := []string{"open-nanjing", "open-wuxi"}
	camp, frames := openingCampaign(t, "opening", cityNS, "open-province", "open-op")
	clk := clocktesting.NewFakeClock(shanghai(t, "2020-07-15 09:00:00"))
	stop := startCaseManager(t, cfg, clk, "open-op")

	var fly *flycheckv1.InspectionSample
	testenv.Eventually(t, 60*time.Second, func() error {
		c := getCampaign(t, camp.Name)
		want := []string{"selfinspection/city0", "selfinspection/city1", "spotcheck/city0", "spotcheck/city1"}
		if got := slices.Sorted(slices.Values(c.Status.CasesOpened)); !slices.Equal(got, want) {
			return fmt.Errorf("casesOpened %v", got)
		}
		var err error
		if fly, err = drawnSample("open-province", FlyCheckSampleName(camp.Name, "flycheck")); err != nil {
			return err
		}
		if fly.Annotations[flycheckv1.AnnotationCasesOpened] == "" {
			return fmt.Errorf("fly-check cases not opened yet")
		}
		return nil
	})

	total := 0
	for i, ns := range cityNS {
		city := camp.Spec.Cities[i]
		recheck, err := drawnSample(ns, ChildName(camp.Name, "spotcheck", city.Name))
		if err != nil {
			t.Fatal(err)
		}
		want := map[string][]string{}
		for _, in := range frames[ns] {
			if in.Risk > 0 {
				want[in.Code] = append(want[in.Code], "Screening/selfinspection")
			}
		}
		reasons := map[string]flycheckv1.SelectionReason{}
		for _, s := range recheck.Status.Selected {
			want[s.Code] = append(want[s.Code], "Recheck/spotcheck")
			reasons[s.Code] = s.Reason
		}
		got := listCases(t, ns)
		both := 0
		for code, origins := range want {
			ic, ok := got[code]
			if !ok {
				t.Errorf("%s: no case for %s (origins %v)", ns, code, origins)
				continue
			}
			sort.Strings(origins)
			if !slices.Equal(originTypes(ic), origins) {
				t.Errorf("%s: %s origins %v, want %v", ns, ic.Name, originTypes(ic), origins)
			}
			if len(origins) == 2 {
				both++
			}
			if ic.Name != CaseName(camp.Name, code) || ic.Labels[flycheckv1.LabelCity] != city.Name ||
				!metav1.IsControlledBy(&ic, getCampaign(t, camp.Name)) {
				t.Errorf("%s: name %s, labels %v, owner %v", code, ic.Name, ic.Labels, ic.OwnerReferences)
			}
			for _, o := range ic.Status.Origins {
				if o.Type == flycheckv1.OriginRecheck && (o.Reason != reasons[code] || o.Sample != recheck.Name) {
					t.Errorf("%s: recheck origin %+v, draw reason %s", code, o, reasons[code])
				}
			}
			if ic.Status.Stage != "Open" || condStatus(ic.Status.Conditions, flycheckv1.ConditionReady) != "True" {
				t.Errorf("%s: stage %q, conditions %+v", code, ic.Status.Stage, ic.Status.Conditions)
			}
		}
		if len(got) != len(want) {
			t.Errorf("%s: %d cases, want %d (%v)", ns, len(got), len(want), slices.Sorted(maps.Keys(got)))
		}
		t.Logf("%s: %d cases (%d flagged, %d drawn, %d both)", ns, len(got), len(want)-len(recheck.Status.Selected)+both, len(recheck.Status.Selected), both)
		total += len(got)
	}
	// Fly-check cases are in the province namespace only.
	prov := listCases(t, "open-province")
	if len(prov) != len(fly.Status.Selected) {
		t.Errorf("%d province cases for %d fly-check picks", len(prov), len(fly.Status.Selected))
	}
	for _, s := range fly.Status.Selected {
		if ic, ok := prov[s.Code]; !ok || !slices.Equal(originTypes(ic), []string{"FlyCheck/flycheck"}) {
			t.Errorf("fly-check pick %s: case %+v", s.Code, ic.Status.Origins)
		}
	}
	for _, ns := range cityNS {
		for _, ic := range listCases(t, ns) {
			for _, o := range ic.Status.Origins {
				if o.Type == flycheckv1.OriginFlyCheck {
					t.Errorf("%s/%s shows the fly-check before any hand-off", ns, ic.Name)
				}
			}
		}
	}
	// The Campaign counts the city cases only.
	testenv.Eventually(t, 10*time.Second, func() error {
		c := getCampaign(t, camp.Name)
		n := 0
		for _, row := range c.Status.Cities {
			n += int(row.Cases)
		}
		if n != total {
			return fmt.Errorf("campaign counts %d cases, the cities hold %d", n, total)
		}
		return nil
	})

	// Delete a case, restart the manager, make it look at the campaign
	// again: nothing is reopened.
	victim := listCases(t, cityNS[0])
	var gone flycheckv1.InspectionCase
	for _, ic := range victim {
		gone = ic
		break
	}
	if err := k8sClient.Delete(context.Background(), &gone); err != nil {
		t.Fatal(err)
	}
	provGone := prov[fly.Status.Selected[0].Code]
	if err := k8sClient.Delete(context.Background(), &provGone); err != nil {
		t.Fatal(err)
	}
	stop()
	startCaseManager(t, cfg, clk, "open-op")
	c := getCampaign(t, camp.Name)
	c.Spec.DisplayName = "restarted"
	if err := k8sClient.Update(context.Background(), c); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, 20*time.Second, func() error {
		c := getCampaign(t, camp.Name)
		if c.Status.ObservedGeneration != c.Generation {
			return fmt.Errorf("campaign not reconciled after the restart")
		}
		n := 0
		for _, row := range c.Status.Cities {
			n += int(row.Cases)
		}
		if n != total-1 {
			return fmt.Errorf("campaign counts %d cases, want %d", n, total-1)
		}
		return nil
	})
	time.Sleep(2 * time.Second) // give a wrong reopening the time to happen
	if _, ok := listCases(t, cityNS[0])[gone.Spec.Institution.Code]; ok {
		t.Errorf("deleted case %s was reopened", gone.Name)
	}
	if _, ok := listCases(t, "open-province")[provGone.Spec.Institution.Code]; ok {
		t.Errorf("deleted fly-check case %s was reopened", provGone.Name)
	}
	if n := len(listCases(t, cityNS[0])) + len(listCases(t, cityNS[1])); n != total-1 {
		t.Errorf("%d city cases after the restart, want %d", n, total-1)
	}
	opened := 0
	for _, e := range campaignEvents(t, camp.Name) {
		if e.Reason == CaseReasonCasesOpened {
			opened++
		}
	}
	if opened != 4 {
		t.Errorf("%d CasesOpened events on the campaign, want 4 (two phases × two cities)", opened)
	}
}

// condStatus is the status of condition typ, "" when absent.
func condStatus(conds []metav1.Condition, typ string) string {
	for _, c := range conds {
		if c.Type == typ {
			return string(c.Status)
		}
	}
	return ""
}

// TestCaseSelfInspectionFromScreening: a self-inspection phase after a
// screening phase opens cases for the institutions the screening flagged,
// each with its lead count and amount, due at the end of the phase.
func TestCaseSelfInspectionFromScreening(t *testing.T) {
	ns := "si-screen"
	createNamespace(t, ns)
	createNamespace(t, "si-op")
	dup := createCatalogueRuleSet(t, "duplicate-charge.yaml")
	camp := testCampaign("si-screen", []string{ns},
		phase("dataanalysis", "2023-04-01", "2023-05-31"),
		phase("selfinspection", "2023-06-01", "2023-06-30"))
	camp.Spec.DataSource = &flycheckv1.DataSource{PersistentVolumeClaim: "claims", Path: "2022"}
	camp.Spec.Phases[0].Screening = &flycheckv1.PhaseScreening{RuleSets: []string{dup.Name}, Shards: 2}
	camp.Spec.Phases[1].SelfInspection = &flycheckv1.PhaseSelfInspection{Scope: flycheckv1.ScopeFlagged}
	createCampaign(t, camp)
	clk := clocktesting.NewFakeClock(shanghai(t, "2023-05-10 09:00:00"))
	startCaseManager(t, cfg, clk, "si-op")

	var sj *flycheckv1.ScreeningJob
	testenv.Eventually(t, 30*time.Second, func() error {
		var err error
		var got flycheckv1.ScreeningJob
		if err = k8sClient.Get(context.Background(), types.NamespacedName{Namespace: ns, Name: ChildName(camp.Name, "dataanalysis", "city0")}, &got); err != nil {
			return err
		}
		if got.Status.JobName == "" {
			return fmt.Errorf("no Job yet")
		}
		sj = &got
		return nil
	})
	// The two shards report, the Job completes (as a cluster would).
	for idx, insts := range [][]screening.InstitutionSummary{
		{inst("H32010000001", 3, 4, "1200.40", "0.500000"), inst("H32010000002", 2, 0, "0.00", "0.000000")},
		{inst("H32010000003", 1, 1, "0.60", "0.100000"), inst("H32010000004", 1, 0, "0.00", "0.000000")},
	} {
		signer := &ScreeningJobReconciler{Client: k8sClient, APIReader: k8sClient, OperatorNamespace: "si-op"}
		mustCreate(t, shardResultConfigMap(t, signer, sj, idx, insts...))
	}
	done := metav1.NewTime(time.Now().Truncate(time.Second))
	setJobStatus(t, &batchv1.Job{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: sj.Status.JobName}}, func(s *batchv1.JobStatus) {
		s.StartTime, s.Succeeded, s.CompletedIndexes, s.CompletionTime = &done, 2, "0-1", &done
		s.Conditions = []batchv1.JobCondition{
			{Type: batchv1.JobSuccessCriteriaMet, Status: corev1.ConditionTrue, LastTransitionTime: done, LastProbeTime: done},
			{Type: batchv1.JobComplete, Status: corev1.ConditionTrue, LastTransitionTime: done, LastProbeTime: done},
		}
	})
	testenv.Eventually(t, 30*time.Second, func() error {
		if s := getSJ(t, ns, sj.Name); s.Status.FrameConfigMap == "" {
			return fmt.Errorf("ScreeningJob %s", s.Status.State)
		}
		return nil
	})
	// Nothing is opened before the self-inspection phase starts.
	time.Sleep(time.Second)
	if n := len(listCases(t, ns)); n != 0 {
		t.Fatalf("%d cases before the self-inspection phase", n)
	}
	// The Campaign reconciler sees the boundary through its requeue timer,
	// which a fake clock does not fire: nudge it with a spec change.
	clk.SetTime(shanghai(t, "2023-06-01 09:00:00"))
	c := getCampaign(t, camp.Name)
	c.Spec.DisplayName = "自查自纠"
	if err := k8sClient.Update(context.Background(), c); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, 30*time.Second, func() error {
		got := listCases(t, ns)
		if len(got) != 2 {
			return fmt.Errorf("%d cases: %v", len(got), slices.Sorted(maps.Keys(got)))
		}
		// The opener creates a case, then writes its status.
		for code, ic := range got {
			if len(ic.Status.Origins) == 0 {
				return fmt.Errorf("%s has no status yet", code)
			}
		}
		return nil
	})
	got := listCases(t, ns)
	for code, want := range map[string]struct {
		leads  int64
		amount flycheckv1.Money
	}{"H32010000001": {4, "1200.40"}, "H32010000003": {1, "0.60"}} {
		ic, ok := got[code]
		if !ok || len(ic.Status.Origins) != 1 {
			t.Errorf("%s: %+v", code, ic.Status.Origins)
			continue
		}
		o := ic.Status.Origins[0]
		if o.Type != flycheckv1.OriginScreening || o.Leads != want.leads || o.LeadsAmount != want.amount || ic.Status.Amounts.Leads != want.amount {
			t.Errorf("%s: origin %+v, amounts %+v; want %d leads of %s", code, o, ic.Status.Amounts, want.leads, want.amount)
		}
		// Due at the end of the phase (no reportDue given).
		if d := deadline(t, &ic, "SelfInspectionReport"); !d.Due.Time.Equal(shanghai(t, "2023-07-01 00:00:00")) {
			t.Errorf("%s: report due %s, want the end of 30 June", code, d.Due.Time)
		}
	}
	if ic := got["H32010000001"]; ic.Spec.Institution.Level != 3 || ic.Spec.Institution.Name != "医院H32010000001" {
		t.Errorf("institution %+v", ic.Spec.Institution)
	}
}

// TestCaseScopeAll: scope All opens a case for every institution of the
// frame, flagged or not (Jiangsu 2020: 自查自纠覆盖率100%).
func TestCaseScopeAll(t *testing.T) {
	ns := "si-all"
	createNamespace(t, ns)
	createNamespace(t, "si-all-op")
	camp := testCampaign("si-all", []string{ns}, phase("selfinspection", "2020-05-01", "2020-06-30"))
	camp.Spec.Roster = "designated-institutions"
	camp.Spec.Phases[0].SelfInspection = &flycheckv1.PhaseSelfInspection{Scope: flycheckv1.ScopeAll, ReportDue: ptr.To(flycheckv1.Date("2020-06-05"))}
	csv := makeFrameCSV(testCity{camp.Spec.Cities[0].Code, 17, 2})
	mustCreate(t, frameConfigMap(ns, "designated-institutions", csv))
	createCampaign(t, camp)
	startCaseManager(t, cfg, clocktesting.NewFakeClock(shanghai(t, "2020-05-20 09:00:00")), "si-all-op")
	testenv.Eventually(t, 30*time.Second, func() error {
		got := listCases(t, ns)
		if n := len(got); n != 17 {
			return fmt.Errorf("%d cases, want all 17", n)
		}
		// The opener creates a case, then writes its status.
		for code, ic := range got {
			if len(ic.Status.Deadlines) == 0 {
				return fmt.Errorf("%s has no deadlines yet", code)
			}
		}
		return nil
	})
	for _, ic := range listCases(t, ns) {
		if d := deadline(t, &ic, "SelfInspectionReport"); !d.Due.Time.Equal(shanghai(t, "2020-06-06 00:00:00")) || d.State != "Pending" {
			t.Errorf("%s: %+v, want due at the end of 5 June", ic.Name, d)
		}
	}
}

// TestCaseOpeningCreatesFirst: an opening creates all its cases, in every
// city, before it writes any case's status, says so on the Campaign
// (CasesCreated), and still counts the cases it created as opened.
func TestCaseOpeningCreatesFirst(t *testing.T) {
	cityNS := []string{"two-pass-a", "two-pass-b"}
	for _, ns := range append(slices.Clone(cityNS), "two-pass-op") {
		createNamespace(t, ns)
	}
	camp := testCampaign("two-pass", cityNS, phase("selfinspection", "2020-05-01", "2020-06-30"))
	camp.Spec.Roster = "designated-institutions"
	camp.Spec.Phases[0].SelfInspection = &flycheckv1.PhaseSelfInspection{Scope: flycheckv1.ScopeAll}
	for i, ns := range cityNS {
		mustCreate(t, frameConfigMap(ns, "designated-institutions", makeFrameCSV(testCity{camp.Spec.Cities[i].Code, 40, 3})))
	}
	createCampaign(t, camp)

	// Every case event, in the order the API server sends them (a retry
	// watcher: the API server may close a watch at any time).
	wc, err := client.NewWithWatch(cfg, client.Options{Scheme: testScheme})
	if err != nil {
		t.Fatal(err)
	}
	sel := client.MatchingLabels{flycheckv1.LabelCampaign: camp.Name}
	var initial flycheckv1.InspectionCaseList
	if err := wc.List(context.Background(), &initial, sel); err != nil {
		t.Fatal(err)
	}
	w, err := watchtools.NewRetryWatcherWithContext(context.Background(), initial.ResourceVersion, &cache.ListWatch{
		WatchFuncWithContext: func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
			return wc.Watch(ctx, &flycheckv1.InspectionCaseList{}, sel, &client.ListOptions{Raw: &o})
		}})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	var (
		mu    sync.Mutex
		order []bool // false: a case without origins; true: with
	)
	go func() {
		for ev := range w.ResultChan() {
			if ic, ok := ev.Object.(*flycheckv1.InspectionCase); ok {
				mu.Lock()
				order = append(order, len(ic.Status.Origins) > 0)
				mu.Unlock()
			}
		}
	}()
	startCaseManager(t, cfg, clocktesting.NewFakeClock(shanghai(t, "2020-05-20 09:00:00")), "two-pass-op")
	testenv.Eventually(t, 30*time.Second, func() error {
		mu.Lock()
		defer mu.Unlock()
		with := 0
		for _, o := range order {
			if o {
				with++
			}
		}
		if with != 80 {
			return fmt.Errorf("%d of 80 cases have their status", with)
		}
		return nil
	})
	mu.Lock()
	firstStatus := slices.Index(order, true)
	mu.Unlock()
	if firstStatus < 80 {
		t.Errorf("the first status was written after %d creates; want all 80 created first", firstStatus)
	}
	testenv.Eventually(t, 10*time.Second, func() error {
		var created, opened []string
		for _, e := range campaignEvents(t, camp.Name) {
			switch e.Reason {
			case CaseReasonCasesCreated:
				created = append(created, e.Message)
			case CaseReasonCasesOpened:
				opened = append(opened, e.Message)
			}
		}
		if len(created) != 1 || !strings.Contains(created[0], "created 80 cases in 2 namespaces") {
			return fmt.Errorf("CasesCreated events %q, want one for 80 cases in 2 namespaces", created)
		}
		if len(opened) != 2 || !strings.Contains(opened[0], "opened 40 cases") || !strings.Contains(opened[1], "opened 40 cases") {
			return fmt.Errorf("CasesOpened events %q, want two, 40 cases opened each", opened)
		}
		return nil
	})
}

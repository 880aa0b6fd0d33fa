package controllers

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	eventsv1 "k8s.io/api/events/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/util/retry"
	clocktesting "k8s.io/utils/clock/testing"
	"sigs.k8s.io/controller-runtime/pkg/client"

	flycheckv1 "github.com/medfund/flycheck-operator/api/v1alpha1"
	"github.com/medfund/flycheck-operator/controllers/testenv"
)

// caseEvents lists the events about one case.
func caseEvents(t *testing.T, ns, name string) []eventsv1.Event {
	t.Helper()
	var list eventsv1.EventList
	if err := k8sClient.List(context.Background(), &list, client.InNamespace(ns)); err != nil {
		t.Fatal(err)
	}
	var out []eventsv1.Event
	for _, e := range list.Items {
		if e.Regarding.Kind == "InspectionCase" && e.Regarding.Name == name {
			out = append(out, e)
		}
	}
	return out
}

// handCase is a case as a bureau creates it by hand (or GitOps applies it).
func handCase(ns, campaign, code string, mutate func(*flycheckv1.InspectionCaseSpec)) *flycheckv1.InspectionCase {
	ic := &flycheckv1.InspectionCase{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: CaseName(campaign, code)},
		Spec: flycheckv1.InspectionCaseSpec{
			Institution: flycheckv1.CaseInstitution{Code: code, Name: "医院 " + code, CityCode: "320100", Level: 2},
			CampaignRef: &flycheckv1.CampaignReference{Name: campaign},
		},
	}
	if mutate != nil {
		mutate(&ic.Spec)
	}
	return ic
}

func inspected(amounts ...string) *flycheckv1.OnSite {
	os := &flycheckv1.OnSite{Inspectors: []string{"张伟", "李娜"}, From: "2023-07-10", To: "2023-07-12", WorkingPaper: "西医保底稿〔2023〕17号"}
	for _, a := range amounts {
		os.Violations = append(os.Violations, flycheckv1.Violation{Category: "DuplicateCharge", Amount: flycheckv1.Money(a)})
	}
	return os
}

func updateCase(t *testing.T, ns, name string, mutate func(*flycheckv1.InspectionCaseSpec)) {
	t.Helper()
	if err := tryUpdateCase(t, ns, name, mutate); err != nil {
		t.Fatalf("updating %s: %v", name, err)
	}
}

// tryUpdateCase changes a case's spec as a user would: read, change,
// write, and again on a conflict (the controller may have written its
// status in between). It returns the write's error, for a test that
// expects a rejection.
func tryUpdateCase(t *testing.T, ns, name string, mutate func(*flycheckv1.InspectionCaseSpec)) error {
	t.Helper()
	return retry.RetryOnConflict(retry.DefaultRetry, func() error {
		ic := getCase(t, ns, name)
		mutate(&ic.Spec)
		return k8sClient.Update(context.Background(), ic)
	})
}

func waitCase(t *testing.T, ns, name string, check func(*flycheckv1.InspectionCase) error) *flycheckv1.InspectionCase {
	t.Helper()
	var got *flycheckv1.InspectionCase
	testenv.Eventually(t, 15*time.Second, func() error {
		got = getCase(t, ns, name)
		if got.Status.ObservedGeneration != got.Generation {
			return fmt.Errorf("generation %d not observed (status at %d)", got.Generation, got.Status.ObservedGeneration)
		}
		return check(got)
	})
	return got
}

func stageIs(s flycheckv1.CaseStage) func(*flycheckv1.InspectionCase) error {
	return func(ic *flycheckv1.InspectionCase) error {
		if ic.Status.Stage != s {
			return fmt.Errorf("stage %q, want %q (conditions %+v)", ic.Status.Stage, s, ic.Status.Conditions)
		}
		return nil
	}
}

// TestCaseStagesAndFlags follows one Xicheng-style case from the leads to
// the close, with an under-report, then a blank inspection and a repeat
// offender.
func TestCaseStagesAndFlags(t *testing.T) {
	ns := "life-xicheng"
	createNamespace(t, ns)
	createNamespace(t, "life-op")
	createCampaign(t, testCampaign("life-2020", []string{ns}, phase("all", "2020-04-01", "2020-11-30")))
	createCampaign(t, testCampaign("life-2023", []string{ns}, phase("all", "2023-04-01", "2023-11-30")))
	startCaseManager(t, cfg, clocktesting.NewFakeClock(shanghai(t, "2023-11-20 09:00:00")), "life-op")

	ic := handCase(ns, "life-2023", "H110102001", nil)
	mustCreate(t, ic)
	got := waitCase(t, ns, ic.Name, stageIs("Open"))
	zero := flycheckv1.CaseAmounts{Leads: "0.00", SelfReported: "0.00", Found: "0.00", UnderReported: "0.00", Ordered: "0.00", Recovered: "0.00", Outstanding: "0.00"}
	if *got.Status.Amounts != zero {
		t.Errorf("open: amounts %+v", got.Status.Amounts)
	}

	updateCase(t, ns, ic.Name, func(s *flycheckv1.InspectionCaseSpec) {
		s.SelfInspection = &flycheckv1.SelfInspection{ReportedAt: "2023-06-28", LeadsConfirmed: 3, LeadsDisputed: 1,
			ConfirmedAmount: "3000", PledgeSigned: true}
	})
	got = waitCase(t, ns, ic.Name, stageIs("SelfReported"))
	if a := got.Status.Amounts; a.SelfReported != "3000.00" || a.Outstanding != "3000.00" || a.Found != "0.00" {
		t.Errorf("self-reported: amounts %+v (before a decision the confirmed amount is owed)", a)
	}

	updateCase(t, ns, ic.Name, func(s *flycheckv1.InspectionCaseSpec) {
		s.OnSite = inspected("3000.00", "1500.5")
		s.OnSite.Violations[0].SelfReported = true
	})
	got = waitCase(t, ns, ic.Name, stageIs("Inspected"))
	if !got.Status.UnderReported || got.Status.Blank || got.Status.Amounts.UnderReported != "1500.50" || got.Status.Amounts.Found != "4500.50" ||
		got.Status.Amounts.Outstanding != "3000.00" {
		t.Errorf("after the inspection: underReported %v blank %v amounts %+v", got.Status.UnderReported, got.Status.Blank, got.Status.Amounts)
	}

	updateCase(t, ns, ic.Name, func(s *flycheckv1.InspectionCaseSpec) {
		s.Decision = &flycheckv1.CaseDecision{DecidedAt: "2023-10-10", RectificationDue: "2023-12-31", Actions: []flycheckv1.DecisionAction{
			{Type: flycheckv1.ActionRefund, Amount: "4500.50"}, {Type: flycheckv1.ActionFine, Multiple: 2},
			{Type: flycheckv1.ActionTransfer, To: "HealthCommission"}}}
	})
	got = waitCase(t, ns, ic.Name, stageIs("Rectifying"))
	if a := got.Status.Amounts; a.Ordered != "13501.50" || a.Outstanding != "13501.50" {
		t.Errorf("decided: ordered %s outstanding %s, want 13501.50 (refund 4500.50 + fine 2 × 4500.50)", a.Ordered, a.Outstanding)
	}
	if len(got.Status.Deadlines) != 1 || got.Status.Deadlines[0].Name != "Rectification" || got.Status.Deadlines[0].State != "Pending" {
		t.Errorf("deadlines %+v", got.Status.Deadlines)
	}

	updateCase(t, ns, ic.Name, func(s *flycheckv1.InspectionCaseSpec) {
		s.Recoveries = []flycheckv1.Recovery{{Amount: "4500.50", At: "2023-10-20", Ref: "退款单 0001"}, {Amount: "9001", At: "2023-11-01"}}
		s.RectifiedAt = "2023-11-15"
	})
	got = waitCase(t, ns, ic.Name, stageIs("Closed"))
	if got.Status.Amounts.Recovered != "13501.50" || got.Status.Amounts.Outstanding != "0.00" || got.Status.Deadlines[0].State != "Met" {
		t.Errorf("closed: amounts %+v deadlines %+v", got.Status.Amounts, got.Status.Deadlines)
	}
	var stages []string
	testenv.Eventually(t, 10*time.Second, func() error {
		stages = nil
		for _, e := range caseEvents(t, ns, ic.Name) {
			if e.Reason == CaseReasonStageChanged {
				stages = append(stages, e.Note)
			}
		}
		if len(stages) != 4 {
			return fmt.Errorf("stage events %v", stages)
		}
		return nil
	})
	for _, want := range []string{"Stage Open → SelfReported", "Stage SelfReported → Inspected", "Stage Inspected → Rectifying", "Stage Rectifying → Closed"} {
		if !slices.Contains(stages, want) {
			t.Errorf("no event %q in %v", want, stages)
		}
	}

	// A blank inspection (空白户).
	blank := handCase(ns, "life-2023", "H110102002", func(s *flycheckv1.InspectionCaseSpec) { s.OnSite = inspected() })
	mustCreate(t, blank)
	got = waitCase(t, ns, blank.Name, stageIs("Inspected"))
	if !got.Status.Blank || got.Status.UnderReported {
		t.Errorf("blank %v underReported %v", got.Status.Blank, got.Status.UnderReported)
	}

	// The first institution had a case in 2020 with violations confirmed
	// and decided before the 2023 campaign began: recorded now, it makes the
	// 2023 case a repeat offender (and not the other way round).
	old := handCase(ns, "life-2020", "H110102001", func(s *flycheckv1.InspectionCaseSpec) {
		s.OnSite = inspected("800.00")
		s.OnSite.From, s.OnSite.To = "2020-08-01", "2020-08-02"
		s.Decision = &flycheckv1.CaseDecision{DecidedAt: "2020-09-01", Actions: []flycheckv1.DecisionAction{{Type: flycheckv1.ActionRefund, Amount: "800"}}}
	})
	mustCreate(t, old)
	waitCase(t, ns, ic.Name, func(c *flycheckv1.InspectionCase) error {
		if !c.Status.RepeatOffender || !slices.Equal(c.Status.RepeatOf, []string{"life-2020"}) {
			return fmt.Errorf("repeatOffender %v repeatOf %v", c.Status.RepeatOffender, c.Status.RepeatOf)
		}
		return nil
	})
	if b := getCase(t, ns, blank.Name); b.Status.RepeatOffender {
		t.Error("another institution became a repeat offender")
	}
	if o := getCase(t, ns, old.Name); o.Status.RepeatOffender {
		t.Error("the 2020 case is a repeat offender of the later campaign")
	}
	// The 2020 case's decision withdrawn (say it was annulled): no longer.
	updateCase(t, ns, old.Name, func(s *flycheckv1.InspectionCaseSpec) { s.Decision = nil })
	waitCase(t, ns, ic.Name, func(c *flycheckv1.InspectionCase) error {
		if c.Status.RepeatOffender {
			return fmt.Errorf("still a repeat offender: %v", c.Status.RepeatOf)
		}
		return nil
	})
}

// TestCaseRollupExactToTheFen: the Campaign's per-city rows add the cases up
// in fen (30 amounts of 0.10 and 0.20 are 5.00 exactly), leave the
// province's fly-check cases out, and show a case change within 2 s.
func TestCaseRollupExactToTheFen(t *testing.T) {
	cityNS := []string{"rollup-nanjing", "rollup-wuxi"}
	for _, ns := range append(slices.Clone(cityNS), "rollup-province", "rollup-op") {
		createNamespace(t, ns)
	}
	camp := testCampaign("rollup", cityNS, phase("all", "2023-01-01", "2023-12-31"))
	camp.Spec.ProvinceNamespace = "rollup-province"
	createCampaign(t, camp)
	startCaseManager(t, cfg, clocktesting.NewFakeClock(shanghai(t, "2023-11-20 09:00:00")), "rollup-op")

	for i := range 30 {
		amount := "0.10"
		if i >= 10 {
			amount = "0.20"
		}
		mustCreate(t, handCase(cityNS[0], camp.Name, fmt.Sprintf("H32010000%02d", i), func(s *flycheckv1.InspectionCaseSpec) {
			s.OnSite = inspected(amount)
			s.Decision = &flycheckv1.CaseDecision{DecidedAt: "2023-08-01", Actions: []flycheckv1.DecisionAction{{Type: flycheckv1.ActionRefund, Amount: flycheckv1.Money(amount)}}}
			if i%3 == 0 {
				s.Recoveries = []flycheckv1.Recovery{{Amount: flycheckv1.Money(amount), At: "2023-09-01"}}
			}
		}))
	}
	for i := range 2 {
		mustCreate(t, handCase(cityNS[0], camp.Name, fmt.Sprintf("H32010001%02d", i), func(s *flycheckv1.InspectionCaseSpec) { s.OnSite = inspected() }))
	}
	mustCreate(t, handCase(cityNS[0], camp.Name, "H3201000200", func(s *flycheckv1.InspectionCaseSpec) {
		s.SelfInspection = &flycheckv1.SelfInspection{ReportedAt: "2023-06-20", ConfirmedAmount: "10"}
	}))
	mustCreate(t, handCase(cityNS[1], camp.Name, "H3202000001", func(s *flycheckv1.InspectionCaseSpec) {
		s.OnSite = inspected("1234.56", "0.44")
		// Rectification was due on 30 September and is not done: overdue.
		s.Decision = &flycheckv1.CaseDecision{DecidedAt: "2023-08-01", RectificationDue: "2023-09-30",
			Actions: []flycheckv1.DecisionAction{{Type: flycheckv1.ActionRefund, Amount: "1235.00"}, {Type: flycheckv1.ActionFine, Amount: "2470.00"}}}
	}))
	// A fly-check case in the province namespace: not in any city's row.
	mustCreate(t, handCase("rollup-province", camp.Name, "H3201000000", func(s *flycheckv1.InspectionCaseSpec) { s.OnSite = inspected("99999.99") }))

	type row struct {
		cases, inspected, withFindings, blank, overdue, selfReported, pct int32
		found, ordered, recovered                                         flycheckv1.Money
	}
	want := map[string]row{
		// recovered: i = 0, 3, 6, 9 (4 × 0.10) and 12, 15, …, 27 (6 × 0.20)
		"city0": {33, 32, 30, 2, 0, 1, 93, "5.00", "5.00", "1.60"},
		"city1": {1, 1, 1, 0, 1, 0, 100, "1235.00", "3705.00", "0.00"},
	}
	rows := func() (map[string]row, error) {
		out := map[string]row{}
		for _, r := range getCampaign(t, camp.Name).Status.Cities {
			if r.ProblemDiscoveryPercent == nil {
				return nil, fmt.Errorf("city %s has no problem-discovery rate yet", r.Name)
			}
			out[r.Name] = row{r.Cases, r.Inspected, r.WithFindings, r.Blank, r.Overdue, r.SelfReported, *r.ProblemDiscoveryPercent, r.Found, r.Ordered, r.Recovered}
		}
		return out, nil
	}
	testenv.Eventually(t, 30*time.Second, func() error {
		got, err := rows()
		if err != nil {
			return err
		}
		for city, w := range want {
			if got[city] != w {
				return fmt.Errorf("%s: %+v, want %+v", city, got[city], w)
			}
		}
		return nil
	})
	for _, r := range getCampaign(t, camp.Name).Status.Cities {
		t.Logf("roll-up %s: cases %d, self-reported %d, inspected %d, with findings %d, blank %d, problem-discovery %d%%, found %s, ordered %s, recovered %s, overdue %d",
			r.Name, r.Cases, r.SelfReported, r.Inspected, r.WithFindings, r.Blank, *r.ProblemDiscoveryPercent, r.Found, r.Ordered, r.Recovered, r.Overdue)
	}

	// One recovery of one fen: the Campaign shows it within 2 s.
	name := CaseName(camp.Name, "H3202000001")
	start := time.Now()
	updateCase(t, cityNS[1], name, func(s *flycheckv1.InspectionCaseSpec) {
		s.Recoveries = []flycheckv1.Recovery{{Amount: "0.01", At: "2023-11-20"}}
	})
	var latency time.Duration
	for {
		if r, err := rows(); err == nil && r["city1"].recovered == "0.01" {
			latency = time.Since(start)
			break
		}
		if time.Since(start) > 10*time.Second {
			t.Fatal("the recovery did not reach the Campaign within 10 s")
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Logf("case update to Campaign roll-up: %s", latency.Round(time.Millisecond))
	if latency >= 2*time.Second {
		t.Errorf("roll-up latency %s ≥ 2 s", latency)
	}
	if c := getCase(t, cityNS[1], name); condStatus(c.Status.Conditions, flycheckv1.ConditionOverdue) != "True" {
		t.Errorf("the unrectified case is not overdue: %+v", c.Status.Conditions)
	}
	var n int
	var list flycheckv1.InspectionCaseList
	if err := k8sClient.List(context.Background(), &list, client.MatchingFields{caseCampaignIndex: camp.Name}); err != nil {
		t.Fatal(err)
	}
	n = len(list.Items)
	if n != 35 {
		t.Errorf("the API server's field selector %s=%s lists %d cases, want 35", caseCampaignIndex, camp.Name, n)
	}
}

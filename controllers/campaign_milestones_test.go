package controllers

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	flycheckv1 "github.com/medfund/flycheck-operator/api/v1alpha1"
)

// milestoneCampaign: Huaibei's self-inspection reports by 5 June and a
// decision milestone by 10 June, cards after 1 and 2 misses.
func milestoneCampaign(name string, namespaces []string) *flycheckv1.Campaign {
	c := testCampaign(name, namespaces, phase("selfinspection", "2020-05-01", "2020-06-30"))
	c.Spec.Milestones = []flycheckv1.Milestone{
		{Name: "selfreports", DisplayName: "自查报告报送", Due: "2020-06-05", Requirement: "SelfInspectionReported"},
		{Name: "decisions", DisplayName: "定性处理", Due: "2020-06-10", Requirement: "Decided", MinPercent: ptr.To[int32](50)},
	}
	c.Spec.Cards = &flycheckv1.Cards{YellowAfterMissed: 1, RedAfterMissed: 2}
	return c
}

func cityRow(t *testing.T, c *flycheckv1.Campaign, city string) flycheckv1.CityStatus {
	t.Helper()
	for _, r := range c.Status.Cities {
		if r.Name == city {
			return r
		}
	}
	t.Fatalf("no status row for %s: %+v", city, c.Status.Cities)
	return flycheckv1.CityStatus{}
}

func milestoneStates(row flycheckv1.CityStatus) string {
	var parts []string
	for _, m := range row.Milestones {
		parts = append(parts, fmt.Sprintf("%s=%s %d/%d", m.Name, m.State, m.Done, m.Total))
	}
	return strings.Join(parts, ", ")
}

func TestMilestonesAndCardsAtTheDueInstant(t *testing.T) {
	createNamespace(t, "ms-a")
	createNamespace(t, "ms-b")
	c := milestoneCampaign("milestones", []string{"ms-a", "ms-b"})
	createCampaign(t, c)
	// City 0 reports on 3 June and has one of its two cases decided on 8
	// June; city 1 reports nothing and decides nothing.
	mustCreate(t, handCase("ms-a", c.Name, "H1", func(s *flycheckv1.InspectionCaseSpec) {
		s.SelfInspection = &flycheckv1.SelfInspection{ReportedAt: "2020-06-03"}
		s.Decision = &flycheckv1.CaseDecision{DecidedAt: "2020-06-08"}
	}))
	mustCreate(t, handCase("ms-a", c.Name, "H2", func(s *flycheckv1.InspectionCaseSpec) {
		s.SelfInspection = &flycheckv1.SelfInspection{ReportedAt: "2020-06-05T23:59:59+08:00"}
	}))
	mustCreate(t, handCase("ms-b", c.Name, "H3", nil))

	firstDue := shanghai(t, "2020-06-06 00:00:00")
	secondDue := shanghai(t, "2020-06-11 00:00:00")
	r, clk := newTestReconciler(firstDue.Add(-time.Nanosecond))

	steps := []struct {
		at                 time.Time
		cityA, cityB       string
		cardA, cardB       flycheckv1.Card
		behindB            []string
		requeue            time.Duration
		nextMilestone      time.Time
		reconcileTwiceHere bool
	}{
		{firstDue.Add(-time.Nanosecond),
			"selfreports=Pending 2/2, decisions=Pending 0/2", "selfreports=Pending 0/1, decisions=Pending 0/1",
			flycheckv1.CardGreen, flycheckv1.CardGreen, nil, time.Nanosecond + requeuePad, firstDue, false},
		{firstDue,
			"selfreports=Met 2/2, decisions=Pending 0/2", "selfreports=Missed 0/1, decisions=Pending 0/1",
			flycheckv1.CardGreen, flycheckv1.CardYellow, []string{"selfreports"}, secondDue.Sub(firstDue) + requeuePad, secondDue, true},
		{secondDue.Add(-time.Nanosecond),
			"selfreports=Met 2/2, decisions=Pending 1/2", "selfreports=Missed 0/1, decisions=Pending 0/1",
			flycheckv1.CardGreen, flycheckv1.CardYellow, []string{"selfreports"}, time.Nanosecond + requeuePad, secondDue, false},
		{secondDue,
			"selfreports=Met 2/2, decisions=Met 1/2", "selfreports=Missed 0/1, decisions=Missed 0/1",
			flycheckv1.CardGreen, flycheckv1.CardRed, []string{"selfreports", "decisions"},
			// the next change is the phase's end on 1 July
			shanghai(t, "2020-07-01 00:00:00").Sub(secondDue) + requeuePad, time.Time{}, true},
	}
	for i, s := range steps {
		clk.SetTime(s.at)
		res := reconcileCampaign(t, r, c.Name)
		if s.reconcileTwiceHere {
			res = reconcileCampaign(t, r, c.Name)
		}
		got := getCampaign(t, c.Name)
		a, b := cityRow(t, got, "city0"), cityRow(t, got, "city1")
		if milestoneStates(a) != s.cityA || milestoneStates(b) != s.cityB {
			t.Errorf("step %d: city0 %s; city1 %s\nwant city0 %s; city1 %s", i, milestoneStates(a), milestoneStates(b), s.cityA, s.cityB)
		}
		if a.Card != s.cardA || b.Card != s.cardB || fmt.Sprint(b.CardMilestones) != fmt.Sprint(s.behindB) {
			t.Errorf("step %d: cards %s, %s %v; want %s, %s %v", i, a.Card, b.Card, b.CardMilestones, s.cardA, s.cardB, s.behindB)
		}
		if res.RequeueAfter != s.requeue {
			t.Errorf("step %d: requeue after %s, want %s (exactly the next due instant, no polling)", i, res.RequeueAfter, s.requeue)
		}
		switch {
		case s.nextMilestone.IsZero() && got.Status.NextMilestoneAt != nil:
			t.Errorf("step %d: nextMilestoneAt %s, want none", i, got.Status.NextMilestoneAt)
		case !s.nextMilestone.IsZero() && (got.Status.NextMilestoneAt == nil || !got.Status.NextMilestoneAt.Equal(&metav1.Time{Time: s.nextMilestone})):
			t.Errorf("step %d: nextMilestoneAt %v, want %s", i, got.Status.NextMilestoneAt, s.nextMilestone)
		}
	}

	// One event per change: two milestones per city fell due, city1's card
	// went yellow, then red.
	evs := waitForEvents(t, c.Name, []string{CampaignReasonPhaseStarted,
		CampaignReasonMilestoneMet, CampaignReasonMilestoneMissed, CampaignReasonCardChanged,
		CampaignReasonMilestoneMet, CampaignReasonMilestoneMissed, CampaignReasonCardChanged})
	var cards []string
	for _, e := range evs {
		if e.Reason == CampaignReasonCardChanged {
			if e.Type != "Warning" {
				t.Errorf("CardChanged is %s, want Warning", e.Type)
			}
			cards = append(cards, e.Message)
		}
	}
	if len(cards) != 2 || !strings.Contains(cards[0], "Green -> Yellow") || !strings.Contains(cards[1], "Yellow -> Red") {
		t.Errorf("card events %q, want Green -> Yellow then Yellow -> Red", cards)
	}
}

// A report recorded late but dated before the due instant turns a missed
// milestone into a met one, with one event each way.
func TestMilestoneMetByALateRecord(t *testing.T) {
	createNamespace(t, "ms-late")
	c := milestoneCampaign("milestones-late", []string{"ms-late"})
	c.Spec.Milestones = c.Spec.Milestones[:1]
	createCampaign(t, c)
	mustCreate(t, handCase("ms-late", c.Name, "H9", nil))
	r, clk := newTestReconciler(shanghai(t, "2020-06-07 10:00:00"))
	reconcileCampaign(t, r, c.Name)
	if row := cityRow(t, getCampaign(t, c.Name), "city0"); row.Card != flycheckv1.CardYellow {
		t.Fatalf("card %s (%s), want Yellow", row.Card, milestoneStates(row))
	}
	updateCase(t, "ms-late", CaseName(c.Name, "H9"), func(s *flycheckv1.InspectionCaseSpec) {
		s.SelfInspection = &flycheckv1.SelfInspection{ReportedAt: "2020-06-04"}
	})
	clk.Step(time.Hour)
	reconcileCampaign(t, r, c.Name)
	if row := cityRow(t, getCampaign(t, c.Name), "city0"); row.Card != flycheckv1.CardGreen || milestoneStates(row) != "selfreports=Met 1/1" {
		t.Fatalf("card %s (%s), want Green with selfreports met", row.Card, milestoneStates(row))
	}
	waitForEvents(t, c.Name, []string{CampaignReasonPhaseStarted, CampaignReasonMilestoneMissed, CampaignReasonCardChanged,
		CampaignReasonMilestoneMet, CampaignReasonCardChanged})
}

func TestMilestoneValidation(t *testing.T) {
	valid := func() *flycheckv1.Campaign {
		c := milestoneCampaign("", []string{"a"})
		c.Spec.Phases = append(c.Spec.Phases, phase("summary", "2020-11-01", "2020-11-15"))
		c.Spec.Reporting = &flycheckv1.Reporting{Weekly: &flycheckv1.WeeklyReport{Day: "Monday", Time: "09:00"}, Keep: 2, SummaryPhase: "summary"}
		return c
	}
	tests := []struct {
		name   string
		mutate func(c *flycheckv1.Campaign)
		field  string
		msg    string
	}{
		{"duplicate milestone names", func(c *flycheckv1.Campaign) { c.Spec.Milestones[1].Name = "selfreports" },
			"spec.milestones", "milestone names must be unique"},
		{"minPercent above 100", func(c *flycheckv1.Campaign) { c.Spec.Milestones[1].MinPercent = ptr.To[int32](101) },
			"spec.milestones[1].minPercent", "less than or equal to 100"},
		{"negative minPercent", func(c *flycheckv1.Campaign) { c.Spec.Milestones[1].MinPercent = ptr.To[int32](-1) },
			"spec.milestones[1].minPercent", "greater than or equal to 0"},
		{"31 June", func(c *flycheckv1.Campaign) { c.Spec.Milestones[0].Due = "2020-06-31" },
			"spec.milestones[0].due", "2020-06-31 is not a calendar date"},
		{"not a date", func(c *flycheckv1.Campaign) { c.Spec.Milestones[0].Due = "6月5日" },
			"spec.milestones[0].due", "should match"},
		{"unknown requirement", func(c *flycheckv1.Campaign) { c.Spec.Milestones[0].Requirement = "Paid" },
			"spec.milestones[0].requirement", "Unsupported value"},
		{"yellow after red", func(c *flycheckv1.Campaign) { c.Spec.Cards.YellowAfterMissed = 3 },
			"spec.cards", "yellowAfterMissed must not exceed redAfterMissed"},
		{"weekday", func(c *flycheckv1.Campaign) { c.Spec.Reporting.Weekly.Day = "Mon" },
			"spec.reporting.weekly.day", "Unsupported value"},
		{"time of day", func(c *flycheckv1.Campaign) { c.Spec.Reporting.Weekly.Time = "24:00" },
			"spec.reporting.weekly.time", "should match"},
		{"weekly and every", func(c *flycheckv1.Campaign) {
			c.Spec.Reporting.Every = &metav1.Duration{Duration: 10 * time.Minute}
		}, "spec.reporting", "give reporting.weekly or reporting.every, not both"},
		{"every too short", func(c *flycheckv1.Campaign) {
			c.Spec.Reporting.Weekly, c.Spec.Reporting.Every = nil, &metav1.Duration{Duration: time.Second}
		}, "spec.reporting", "reporting.every must be at least 5s"},
		{"summary phase unknown", func(c *flycheckv1.Campaign) { c.Spec.Reporting.SummaryPhase = "final" },
			"spec.reporting.summaryPhase", "must name a phase"},
		{"keep 0 is not a count", func(c *flycheckv1.Campaign) { c.Spec.Reporting.Keep = -1 },
			"spec.reporting.keep", "greater than or equal to 1"},
	}
	base := valid()
	base.Name = "ms-validation-base"
	if err := k8sClient.Create(context.Background(), base, client.DryRunAll); err != nil {
		t.Fatalf("the valid base campaign was rejected: %v", err)
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := valid()
			c.Name = fmt.Sprintf("ms-validation-%d", i)
			tc.mutate(c)
			err := k8sClient.Create(context.Background(), c, client.DryRunAll)
			if err == nil {
				t.Fatal("the apiserver accepted an invalid campaign")
			}
			if !strings.Contains(err.Error(), tc.field) || !strings.Contains(err.Error(), tc.msg) {
				t.Errorf("error does not name %q with %q:\n%v", tc.field, tc.msg, err)
			}
		})
	}
}

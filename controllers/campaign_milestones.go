package controllers

import (
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"

	flycheckv1 "github.com/medfund/flycheck-operator/api/v1alpha1"
	"github.com/medfund/flycheck-operator/internal/cases"
	"github.com/medfund/flycheck-operator/internal/milestones"
)

// The Campaign's milestones and cards (DESIGN §9): each city's cases counted
// against the plan's dated deliverables by internal/milestones, written into
// status.cities[], with an event for every milestone that falls due and a
// Warning whenever a city's card changes.

// milestoneSpecs resolves the spec's milestones in the campaign's zone.
func milestoneSpecs(spec []flycheckv1.Milestone, loc *time.Location) ([]milestones.Milestone, error) {
	out := make([]milestones.Milestone, 0, len(spec))
	for i, m := range spec {
		due, err := cases.DueBy(string(m.Due), loc)
		if err != nil {
			return nil, fmt.Errorf("spec.milestones[%d].due: %w", i, err)
		}
		pct := 100
		if m.MinPercent != nil {
			pct = int(*m.MinPercent)
		}
		ms := milestones.Milestone{Name: m.Name, Requirement: milestones.Requirement(m.Requirement), MinPercent: pct, Due: due}
		for _, o := range m.Origins {
			ms.Origins = append(ms.Origins, string(o))
		}
		out = append(out, ms)
	}
	return out, milestones.Validate(out)
}

// milestoneCases is each city's cases as the milestones see them.
func milestoneCases(byCity map[string][]*flycheckv1.InspectionCase, loc *time.Location) map[string][]milestones.Case {
	out := map[string][]milestones.Case{}
	for city, list := range byCity {
		for _, ic := range list {
			out[city] = append(out[city], milestoneCase(ic, loc))
		}
	}
	return out
}

// milestoneCase is when a case reached each requirement, read from the
// dates people recorded. A date that does not parse leaves its requirement
// unreached: the case's own status says what is wrong with it.
func milestoneCase(ic *flycheckv1.InspectionCase, loc *time.Location) milestones.Case {
	mc := milestones.Case{Done: map[milestones.Requirement]time.Time{}}
	for _, o := range ic.Status.Origins {
		mc.Origins = append(mc.Origins, string(o.Type))
	}
	at := func(req milestones.Requirement, d flycheckv1.Date) time.Time {
		if d == "" {
			return time.Time{}
		}
		t, err := cases.EventAt(string(d), loc)
		if err == nil {
			mc.Done[req] = t
		}
		return t
	}
	spec := &ic.Spec
	var settled time.Time
	if si := spec.SelfInspection; si != nil {
		settled = at(milestones.SelfInspectionReported, si.ReportedAt)
		if si.PledgeSigned {
			at(milestones.Pledged, si.ReportedAt)
		}
	}
	os := effectiveOnSite(ic, ic.Status.HandOff)
	if os != nil {
		at(milestones.Inspected, os.To)
	}
	if d := effectiveDecision(ic, ic.Status.HandOff); d != nil {
		settled = at(milestones.Decided, d.DecidedAt)
	} else if os != nil && os.To != "" && len(os.Violations) == 0 {
		// A blank inspection (空白户) leaves nothing to rule on: it counts
		// as decided when the inspection ended.
		at(milestones.Decided, os.To)
	}
	at(milestones.Rectified, spec.RectifiedAt)
	if spec.FollowUp != nil {
		at(milestones.FollowedUp, spec.FollowUp.At)
	}
	if t, ok := refundedAt(ic, settled, loc); ok {
		mc.Done[milestones.Refunded] = t
	}
	return mc
}

// refundedAt: what a case owes is its outstanding plus its recovered sum
// (the status' amounts, computed by the case controller).
func refundedAt(ic *flycheckv1.InspectionCase, settled time.Time, loc *time.Location) (time.Time, bool) {
	a := ic.Status.Amounts
	if a == nil {
		return time.Time{}, false
	}
	outstanding, err1 := cases.ParseOptional(string(a.Outstanding))
	recovered, err2 := cases.ParseOptional(string(a.Recovered))
	owed, err3 := outstanding.Add(recovered)
	if err1 != nil || err2 != nil || err3 != nil {
		return time.Time{}, false
	}
	var recs []cases.Recovery
	for _, rec := range ic.Spec.Recoveries {
		amount, err := cases.ParseOptional(string(rec.Amount))
		t, err2 := cases.EventAt(string(rec.At), loc)
		if err != nil || err2 != nil {
			return time.Time{}, false
		}
		recs = append(recs, cases.Recovery{Amount: amount, At: t})
	}
	return milestones.RefundedAt(owed, recs, settled)
}

// setMilestones evaluates every city's milestones and card at now into
// status, and returns the events to record with the write and the next
// due instant (zero: none left).
func (r *CampaignReconciler) setMilestones(camp *flycheckv1.Campaign,
	status *flycheckv1.CampaignStatus, byCity map[string][]*flycheckv1.InspectionCase, loc *time.Location, now time.Time) ([]note, time.Time, error) {
	if len(camp.Spec.Milestones) == 0 && camp.Spec.Cards == nil {
		for i := range status.Cities {
			status.Cities[i].Milestones, status.Cities[i].Card, status.Cities[i].CardMilestones = nil, "", nil
		}
		status.NextMilestoneAt = nil
		return nil, time.Time{}, nil
	}
	specs, err := milestoneSpecs(camp.Spec.Milestones, loc)
	if err != nil {
		return nil, time.Time{}, err
	}
	cityCases := milestoneCases(byCity, loc)
	var policy milestones.CardPolicy
	if c := camp.Spec.Cards; c != nil {
		policy = milestones.CardPolicy{YellowAfterMissed: int(c.YellowAfterMissed), RedAfterMissed: int(c.RedAfterMissed)}
	}
	for i := range status.Cities {
		row := &status.Cities[i]
		results := milestones.Evaluate(specs, cityCases[row.Name], now)
		row.Milestones = make([]flycheckv1.CityMilestone, len(results))
		for j, res := range results {
			row.Milestones[j] = flycheckv1.CityMilestone{Name: res.Name, Done: int32(res.Done), Total: int32(res.Total),
				State: flycheckv1.MilestoneState(res.State)}
		}
		row.Card, row.CardMilestones = "", nil
		if camp.Spec.Cards != nil {
			card, missed := milestones.CardFor(results, policy)
			row.Card, row.CardMilestones = flycheckv1.Card(card), missed
		}
	}
	next, ok := milestones.NextDue(specs, now)
	status.NextMilestoneAt = nil
	if ok {
		status.NextMilestoneAt = timePtr(next)
	}
	return milestoneNotes(camp, camp.Status.Cities, status.Cities), next, nil
}

// milestoneNotes: one Normal event per city and milestone that became Met
// or Missed, and a Warning per city whose card changed, comparing the
// stored rows with the new ones.
func milestoneNotes(camp *flycheckv1.Campaign, before, after []flycheckv1.CityStatus) []note {
	prev := map[string]flycheckv1.CityStatus{}
	for _, c := range before {
		prev[c.Name] = c
	}
	display := map[string]string{}
	for _, c := range camp.Spec.Cities {
		display[c.Name] = c.Name
		if c.DisplayName != "" {
			display[c.Name] = c.DisplayName + " (" + c.Name + ")"
		}
	}
	var notes []note
	for _, row := range after {
		old := prev[row.Name]
		was := map[string]flycheckv1.MilestoneState{}
		for _, m := range old.Milestones {
			was[m.Name] = m.State
		}
		for _, m := range row.Milestones {
			if m.State == was[m.Name] || m.State == flycheckv1.MilestonePending {
				continue
			}
			reason := CampaignReasonMilestoneMet
			if m.State == flycheckv1.MilestoneMissed {
				reason = CampaignReasonMilestoneMissed
			}
			notes = append(notes, note{corev1.EventTypeNormal, reason, "Evaluate",
				fmt.Sprintf("%s: milestone %s %s, %d of %d cases done", display[row.Name], m.Name, m.State, m.Done, m.Total)})
		}
		oldCard := old.Card
		if oldCard == "" {
			oldCard = flycheckv1.CardGreen
		}
		if row.Card != "" && row.Card != oldCard {
			msg := fmt.Sprintf("%s: card %s -> %s", display[row.Name], oldCard, row.Card)
			if len(row.CardMilestones) > 0 {
				msg += fmt.Sprintf(" (missed: %v)", row.CardMilestones)
			}
			notes = append(notes, note{corev1.EventTypeWarning, CampaignReasonCardChanged, "Evaluate", msg})
		}
	}
	return notes
}

// soonest is the shorter of a requeue delay and the wait until at (plus
// the pad), ignoring a zero at; 0 delay means none yet.
func soonest(requeue time.Duration, at, now time.Time) time.Duration {
	if at.IsZero() {
		return requeue
	}
	d := at.Sub(now) + requeuePad
	if requeue == 0 || d < requeue {
		return d
	}
	return requeue
}

// Package milestones evaluates a campaign's dated deliverables (工作节点) and
// the red and yellow cards (红黄牌) of the cities that miss them.
//
// The plans are full of deadlines that every institution of a city must
// meet: Huaibei 2020 wants the self-inspection reports by 5 June, Jiangsu
// 2020 the refunds and the written pledges by 15 July. A milestone counts,
// per city, the cases that reached a requirement (reported, refunded,
// inspected, ...) and is Pending until its due instant, then Met when at
// least minPercent of the cases had reached it before that instant, else
// Missed. Luohe's weekly report shows a yellow card to a region that lags
// (约谈, an interview) and a red one to a region that lags more (通报批评,
// public criticism): here a city's card follows how many milestones it
// missed.
//
// Everything is a pure function of the milestones, the cases' recorded
// dates and the instant asked about: a case recorded late with an earlier
// date counts as done on that date (the report was in on time; only its
// record was late). Nothing here knows Kubernetes.
package milestones

import (
	"fmt"
	"slices"
	"sort"
	"time"

	"github.com/medfund/flycheck-operator/internal/cases"
)

// Requirement is what a case must have reached to count as done.
type Requirement string

const (
	// SelfInspectionReported: the institution's self-inspection report is
	// in (自查报告).
	SelfInspectionReported Requirement = "SelfInspectionReported"
	// Pledged: the self-inspection report came with a signed written
	// pledge (书面承诺, Jiangsu 2020).
	Pledged Requirement = "Pledged"
	// Refunded: every yuan the case owes (the self-reported amount, or
	// what the decision ordered) has been returned to the fund (退回).
	Refunded Requirement = "Refunded"
	// Inspected: the on-site verification ended.
	Inspected Requirement = "Inspected"
	// Decided: the bureau ruled (定性处理).
	Decided Requirement = "Decided"
	// Rectified: the institution's rectification is recorded (整改).
	Rectified Requirement = "Rectified"
	// FollowedUp: the follow-up visit (回头看) took place.
	FollowedUp Requirement = "FollowedUp"
)

// Requirements lists every requirement, in the order a case meets them.
var Requirements = []Requirement{SelfInspectionReported, Pledged, Refunded, Inspected, Decided, Rectified, FollowedUp}

// State is where a milestone stands in one city.
type State string

const (
	Pending State = "Pending"
	Met     State = "Met"
	Missed  State = "Missed"
)

// Card is a city's card.
type Card string

const (
	Green  Card = "Green"
	Yellow Card = "Yellow"
	Red    Card = "Red"
)

// Milestone is one dated deliverable.
type Milestone struct {
	Name        string
	Requirement Requirement
	// Origins restricts the cases counted to those brought in by one of
	// these origins (Screening, Recheck, FlyCheck, TipOff); empty: all.
	Origins []string
	// MinPercent of the city's cases must be done by Due, 0..100.
	MinPercent int
	// Due is the first late instant (a due date's whole day counts).
	Due time.Time
}

// Case is one case as the milestones see it: what brought it and when it
// reached each requirement (absent: not reached).
type Case struct {
	Origins []string
	Done    map[Requirement]time.Time
}

// Result is one milestone in one city.
type Result struct {
	Name string
	// Done counts the cases that reached the requirement: by now while
	// Pending, by the due instant once it passed. Total counts the cases
	// in scope.
	Done, Total int
	State       State
}

// Validate rejects what the API schema rejects too, for callers that did
// not come through it (files given to the CLI).
func Validate(ms []Milestone) error {
	seen := map[string]bool{}
	for _, m := range ms {
		if seen[m.Name] {
			return fmt.Errorf("milestone %q: names must be unique", m.Name)
		}
		seen[m.Name] = true
		if !slices.Contains(Requirements, m.Requirement) {
			return fmt.Errorf("milestone %q: unknown requirement %q", m.Name, m.Requirement)
		}
		if m.MinPercent < 0 || m.MinPercent > 100 {
			return fmt.Errorf("milestone %q: minPercent %d is not in 0..100", m.Name, m.MinPercent)
		}
		if m.Due.IsZero() {
			return fmt.Errorf("milestone %q: no due instant", m.Name)
		}
	}
	return nil
}

// Evaluate is each milestone in one city at now, in milestone order.
func Evaluate(ms []Milestone, cs []Case, now time.Time) []Result {
	out := make([]Result, 0, len(ms))
	for _, m := range ms {
		r := Result{Name: m.Name, State: Pending}
		cutoff, due := now, !now.Before(m.Due)
		if due {
			cutoff = m.Due
		}
		for _, c := range cs {
			if !inScope(m, c) {
				continue
			}
			r.Total++
			if t, ok := c.Done[m.Requirement]; ok && doneBy(t, cutoff, due) {
				r.Done++
			}
		}
		if due {
			r.State = Missed
			if r.Done*100 >= m.MinPercent*r.Total {
				r.State = Met
			}
		}
		out = append(out, r)
	}
	return out
}

// doneBy: before the due instant a case counts once its date has come; at
// the due instant only what happened strictly before it counts (the due
// instant is the first late one).
func doneBy(t, cutoff time.Time, due bool) bool {
	if due {
		return t.Before(cutoff)
	}
	return !t.After(cutoff)
}

func inScope(m Milestone, c Case) bool {
	if len(m.Origins) == 0 {
		return true
	}
	for _, o := range c.Origins {
		if slices.Contains(m.Origins, o) {
			return true
		}
	}
	return false
}

// CardPolicy says how many missed milestones earn each card; 0 disables
// a card.
type CardPolicy struct {
	YellowAfterMissed, RedAfterMissed int
}

// CardFor is a city's card and the missed milestones behind it (in
// milestone order; none for Green).
func CardFor(rs []Result, p CardPolicy) (Card, []string) {
	var missed []string
	for _, r := range rs {
		if r.State == Missed {
			missed = append(missed, r.Name)
		}
	}
	n := len(missed)
	switch {
	case p.RedAfterMissed > 0 && n >= p.RedAfterMissed:
		return Red, missed
	case p.YellowAfterMissed > 0 && n >= p.YellowAfterMissed:
		return Yellow, missed
	}
	return Green, nil
}

// NextDue is the earliest due instant after now: when the milestones next
// change by themselves.
func NextDue(ms []Milestone, now time.Time) (time.Time, bool) {
	var next time.Time
	for _, m := range ms {
		if m.Due.After(now) && (next.IsZero() || m.Due.Before(next)) {
			next = m.Due
		}
	}
	return next, !next.IsZero()
}

// RefundedAt is the instant a case had returned all it owes: the recovery
// that brought the sum recovered to owed. A case that owes nothing was
// refunded as soon as it said so (settled, the instant of its self-report
// or decision; zero if neither happened yet).
func RefundedAt(owed cases.Fen, recs []cases.Recovery, settled time.Time) (time.Time, bool) {
	if owed <= 0 {
		return settled, !settled.IsZero()
	}
	sorted := slices.Clone(recs)
	sort.SliceStable(sorted, func(i, j int) bool { return sorted[i].At.Before(sorted[j].At) })
	var sum cases.Fen
	for _, r := range sorted {
		var err error
		if sum, err = sum.Add(r.Amount); err != nil {
			return r.At, true
		}
		if sum >= owed {
			return r.At, true
		}
	}
	return time.Time{}, false
}

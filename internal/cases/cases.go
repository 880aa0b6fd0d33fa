// Package cases is the second half of a campaign as a pure function: given
// what people recorded about one institution's case (the self-inspection
// return, the on-site result, the decision, recoveries, rectification,
// follow-up) and the instant asked about, Evaluate says where the case
// stands, what it adds up to and which deadlines are met, missed or still
// running, and when it next changes by itself.
//
// It knows nothing of Kubernetes: the InspectionCase controller converts
// the object into a Case, resolves the dates (time zone, working days on
// internal/calendar) and writes the Result back as status. Money is fen
// (Fen), so every sum is exact.
package cases

import (
	"time"
)

// Stage is where a case stands. Stages only move forward as people record
// more, except that a follow-up finding a recurrence reopens a closed case.
type Stage string

const (
	// Open: leads handed out, nothing returned yet.
	StageOpen Stage = "Open"
	// SelfReported: the self-inspection report is in (自查自纠).
	StageSelfReported Stage = "SelfReported"
	// Inspected: the on-site verification is done (现场核实).
	StageInspected Stage = "Inspected"
	// Decided: the bureau has ruled (定性处理); for a province case handed
	// to its city, this is as far as the province's case goes.
	StageDecided Stage = "Decided"
	// Rectifying: money still owed, rectification still due, or a
	// recurrence found on follow-up (整改中).
	StageRectifying Stage = "Rectifying"
	// Closed: decided, nothing owed, rectified where required.
	StageClosed Stage = "Closed"
)

// DeadlineState is Pending until the due instant, then Met or Missed.
type DeadlineState string

const (
	Pending DeadlineState = "Pending"
	Met     DeadlineState = "Met"
	Missed  DeadlineState = "Missed"
)

// Deadline names.
const (
	DeadlineSelfInspectionReport = "SelfInspectionReport"
	DeadlineRectification        = "Rectification"
)

// ActionType is a measure of a decision.
type ActionType string

const (
	Refund             ActionType = "Refund"
	Fine               ActionType = "Fine"
	SuspendAgreement   ActionType = "SuspendAgreement"
	TerminateAgreement ActionType = "TerminateAgreement"
	Transfer           ActionType = "Transfer"
)

// SelfInspection is the institution's return.
type SelfInspection struct {
	ReportedAt     time.Time
	LeadsConfirmed int
	LeadsDisputed  int
	Confirmed      Fen
	PledgeSigned   bool
}

// Violation is one problem confirmed on site.
type Violation struct {
	Category     string
	Amount       Fen
	SelfReported bool
}

// OnSite is the on-site verification; Done is set once it ended (its last
// day recorded).
type OnSite struct {
	Done       bool
	Violations []Violation
}

// Action is one measure; a Fine without an amount is Multiple times the
// amount found on site.
type Action struct {
	Type     ActionType
	Amount   Fen
	Multiple int
}

// Decision is the bureau's ruling; RectificationDue, when set, is the first
// instant at which rectification is late.
type Decision struct {
	DecidedAt        time.Time
	Actions          []Action
	RectificationDue *time.Time
}

// Recovery is money returned to the fund.
type Recovery struct {
	Amount Fen
	At     time.Time
}

// Case is everything Evaluate needs.
type Case struct {
	// Money at risk in the screening leads that brought the case.
	Leads          Fen
	SelfInspection *SelfInspection
	OnSite         *OnSite
	Decision       *Decision
	Recoveries     []Recovery
	RectifiedAt    *time.Time
	// FollowUpRecurred: the follow-up (回头看) found the violations again.
	FollowUpRecurred bool
	// ReportDue is the first instant at which the self-inspection report is
	// late, for cases that were handed leads for a self-inspection.
	ReportDue *time.Time
	// HandedOff: a province case handed to its city, which carries out the
	// decision; its own case stops at Decided and has no rectification
	// deadline.
	HandedOff bool
	// RepeatOffender is decided by the caller, who can see other cases.
	RepeatOffender bool
}

// Amounts are the case's sums.
type Amounts struct {
	Leads, SelfReported, Found, UnderReported, Ordered, Recovered, Outstanding Fen
}

// Deadline is one evaluated deadline.
type Deadline struct {
	Name        string
	Due         time.Time
	State       DeadlineState
	CompletedAt *time.Time
}

// Result is the case at an instant.
type Result struct {
	Stage   Stage
	Amounts Amounts
	// Found on site beyond the self-report: at least one violation the
	// self-inspection had not reported.
	UnderReported bool
	// Inspected and nothing found (空白户).
	Blank          bool
	RepeatOffender bool
	Deadlines      []Deadline
	// Overdue names the deadlines that passed without their event.
	Overdue []string
	// NextChange is the earliest due instant still ahead: the moment the
	// result changes with no one recording anything. Zero when none.
	NextChange time.Time
}

// Inspected reports whether the on-site verification is done.
func (c Case) Inspected() bool { return c.OnSite != nil && c.OnSite.Done }

// Evaluate computes the case at now.
func Evaluate(c Case, now time.Time) (Result, error) {
	var r Result
	a, err := amounts(c)
	if err != nil {
		return r, err
	}
	r.Amounts = a
	if c.OnSite != nil {
		for _, v := range c.OnSite.Violations {
			if !v.SelfReported {
				r.UnderReported = true
			}
		}
		r.Blank = c.OnSite.Done && len(c.OnSite.Violations) == 0
	}
	r.RepeatOffender = c.RepeatOffender
	r.Stage = stage(c, a)

	if c.ReportDue != nil {
		var done *time.Time
		if c.SelfInspection != nil {
			done = &c.SelfInspection.ReportedAt
		}
		r.Deadlines = append(r.Deadlines, deadline(DeadlineSelfInspectionReport, *c.ReportDue, done, now))
	}
	if c.Decision != nil && c.Decision.RectificationDue != nil && !c.HandedOff {
		r.Deadlines = append(r.Deadlines, deadline(DeadlineRectification, *c.Decision.RectificationDue, c.RectifiedAt, now))
	}
	r.Overdue, r.NextChange = Outstanding(r.Deadlines)
	return r, nil
}

// deadline: met when the event happened before the due instant; missed when
// it happened at or after it, or has not happened by now ≥ due.
func deadline(name string, due time.Time, done *time.Time, now time.Time) Deadline {
	d := Deadline{Name: name, Due: due, State: Pending}
	switch {
	case done != nil && done.Before(due):
		d.State, d.CompletedAt = Met, done
	case done != nil:
		d.State, d.CompletedAt = Missed, done
	case !now.Before(due):
		d.State = Missed
	}
	return d
}

func amounts(c Case) (Amounts, error) {
	a := Amounts{Leads: c.Leads}
	var err error
	if c.SelfInspection != nil {
		a.SelfReported = c.SelfInspection.Confirmed
	}
	if c.OnSite != nil {
		for _, v := range c.OnSite.Violations {
			if a.Found, err = a.Found.Add(v.Amount); err != nil {
				return a, err
			}
			if !v.SelfReported {
				if a.UnderReported, err = a.UnderReported.Add(v.Amount); err != nil {
					return a, err
				}
			}
		}
	}
	if c.Decision != nil {
		for _, act := range c.Decision.Actions {
			amount := act.Amount
			if act.Type == Fine && amount == 0 && act.Multiple > 0 {
				if amount, err = a.Found.Times(int64(act.Multiple)); err != nil {
					return a, err
				}
			}
			if act.Type != Refund && act.Type != Fine {
				continue
			}
			if a.Ordered, err = a.Ordered.Add(amount); err != nil {
				return a, err
			}
		}
	}
	for _, rec := range c.Recoveries {
		if a.Recovered, err = a.Recovered.Add(rec.Amount); err != nil {
			return a, err
		}
	}
	owed := a.SelfReported
	if c.Decision != nil {
		owed = a.Ordered
	}
	if owed > a.Recovered {
		a.Outstanding = owed - a.Recovered
	}
	return a, nil
}

func stage(c Case, a Amounts) Stage {
	switch {
	case c.Decision != nil:
		if c.HandedOff {
			return StageDecided
		}
		rectifying := a.Outstanding > 0 || c.FollowUpRecurred ||
			(c.Decision.RectificationDue != nil && c.RectifiedAt == nil)
		if rectifying {
			return StageRectifying
		}
		return StageClosed
	case c.Inspected():
		return StageInspected
	case c.SelfInspection != nil:
		return StageSelfReported
	}
	return StageOpen
}

// Package tipoffs is the arithmetic of a tip-off (举报): its deadlines in
// working days and its reward. It knows nothing of Kubernetes; the TipOff
// controller translates.
//
// Nothing here ever sees who the reporter is: the identity of a real-name
// reporter stays in its Secret, and the rules need only whether the
// reporter is an insider and wants a reward.
package tipoffs

import (
	"time"

	"github.com/medfund/flycheck-operator/internal/calendar"
	"github.com/medfund/flycheck-operator/internal/cases"
)

// Luohe's deadlines: feedback within 15 working days of receipt for a
// reporter who asks for it (and can be reached); a case accepted (立案) is
// handled within 30 working days.
const (
	FeedbackWorkingDays = 15
	ClosingWorkingDays  = 30
)

// Deadline names.
const (
	DeadlineFeedback = "Feedback"
	DeadlineClosing  = "Closing"
)

// TipOff is what the deadlines depend on. Instants are the first instant
// of the recorded day (or the recorded date-time) in the bureau's zone.
type TipOff struct {
	ReceivedAt    time.Time
	WantsFeedback bool
	FeedbackAt    *time.Time
	AcceptedAt    *time.Time
	ClosedAt      *time.Time
}

// Result is the tip-off at an instant.
type Result struct {
	Deadlines []cases.Deadline
	// Overdue names the deadlines that passed without their event.
	Overdue []string
	// NextChange is the earliest due instant still ahead (zero: none).
	NextChange time.Time
}

// Evaluate computes the deadlines at now, counting working days on cal in
// loc. A year cal does not know is an error (*calendar.YearNotCoveredError
// inside): a deadline is never counted on a guessed calendar.
func Evaluate(t TipOff, cal *calendar.Calendar, loc *time.Location, now time.Time) (Result, error) {
	var r Result
	if t.WantsFeedback {
		due, err := cases.DueAfterWorkingDays(cal, t.ReceivedAt, FeedbackWorkingDays, loc)
		if err != nil {
			return r, err
		}
		r.Deadlines = append(r.Deadlines, deadline(DeadlineFeedback, due, t.FeedbackAt, now))
	}
	if t.AcceptedAt != nil {
		due, err := cases.DueAfterWorkingDays(cal, *t.AcceptedAt, ClosingWorkingDays, loc)
		if err != nil {
			return r, err
		}
		r.Deadlines = append(r.Deadlines, deadline(DeadlineClosing, due, t.ClosedAt, now))
	}
	for _, d := range r.Deadlines {
		switch {
		case d.State == cases.Missed && d.CompletedAt == nil:
			r.Overdue = append(r.Overdue, d.Name)
		case d.State == cases.Pending && (r.NextChange.IsZero() || d.Due.Before(r.NextChange)):
			r.NextChange = d.Due
		}
	}
	return r, nil
}

// deadline: met when the event happened before the due instant; missed
// when it happened at or after it, or has not happened by now ≥ due (the
// rule of internal/cases).
func deadline(name string, due time.Time, done *time.Time, now time.Time) cases.Deadline {
	d := cases.Deadline{Name: name, Due: due, State: cases.Pending}
	switch {
	case done != nil && done.Before(due):
		d.State, d.CompletedAt = cases.Met, done
	case done != nil:
		d.State, d.CompletedAt = cases.Missed, done
	case !now.Before(due):
		d.State = cases.Missed
	}
	return d
}

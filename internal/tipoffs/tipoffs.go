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
		r.Deadlines = append(r.Deadlines, cases.DeadlineAt(DeadlineFeedback, due, t.FeedbackAt, now))
	}
	if t.AcceptedAt != nil {
		due, err := cases.DueAfterWorkingDays(cal, *t.AcceptedAt, ClosingWorkingDays, loc)
		if err != nil {
			return r, err
		}
		r.Deadlines = append(r.Deadlines, cases.DeadlineAt(DeadlineClosing, due, t.ClosedAt, now))
	}
	r.Overdue, r.NextChange = cases.Outstanding(r.Deadlines)
	return r, nil
}

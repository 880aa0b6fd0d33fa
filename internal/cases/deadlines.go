package cases

import "time"

// DeadlineAt evaluates one deadline at now by the rule every deadline of
// the operator follows (cases and tip-offs): met when the event happened
// before the due instant, missed when it happened at or after it or has not
// happened by now ≥ due, pending otherwise.
func DeadlineAt(name string, due time.Time, done *time.Time, now time.Time) Deadline {
	return deadline(name, due, done, now)
}

// Outstanding names the deadlines that passed without their event, and
// returns the earliest due instant still ahead (zero: none), the moment the
// evaluation next changes by itself.
func Outstanding(ds []Deadline) (overdue []string, next time.Time) {
	for _, d := range ds {
		switch {
		case d.State == Missed && d.CompletedAt == nil:
			overdue = append(overdue, d.Name)
		case d.State == Pending && (next.IsZero() || d.Due.Before(next)):
			next = d.Due
		}
	}
	return overdue, next
}

package cases

import (
	"time"

	"github.com/medfund/flycheck-operator/internal/calendar"
	"github.com/medfund/flycheck-operator/internal/schedule"
)

// Dates in a case are manifest dates ("2020-06-05", or an RFC 3339
// date-time for compressed schedules) read in the campaign's time zone.

// EventAt is the instant a recorded date stands for: the first instant of
// that day, or the date-time itself.
func EventAt(s string, loc *time.Location) (time.Time, error) { return schedule.ParseStart(s, loc) }

// DueBy is the first late instant of a due date: the whole day counts, so
// the next day's first instant (or the date-time itself).
func DueBy(s string, loc *time.Location) (time.Time, error) { return schedule.ParseEnd(s, loc) }

// DueAfterWorkingDays is the first late instant of "within n working days
// of from": the day of from does not count, the n-th working day after it
// counts whole.
func DueAfterWorkingDays(cal *calendar.Calendar, from time.Time, n int, loc *time.Location) (time.Time, error) {
	last, err := cal.AddWorkingDays(calendar.DateOf(from.In(loc)), n)
	if err != nil {
		return time.Time{}, err
	}
	return last.AddDays(1).Start(loc), nil
}

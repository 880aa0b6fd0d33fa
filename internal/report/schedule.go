package report

import (
	"fmt"
	"time"
)

// Schedule is when snapshots are written: weekly at a local day and time
// (周报, "Monday 09:00"), or every Every from Anchor (compressed demo
// schedules); only inside [From, To), the campaign's length.
type Schedule struct {
	Weekday      time.Weekday
	Hour, Minute int
	Every        time.Duration
	Anchor       time.Time
	From, To     time.Time
	Location     *time.Location
}

// ParseWeekly reads a weekly schedule's day ("Monday") and time ("09:00").
func ParseWeekly(day, hhmm string) (time.Weekday, int, int, error) {
	var wd time.Weekday = -1
	for d := time.Sunday; d <= time.Saturday; d++ {
		if d.String() == day {
			wd = d
		}
	}
	if wd < 0 {
		return 0, 0, 0, fmt.Errorf("unknown weekday %q", day)
	}
	t, err := time.Parse("15:04", hhmm)
	if err != nil {
		return 0, 0, 0, fmt.Errorf("time of day %q: want HH:MM", hhmm)
	}
	return wd, t.Hour(), t.Minute(), nil
}

// Latest is the latest snapshot instant at or before now, if any.
func (s Schedule) Latest(now time.Time) (time.Time, bool) {
	if now.After(s.To) || now.Equal(s.To) {
		now = s.To.Add(-time.Nanosecond)
	}
	var t time.Time
	if s.Every > 0 {
		if now.Before(s.Anchor) {
			return time.Time{}, false
		}
		t = s.Anchor.Add(now.Sub(s.Anchor) / s.Every * s.Every)
	} else {
		local := now.In(s.Location)
		back := (int(local.Weekday()) - int(s.Weekday) + 7) % 7
		d := local.AddDate(0, 0, -back)
		t = time.Date(d.Year(), d.Month(), d.Day(), s.Hour, s.Minute, 0, 0, s.Location)
		if t.After(now) {
			d = d.AddDate(0, 0, -7)
			t = time.Date(d.Year(), d.Month(), d.Day(), s.Hour, s.Minute, 0, 0, s.Location)
		}
	}
	if t.Before(s.From) {
		return time.Time{}, false
	}
	return t, true
}

// Next is the first snapshot instant after now, if any is left.
func (s Schedule) Next(now time.Time) (time.Time, bool) {
	var t time.Time
	switch {
	case now.Before(s.From):
		// The first instant at or after From.
		if first, ok := s.Latest(s.From); ok && first.Equal(s.From) {
			return first, true
		}
		return s.Next(s.From)
	case s.Every > 0:
		if now.Before(s.Anchor) {
			t = s.Anchor
		} else {
			t = s.Anchor.Add((now.Sub(s.Anchor)/s.Every + 1) * s.Every)
		}
	default:
		local := now.In(s.Location)
		ahead := (int(s.Weekday) - int(local.Weekday()) + 7) % 7
		d := local.AddDate(0, 0, ahead)
		t = time.Date(d.Year(), d.Month(), d.Day(), s.Hour, s.Minute, 0, 0, s.Location)
		if !t.After(now) {
			d = d.AddDate(0, 0, 7)
			t = time.Date(d.Year(), d.Month(), d.Day(), s.Hour, s.Minute, 0, 0, s.Location)
		}
	}
	if !t.Before(s.To) {
		return time.Time{}, false
	}
	return t, true
}

// Stamp is an instant as it appears in a snapshot's name: local
// yyyymmdd-hhmmss.
func Stamp(t time.Time, loc *time.Location) string { return t.In(loc).Format("20060102-150405") }

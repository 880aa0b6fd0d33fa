package report

import (
	"testing"
	"time"
)

func TestWeeklySchedule(t *testing.T) {
	loc, _ := time.LoadLocation("Asia/Shanghai")
	at := func(s string) time.Time {
		v, err := time.ParseInLocation("2006-01-02 15:04:05", s, loc)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	wd, h, m, err := ParseWeekly("Monday", "09:00")
	if err != nil {
		t.Fatal(err)
	}
	// Jiangsu 2020: 1 May (a Friday) to 30 November.
	s := Schedule{Weekday: wd, Hour: h, Minute: m, From: at("2020-05-01 00:00:00"), To: at("2020-12-01 00:00:00"), Location: loc}
	tests := []struct {
		now, latest, next string // "" = none
	}{
		{"2020-04-20 09:00:00", "", "2020-05-04 09:00:00"},
		{"2020-05-04 08:59:59", "", "2020-05-04 09:00:00"},
		{"2020-05-04 09:00:00", "2020-05-04 09:00:00", "2020-05-11 09:00:00"},
		{"2020-05-10 23:00:00", "2020-05-04 09:00:00", "2020-05-11 09:00:00"},
		{"2020-11-30 09:00:00", "2020-11-30 09:00:00", ""},
		{"2021-03-01 09:00:00", "2020-11-30 09:00:00", ""},
	}
	for _, tc := range tests {
		l, ok := s.Latest(at(tc.now))
		if (tc.latest == "") == ok || (ok && !l.Equal(at(tc.latest))) {
			t.Errorf("Latest(%s) = %s %v, want %q", tc.now, l, ok, tc.latest)
		}
		n, ok := s.Next(at(tc.now))
		if (tc.next == "") == ok || (ok && !n.Equal(at(tc.next))) {
			t.Errorf("Next(%s) = %s %v, want %q", tc.now, n, ok, tc.next)
		}
	}
	if got := Stamp(at("2020-05-04 09:00:00"), loc); got != "20200504-090000" {
		t.Errorf("stamp %s", got)
	}
	if _, _, _, err := ParseWeekly("Mon", "09:00"); err == nil {
		t.Error("Mon accepted")
	}
}

func TestEverySchedule(t *testing.T) {
	t0 := time.Date(2026, 12, 6, 10, 0, 0, 0, time.UTC)
	s := Schedule{Every: 10 * time.Minute, Anchor: t0, From: t0, To: t0.Add(time.Hour), Location: time.UTC}
	if l, ok := s.Latest(t0.Add(25 * time.Minute)); !ok || !l.Equal(t0.Add(20*time.Minute)) {
		t.Errorf("latest %s %v", l, ok)
	}
	if n, ok := s.Next(t0.Add(20 * time.Minute)); !ok || !n.Equal(t0.Add(30*time.Minute)) {
		t.Errorf("next %s %v", n, ok)
	}
	if n, ok := s.Next(t0.Add(-time.Minute)); !ok || !n.Equal(t0) {
		t.Errorf("next before start %s %v", n, ok)
	}
	if _, ok := s.Next(t0.Add(50 * time.Minute)); ok {
		t.Error("a snapshot at the campaign's end")
	}
}

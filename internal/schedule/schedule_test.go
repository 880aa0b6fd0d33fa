package schedule

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
)

func mustPlan(t *testing.T, tz string, specs ...PhaseSpec) *Plan {
	t.Helper()
	p, err := Parse(tz, specs)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func at(t *testing.T, s string) time.Time {
	t.Helper()
	v, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestParseBoundaries(t *testing.T) {
	cases := []struct {
		name, tz, start, end string
		wantStart, wantEnd   string // RFC 3339
	}{
		{"dates are whole days in the zone", "Asia/Shanghai", "2020-05-01", "2020-06-30",
			"2020-05-01T00:00:00+08:00", "2020-07-01T00:00:00+08:00"},
		{"same-day phase lasts the whole day", "Asia/Shanghai", "2020-11-01", "2020-11-01",
			"2020-11-01T00:00:00+08:00", "2020-11-02T00:00:00+08:00"},
		{"leap day ends at 1 March", "Asia/Shanghai", "2024-02-01", "2024-02-29",
			"2024-02-01T00:00:00+08:00", "2024-03-01T00:00:00+08:00"},
		{"no leap day in 2023", "Asia/Shanghai", "2023-02-01", "2023-02-28",
			"2023-02-01T00:00:00+08:00", "2023-03-01T00:00:00+08:00"},
		{"date-times are taken as written", "Asia/Shanghai", "2026-11-22T10:00:00+08:00", "2026-11-22T10:05:30Z",
			"2026-11-22T10:00:00+08:00", "2026-11-22T10:05:30Z"},
		// Europe/Berlin springs forward on 2026-03-29: that day has 23 hours,
		// and the phase must still end at local midnight.
		{"daylight saving: short day", "Europe/Berlin", "2026-03-29", "2026-03-29",
			"2026-03-29T00:00:00+01:00", "2026-03-30T00:00:00+02:00"},
		{"daylight saving: long day", "America/New_York", "2026-11-01", "2026-11-01",
			"2026-11-01T00:00:00-04:00", "2026-11-02T00:00:00-05:00"},
		{"empty zone means Asia/Shanghai", "", "2020-05-01", "2020-05-01",
			"2020-05-01T00:00:00+08:00", "2020-05-02T00:00:00+08:00"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := mustPlan(t, tc.tz, PhaseSpec{Name: "p", Start: tc.start, End: tc.end})
			if got, want := p.Phases[0].Start, at(t, tc.wantStart); !got.Equal(want) {
				t.Errorf("start = %s, want %s", got, want)
			}
			if got, want := p.Phases[0].End, at(t, tc.wantEnd); !got.Equal(want) {
				t.Errorf("end = %s, want %s", got, want)
			}
		})
	}
}

func TestDaylightSavingDayLength(t *testing.T) {
	p := mustPlan(t, "Europe/Berlin", PhaseSpec{Name: "p", Start: "2026-03-29", End: "2026-03-29"})
	if d := p.Phases[0].End.Sub(p.Phases[0].Start); d != 23*time.Hour {
		t.Errorf("spring-forward day lasts %s, want 23h", d)
	}
}

func TestParseErrors(t *testing.T) {
	cases := []struct {
		name   string
		tz     string
		specs  []PhaseSpec
		want   string
		isZone bool
	}{
		{"unknown zone", "Mars/Olympus_Mons", []PhaseSpec{{"p", "2020-05-01", "2020-05-02"}}, `"Mars/Olympus_Mons"`, true},
		{"machine-local zone", "Local", []PhaseSpec{{"p", "2020-05-01", "2020-05-02"}}, "IANA", true},
		{"no phases", "", nil, "at least one phase", false},
		{"end before start", "", []PhaseSpec{{"selfinspection", "2020-06-30", "2020-05-01"}}, `phase "selfinspection": end`, false},
		{"bad date", "", []PhaseSpec{{"p", "2020-02-30", "2020-03-01"}}, `phase "p": start`, false},
		{"garbage", "", []PhaseSpec{{"p", "2020-01-01", "next week"}}, "neither a date", false},
		{"duplicate names", "", []PhaseSpec{{"p", "2020-01-01", "2020-01-02"}, {"p", "2020-01-03", "2020-01-04"}}, "used twice", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse(tc.tz, tc.specs)
			if err == nil {
				t.Fatal("expected an error")
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not mention %q", err, tc.want)
			}
			if got := errors.Is(err, ErrUnknownTimeZone); got != tc.isZone {
				t.Errorf("errors.Is(ErrUnknownTimeZone) = %v, want %v", got, tc.isZone)
			}
		})
	}
}

// jiangsu2020 is the Jiangsu source-governance plan: spot-check and
// fly-check overlap in July and August.
func jiangsu2020(t *testing.T) *Plan {
	return mustPlan(t, "Asia/Shanghai",
		PhaseSpec{"selfinspection", "2020-05-01", "2020-06-30"},
		PhaseSpec{"spotcheck", "2020-07-01", "2020-08-31"},
		PhaseSpec{"flycheck", "2020-07-01", "2020-11-30"},
		PhaseSpec{"summary", "2020-11-01", "2020-11-30"},
	)
}

func TestStatesAndCurrentPhase(t *testing.T) {
	p := jiangsu2020(t)
	cases := []struct {
		at      string
		states  []State
		current string
	}{
		{"2020-04-30T23:59:59+08:00", []State{Pending, Pending, Pending, Pending}, ""},
		{"2020-05-01T00:00:00+08:00", []State{Active, Pending, Pending, Pending}, "selfinspection"},
		// End-of-day inclusivity: the last second of 30 June is still self-inspection.
		{"2020-06-30T23:59:59.999+08:00", []State{Active, Pending, Pending, Pending}, "selfinspection"},
		// Overlap: both start together; the later-listed one is "current".
		{"2020-07-01T00:00:00+08:00", []State{Completed, Active, Active, Pending}, "flycheck"},
		{"2020-09-15T12:00:00+08:00", []State{Completed, Completed, Active, Pending}, "flycheck"},
		{"2020-11-02T00:00:00+08:00", []State{Completed, Completed, Active, Active}, "summary"},
		{"2020-12-01T00:00:00+08:00", []State{Completed, Completed, Completed, Completed}, ""},
	}
	for _, tc := range cases {
		t.Run(tc.at, func(t *testing.T) {
			now := at(t, tc.at)
			if got := p.StatesAt(now); !reflect.DeepEqual(got, tc.states) {
				t.Errorf("states = %v, want %v", got, tc.states)
			}
			if got := p.CurrentPhase(now); got != tc.current {
				t.Errorf("current = %q, want %q", got, tc.current)
			}
		})
	}
}

func TestCurrentPhasePrefersLatestStart(t *testing.T) {
	// The long fly-check started first; a spot-check inside it is "current".
	p := mustPlan(t, "",
		PhaseSpec{"spotcheck", "2020-08-01", "2020-08-31"},
		PhaseSpec{"flycheck", "2020-07-01", "2020-11-30"},
	)
	if got := p.CurrentPhase(at(t, "2020-08-10T00:00:00+08:00")); got != "spotcheck" {
		t.Errorf("current = %q, want spotcheck", got)
	}
}

func TestNextTransition(t *testing.T) {
	p := jiangsu2020(t)
	cases := []struct {
		at   string
		next string // "" = none
	}{
		{"2020-01-01T00:00:00+08:00", "2020-05-01T00:00:00+08:00"},
		// Strictly after: at a boundary the next one is the following boundary.
		{"2020-05-01T00:00:00+08:00", "2020-07-01T00:00:00+08:00"},
		{"2020-07-01T00:00:00+08:00", "2020-09-01T00:00:00+08:00"},
		{"2020-09-01T00:00:00+08:00", "2020-11-01T00:00:00+08:00"},
		{"2020-11-01T00:00:00+08:00", "2020-12-01T00:00:00+08:00"},
		{"2020-12-01T00:00:00+08:00", ""},
	}
	for _, tc := range cases {
		next, ok := p.NextTransition(at(t, tc.at))
		if tc.next == "" {
			if ok {
				t.Errorf("at %s: next = %s, want none", tc.at, next)
			}
			continue
		}
		if !ok || !next.Equal(at(t, tc.next)) {
			t.Errorf("at %s: next = %s (ok=%v), want %s", tc.at, next, ok, tc.next)
		}
	}
}

func TestDiffCatchesUpInOrder(t *testing.T) {
	p := jiangsu2020(t)
	prev := map[string]State{"selfinspection": Active}
	got := p.Diff(prev, at(t, "2020-09-10T00:00:00+08:00"))
	var names []string
	for _, tr := range got {
		names = append(names, tr.Phase+":"+string(tr.To))
	}
	want := []string{"selfinspection:Completed", "spotcheck:Active", "flycheck:Active", "spotcheck:Completed"}
	if !reflect.DeepEqual(names, want) {
		t.Errorf("transitions = %v, want %v", names, want)
	}
	if len(p.Diff(map[string]State{"selfinspection": Completed, "spotcheck": Completed, "flycheck": Active, "summary": Pending},
		at(t, "2020-09-10T00:00:00+08:00"))) != 0 {
		t.Error("no transitions expected when prev matches")
	}
}

func TestDiffBackwards(t *testing.T) {
	p := mustPlan(t, "", PhaseSpec{"consolidation", "2020-10-01", "2020-12-31"})
	now := at(t, "2020-11-15T00:00:00+08:00")
	got := p.Diff(map[string]State{"consolidation": Completed}, now)
	if len(got) != 1 || got[0].From != Completed || got[0].To != Active || !got[0].At.Equal(now) {
		t.Errorf("extending a completed phase: got %+v", got)
	}
}

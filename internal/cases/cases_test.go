package cases

import (
	"errors"
	"math"
	"slices"
	"testing"
	"time"

	"github.com/medfund/flycheck-operator/internal/calendar"
)

var shanghai = func() *time.Location {
	loc, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		panic(err)
	}
	return loc
}()

func at(t *testing.T, s string) time.Time {
	t.Helper()
	v, err := EventAt(s, shanghai)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func ptr[T any](v T) *T { return &v }

func yuan(t *testing.T, s string) Fen {
	t.Helper()
	f, err := ParseYuan(s)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func TestParseAndFormatYuan(t *testing.T) {
	for in, want := range map[string]string{
		"0": "0.00", "1234.5": "1234.50", "1234.50": "1234.50", "0.01": "0.01",
		"999999999999.99": "999999999999.99", "007": "7.00",
	} {
		f, err := ParseYuan(in)
		if err != nil {
			t.Errorf("%q: %v", in, err)
			continue
		}
		if f.String() != want {
			t.Errorf("%q → %s, want %s", in, f, want)
		}
	}
	for _, bad := range []string{"", "-1", "1.234", "1.", ".5", "1e3", "1,000", " 1", "１", "1000000000000"} {
		if _, err := ParseYuan(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	if f, err := ParseOptional(""); err != nil || f != 0 {
		t.Errorf("optional empty = %v, %v", f, err)
	}
	if _, err := Fen(math.MaxInt64).Add(1); !errors.Is(err, ErrOverflow) {
		t.Errorf("overflow not detected: %v", err)
	}
	if _, err := Fen(math.MaxInt64 / 2).Times(3); !errors.Is(err, ErrOverflow) {
		t.Errorf("overflow of a multiple not detected: %v", err)
	}
}

// TestExactSums: ten cases of 0.10 and twenty of 0.20 yuan are exactly
// 5.00 (as float64 they are 4.999999999999999).
func TestExactSums(t *testing.T) {
	var tally Tally
	var float float64
	for i := range 30 {
		amount := "0.10"
		if i >= 10 {
			amount = "0.20"
		}
		if err := tally.Add(Entry{Found: yuan(t, amount), Inspected: true, WithFindings: true}); err != nil {
			t.Fatal(err)
		}
		float += map[string]float64{"0.10": 0.1, "0.20": 0.2}[amount]
	}
	if tally.Found.String() != "5.00" {
		t.Errorf("sum %s, want 5.00", tally.Found)
	}
	if float == 5.0 {
		t.Error("the float comparison no longer shows why fen are needed; pick other amounts")
	}
}

func TestTally(t *testing.T) {
	var tl Tally
	entries := []Entry{
		{SelfReported: true},
		{SelfReported: true, Inspected: true, WithFindings: true, Found: 12345, Ordered: 24690, Recovered: 10000},
		{Inspected: true, WithFindings: true, Found: 1, Overdue: true},
		{Inspected: true},                // blank
		{WithFindings: true, Found: 500}, // findings not yet inspected do not count as discovered
	}
	for _, e := range entries {
		if err := tl.Add(e); err != nil {
			t.Fatal(err)
		}
	}
	if tl.Cases != 5 || tl.SelfReported != 2 || tl.Inspected != 3 || tl.WithFindings != 2 || tl.Blank != 1 || tl.Overdue != 1 {
		t.Errorf("counts %+v", tl)
	}
	if tl.Found.String() != "128.46" || tl.Ordered.String() != "246.90" || tl.Recovered.String() != "100.00" {
		t.Errorf("sums found %s ordered %s recovered %s", tl.Found, tl.Ordered, tl.Recovered)
	}
	if pct, ok := tl.ProblemDiscoveryPercent(); !ok || pct != 66 {
		t.Errorf("problem-discovery rate %d %v, want 66 (2 of 3, rounded down)", pct, ok)
	}
	if _, ok := (Tally{}).ProblemDiscoveryPercent(); ok {
		t.Error("a rate with nothing inspected")
	}
}

// TestStages walks one case through its life, as the Xicheng plan has it.
func TestStages(t *testing.T) {
	now := at(t, "2023-11-20")
	c := Case{Leads: yuan(t, "8000.00")}
	steps := []struct {
		what  string
		apply func(*Case)
		stage Stage
	}{
		{"leads handed out", func(*Case) {}, StageOpen},
		{"self-inspection report", func(c *Case) {
			c.SelfInspection = &SelfInspection{ReportedAt: at(t, "2023-06-20"), LeadsConfirmed: 3, Confirmed: yuan(t, "3000.00")}
		}, StageSelfReported},
		{"on site, still going", func(c *Case) { c.OnSite = &OnSite{} }, StageSelfReported},
		{"on site done", func(c *Case) {
			c.OnSite = &OnSite{Done: true, Violations: []Violation{
				{Category: "DuplicateCharge", Amount: yuan(t, "3000.00"), SelfReported: true},
				{Category: "FictitiousCharge", Amount: yuan(t, "1500.00")}}}
		}, StageInspected},
		{"decided: refund and a fine of twice the amount found", func(c *Case) {
			c.Decision = &Decision{DecidedAt: at(t, "2023-10-10"), Actions: []Action{
				{Type: Refund, Amount: yuan(t, "4500.00")}, {Type: Fine, Multiple: 2}, {Type: SuspendAgreement}},
				RectificationDue: ptr(at(t, "2023-12-01"))}
		}, StageRectifying},
		{"partly recovered", func(c *Case) {
			c.Recoveries = []Recovery{{Amount: yuan(t, "4500.00"), At: at(t, "2023-10-20")}}
		}, StageRectifying},
		{"all recovered, rectification still due", func(c *Case) {
			c.Recoveries = append(c.Recoveries, Recovery{Amount: yuan(t, "9000.00"), At: at(t, "2023-11-01")})
		}, StageRectifying},
		{"rectified", func(c *Case) { c.RectifiedAt = ptr(at(t, "2023-11-15")) }, StageClosed},
		{"follow-up finds it again", func(c *Case) { c.FollowUpRecurred = true }, StageRectifying},
	}
	for _, s := range steps {
		s.apply(&c)
		r, err := Evaluate(c, now)
		if err != nil {
			t.Fatal(err)
		}
		if r.Stage != s.stage {
			t.Errorf("%s: stage %s, want %s", s.what, r.Stage, s.stage)
		}
	}
	r, _ := Evaluate(c, now)
	want := Amounts{Leads: 800000, SelfReported: 300000, Found: 450000, UnderReported: 150000,
		Ordered: 450000 + 900000, Recovered: 1350000, Outstanding: 0}
	if r.Amounts != want {
		t.Errorf("amounts %+v, want %+v", r.Amounts, want)
	}
	if !r.UnderReported || r.Blank {
		t.Errorf("underReported %v blank %v", r.UnderReported, r.Blank)
	}
}

func TestFlags(t *testing.T) {
	now := at(t, "2023-09-01")
	cases := []struct {
		name                 string
		c                    Case
		under, blank, repeat bool
	}{
		{"all self-reported", Case{OnSite: &OnSite{Done: true, Violations: []Violation{{Amount: 100, SelfReported: true}}}}, false, false, false},
		{"one not self-reported", Case{OnSite: &OnSite{Done: true, Violations: []Violation{{Amount: 100, SelfReported: true}, {Amount: 1}}}}, true, false, false},
		{"blank", Case{OnSite: &OnSite{Done: true}}, false, true, false},
		{"on site, not finished: not blank yet", Case{OnSite: &OnSite{}}, false, false, false},
		{"repeat offender as the caller says", Case{RepeatOffender: true}, false, false, true},
	}
	for _, c := range cases {
		r, err := Evaluate(c.c, now)
		if err != nil {
			t.Fatal(err)
		}
		if r.UnderReported != c.under || r.Blank != c.blank || r.RepeatOffender != c.repeat {
			t.Errorf("%s: underReported %v blank %v repeat %v", c.name, r.UnderReported, r.Blank, r.RepeatOffender)
		}
	}
	// Before a decision the self-reported amount is owed; a refund of it
	// leaves nothing outstanding.
	r, _ := Evaluate(Case{SelfInspection: &SelfInspection{Confirmed: 5000},
		Recoveries: []Recovery{{Amount: 2000}}}, now)
	if r.Amounts.Outstanding != 3000 {
		t.Errorf("outstanding before the decision %s, want 30.00", r.Amounts.Outstanding)
	}
}

// TestDeadlinesAtTheDueInstant: Pending up to the last nanosecond before
// the due instant, Missed (and overdue) at it; met when the report came
// before it, missed but not overdue when it came late.
func TestDeadlinesAtTheDueInstant(t *testing.T) {
	due, err := DueBy("2020-06-05", shanghai)
	if err != nil {
		t.Fatal(err)
	}
	if want := time.Date(2020, 6, 6, 0, 0, 0, 0, shanghai); !due.Equal(want) {
		t.Fatalf("due %s, want %s", due, want)
	}
	c := Case{ReportDue: &due}
	r, _ := Evaluate(c, due.Add(-time.Nanosecond))
	if r.Deadlines[0].State != Pending || len(r.Overdue) != 0 || !r.NextChange.Equal(due) {
		t.Errorf("before: %+v, next %s", r.Deadlines, r.NextChange)
	}
	r, _ = Evaluate(c, due)
	if r.Deadlines[0].State != Missed || !slices.Equal(r.Overdue, []string{DeadlineSelfInspectionReport}) || !r.NextChange.IsZero() {
		t.Errorf("at: %+v, overdue %v, next %s", r.Deadlines, r.Overdue, r.NextChange)
	}
	c.SelfInspection = &SelfInspection{ReportedAt: at(t, "2020-06-05")}
	r, _ = Evaluate(c, due.Add(time.Hour))
	if r.Deadlines[0].State != Met || len(r.Overdue) != 0 {
		t.Errorf("reported on the due day: %+v", r.Deadlines)
	}
	c.SelfInspection.ReportedAt = at(t, "2020-06-06")
	r, _ = Evaluate(c, due.Add(48*time.Hour))
	if r.Deadlines[0].State != Missed || r.Deadlines[0].CompletedAt == nil || len(r.Overdue) != 0 {
		t.Errorf("reported late: %+v, overdue %v", r.Deadlines, r.Overdue)
	}
}

// TestRectificationInWorkingDays: 10 working days from a decision on
// Wednesday 23 September 2020 cross the make-up Sunday 27 September, the
// National Day holiday (1–8 October) and the make-up Saturday 10 October:
// 24, 25, 27, 28, 29, 30 September, 9, 10, 12, 13 October; due at the
// first instant of 14 October.
func TestRectificationInWorkingDays(t *testing.T) {
	decided := at(t, "2020-09-23")
	due, err := DueAfterWorkingDays(calendar.Builtin(), decided, 10, shanghai)
	if err != nil {
		t.Fatal(err)
	}
	if want := time.Date(2020, 10, 14, 0, 0, 0, 0, shanghai); !due.Equal(want) {
		t.Fatalf("due %s, want %s", due, want)
	}
	c := Case{OnSite: &OnSite{Done: true}, Decision: &Decision{DecidedAt: decided, RectificationDue: &due}}
	r, _ := Evaluate(c, at(t, "2020-10-13"))
	if r.Stage != StageRectifying || r.Deadlines[0].State != Pending {
		t.Errorf("on 13 October: %s %+v", r.Stage, r.Deadlines)
	}
	r, _ = Evaluate(c, due)
	if r.Deadlines[0].State != Missed || len(r.Overdue) != 1 {
		t.Errorf("at the due instant: %+v", r.Deadlines)
	}
	// A handed-off province case carries no rectification deadline.
	c.HandedOff = true
	r, _ = Evaluate(c, due)
	if len(r.Deadlines) != 0 || r.Stage != StageDecided {
		t.Errorf("handed off: %s %+v", r.Stage, r.Deadlines)
	}
	if _, err := DueAfterWorkingDays(calendar.Builtin(), at(t, "2027-12-20"), 30, shanghai); err == nil {
		t.Error("a deadline in 2028 was counted without the calendar knowing 2028")
	}
}

package tipoffs

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/medfund/flycheck-operator/internal/calendar"
	"github.com/medfund/flycheck-operator/internal/cases"
)

func yuan(t *testing.T, s string) cases.Fen {
	t.Helper()
	f, err := cases.ParseYuan(s)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// TestRewardTable is Luohe's rule on the amounts at its edges; the table
// is printed for the closing note.
func TestRewardTable(t *testing.T) {
	eligible := func(amount string) Claim {
		return Claim{Verdict: VerdictConfirmed, Loss: LossCaused, Confirmed: yuan(t, amount), WantsReward: true}
	}
	with := func(c Claim, f func(*Claim)) Claim { f(&c); return c }
	rows := []struct {
		name    string
		claim   Claim
		state   RewardState
		amount  string
		rate    string
		capped  bool
		reasons []Reason
	}{
		{"199.99 confirmed", eligible("199.99"), NonMonetary, "9.99", "5", false, nil},
		{"3999.99 confirmed", eligible("3999.99"), NonMonetary, "199.99", "5", false, nil},
		{"4000.00 confirmed", eligible("4000.00"), Monetary, "200.00", "5", false, nil},
		{"2000000.00 confirmed", eligible("2000000.00"), Monetary, "100000.00", "5", false, nil},
		{"2000000.01 confirmed", eligible("2000000.01"), Monetary, "100000.00", "5", true, nil},
		{"insider, 10000.00", with(eligible("10000.00"), func(c *Claim) { c.Insider = true }), Monetary, "600.00", "6", false, nil},
		{"insider, 3333.33", with(eligible("3333.33"), func(c *Claim) { c.Insider = true }), NonMonetary, "199.99", "6", false, nil},
		{"loss avoided, 5000", with(eligible("5000"), func(c *Claim) { c.Loss = LossAvoided }), Monetary, "250.00", "5", false, nil},
		{"no verdict yet", with(eligible("0"), func(c *Claim) { c.Verdict = VerdictNone }), Pending, "0.00", "0", false, nil},
		{"not confirmed", with(eligible("4000"), func(c *Claim) { c.Verdict = VerdictNotConfirmed }), None, "0.00", "0", false, []Reason{NotConfirmed}},
		{"no loss", with(eligible("4000"), func(c *Claim) { c.Loss = LossNone }), None, "0.00", "0", false, []Reason{NoLoss}},
		{"confirmed, 0 yuan", with(eligible("0"), func(c *Claim) { c.Loss = LossUnknown }), None, "0.00", "0", false, []Reason{NoLoss}},
		{"already known", with(eligible("4000"), func(c *Claim) { c.AlreadyKnown = true }), None, "0.00", "0", false, []Reason{AlreadyKnown}},
		{"not wanted", with(eligible("4000"), func(c *Claim) { c.WantsReward = false }), None, "0.00", "0", false, []Reason{NotWanted}},
		{"not wanted, before the verdict", Claim{}, None, "0.00", "0", false, []Reason{NotWanted}},
		{"all reasons", Claim{Verdict: VerdictNotConfirmed, Loss: LossNone, AlreadyKnown: true}, None, "0.00", "0", false,
			[]Reason{NotConfirmed, NoLoss, AlreadyKnown, NotWanted}},
	}
	var tbl strings.Builder
	fmt.Fprintf(&tbl, "\n%-32s %-12s %-11s %6s %-6s %s\n", "case (Luohe 2020 policy)", "confirmed", "state", "rate%", "capped", "amount / reasons")
	for _, row := range rows {
		got := Compute(Luohe, row.claim)
		out := got.Amount.String()
		if len(got.Reasons) > 0 {
			var rs []string
			for _, r := range got.Reasons {
				rs = append(rs, string(r))
			}
			out = strings.Join(rs, ",")
		}
		fmt.Fprintf(&tbl, "%-32s %12s %-11s %6s %-6t %s\n", row.name, row.claim.Confirmed, got.State, got.Rate, got.Capped, out)
		if got.State != row.state || got.Amount.String() != row.amount || got.Rate.String() != row.rate ||
			got.Capped != row.capped || !slices.Equal(got.Reasons, row.reasons) {
			t.Errorf("%s: got %+v (amount %s, rate %s), want %s %s at %s%% capped=%t %v",
				row.name, got, got.Amount, got.Rate, row.state, row.amount, row.rate, row.capped, row.reasons)
		}
	}
	t.Log(tbl.String())
}

func TestRateParsing(t *testing.T) {
	for s, want := range map[string]Rate{"5": 500, "5.5": 550, "0.25": 25, "100": 10000, "100.00": 10000} {
		if got, err := ParseRate(s); err != nil || got != want {
			t.Errorf("ParseRate(%q) = %d, %v; want %d", s, got, err, want)
		}
	}
	for _, s := range []string{"", "-1", "5.", "5.555", "100.01", "1000", "5%", "1e2"} {
		if _, err := ParseRate(s); err == nil {
			t.Errorf("ParseRate(%q) accepted", s)
		}
	}
	// A different policy: 10 %, no cap, non-monetary below ¥50.
	p := Policy{Rate: 10_00, NonMonetaryBelow: 50_00}
	if got := Compute(p, Claim{Verdict: VerdictConfirmed, Confirmed: yuan(t, "5000000"), WantsReward: true}); got.Amount.String() != "500000.00" || got.Capped {
		t.Errorf("uncapped policy: %+v", got)
	}
}

// TestDeadlinesAcrossNationalDay2020: received on Friday 25 September
// 2020, feedback within 15 working days. 1–8 October was the National Day
// and Mid-Autumn holiday; Sunday 27 September and Saturday 10 October were
// worked. Working days: 27, 28, 29, 30 Sep, 9, 10, 12–16, 19–22 Oct: the
// 15th is Thursday 22 October, so feedback is late from 23 October 00:00.
// Accepted on 30 September: closing within 30 working days (counted below).
func TestDeadlinesAcrossNationalDay2020(t *testing.T) {
	loc, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		t.Fatal(err)
	}
	at := func(s string) time.Time {
		tm, err := time.ParseInLocation(time.DateTime, s, loc)
		if err != nil {
			t.Fatal(err)
		}
		return tm
	}
	accepted := at("2020-09-30 00:00:00")
	tip := TipOff{ReceivedAt: at("2020-09-25 00:00:00"), WantsFeedback: true, AcceptedAt: &accepted}
	cal := calendar.Builtin()
	r, err := Evaluate(tip, cal, loc, at("2020-10-22 23:59:59"))
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Deadlines) != 2 {
		t.Fatalf("deadlines %+v", r.Deadlines)
	}
	fb, cl := r.Deadlines[0], r.Deadlines[1]
	if !fb.Due.Equal(at("2020-10-23 00:00:00")) || fb.State != cases.Pending {
		t.Errorf("feedback %+v, want due 2020-10-23 00:00 +08:00, pending", fb)
	}
	// 30 working days after 30 Sep: 9, 10 Oct (2), 12–16 (7), 19–23 (12),
	// 26–30 (17), 2–6 Nov (22), 9–13 (27), 16, 17, 18 (30): late from 19 Nov.
	if !cl.Due.Equal(at("2020-11-19 00:00:00")) {
		t.Errorf("closing due %s, want 2020-11-19 00:00 +08:00", cl.Due)
	}
	if !r.NextChange.Equal(fb.Due) || len(r.Overdue) != 0 {
		t.Errorf("next change %s, overdue %v", r.NextChange, r.Overdue)
	}
	// At the instant: overdue; feedback given then is late.
	r, _ = Evaluate(tip, cal, loc, fb.Due)
	if !slices.Equal(r.Overdue, []string{DeadlineFeedback}) || !r.NextChange.Equal(cl.Due) {
		t.Errorf("at the due instant: overdue %v, next %s", r.Overdue, r.NextChange)
	}
	late := fb.Due
	tip.FeedbackAt = &late
	r, _ = Evaluate(tip, cal, loc, fb.Due)
	if r.Deadlines[0].State != cases.Missed || len(r.Overdue) != 0 {
		t.Errorf("feedback given at the due instant: %+v, overdue %v", r.Deadlines[0], r.Overdue)
	}
	// No feedback asked: only the closing deadline.
	tip.WantsFeedback = false
	if r, _ = Evaluate(tip, cal, loc, fb.Due); len(r.Deadlines) != 1 || r.Deadlines[0].Name != DeadlineClosing {
		t.Errorf("without feedback: %+v", r.Deadlines)
	}
	// A year the calendar does not know.
	far := at("2099-01-05 00:00:00")
	if _, err := Evaluate(TipOff{ReceivedAt: far, WantsFeedback: true}, cal, loc, far); err == nil {
		t.Error("2099 counted on a guessed calendar")
	} else if _, ok := calendar.IsYearNotCovered(err); !ok {
		t.Errorf("2099: %v", err)
	}
}

package milestones

import (
	"reflect"
	"testing"
	"time"

	"github.com/medfund/flycheck-operator/internal/cases"
)

var shanghai = time.FixedZone("CST", 8*3600)

func day(m time.Month, d int) time.Time { return time.Date(2020, m, d, 0, 0, 0, 0, shanghai) }

// Huaibei 2020: self-inspection reports by 5 June (first late instant:
// 6 June 00:00).
var reports = Milestone{Name: "selfreports", Requirement: SelfInspectionReported, MinPercent: 100, Due: day(6, 6)}

func reported(at time.Time, origins ...string) Case {
	if len(origins) == 0 {
		origins = []string{"Screening"}
	}
	return Case{Origins: origins, Done: map[Requirement]time.Time{SelfInspectionReported: at}}
}

func open(origins ...string) Case { return Case{Origins: origins} }

func TestEvaluate(t *testing.T) {
	due := day(6, 6)
	tests := []struct {
		name string
		m    Milestone
		cs   []Case
		now  time.Time
		want Result
	}{
		{"pending 1 ns before the due instant, even when all are done", reports,
			[]Case{reported(day(6, 1)), reported(day(6, 5))}, due.Add(-time.Nanosecond),
			Result{Name: "selfreports", Done: 2, Total: 2, State: Pending}},
		{"met at the due instant", reports,
			[]Case{reported(day(6, 1)), reported(day(6, 5))}, due,
			Result{Name: "selfreports", Done: 2, Total: 2, State: Met}},
		{"missed at the due instant when one is out", reports,
			[]Case{reported(day(6, 1)), open("Screening")}, due,
			Result{Name: "selfreports", Done: 1, Total: 2, State: Missed}},
		{"a report dated on the due instant is late", reports,
			[]Case{reported(due)}, due.Add(time.Hour),
			Result{Name: "selfreports", Done: 0, Total: 1, State: Missed}},
		{"a later report does not rescue a missed milestone", reports,
			[]Case{reported(day(6, 9))}, day(7, 1),
			Result{Name: "selfreports", Done: 0, Total: 1, State: Missed}},
		{"progress counts only what has happened by now", reports,
			[]Case{reported(day(6, 1)), reported(day(6, 4))}, day(6, 2),
			Result{Name: "selfreports", Done: 1, Total: 2, State: Pending}},
		{"minPercent 50 is met by half", Milestone{Name: "half", Requirement: SelfInspectionReported, MinPercent: 50, Due: due},
			[]Case{reported(day(6, 1)), open()}, due,
			Result{Name: "half", Done: 1, Total: 2, State: Met}},
		{"minPercent 67 is not met by 2 of 3", Milestone{Name: "twothirds", Requirement: SelfInspectionReported, MinPercent: 67, Due: due},
			[]Case{reported(day(6, 1)), reported(day(6, 2)), open()}, due,
			Result{Name: "twothirds", Done: 2, Total: 3, State: Missed}},
		{"no case in scope: nothing to miss", reports, nil, due,
			Result{Name: "selfreports", Total: 0, State: Met}},
		{"origins filter the cases counted", Milestone{Name: "recheck", Requirement: SelfInspectionReported, Origins: []string{"Recheck"}, MinPercent: 100, Due: due},
			[]Case{reported(day(6, 1), "Recheck"), open("Screening"), open("TipOff")}, due,
			Result{Name: "recheck", Done: 1, Total: 1, State: Met}},
		{"a case with several origins counts once", Milestone{Name: "any", Requirement: SelfInspectionReported, Origins: []string{"Recheck", "Screening"}, MinPercent: 100, Due: due},
			[]Case{open("Recheck", "Screening")}, due,
			Result{Name: "any", Done: 0, Total: 1, State: Missed}},
		{"another requirement is not this one", Milestone{Name: "refunds", Requirement: Refunded, MinPercent: 100, Due: due},
			[]Case{reported(day(6, 1))}, due,
			Result{Name: "refunds", Done: 0, Total: 1, State: Missed}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := Evaluate([]Milestone{tc.m}, tc.cs, tc.now)
			if len(got) != 1 || got[0] != tc.want {
				t.Fatalf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestCards(t *testing.T) {
	p := CardPolicy{YellowAfterMissed: 1, RedAfterMissed: 2}
	r := func(name string, s State) Result { return Result{Name: name, State: s} }
	tests := []struct {
		name       string
		rs         []Result
		p          CardPolicy
		want       Card
		wantMissed []string
	}{
		{"nothing due yet", []Result{r("a", Pending), r("b", Pending)}, p, Green, nil},
		{"all met", []Result{r("a", Met), r("b", Met)}, p, Green, nil},
		{"one missed: yellow", []Result{r("a", Missed), r("b", Met)}, p, Yellow, []string{"a"}},
		{"two missed: red", []Result{r("a", Missed), r("b", Missed), r("c", Pending)}, p, Red, []string{"a", "b"}},
		{"yellow disabled", []Result{r("a", Missed)}, CardPolicy{RedAfterMissed: 2}, Green, nil},
		{"yellow equals red: red", []Result{r("a", Missed)}, CardPolicy{YellowAfterMissed: 1, RedAfterMissed: 1}, Red, []string{"a"}},
		{"no policy: always green", []Result{r("a", Missed), r("b", Missed)}, CardPolicy{}, Green, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			card, missed := CardFor(tc.rs, tc.p)
			if card != tc.want || !reflect.DeepEqual(missed, tc.wantMissed) {
				t.Fatalf("got %s %v, want %s %v", card, missed, tc.want, tc.wantMissed)
			}
		})
	}
}

func TestNextDue(t *testing.T) {
	ms := []Milestone{
		{Name: "summary", Due: day(11, 2)},
		{Name: "selfreports", Due: day(6, 6)},
		{Name: "district", Due: day(6, 11)},
	}
	tests := []struct {
		now  time.Time
		want time.Time
		ok   bool
	}{
		{day(5, 1), day(6, 6), true},
		{day(6, 6).Add(-time.Nanosecond), day(6, 6), true},
		{day(6, 6), day(6, 11), true}, // at the instant, the next one
		{day(6, 20), day(11, 2), true},
		{day(11, 2), time.Time{}, false},
	}
	for _, tc := range tests {
		got, ok := NextDue(ms, tc.now)
		if !got.Equal(tc.want) || ok != tc.ok {
			t.Errorf("NextDue(%s) = %s %v, want %s %v", tc.now, got, ok, tc.want, tc.ok)
		}
	}
}

func TestRefundedAt(t *testing.T) {
	recs := []cases.Recovery{{Amount: 300_00, At: day(7, 10)}, {Amount: 200_00, At: day(7, 1)}}
	tests := []struct {
		name    string
		owed    cases.Fen
		settled time.Time
		want    time.Time
		ok      bool
	}{
		{"owes nothing: refunded when it said so", 0, day(6, 3), day(6, 3), true},
		{"owes nothing, said nothing yet", 0, time.Time{}, time.Time{}, false},
		{"the recovery that completes the sum, in date order", 500_00, day(6, 3), day(7, 10), true},
		{"the first recovery suffices", 200_00, day(6, 3), day(7, 1), true},
		{"not all returned", 500_01, day(6, 3), time.Time{}, false},
	}
	for _, tc := range tests {
		got, ok := RefundedAt(tc.owed, recs, tc.settled)
		if !got.Equal(tc.want) || ok != tc.ok {
			t.Errorf("%s: got %s %v, want %s %v", tc.name, got, ok, tc.want, tc.ok)
		}
	}
}

func TestValidate(t *testing.T) {
	ok := Milestone{Name: "a", Requirement: Refunded, MinPercent: 100, Due: day(7, 16)}
	tests := []struct {
		name string
		ms   []Milestone
		bad  bool
	}{
		{"valid", []Milestone{ok}, false},
		{"duplicate names", []Milestone{ok, ok}, true},
		{"unknown requirement", []Milestone{{Name: "b", Requirement: "Paid", MinPercent: 1, Due: day(1, 1)}}, true},
		{"percent over 100", []Milestone{{Name: "b", Requirement: Refunded, MinPercent: 101, Due: day(1, 1)}}, true},
		{"no due", []Milestone{{Name: "b", Requirement: Refunded, MinPercent: 1}}, true},
	}
	for _, tc := range tests {
		if err := Validate(tc.ms); (err != nil) != tc.bad {
			t.Errorf("%s: err = %v, want error %v", tc.name, err, tc.bad)
		}
	}
}

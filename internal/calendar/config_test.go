package calendar

import (
	"strings"
	"testing"
)

// The holiday ConfigMap of docs/cases.md for a year the library does not
// know (these 2028 dates are an example, not the real notice).
const config2028 = `# 2028 (example)
date,kind,name
2028-01-01,holiday,元旦
2028-01-24,holiday,春节
2028-01-25,holiday,春节
2028-01-26,holiday,春节
2028-01-27,holiday,春节
2028-01-28,holiday,春节
2028-01-29,workday,春节
`

func TestUncoveredYearIsAnError(t *testing.T) {
	cal := Builtin()
	_, err := cal.AddWorkingDays(D(2027, 12, 24), 10)
	year, ok := IsYearNotCovered(err)
	if !ok || year != 2028 {
		t.Fatalf("10 working days after 24 Dec 2027 with no 2028: err %v", err)
	}
	if !strings.Contains(err.Error(), "2028") || !strings.Contains(err.Error(), "ConfigMap") {
		t.Errorf("message %q should name the year and the ConfigMap", err)
	}
	if cal.Covers(2028) || cal.Covers(2001) {
		t.Error("covers a year it has no data for")
	}
}

func TestConfigAddsAYear(t *testing.T) {
	cal, err := FromConfig(config2028)
	if err != nil {
		t.Fatal(err)
	}
	if !cal.Covers(2028) || !cal.Covers(2027) {
		t.Fatalf("years %v", cal.Years())
	}
	// Fri 21 Jan 2028: 24–28 off, Sat 29 worked (1), Mon 31 (2).
	got, err := cal.AddWorkingDays(D(2028, 1, 21), 2)
	if err != nil {
		t.Fatal(err)
	}
	if got != D(2028, 1, 31) {
		t.Errorf("2 working days after 21 Jan 2028 = %s, want 2028-01-31", got)
	}
	// Across the year end: Fri 31 Dec 2027 + 1 working day: 1 Jan 2028 is
	// a Saturday and a holiday, Mon 3 Jan.
	got, err = cal.AddWorkingDays(D(2027, 12, 31), 1)
	if err != nil || got != D(2028, 1, 3) {
		t.Errorf("1 working day after 31 Dec 2027 = %s, %v", got, err)
	}
}

func TestConfigReplacesABuiltinYear(t *testing.T) {
	// A (hypothetical) correction of 2026: only 1 October off.
	cal, err := FromConfig("2026-10-01,holiday,国庆节\n")
	if err != nil {
		t.Fatal(err)
	}
	ok, err := cal.IsWorkingDay(D(2026, 10, 2))
	if err != nil || !ok {
		t.Errorf("2 Oct 2026 with the year replaced: working %v, %v", ok, err)
	}
	ok, _ = Builtin().IsWorkingDay(D(2026, 10, 2))
	if ok {
		t.Error("the built-in calendar was changed by a New with extra days")
	}
}

func TestConfigErrors(t *testing.T) {
	for _, bad := range []string{
		"2028-02-30,holiday,x",
		"2028-01-01,rest,x",
		"2028-01-01",
		"2028-01-01,holiday,x,y",
		"2028-01-01,holiday\n2028-01-01,workday",
	} {
		if _, err := FromConfig(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

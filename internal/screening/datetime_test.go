package screening

import (
	"fmt"
	"testing"
)

// parseDate's year table must agree with the formula everywhere, including
// the years on both sides of the table and the days that do not exist.
func TestParseDateMatchesCivil(t *testing.T) {
	first := daysFromCivil(tableFirstYear-2, 1, 1)
	last := daysFromCivil(tableFirstYear+tableYears+2, 1, 1)
	for day := first; day < last; day++ {
		s := formatDate(day)
		got, ok := parseDate([]byte(s))
		if !ok || got != day {
			t.Fatalf("parseDate(%q) = %d, %v; want %d", s, got, ok, day)
		}
		y, m, d := civilFromDays(day)
		if want := daysFromCivil(y, m, d); want != day {
			t.Fatalf("daysFromCivil(civilFromDays(%d)) = %d", day, want)
		}
	}
	for _, y := range []int{0, 1899, 1900, 2000, 2023, 2024, 2100, 2155, 2156, 9999} {
		for m := 1; m <= 12; m++ {
			for _, d := range []int{0, daysIn(y, m) + 1, 32} {
				s := fmt.Sprintf("%04d-%02d-%02d", y, m, d)
				if got, ok := parseDate([]byte(s)); ok {
					t.Errorf("parseDate(%q) = %d; want a refusal", s, got)
				}
			}
		}
	}
	for _, s := range []string{"2024-00-10", "2024-13-01", "2024-1-010", "20x4-01-01", "2024/01/01", "2024-01-1 "} {
		if got, ok := parseDate([]byte(s)); ok {
			t.Errorf("parseDate(%q) = %d; want a refusal", s, got)
		}
	}
	if got, ok := parseDate([]byte("0000-01-01")); !ok || got != daysFromCivil(0, 1, 1) {
		t.Errorf("parseDate(0000-01-01) = %d, %v", got, ok)
	}
}

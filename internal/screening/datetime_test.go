package screening

import (
	"fmt"
	"math/rand/v2"
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

// scalarDateTime is the byte-by-byte parser that parseDateTime replaced:
// the reference its word-at-a-time checks must agree with.
func scalarDateTime(b []byte) (int64, bool) {
	if len(b) != 19 || b[10] != ' ' || b[13] != ':' || b[16] != ':' {
		return 0, false
	}
	h, ok1 := two(b[11], b[12])
	m, ok2 := two(b[14], b[15])
	s, ok3 := two(b[17], b[18])
	if !ok1 || !ok2 || !ok3 || h > 23 || m > 59 || s > 59 {
		return 0, false
	}
	d, ok := scalarDate(b[:10])
	if !ok {
		return 0, false
	}
	return int64(d)*secondsPerDay + int64(h*3600+m*60+s), true
}

// scalarDate is the byte-by-byte date parser that parseDate replaced.
func scalarDate(b []byte) (int32, bool) {
	if len(b) != 10 || b[4] != '-' || b[7] != '-' {
		return 0, false
	}
	y1, ok1 := two(b[0], b[1])
	y2, ok2 := two(b[2], b[3])
	mo, ok3 := two(b[5], b[6])
	d, ok4 := two(b[8], b[9])
	if !ok1 || !ok2 || !ok3 || !ok4 {
		return 0, false
	}
	return dayNumber(y1*100+y2, mo, d)
}

func two(a, b byte) (int, bool) {
	if a < '0' || a > '9' || b < '0' || b > '9' {
		return 0, false
	}
	return int(a-'0')*10 + int(b-'0'), true
}

// parseDateTime and dateTimes must accept exactly what the byte-by-byte
// parser accepts, with the same value: every byte of a few date-times
// replaced by each of the 256 values (a digit below '0' borrows from the
// next byte and a non-ASCII one carries into it, in a word), random pairs
// of bytes replaced, and random valid date-times across the year table and
// beyond it.
func TestParseDateTimeMatchesScalar(t *testing.T) {
	check := func(c *dateTimes, b []byte) {
		t.Helper()
		want, wok := scalarDateTime(b)
		if got, ok := parseDateTime(b); ok != wok || ok && got != want {
			t.Fatalf("parseDateTime(%q) = %d, %v; want %d, %v", b, got, ok, want, wok)
		}
		if got, ok := c.parse(b); ok != wok || ok && got != want {
			t.Fatalf("dateTimes.parse(%q) = %d, %v; want %d, %v", b, got, ok, want, wok)
		}
	}
	var c dateTimes
	bases := []string{"2024-02-29 23:59:59", "1999-12-31 00:00:00", "2024-01-01 10:09:08", "0000-01-01 00:00:00", "9999-12-31 19:59:50"}
	for _, base := range bases {
		for pos := range len(base) {
			for v := range 256 {
				b := []byte(base)
				b[pos] = byte(v)
				check(&c, []byte(base)) // the cache holds the base's day
				check(&c, b)
			}
		}
	}
	rng := rand.New(rand.NewPCG(7, 11))
	accepted := 0
	for range 400000 {
		b := []byte(bases[rng.IntN(len(bases))])
		for range 2 {
			b[rng.IntN(len(b))] = "0123456789:- /\x00\xff\xba\x2f\x3a"[rng.IntN(16)]
		}
		if _, ok := scalarDateTime(b); ok {
			accepted++
		}
		check(&c, b)
	}
	if accepted < 1000 {
		t.Fatalf("only %d of the mutated date-times are valid: the comparison hardly covers accepted values", accepted)
	}
	first := daysFromCivil(tableFirstYear-3, 1, 1)
	last := daysFromCivil(tableFirstYear+tableYears+3, 1, 1)
	for range 200000 {
		s := first + int32(rng.IntN(int(last-first)))
		b := []byte(formatDateTime(int64(s)*secondsPerDay + int64(rng.IntN(secondsPerDay))))
		check(&c, b)
		if _, ok := parseDateTime(b); !ok {
			t.Fatalf("parseDateTime(%q) refused a valid date-time", b)
		}
	}
}

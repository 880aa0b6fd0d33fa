package screening

import (
	"fmt"
	"math/bits"
	"strconv"
)

// Money and quantities are fixed point with scale 10^-4 ("units"): 12.5 yuan
// is 125000. The claims data and rule params allow at most four fractional
// digits (docs/rules.md §2), so parsing is exact and comparisons, sums and
// products need no rounding until a finding's amount is rounded to fen.
const scale = 10000

// The documented range of a decimal (docs/rules.md §2): at most 14 integer
// digits and 4 decimals, so that every value is exact in int64 units.
const (
	maxIntDigits  = 14
	maxFracDigits = 4
)

// decimalAt is value i of c in units: a typed DECIMAL or integer read as
// it is, else the text parsed.
func decimalAt(c *column, i int) (int64, bool) {
	if v, ok := fastDecimal(c, i); ok {
		return v, true
	}
	return parseDecimal(c.at(i))
}

// parseDecimal parses -?[0-9]+(\.[0-9]{1,4})? into units. ok is false for
// anything else (including blanks, exponents, '+', and more than 14
// integer digits, which would not fit an int64 in units; decimalRange
// tells those apart for the reason).
func parseDecimal(b []byte) (v int64, ok bool) {
	i := 0
	neg := false
	if len(b) > 0 && b[0] == '-' {
		neg = true
		i = 1
	}
	start := i
	for ; i < len(b); i++ {
		c := b[i] - '0'
		if c > 9 {
			break
		}
		v = v*10 + int64(c)
	}
	n := i - start
	if n == 0 || n > 14 {
		return 0, false
	}
	frac := 0
	if i < len(b) {
		if b[i] != '.' {
			return 0, false
		}
		i++
		for ; i < len(b); i++ {
			c := b[i] - '0'
			if c > 9 || frac == 4 {
				return 0, false
			}
			v = v*10 + int64(c)
			frac++
		}
		if frac == 0 {
			return 0, false
		}
	}
	switch frac {
	case 0:
		v *= 10000
	case 1:
		v *= 1000
	case 2:
		v *= 100
	case 3:
		v *= 10
	}
	if neg {
		v = -v
	}
	return v, true
}

// decimalRange returns why b, shaped like a decimal (-?[0-9]+(\.[0-9]+)?),
// is beyond the documented range; "" when it is not shaped so (it is then
// "not a decimal") or is within range.
func decimalRange(b []byte) string {
	i := 0
	if len(b) > 0 && b[0] == '-' {
		i = 1
	}
	start := i
	for i < len(b) && isDigit(b[i]) {
		i++
	}
	n, frac := i-start, 0
	if n == 0 {
		return ""
	}
	if i < len(b) {
		if b[i] != '.' {
			return ""
		}
		i++
		fs := i
		for i < len(b) && isDigit(b[i]) {
			i++
		}
		if i != len(b) || i == fs {
			return ""
		}
		frac = i - fs
	}
	switch {
	case n > maxIntDigits:
		return fmt.Sprintf("out of range (at most %d integer digits)", maxIntDigits)
	case frac > maxFracDigits:
		return fmt.Sprintf("out of range (at most %d decimal places)", maxFracDigits)
	}
	return ""
}

// decimalReason is the quarantine text of a decimal column whose value b
// (as read) was refused: out of range or not a decimal; normalised as the
// slow path would first unless strict.
func decimalReason(col string, b []byte, strict bool) string {
	v := b
	if !strict {
		var z normalizer
		v, _ = z.code(b)
		if t, ok := stripThousands(nil, v); ok {
			v = t
		}
	}
	if r := decimalRange(v); r != "" {
		return fmt.Sprintf("%s %q is %s", col, b, r)
	}
	return fmt.Sprintf("%s %q is not a decimal", col, b)
}

// productFits reports whether |cnt × pric| (both in units) is below 10^14
// yuan, the range of an amount: every amount derived from a line (a
// finding's, a visit's share) is then exact in int64 units. Ordinary
// values (both below 429 496.7296) take the first test.
func productFits(cnt, pric int64) bool {
	ua, ub := uabs(cnt), uabs(pric)
	if ua|ub < 1<<32 {
		return true // product < 2^64 × 10^-8 ≈ 1.8 × 10^11
	}
	// 10^14 yuan is 10^22 in 10^-8 = 542 × 2^64 + 1864712049423024128.
	hi, lo := bits.Mul64(ua, ub)
	return hi < 542 || (hi == 542 && lo < 1864712049423024128)
}

// roundUnitsToFen rounds units (10^-4) to fen (10^-2), half away from zero.
func roundUnitsToFen(u int64) int64 {
	if u >= 0 {
		return (u + 50) / 100
	}
	return -((-u + 50) / 100)
}

// mulUnitsToFen returns ROUND(a × b, 2) in fen for a and b in units, half
// away from zero, exact through a 128-bit product. The result saturates at
// the int64 range (far beyond any real amount).
func mulUnitsToFen(a, b int64) int64 {
	neg := (a < 0) != (b < 0)
	ua, ub := uabs(a), uabs(b)
	hi, lo := bits.Mul64(ua, ub)
	// product is in 10^-8; fen is 10^-6 of that.
	const d = 1000000
	lo, carry := bits.Add64(lo, d/2, 0)
	hi += carry
	if hi >= d {
		if neg {
			return -1 << 63
		}
		return 1<<63 - 1
	}
	q, _ := bits.Div64(hi, lo, d)
	if q > 1<<63-1 {
		q = 1<<63 - 1
	}
	if neg {
		return -int64(q)
	}
	return int64(q)
}

func uabs(v int64) uint64 {
	if v < 0 {
		return uint64(-v)
	}
	return uint64(v)
}

// formatFen formats fen as a yuan decimal with exactly two places.
func formatFen(f int64) string {
	return string(appendFen(nil, f))
}

func appendFen(dst []byte, f int64) []byte {
	if f < 0 {
		dst = append(dst, '-')
		f = -f
	}
	dst = strconv.AppendInt(dst, f/100, 10)
	c := f % 100
	return append(dst, '.', byte('0'+c/10), byte('0'+c%10))
}

// formatUnits formats units as a decimal with the fractional digits needed
// (used in evidence texts: "cnt 3.5").
func formatUnits(u int64) string {
	var b []byte
	if u < 0 {
		b = append(b, '-')
		u = -u
	}
	b = strconv.AppendInt(b, u/scale, 10)
	if f := u % scale; f != 0 {
		s := strconv.Itoa(int(f) + scale)[1:]
		for len(s) > 0 && s[len(s)-1] == '0' {
			s = s[:len(s)-1]
		}
		b = append(b, '.')
		b = append(b, s...)
	}
	return string(b)
}

func mul64(a, b uint64) (hi, lo uint64) { return bits.Mul64(a, b) }

func div128(hi, lo, c uint64) (q, r uint64) {
	if hi >= c {
		return 1<<63 - 1, 0
	}
	return bits.Div64(hi, lo, c)
}

package cases

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Fen is an amount of money in fen (分), 1/100 yuan. Every sum a case or a
// roll-up shows is an exact integer sum of fen; nothing passes through a
// float, so 0.10 + 0.20 is 0.30.
type Fen int64

// maxYuanDigits matches the schema of Money (12 integer digits).
const maxYuanDigits = 12

// ErrOverflow is returned when a sum leaves int64 (about 9.2 × 10^16 yuan).
var ErrOverflow = errors.New("amount overflows")

// ParseYuan reads a Money string: digits, optionally a point and one or two
// decimals; at least 0. "" is an error (callers decide what absent means).
func ParseYuan(s string) (Fen, error) {
	whole, frac, hasPoint := strings.Cut(s, ".")
	if whole == "" || len(whole) > maxYuanDigits || !digits(whole) ||
		(hasPoint && (len(frac) < 1 || len(frac) > 2 || !digits(frac))) {
		return 0, fmt.Errorf("amount %q: want yuan as a decimal ≥ 0 with at most 2 decimals, e.g. 1234.50", s)
	}
	w, _ := strconv.ParseInt(whole, 10, 64)
	f := int64(0)
	if hasPoint {
		f, _ = strconv.ParseInt(frac, 10, 64)
		if len(frac) == 1 {
			f *= 10
		}
	}
	return Fen(w*100 + f), nil
}

// ParseOptional is ParseYuan with "" meaning 0.
func ParseOptional(s string) (Fen, error) {
	if s == "" {
		return 0, nil
	}
	return ParseYuan(s)
}

func digits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// String is the amount in yuan with exactly 2 decimals.
func (f Fen) String() string {
	sign := ""
	v := int64(f)
	if v < 0 {
		sign, v = "-", -v
	}
	return fmt.Sprintf("%s%d.%02d", sign, v/100, v%100)
}

// Add is f + g, or ErrOverflow.
func (f Fen) Add(g Fen) (Fen, error) {
	if (g > 0 && f > math.MaxInt64-g) || (g < 0 && f < math.MinInt64-g) {
		return 0, ErrOverflow
	}
	return f + g, nil
}

// Times is f × n for n ≥ 0, or ErrOverflow.
func (f Fen) Times(n int64) (Fen, error) {
	if n == 0 || f == 0 {
		return 0, nil
	}
	if f > 0 && int64(f) > math.MaxInt64/n {
		return 0, ErrOverflow
	}
	return f * Fen(n), nil
}

// Sum adds amounts, or returns ErrOverflow.
func Sum(amounts ...Fen) (Fen, error) {
	var total Fen
	for _, a := range amounts {
		var err error
		if total, err = total.Add(a); err != nil {
			return 0, err
		}
	}
	return total, nil
}

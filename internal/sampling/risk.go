package sampling

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// Risk is a non-negative decimal risk score held exactly as an integer number
// of millionths (micro-units): Risk(12_500000) is 12.5.
//
// Why not float64: the frame digest formats risk with exactly six decimals
// and the risk order compares risks, so two implementations must agree on
// every value bit for bit. Six decimal places is also what the screener
// writes (riskScore, data-format.md), so nothing is lost.
type Risk int64

// RiskScale is the number of micro-units in one unit of risk.
const RiskScale = 1_000_000

// maxRiskIntDigits bounds the integer part so that a Risk never overflows
// int64 (9.2e18 micro-units ≈ 9.2e12 units; 12 digits stay well inside).
const maxRiskIntDigits = 12

// ParseRisk parses a risk score: digits, optionally a '.' and one or more
// digits ("0", "12.5", "3.250000"). The empty string is 0 (a roster without
// risk figures). Signs, exponents, spaces and a bare "." or "5." are
// rejected. More than six fractional digits are accepted only when the extra
// digits are all zero, because only then is the value exactly what the
// six-decimal digest format says it is; "0.0000001" is an error rather than
// silently rounded.
func ParseRisk(s string) (Risk, error) {
	if s == "" {
		return 0, nil
	}
	intPart, frac, hasDot := strings.Cut(s, ".")
	if intPart == "" || (hasDot && frac == "") {
		return 0, fmt.Errorf("risk %q: want digits with an optional fractional part, e.g. 12.5", s)
	}
	if !allDigits(intPart) || !allDigits(frac) {
		if strings.HasPrefix(s, "-") {
			return 0, fmt.Errorf("risk %q is negative; risk must be >= 0", s)
		}
		return 0, fmt.Errorf("risk %q: want digits with an optional fractional part, e.g. 12.5", s)
	}
	intPart = strings.TrimLeft(intPart, "0")
	if len(intPart) > maxRiskIntDigits {
		return 0, fmt.Errorf("risk %q: integer part has more than %d digits", s, maxRiskIntDigits)
	}
	if len(frac) > 6 {
		if strings.Trim(frac[6:], "0") != "" {
			return 0, fmt.Errorf("risk %q has more than 6 decimal places; round it to 6 before drawing", s)
		}
		frac = frac[:6]
	}
	frac += strings.Repeat("0", 6-len(frac))
	var whole, micro int64
	if intPart != "" {
		whole, _ = strconv.ParseInt(intPart, 10, 64) // digits only, ≤12 of them: cannot fail
	}
	micro, _ = strconv.ParseInt(frac, 10, 64)
	return Risk(whole*RiskScale + micro), nil
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// String formats the risk with exactly six decimals ("12.500000"), the form
// used in the frame digest and in status.selected[].riskScore.
func (r Risk) String() string {
	if r < 0 { // only reachable by constructing a Risk by hand
		return "-" + (-r).String()
	}
	return fmt.Sprintf("%d.%06d", int64(r)/RiskScale, int64(r)%RiskScale)
}

// MarshalJSON writes the risk as a decimal string, like money in the API:
// JSON numbers are floats to many readers and would lose the exactness.
func (r Risk) MarshalJSON() ([]byte, error) {
	return json.Marshal(r.String())
}

// UnmarshalJSON accepts a decimal string ("12.500000") or, for hand-written
// selection files, a plain JSON number (12.5). Either must obey [ParseRisk].
func (r *Risk) UnmarshalJSON(b []byte) error {
	s := string(b)
	if len(b) > 0 && b[0] == '"' {
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
	}
	v, err := ParseRisk(s)
	if err != nil {
		return err
	}
	*r = v
	return nil
}

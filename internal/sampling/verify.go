package sampling

import (
	"fmt"
	"strconv"
)

// Difference is the first place where a recorded selection departs from the
// recomputed one.
type Difference struct {
	// Position is 1-based. When one list is shorter, it is the first
	// position that exists in only one of them.
	Position int
	// Field is "code", "name", "cityCode", "level", "ownership", "reason",
	// "riskScore", or "entry" when one list has no entry at Position.
	Field    string
	Expected string // as the draw has it; "" when the draw has no entry there
	Recorded string // as the record has it; "" when the record has no entry there
	// Hint adds context for a wrong code, e.g. where the draw puts the
	// recorded institution instead.
	Hint string
}

func (d Difference) String() string {
	var s string
	switch {
	case d.Field == "entry" && d.Recorded == "":
		s = fmt.Sprintf("entry %d: the draw selects %s, the record has no entry there", d.Position, d.Expected)
	case d.Field == "entry":
		s = fmt.Sprintf("entry %d: the record has %s, the draw selects nothing more", d.Position, d.Recorded)
	default:
		s = fmt.Sprintf("entry %d: %s is %q in the draw but %q in the record", d.Position, d.Field, d.Expected, d.Recorded)
	}
	if d.Hint != "" {
		s += " (" + d.Hint + ")"
	}
	return s
}

// Verification is the outcome of [Verify].
type Verification struct {
	Match bool
	// Result is the recomputed draw, for reports (digest, counts, shortfalls).
	Result Result
	// Difference is the first difference; nil when Match.
	Difference *Difference
}

// Verify recomputes the draw of frame, policy and seed and compares it,
// entry by entry and in order, with a recorded selection (for example
// InspectionSample status.selected). All fields of [Pick] are compared; risk
// scores as numbers, so "12.5" and "12.500000" agree.
//
// The error is only for inputs that cannot be drawn at all (see [Draw]).
func Verify(frame []Institution, policy Policy, seed string, recorded []Pick) (Verification, error) {
	res, err := Draw(frame, policy, seed)
	if err != nil {
		return Verification{}, err
	}
	v := Verification{Result: res, Difference: firstDifference(res.Selected, recorded)}
	v.Match = v.Difference == nil
	return v, nil
}

func firstDifference(want, got []Pick) *Difference {
	for i := 0; i < min(len(want), len(got)); i++ {
		w, g := want[i], got[i]
		diff := func(field, wv, gv string) *Difference {
			return &Difference{Position: i + 1, Field: field, Expected: wv, Recorded: gv}
		}
		switch {
		case w.Code != g.Code:
			d := diff("code", w.Code, g.Code)
			d.Hint = fmt.Sprintf("the draw picks %s for reason %s", w.Code, w.Reason)
			if j := indexOfCode(want, g.Code); j >= 0 {
				d.Hint += fmt.Sprintf("; it puts %s at entry %d", g.Code, j+1)
			} else {
				d.Hint += fmt.Sprintf("; it does not select %s at all", g.Code)
			}
			return d
		case w.Name != g.Name:
			return diff("name", w.Name, g.Name)
		case w.CityCode != g.CityCode:
			return diff("cityCode", w.CityCode, g.CityCode)
		case w.Level != g.Level:
			return diff("level", strconv.Itoa(w.Level), strconv.Itoa(g.Level))
		case w.Ownership != g.Ownership:
			return diff("ownership", w.Ownership, g.Ownership)
		case w.Reason != g.Reason:
			return diff("reason", string(w.Reason), string(g.Reason))
		case w.RiskScore != g.RiskScore:
			return diff("riskScore", w.RiskScore.String(), g.RiskScore.String())
		}
	}
	n := min(len(want), len(got))
	counts := fmt.Sprintf("the draw has %d entries, the record %d", len(want), len(got))
	switch {
	case len(want) > n:
		return &Difference{Position: n + 1, Field: "entry",
			Expected: fmt.Sprintf("%s (%s)", want[n].Code, want[n].Reason), Hint: counts}
	case len(got) > n:
		return &Difference{Position: n + 1, Field: "entry",
			Recorded: fmt.Sprintf("%s (%s)", got[n].Code, got[n].Reason), Hint: counts}
	}
	return nil
}

func indexOfCode(picks []Pick, code string) int {
	for i, p := range picks {
		if p.Code == code {
			return i
		}
	}
	return -1
}

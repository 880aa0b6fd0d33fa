package sampling

import (
	"bytes"
	"crypto/sha256"
	"math/rand/v2"
	"slices"
	"testing"
)

// referenceDraw is a second implementation of flycheck-sample/v1 written
// straight from DESIGN §4 and docs/sampling.md in a deliberately different
// style: no sorting, only "pick the best remaining one" scans; raw hash
// bytes instead of hex strings; the percentages as the plain formulas
// (fine for the small numbers of the tests). If Draw and this disagree, one
// of them misreads the specification.
func referenceDraw(frame []Institution, p Policy, seed string) []Pick {
	key := func(in Institution) []byte {
		h := sha256.Sum256([]byte(seed + "|" + in.Code))
		return h[:]
	}
	picked := map[string]bool{}
	var out []Pick
	take := func(in Institution, why Reason) {
		picked[in.Code] = true
		out = append(out, Pick{Code: in.Code, Name: in.Name, CityCode: in.CityCode, Level: in.Level,
			Ownership: in.Ownership, Reason: why, RiskScore: in.Risk})
	}
	// best returns the unpicked row among rows that ok accepts and that comes
	// first in random order (risky=false) or in risk order (risky=true).
	best := func(rows []Institution, ok func(Institution) bool, risky bool) (Institution, bool) {
		var b Institution
		found := false
		for _, in := range rows {
			if picked[in.Code] || !ok(in) {
				continue
			}
			if !found {
				b, found = in, true
				continue
			}
			if risky && in.Risk != b.Risk {
				if in.Risk > b.Risk {
					b = in
				}
				continue
			}
			if bytes.Compare(key(in), key(b)) < 0 {
				b = in
			}
		}
		return b, found
	}
	anyRow := func(Institution) bool { return true }
	hasRisk := func(in Institution) bool { return in.Risk > 0 }
	tertiary := func(in Institution) bool { return in.Level == 3 }

	var cities []string
	for _, in := range frame {
		if !slices.Contains(cities, in.CityCode) {
			cities = append(cities, in.CityCode)
		}
	}
	slices.Sort(cities)
	for _, city := range cities {
		var rows []Institution
		t := 0
		for _, in := range frame {
			if in.CityCode == city {
				rows = append(rows, in)
				if in.Level == 3 {
					t++
				}
			}
		}
		bigN := len(rows)
		n := (p.MinPercent*bigN + 99) / 100
		if p.MinTertiaryPerCity > n {
			n = p.MinTertiaryPerCity
		}
		if n > bigN {
			n = bigN
		}
		count := 0
		for count < p.MinTertiaryPerCity && count < t {
			in, _ := best(rows, tertiary, false)
			take(in, ReasonTertiaryQuota)
			count++
		}
		k := p.RiskBasedPercent * (n - count) / 100
		for range k {
			in, ok := best(rows, hasRisk, true)
			if !ok {
				break
			}
			take(in, ReasonRisk)
			count++
		}
		for count < n {
			in, _ := best(rows, anyRow, false)
			take(in, ReasonRandom)
			count++
		}
	}
	if len(out) < p.MinTotal {
		need := p.MinTotal - len(out)
		got := 0
		for range p.RiskBasedPercent * need / 100 {
			in, ok := best(frame, hasRisk, true)
			if !ok {
				break
			}
			take(in, ReasonMinimumTopUp)
			got++
		}
		for got < need {
			in, ok := best(frame, anyRow, false)
			if !ok {
				break
			}
			take(in, ReasonMinimumTopUp)
			got++
		}
	}
	return out
}

func TestDrawAgreesWithReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(2020, 7))
	for i := range 400 {
		frame := randomFrame(rng, 5, 25)
		p := randomPolicy(rng, len(frame))
		seed := "ref-" + string(rune('a'+i%26))
		got := mustDraw(t, frame, p, seed).Selected
		want := referenceDraw(frame, p, seed)
		if !slices.Equal(got, want) {
			t.Fatalf("case %d, policy %+v: Draw and the reference disagree\n draw: %v\n ref:  %v",
				i, p, got, want)
		}
	}
}

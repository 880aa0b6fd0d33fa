package sampling

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// randomFrame makes a frame of 1..maxCities cities with 1..maxPerCity
// institutions each. Levels, risks (with deliberate ties and zeros) and the
// number of tertiary hospitals vary so that shortfalls, risk ties and empty
// risk parts all occur. Codes are not in city order.
func randomFrame(rng *rand.Rand, maxCities, maxPerCity int) []Institution {
	var frame []Institution
	cities := 1 + rng.IntN(maxCities)
	for c := range cities {
		city := fmt.Sprintf("32%02d00", c+1)
		size := 1 + rng.IntN(maxPerCity)
		tertiaryBias := rng.Float64() * 0.5 // some cities have none
		riskBias := rng.Float64()           // some cities have no risk figures
		for i := range size {
			in := Institution{
				Code:      fmt.Sprintf("H%08d", rng.IntN(100_000_000)),
				CityCode:  city,
				Name:      fmt.Sprintf("医院 %d-%d", c, i),
				Level:     rng.IntN(3), // 0..2
				Ownership: []string{"public", "private"}[rng.IntN(2)],
				Type:      []string{"hospital", "clinic", "pharmacy"}[rng.IntN(3)],
			}
			if rng.Float64() < tertiaryBias {
				in.Level = 3
			}
			if rng.Float64() < riskBias {
				// Few distinct values, so risk ties are common.
				in.Risk = Risk(rng.IntN(5)) * 250_000
			}
			frame = append(frame, in)
		}
	}
	// Make codes unique (a clash is astronomically rare but possible).
	seen := map[string]bool{}
	for i := range frame {
		for seen[frame[i].Code] {
			frame[i].Code += "x"
		}
		seen[frame[i].Code] = true
	}
	return frame
}

// randomPolicy draws a valid policy suited to a frame of size institutions,
// with the boundary values 0 and 100 deliberately frequent.
func randomPolicy(rng *rand.Rand, size int) Policy {
	pct := func() int {
		switch rng.IntN(6) {
		case 0:
			return 0
		case 1:
			return 100
		default:
			return rng.IntN(101)
		}
	}
	p := Policy{
		MinPercent:         pct(),
		MinTertiaryPerCity: rng.IntN(5),
		MinTotal:           rng.IntN(size + size/2 + 2),
		RiskBasedPercent:   pct(),
	}
	if rng.IntN(3) == 0 { // small percentages, as in real campaigns
		p.MinPercent = rng.IntN(31)
	}
	return p
}

func mustDraw(t testing.TB, frame []Institution, p Policy, seed string) Result {
	t.Helper()
	res, err := Draw(frame, p, seed)
	if err != nil {
		t.Fatalf("Draw(%+v, %q): %v", p, seed, err)
	}
	return res
}

func codes(picks []Pick) []string {
	out := make([]string, len(picks))
	for i, p := range picks {
		out[i] = p.Code
	}
	return out
}

func byCity(frame []Institution) map[string][]Institution {
	m := map[string][]Institution{}
	for _, in := range frame {
		m[in.CityCode] = append(m[in.CityCode], in)
	}
	return m
}

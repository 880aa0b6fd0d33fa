package sampling

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
)

// SizesOf must agree with what Draw actually does, for any frame, policy
// and seed: the city quotas, the tertiary picks of step 4a, the top-up and
// the shortfalls.
func TestSizesOfMatchesDraw(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 5))
	for i := range 300 {
		frame := randomFrame(rng, 6, 40)
		p := randomPolicy(rng, len(frame))
		s, err := SizesOf(frame, p)
		if err != nil {
			t.Fatal(err)
		}
		r := mustDraw(t, frame, p, fmt.Sprintf("sizes-%d", i))
		if s.Total != r.Counts.Selected {
			t.Fatalf("case %d %+v: sizes say %d in all, the draw selected %d", i, p, s.Total, r.Counts.Selected)
		}
		if s.TopUp != r.Counts.ByReason[ReasonMinimumTopUp] {
			t.Fatalf("case %d: top-up %d, the draw %d", i, s.TopUp, r.Counts.ByReason[ReasonMinimumTopUp])
		}
		if len(s.Cities) != len(r.Counts.ByCity) {
			t.Fatalf("case %d: %d cities, the draw %d", i, len(s.Cities), len(r.Counts.ByCity))
		}
		tertiaryQuota := map[string]int{}
		for _, pk := range r.Selected {
			if pk.Reason == ReasonTertiaryQuota {
				tertiaryQuota[pk.CityCode]++
			}
		}
		var shortfalls []string
		for _, sf := range r.Shortfalls {
			if sf.Kind != ShortfallFrame {
				shortfalls = append(shortfalls, sf.CityCode+"/"+string(sf.Kind))
			}
		}
		var mine []string
		for j, c := range s.Cities {
			dc := r.Counts.ByCity[j]
			if c.CityCode != dc.CityCode || c.Institutions != dc.Institutions || c.TertiaryInFrame != dc.TertiaryInFrame || c.Quota != dc.Quota {
				t.Fatalf("case %d: city %+v, the draw %+v", i, c, dc)
			}
			if c.TertiaryQuota != tertiaryQuota[c.CityCode] {
				t.Fatalf("case %d city %s: tertiary quota %d, the draw picked %d for it", i, c.CityCode, c.TertiaryQuota, tertiaryQuota[c.CityCode])
			}
			for _, k := range c.Shortfalls {
				mine = append(mine, c.CityCode+"/"+string(k))
			}
		}
		slices.Sort(mine)
		slices.Sort(shortfalls)
		if !slices.Equal(mine, shortfalls) {
			t.Fatalf("case %d: shortfalls %v, the draw %v", i, mine, shortfalls)
		}
		if s.FrameShort != slices.ContainsFunc(r.Shortfalls, func(sf Shortfall) bool { return sf.Kind == ShortfallFrame }) {
			t.Fatalf("case %d: FrameShort %v, the draw %v", i, s.FrameShort, r.Shortfalls)
		}
	}
}

func TestSizesOfJiangsuRecheck(t *testing.T) {
	// 57 institutions, 3 tertiary: ceil(10% × 57) = 6, of which 2 tertiary.
	var frame []Institution
	for i := range 57 {
		lvl := 1
		if i < 3 {
			lvl = 3
		}
		frame = append(frame, Institution{Code: fmt.Sprintf("H32010000%03d", i), CityCode: "320100", Level: lvl})
	}
	s, err := SizesOf(frame, Policy{MinPercent: 10, MinTertiaryPerCity: 2, MinTotal: 26})
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Cities) != 1 || s.Cities[0].Quota != 6 || s.Cities[0].TertiaryQuota != 2 || s.TopUp != 20 || s.Total != 26 {
		t.Errorf("sizes %+v", s)
	}
	if _, err := SizesOf(frame, Policy{MinPercent: 101}); err == nil {
		t.Error("an invalid policy was accepted")
	}
}

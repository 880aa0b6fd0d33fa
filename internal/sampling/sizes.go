package sampling

import (
	"slices"
	"strings"
)

// CitySize is what a draw will take from one city, known before the draw:
// it depends on the frame's counts and the policy only, never on the seed.
type CitySize struct {
	CityCode        string
	Institutions    int // N
	TertiaryInFrame int // T
	// Quota is the city's own quota n (step 4), capped at N.
	Quota int
	// TertiaryQuota is how many of the quota go to tertiary hospitals
	// first (step 4a): min(minTertiaryPerCity, T).
	TertiaryQuota int
	// Shortfalls the draw will report for the city (CityBelowQuota,
	// TertiaryBelowMinimum); Message is left empty.
	Shortfalls []ShortfallKind
}

// Sizes are the sizes of a draw over a frame, cities in ascending cityCode
// as in Counts.ByCity.
type Sizes struct {
	Cities []CitySize
	// Quotas is the sum of the cities' quotas.
	Quotas int
	// TopUp is how many step 5 adds, from any city, to reach minTotal
	// (which cities it lands in depends on the seed).
	TopUp int
	// Total is the size of the sample: Quotas + TopUp.
	Total int
	// FrameShort: the frame is smaller than minTotal (FrameBelowMinTotal).
	FrameShort bool
}

// SizesOf computes the sizes Draw will produce for frame under p, with the
// same arithmetic (CityQuota, the tertiary quota, the top-up), without a
// seed and without picking anyone: a plan can show them ahead of the draw.
func SizesOf(frame []Institution, p Policy) (Sizes, error) {
	if err := p.Validate(); err != nil {
		return Sizes{}, err
	}
	byCity := map[string]*CitySize{}
	for _, in := range frame {
		c := byCity[in.CityCode]
		if c == nil {
			c = &CitySize{CityCode: in.CityCode}
			byCity[in.CityCode] = c
		}
		c.Institutions++
		if in.Tertiary() {
			c.TertiaryInFrame++
		}
	}
	var s Sizes
	for _, c := range byCity {
		c.Quota = p.CityQuota(c.Institutions)
		c.TertiaryQuota = min(p.MinTertiaryPerCity, c.TertiaryInFrame)
		if p.uncappedQuota(c.Institutions) > c.Institutions {
			c.Shortfalls = append(c.Shortfalls, ShortfallCity)
		}
		if c.TertiaryInFrame < p.MinTertiaryPerCity {
			c.Shortfalls = append(c.Shortfalls, ShortfallTertiary)
		}
		s.Cities = append(s.Cities, *c)
		s.Quotas += c.Quota
	}
	slices.SortFunc(s.Cities, func(a, b CitySize) int { return strings.Compare(a.CityCode, b.CityCode) })
	s.FrameShort = len(frame) < p.MinTotal
	if s.Quotas < p.MinTotal {
		s.TopUp = min(p.MinTotal, len(frame)) - s.Quotas
	}
	s.Total = s.Quotas + s.TopUp
	return s, nil
}

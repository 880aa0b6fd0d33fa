package sampling

import (
	"errors"
	"fmt"
)

// Policy is what a campaign asks of a draw (Campaign.spec.phases[].sampling
// without purpose and seed). All numbers are integers; percentages are whole
// percent.
//
// For example the Jiangsu 2020 campaign: recheck (抽查复查) ≥10 % of each
// city's institutions, ≥2 tertiary per city, ≥26 province-wide —
// Policy{MinPercent: 10, MinTertiaryPerCity: 2, MinTotal: 26}; fly-check
// (飞行检查) ≥2 tertiary per city, ≥30 in all —
// Policy{MinPercent: 0, MinTertiaryPerCity: 2, MinTotal: 30}.
type Policy struct {
	// MinPercent of each city's institutions, rounded up: 0..100.
	MinPercent int `json:"minPercent"`
	// MinTertiaryPerCity tertiary hospitals (三级医院) per city, when the city
	// has that many: >= 0.
	MinTertiaryPerCity int `json:"minTertiaryPerCity"`
	// MinTotal institutions over the whole frame (province-wide): >= 0.
	MinTotal int `json:"minTotal"`
	// RiskBasedPercent of the picks after the tertiary quota that go to the
	// riskiest institutions rather than random ones: 0..100.
	RiskBasedPercent int `json:"riskBasedPercent"`
}

// Validate reports every out-of-range field at once.
func (p Policy) Validate() error {
	var errs []error
	if p.MinPercent < 0 || p.MinPercent > 100 {
		errs = append(errs, fmt.Errorf("minPercent %d: want 0..100", p.MinPercent))
	}
	if p.MinTertiaryPerCity < 0 {
		errs = append(errs, fmt.Errorf("minTertiaryPerCity %d: want >= 0", p.MinTertiaryPerCity))
	}
	if p.MinTotal < 0 {
		errs = append(errs, fmt.Errorf("minTotal %d: want >= 0", p.MinTotal))
	}
	if p.RiskBasedPercent < 0 || p.RiskBasedPercent > 100 {
		errs = append(errs, fmt.Errorf("riskBasedPercent %d: want 0..100", p.RiskBasedPercent))
	}
	if len(errs) > 0 {
		return fmt.Errorf("invalid sampling policy: %w", errors.Join(errs...))
	}
	return nil
}

// CityQuota is n, the number of institutions a city of size institutions
// must have in its sample (DESIGN §4.4):
// min(size, max(ceil(MinPercent × size / 100), MinTertiaryPerCity)).
func (p Policy) CityQuota(size int) int { return min(size, p.uncappedQuota(size)) }

// uncappedQuota is the quota before capping at the city size; a city
// smaller than it has a ShortfallCity.
func (p Policy) uncappedQuota(size int) int {
	return max(percentCeil(p.MinPercent, size), p.MinTertiaryPerCity)
}

// percentCeil is ceil(pct × n / 100) for 0 <= pct <= 100, n >= 0, in integers.
// Split so that it cannot overflow whatever n is: pct×(n/100) <= n.
func percentCeil(pct, n int) int {
	q, r := n/100, n%100
	return pct*q + (pct*r+99)/100
}

// percentFloor is floor(pct × n / 100) for 0 <= pct <= 100, n >= 0.
func percentFloor(pct, n int) int {
	q, r := n/100, n%100
	return pct*q + pct*r/100
}

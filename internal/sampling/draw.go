package sampling

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"strings"
)

// Reason says why an institution was picked (status.selected[].reason).
type Reason string

const (
	// ReasonTertiaryQuota: one of the city's minTertiaryPerCity tertiary
	// hospitals (三级医院), taken in random order (step 4a).
	ReasonTertiaryQuota Reason = "TertiaryQuota"
	// ReasonRisk: one of the riskiest remaining institutions of its city
	// (step 4b).
	ReasonRisk Reason = "Risk"
	// ReasonRandom: the random fill of its city up to the city quota (4c).
	ReasonRandom Reason = "Random"
	// ReasonMinimumTopUp: added province-wide to reach minTotal (step 5).
	ReasonMinimumTopUp Reason = "MinimumTopUp"
)

// Pick is one selected institution, shaped like an entry of
// InspectionSample status.selected.
type Pick struct {
	Code      string `json:"code"`
	Name      string `json:"name"`
	CityCode  string `json:"cityCode"`
	Level     int    `json:"level"`
	Ownership string `json:"ownership"`
	Reason    Reason `json:"reason"`
	RiskScore Risk   `json:"riskScore"`
}

// FrameSummary identifies the frame a draw was made from (status.frame).
type FrameSummary struct {
	Size     int    `json:"size"`     // institutions
	Tertiary int    `json:"tertiary"` // of which level 3
	Digest   string `json:"digest"`   // see Digest
}

// CityCount is the draw seen from one city (设区市).
type CityCount struct {
	CityCode        string `json:"cityCode"`
	Institutions    int    `json:"institutions"`    // N: institutions of the city in the frame
	TertiaryInFrame int    `json:"tertiaryInFrame"` // T: of which tertiary
	Quota           int    `json:"quota"`           // n: the city's own quota (step 4)
	Selected        int    `json:"selected"`        // picks in the city, top-up included
	Tertiary        int    `json:"tertiary"`        // of which tertiary, whatever the reason
}

// Counts summarises a selection (status.counts).
type Counts struct {
	Selected int            `json:"selected"`
	Tertiary int            `json:"tertiary"`
	ByReason map[Reason]int `json:"byReason"`
	ByCity   []CityCount    `json:"byCity"` // every city of the frame, ascending cityCode
}

// ShortfallKind names a policy minimum that the frame cannot satisfy.
type ShortfallKind string

const (
	// ShortfallTertiary: a city has fewer tertiary hospitals than
	// minTertiaryPerCity; all of them are taken.
	ShortfallTertiary ShortfallKind = "TertiaryBelowMinimum"
	// ShortfallCity: a city has fewer institutions than its uncapped quota
	// max(ceil(minPercent% × N), minTertiaryPerCity); all of them are taken.
	ShortfallCity ShortfallKind = "CityBelowQuota"
	// ShortfallFrame: the whole frame is smaller than minTotal; everything is
	// taken.
	ShortfallFrame ShortfallKind = "FrameBelowMinTotal"
)

// Shortfall is a minimum the draw could not meet because the institutions do
// not exist. The draw still takes everything that does exist; shortfalls are
// reported so that nobody mistakes a short sample for a full one.
type Shortfall struct {
	Kind      ShortfallKind `json:"kind"`
	CityCode  string        `json:"cityCode,omitempty"` // empty for ShortfallFrame
	Wanted    int           `json:"wanted"`
	Available int           `json:"available"`
	Message   string        `json:"message"`
}

// Result is a complete draw: what InspectionSample.status records.
type Result struct {
	Algorithm string       `json:"algorithm"`
	Seed      string       `json:"seed"`
	Policy    Policy       `json:"policy"`
	Frame     FrameSummary `json:"frame"`
	// Selected is in pick order: cities in ascending cityCode (byte order),
	// each city's picks in the order steps 4a, 4b, 4c make them; then the
	// province top-up picks (step 5) in the order they are made.
	Selected   []Pick      `json:"selected"`
	Counts     Counts      `json:"counts"`
	Shortfalls []Shortfall `json:"shortfalls,omitempty"`
}

// candidate is a frame row during a draw.
type candidate struct {
	in     *Institution
	key    string
	picked bool
}

// randomOrder is ascending key (DESIGN §4.3). Equal keys would need a
// SHA-256 collision; the code tie-break only makes the order total.
func randomOrder(a, b *candidate) int {
	return cmp.Or(strings.Compare(a.key, b.key), strings.Compare(a.in.Code, b.in.Code))
}

// riskOrder is descending risk, ties by random order (DESIGN §4.3).
func riskOrder(a, b *candidate) int {
	return cmp.Or(cmp.Compare(b.in.Risk, a.in.Risk), randomOrder(a, b))
}

// Draw makes the flycheck-sample/v1 draw (DESIGN §4, docs/sampling.md) from
// frame under policy with seed. It is a pure function: the same frame (in
// any row order), policy and seed give the same Result.
//
// Errors are only for invalid input (policy out of range, empty seed,
// invalid or duplicate rows). A frame that cannot satisfy the policy is not
// an error: everything available is taken and Result.Shortfalls says what is
// missing.
func Draw(frame []Institution, policy Policy, seed string) (Result, error) {
	if err := policy.Validate(); err != nil {
		return Result{}, err
	}
	if seed == "" {
		// An empty seed is almost certainly a wiring mistake (the controller
		// forgot to derive one), and it would make every draw predictable.
		return Result{}, errors.New("seed is empty")
	}
	if err := ValidateFrame(frame); err != nil {
		return Result{}, err
	}

	d := drawing{policy: policy, res: Result{
		Algorithm: Algorithm,
		Seed:      seed,
		Policy:    policy,
		Frame:     FrameSummary{Size: len(frame), Digest: digestValid(frame)},
		Selected:  []Pick{},
	}}

	all := make([]*candidate, len(frame))
	for i := range frame {
		all[i] = &candidate{in: &frame[i], key: Key(seed, frame[i].Code)}
		if frame[i].Tertiary() {
			d.res.Frame.Tertiary++
		}
	}
	slices.SortFunc(all, randomOrder)

	// Group by city, keeping random order inside each city (the sort is
	// stable with respect to it because we append in that order).
	byCity := map[string][]*candidate{}
	for _, c := range all {
		byCity[c.in.CityCode] = append(byCity[c.in.CityCode], c)
	}
	cities := make([]string, 0, len(byCity))
	for city := range byCity {
		cities = append(cities, city)
	}
	slices.Sort(cities) // byte order

	for _, city := range cities {
		d.city(city, byCity[city])
	}
	d.topUp(all)
	d.count(cities, byCity)
	return d.res, nil
}

type drawing struct {
	policy Policy
	res    Result
}

func (d *drawing) pick(c *candidate, why Reason) {
	c.picked = true
	d.res.Selected = append(d.res.Selected, Pick{
		Code: c.in.Code, Name: c.in.Name, CityCode: c.in.CityCode, Level: c.in.Level,
		Ownership: c.in.Ownership, Reason: why, RiskScore: c.in.Risk,
	})
}

func (d *drawing) shortfall(s Shortfall) { d.res.Shortfalls = append(d.res.Shortfalls, s) }

// city runs step 4 for one city. members is in random order.
func (d *drawing) city(city string, members []*candidate) {
	p := d.policy
	size := len(members)
	tertiary := 0
	for _, c := range members {
		if c.in.Tertiary() {
			tertiary++
		}
	}
	uncapped := p.uncappedQuota(size)
	quota := p.CityQuota(size)
	if uncapped > size {
		d.shortfall(Shortfall{Kind: ShortfallCity, CityCode: city, Wanted: uncapped, Available: size,
			Message: fmt.Sprintf("city %s: %d institution(s) in the frame, fewer than its quota of %d; all are selected", city, size, uncapped)})
	}
	if tertiary < p.MinTertiaryPerCity {
		d.shortfall(Shortfall{Kind: ShortfallTertiary, CityCode: city, Wanted: p.MinTertiaryPerCity, Available: tertiary,
			Message: fmt.Sprintf("city %s: %d tertiary hospital(s) in the frame, policy asks for %d per city; all are selected", city, tertiary, p.MinTertiaryPerCity)})
	}

	// 4a. Tertiary quota, random order.
	picked := 0
	for _, c := range members {
		if picked == min(p.MinTertiaryPerCity, tertiary) {
			break
		}
		if c.in.Tertiary() {
			d.pick(c, ReasonTertiaryQuota)
			picked++
		}
	}

	// 4b. Risk share of what is left of the quota, risk order, risk > 0 only.
	// If fewer institutions have risk > 0 than the share, all of them are
	// taken and the random fill makes up the difference.
	share := percentFloor(p.RiskBasedPercent, quota-picked)
	picked += d.takeRiskiest(members, share, ReasonRisk)

	// 4c. Random fill up to the quota.
	for _, c := range members {
		if picked >= quota {
			break
		}
		if !c.picked {
			d.pick(c, ReasonRandom)
			picked++
		}
	}
}

// takeRiskiest picks up to n unpicked candidates with risk > 0 in risk order
// and returns how many it picked.
func (d *drawing) takeRiskiest(cands []*candidate, n int, why Reason) int {
	if n <= 0 {
		return 0
	}
	var risky []*candidate
	for _, c := range cands {
		if !c.picked && c.in.Risk > 0 {
			risky = append(risky, c)
		}
	}
	slices.SortFunc(risky, riskOrder)
	taken := min(n, len(risky))
	for _, c := range risky[:taken] {
		d.pick(c, why)
	}
	return taken
}

// topUp runs step 5 over the whole frame; all is in random order.
//
// DESIGN §4.5 says "while the total is below minTotal". One round is always
// enough: need = minTotal − total is computed once, the risk part takes
// floor(riskBasedPercent × need / 100) in risk order (fewer only if no
// unpicked institution with risk > 0 is left), and the random part takes the
// rest of need. After that either the total is minTotal or the frame is
// exhausted, so a second round never happens — and a reading that looped
// with a fresh need would pick the same institutions in the same order,
// because a short risk part means no risk > 0 candidate remains.
func (d *drawing) topUp(all []*candidate) {
	p := d.policy
	if len(all) < p.MinTotal {
		d.shortfall(Shortfall{Kind: ShortfallFrame, Wanted: p.MinTotal, Available: len(all),
			Message: fmt.Sprintf("frame: %d institution(s), fewer than minTotal %d; all are selected", len(all), p.MinTotal)})
	}
	total := len(d.res.Selected)
	if total >= p.MinTotal {
		return
	}
	need := p.MinTotal - total
	taken := d.takeRiskiest(all, percentFloor(p.RiskBasedPercent, need), ReasonMinimumTopUp)
	for _, c := range all {
		if taken >= need {
			break
		}
		if !c.picked {
			d.pick(c, ReasonMinimumTopUp)
			taken++
		}
	}
}

func (d *drawing) count(cities []string, byCity map[string][]*candidate) {
	cnt := Counts{ByReason: map[Reason]int{}, ByCity: make([]CityCount, 0, len(cities))}
	index := map[string]int{}
	for i, city := range cities {
		index[city] = i
		cc := CityCount{CityCode: city, Institutions: len(byCity[city])}
		for _, c := range byCity[city] {
			if c.in.Tertiary() {
				cc.TertiaryInFrame++
			}
		}
		cc.Quota = d.policy.CityQuota(cc.Institutions)
		cnt.ByCity = append(cnt.ByCity, cc)
	}
	for _, s := range d.res.Selected {
		cnt.Selected++
		cnt.ByReason[s.Reason]++
		cc := &cnt.ByCity[index[s.CityCode]]
		cc.Selected++
		if s.Level == 3 {
			cnt.Tertiary++
			cc.Tertiary++
		}
	}
	d.res.Counts = cnt
}

package synth

import (
	"sort"
)

// randSource is what the builders need from *rand.Rand.
type randSource interface {
	IntN(int) int
	Float64() float64
}

// line is a fee line (费用明细) while its visit is being built.
type line struct {
	item  *Item
	day   int   // day index from the window start
	sec   int32 // second of the day
	cnt   int64 // units in 1/100
	price int64 // fen
	setl  uint8 // settlement number: 1, or 2 for a second settlement
	fixed bool  // placed by the injector; sanitize leaves it alone
	// truth is 1 + the index of the visit's truth mark that flags this line.
	truth int32
	// amount6 (1e-6 yuan) is the expected finding amount when the template
	// does not flag the whole line (PriceCap, MaxUnits, PerDayExceedsStay);
	// override says it is set.
	amount6  int64
	override bool
}

// amount is det_item_fee_sumamt in fen: cnt × pric rounded half away from
// zero (cnt is integral in practice, so it is exact).
func (l *line) amount() int64 { return (l.cnt*l.price + 50) / 100 }

// truthMark is an expected finding attached to a visit being built.
type truthMark struct {
	rule     *crule
	scenario int
	// visit-level findings: the visit itself is flagged; for BedOnlyDays
	// the amount is that of the lines on the days in bedOnly.
	visit   bool
	bedOnly map[int]bool
}

// visitBuf is a visit (就诊) with its diagnoses and lines, being built.
type visitBuf struct {
	inst      *Institution
	ps        *person
	prof      *profile
	medType   string
	inpatient bool
	beginDay  int
	beginSec  int32
	endDay    int
	endSec    int32
	gend      byte
	age       int
	diags     []string // principal first
	lines     []line
	block     int
	truths    []truthMark
}

func (v *visitBuf) los() int { return max(1, v.endDay-v.beginDay) }

func (v *visitBuf) sortLines() {
	sort.SliceStable(v.lines, func(i, j int) bool {
		a, b := &v.lines[i], &v.lines[j]
		if a.day != b.day {
			return a.day < b.day
		}
		return a.sec < b.sec
	})
}

// filter keeps the lines for which keep is true, in order.
func (v *visitBuf) filter(keep func(l *line) bool) {
	out := v.lines[:0]
	for i := range v.lines {
		if keep(&v.lines[i]) {
			out = append(out, v.lines[i])
		}
	}
	v.lines = out
}

// daysWith returns the days on which the visit has a line of one of codes.
func (v *visitBuf) daysWith(codes map[string]bool) map[int]bool {
	var days map[int]bool
	for i := range v.lines {
		if codes[v.lines[i].item.Code] {
			if days == nil {
				days = map[int]bool{}
			}
			days[v.lines[i].day] = true
		}
	}
	return days
}

// has reports whether the visit has a line of code.
func (v *visitBuf) has(code string) bool {
	for i := range v.lines {
		if v.lines[i].item.Code == code {
			return true
		}
	}
	return false
}

var itemByCode = func() map[string]*Item {
	m := make(map[string]*Item, len(Items))
	for i := range Items {
		m[Items[i].Code] = &Items[i]
	}
	return m
}()

// lookupItem finds a catalogue item; a code the catalogue does not know
// (a rule file written for another catalogue) gets a stand-in entry so that
// its violations can still be injected.
func lookupItem(code string) *Item {
	if it := itemByCode[code]; it != nil {
		return it
	}
	it := &Item{Code: code, Name: "项目" + code, Kind: KindTreatment, Price: 1000}
	itemByCode[code] = it
	return it
}

// clock hands out increasing fee times within one day.
type clock struct {
	sec int32
	r   randSource
}

func (c *clock) next(minStep, maxStep int) int32 {
	c.sec += int32(minStep + c.r.IntN(maxStep-minStep+1))
	if c.sec > 86399 {
		c.sec = 86399
	}
	return c.sec
}

// buildEpisode bills a profile for a person at an institution starting on
// day start. It does not apply the rule policy.
// los is the length of stay of an inpatient profile (0: drawn from the
// profile's range).
func buildEpisode(r randSource, in *Institution, ps *person, prof *profile, start, block, los int) *visitBuf {
	v := &visitBuf{inst: in, ps: ps, prof: prof, medType: prof.medType, inpatient: prof.setting == settingInpatient,
		beginDay: start, gend: ps.gender, age: ps.ageAt(start), block: block}
	v.diags = append(v.diags, prof.diag)
	for _, d := range prof.secondary {
		if r.Float64() < 0.25 {
			v.diags = append(v.diags, d)
		}
	}
	add := func(u *use, day int, c *clock) {
		if u.p < 1 && r.Float64() >= u.p {
			return
		}
		it := itemByCode[u.code]
		cnt := int64(between(r, u.cnt[0], u.cnt[1])) * 100
		v.lines = append(v.lines, line{item: it, day: day, sec: c.next(30, 420), cnt: cnt, price: it.Price, setl: 1})
	}
	if !v.inpatient {
		v.beginSec = int32(8*3600 + r.IntN(8*3600))
		if prof.setting == settingPharmacy {
			v.beginSec = int32(8*3600 + r.IntN(12*3600))
		}
		c := &clock{sec: v.beginSec, r: r}
		for i := range prof.uses {
			add(&prof.uses[i], start, c)
		}
		v.endDay = start
		v.endSec = c.next(300, 1800)
		return v
	}
	if los <= 0 {
		los = between(r, prof.los[0], prof.los[1])
	}
	v.endDay = start + los
	v.beginSec = int32(8*3600 + r.IntN(8*3600))
	anyDay := start + r.IntN(los)
	for d := start; d <= v.endDay; d++ {
		c := &clock{sec: int32(7*3600 + r.IntN(3600)), r: r}
		if d == start {
			c.sec = v.beginSec
		}
		if d < v.endDay {
			v.lines = append(v.lines, line{item: itemByCode[bedFee], day: d, sec: c.next(10, 120), cnt: 100, price: itemByCode[bedFee].Price, setl: 1})
			nu := itemByCode[prof.nursing]
			v.lines = append(v.lines, line{item: nu, day: d, sec: c.next(10, 120), cnt: 100, price: nu.Price, setl: 1})
		}
		for i := range prof.uses {
			u := &prof.uses[i]
			switch {
			case u.day == dayAdmission && d == start,
				u.day == dayNext && d == start+1 && d < v.endDay,
				u.day == dayAny && d == anyDay,
				u.day == dayEvery && d < v.endDay,
				u.day == dayDischarge && d == v.endDay:
				add(u, d, c)
			}
		}
		if d == v.endDay {
			v.endSec = c.next(600, 3600)
		}
	}
	return v
}

// chooseProfile picks a profile for a person at an institution; inpatient
// says whether the episode is a stay (hospitals only). It returns nil when
// no profile fits.
func chooseProfile(r randSource, in *Institution, ps *person, age int, inpatient bool) *profile {
	var cands []*profile
	total := 0
	for i := range profiles {
		p := &profiles[i]
		switch {
		case in.Type == "pharmacy":
			if p.setting != settingPharmacy {
				continue
			}
		case in.Type == "clinic":
			if p.setting != settingOutpatient || p.minLevel > 0 {
				continue
			}
		default:
			if (p.setting == settingInpatient) != inpatient || p.setting == settingPharmacy || p.minLevel > in.Level {
				continue
			}
		}
		if (p.gender != 0 && p.gender != ps.gender) || age < p.minAge || age > p.maxAge {
			continue
		}
		cands = append(cands, p)
		total += p.weight
	}
	if total == 0 {
		return nil
	}
	x := r.IntN(total)
	for _, p := range cands {
		if x < p.weight {
			return p
		}
		x -= p.weight
	}
	return cands[len(cands)-1]
}

// inpatientShare is the probability that a hospital episode is a stay.
func inpatientShare(level int) float64 {
	switch level {
	case 3:
		return 0.10
	case 2:
		return 0.08
	case 1:
		return 0.04
	}
	return 0
}

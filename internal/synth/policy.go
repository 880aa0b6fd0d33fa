package synth

import (
	"sort"
	"strings"

	"github.com/medfund/flycheck-operator/api/v1alpha1/rules"
)

// policy is a rule catalogue compiled for the generator. The generator uses
// it in two directions:
//
//   - sanitize makes a background visit respect every rule (docs/rules.md):
//     it drops lines a rule would flag, clamps quantities and prices, and
//     adds a neutral line to a day that would count as bed-only. Rules are
//     applied regardless of their visitType, which is stricter than needed
//     and therefore safe.
//   - the injector (inject.go, with each template's hooks in templates.go)
//     builds a visit that respects every rule but one and then breaks that
//     one on purpose.
//
// Cross-visit templates are respected by construction instead (see
// province.go: one episode per person and block, stays inside a block) plus
// gating: an item under a RepeatExamination rule is billed to a person only
// in blocks far enough apart, an item under a per-Course MaxUnits rule only in
// one block of the window.
type policy struct {
	rules []*crule
	// byItem: rules whose params.items contain the code.
	byItem map[string][]*crule
	// included / component / primary: rules naming the code in
	// includedItems / componentItems / primaryItems.
	byIncluded  map[string][]*crule
	byComponent map[string][]*crule
	byPrimary   map[string][]*crule
	// bedOnly is the union of the items of all BedOnlyDays rules.
	bedOnly map[string]bool
	// fillers are catalogue items that no rule names in any role: adding
	// one to a visit can never create a finding.
	fillers []*Item
	// referenced: every code any rule names, in any role.
	referenced map[string]bool
	nBlocks    int
	// stamp/epoch dedupe the rules relevant to one visit (see relevant).
	stamp []uint32
	epoch uint32
	rel   []*crule
}

// crule is one compiled rule.
type crule struct {
	*rules.Rule
	tpl        *synthTemplate // never nil
	index      int
	items      map[string]bool
	primaries  map[string]bool
	included   map[string]bool
	components map[string]bool
	minAge     int
	maxAge     int
	minLevel   int
	maxPrice   int64 // fen (floor of the cap)
	maxPrice4  int64 // 1e-4 yuan
	maxUnits4  int64 // 1e-4 units
	extraDays  int
	graceDays  int
	withinDays int
	minDays    int
	minComp    int
	hash       uint64
}

func set(codes []string) map[string]bool {
	m := make(map[string]bool, len(codes))
	for _, c := range codes {
		m[c] = true
	}
	return m
}

func i32(p *int32, def int) int {
	if p == nil {
		return def
	}
	return int(*p)
}

func compilePolicy(rs []rules.Rule, nBlocks int) (*policy, error) {
	pol := &policy{byItem: map[string][]*crule{}, byIncluded: map[string][]*crule{},
		byComponent: map[string][]*crule{}, byPrimary: map[string][]*crule{},
		bedOnly: map[string]bool{}, referenced: map[string]bool{}, nBlocks: nBlocks}
	if err := rules.Validate(rs); err != nil {
		return nil, err
	}
	for i := range rs {
		r := &rs[i]
		p := &r.Params
		cr := &crule{Rule: r, index: i, items: set(p.Items), primaries: set(p.PrimaryItems),
			included: set(p.IncludedItems), components: set(p.ComponentItems),
			minAge: i32(p.MinAge, 0), maxAge: i32(p.MaxAge, 1000), minLevel: i32(p.MinLevel, 0),
			extraDays: i32(p.ExtraDays, 0), graceDays: i32(p.GraceDays, 0), withinDays: i32(p.WithinDays, 0),
			minDays: i32(p.MinDays, 1), minComp: i32(p.MinComponents, 1), hash: hashString(r.ID),
			tpl: synthTemplates[r.Template]}
		if p.MaxPrice != "" {
			v, err := rules.ParseDecimal(p.MaxPrice)
			if err != nil {
				return nil, err
			}
			cr.maxPrice4 = v
			cr.maxPrice = v / 100
		}
		if p.MaxUnits != "" {
			v, err := rules.ParseDecimal(p.MaxUnits)
			if err != nil {
				return nil, err
			}
			cr.maxUnits4 = v
		}
		if cr.tpl == nil {
			cr.tpl = &synthTemplate{} // no injector: build skips the rule
		}
		pol.rules = append(pol.rules, cr)
		for c := range cr.items {
			pol.byItem[c] = append(pol.byItem[c], cr)
			pol.referenced[c] = true
		}
		for c := range cr.included {
			pol.byIncluded[c] = append(pol.byIncluded[c], cr)
			pol.referenced[c] = true
		}
		for c := range cr.components {
			pol.byComponent[c] = append(pol.byComponent[c], cr)
			pol.referenced[c] = true
		}
		for c := range cr.primaries {
			pol.byPrimary[c] = append(pol.byPrimary[c], cr)
			pol.referenced[c] = true
		}
		if cr.tpl.index != nil {
			cr.tpl.index(pol, cr)
		}
	}
	pol.stamp = make([]uint32, len(pol.rules))
	for i := range Items {
		it := &Items[i]
		if !pol.referenced[it.Code] && (it.Kind == KindDrug || it.Kind == KindTreatment || it.Kind == KindLab || it.Kind == KindConsumable) {
			pol.fillers = append(pol.fillers, it)
		}
	}
	return pol, nil
}

// matchesDiag reports whether one of the visit's diagnoses is in the rule's
// covered set.
func (cr *crule) matchesDiag(diags []string) bool {
	for _, d := range diags {
		for _, c := range cr.Params.DiagCodes {
			if d == c {
				return true
			}
		}
		for _, pf := range cr.Params.DiagPrefixes {
			if strings.HasPrefix(d, pf) {
				return true
			}
		}
	}
	return false
}

// scopeOK reports whether a line of item code may stand in the visit as far
// as the line-scope templates (gender, age, setting, level, indication) and
// the gates are concerned. skip is the rule being violated on purpose (nil
// for the background).
func (pol *policy) scopeOK(v *visitBuf, code string, skip *crule) bool {
	for _, cr := range pol.byItem[code] {
		if cr == skip {
			continue
		}
		if cr.tpl.scope != nil && !cr.tpl.scope(pol, cr, v) {
			return false
		}
	}
	return true
}

// sanitize makes the visit's lines respect every rule except skip.
func (pol *policy) sanitize(v *visitBuf, skip *crule, r randSource) {
	if len(pol.rules) == 0 {
		return
	}
	v.sortLines()
	// 1. Line scope and gates.
	v.filter(func(l *line) bool { return l.fixed || pol.scopeOK(v, l.item.Code, skip) })
	// Only the rules that name an item of the visit can react to it.
	rel := pol.relevant(v)
	// 2-4. The rules' own steps (synthTemplate.sanitize), stage by stage:
	// pair items apart, then repeat spacing, quantities and prices, then
	// add-ons without their primary item (after every drop).
	for stage := 0; stage < nStages; stage++ {
		for _, cr := range rel {
			if f := cr.tpl.sanitize[stage]; f != nil && cr != skip {
				f(v, cr)
			}
		}
	}
	// 5. No day of a stay may consist of bed and nursing charges only.
	if skip == nil || skip.Template != rules.BedOnlyDays {
		pol.fillBedOnlyDays(v, r)
	}
}

// relevant returns the rules naming, in any role, an item billed in the
// visit, in catalogue order.
func (pol *policy) relevant(v *visitBuf) []*crule {
	pol.epoch++
	pol.rel = pol.rel[:0]
	add := func(crs []*crule) {
		for _, cr := range crs {
			if pol.stamp[cr.index] != pol.epoch {
				pol.stamp[cr.index] = pol.epoch
				pol.rel = append(pol.rel, cr)
			}
		}
	}
	for i := range v.lines {
		c := v.lines[i].item.Code
		add(pol.byItem[c])
		add(pol.byIncluded[c])
		add(pol.byComponent[c])
		add(pol.byPrimary[c])
	}
	sort.Slice(pol.rel, func(i, j int) bool { return pol.rel[i].index < pol.rel[j].index })
	return pol.rel
}

// fillBedOnlyDays adds a neutral line to every day of an inpatient visit whose
// lines are all bed/nursing items of some BedOnlyDays rule.
func (pol *policy) fillBedOnlyDays(v *visitBuf, r randSource) {
	if !v.inpatient || len(pol.bedOnly) == 0 {
		return
	}
	type dayInfo struct {
		only bool
		last int32
	}
	days := map[int]*dayInfo{}
	for i := range v.lines {
		l := &v.lines[i]
		d := days[l.day]
		if d == nil {
			d = &dayInfo{only: true}
			days[l.day] = d
		}
		d.only = d.only && pol.bedOnly[l.item.Code]
		d.last = max(d.last, l.sec)
	}
	keys := make([]int, 0, len(days))
	for k, d := range days {
		if d.only {
			keys = append(keys, k)
		}
	}
	if len(keys) == 0 {
		return
	}
	if len(pol.fillers) == 0 {
		// Nothing neutral to add: drop the bed-only days' lines instead.
		v.filter(func(l *line) bool { d := days[l.day]; return l.fixed || !d.only })
		return
	}
	sort.Ints(keys)
	for _, k := range keys {
		it := pol.fillers[r.IntN(len(pol.fillers))]
		v.lines = append(v.lines, line{item: it, day: k, sec: days[k].last, cnt: 100, price: it.Price})
	}
	v.sortLines()
}

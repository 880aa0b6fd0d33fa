package synth

import (
	"fmt"
	"strings"

	"github.com/medfund/flycheck-operator/api/v1alpha1/rules"
)

// A scenario is one injected violation: one or two visits of a fresh person
// (a person no background visit uses), built to respect every rule of the
// catalogue except the target rule, which they break in a way that yields
// exactly the findings recorded in the ground truth (docs/rules.md).
//
// The recipe for every visit: bill a clinical profile, sanitize it against the
// whole catalogue, remove the lines of the items the violation will use, add
// the violating lines ("fixed": sanitize leaves them alone), and sanitize again
// skipping the target rule, so that the rest of the visit adapts to the new
// lines instead of producing collateral findings. Collateral findings remain
// possible only between several rules on the same item (e.g. a second PriceCap
// on the same code); the default catalogue avoids that and the generated
// benchmark catalogue too.
type scenario struct {
	index  int
	rule   *crule
	city   *cityPlan
	visits []*visitBuf
}

// ctx is what a scenario visit must look like.
type ctx struct {
	inpatient      bool
	minLevel       int
	maxLevel       int
	gender         byte
	minAge, maxAge int
	needDiag       []*crule // CoveredIndication rules to satisfy
	avoidDiag      *crule   // CoveredIndication rule to break
}

type injector struct {
	prov *province
	pol  *policy
	seed uint64
}

// errSkip explains why a rule could not be injected.
type errSkip struct{ reason string }

func (e errSkip) Error() string { return e.reason }

func skipf(format string, args ...any) error { return errSkip{fmt.Sprintf(format, args...)} }

// nativeSetting reports the setting of the first profile that bills code.
func nativeSetting(code string) (setting, bool) {
	for i := range profiles {
		for _, u := range profiles[i].uses {
			if u.code == code {
				return profiles[i].setting, true
			}
		}
	}
	return 0, false
}

// baseCtx derives the context from the rules on the items the violation
// bills (every rule on them except the target; synthTemplate.constrain).
func (inj *injector) baseCtx(target *crule, codes ...string) (*ctx, error) {
	c := &ctx{maxLevel: 3, maxAge: 95, minAge: 0}
	setting := ""
	switch {
	case rules.Spec(target.Template).InpatientOnly:
		setting = "I"
	case target.EffectiveVisitType() == rules.Inpatient:
		setting = "I"
	case target.EffectiveVisitType() == rules.Outpatient:
		setting = "O"
	}
	for _, code := range codes {
		for _, cr := range inj.pol.byItem[code] {
			if cr == target || cr.tpl.constrain == nil {
				continue
			}
			if err := cr.tpl.constrain(c, cr, code, &setting); err != nil {
				return nil, err
			}
		}
	}
	if setting == "" && len(codes) > 0 {
		if s, ok := nativeSetting(codes[0]); ok && s == settingInpatient {
			setting = "I"
		}
		if k := lookupItem(codes[0]).Kind; k == KindBed || k == KindNursing {
			setting = "I" // bed and nursing fees only make sense in a stay
		}
	}
	c.inpatient = setting == "I"
	if c.minAge > c.maxAge {
		return nil, skipf("empty age range")
	}
	return c, nil
}

// pickInstitution chooses an institution of the city within the context's
// levels (hospitals for stays; clinics count as level 0).
func (inj *injector) pickInstitution(r randSource, cp *cityPlan, c *ctx, not *Institution) *Institution {
	var cands []*Institution
	for _, in := range cp.insts {
		if in == not || in.Level < c.minLevel || in.Level > c.maxLevel {
			continue
		}
		if in.Type == "pharmacy" || (c.inpatient && in.Type != "hospital") {
			continue
		}
		cands = append(cands, in)
	}
	if len(cands) == 0 {
		return nil
	}
	return cands[r.IntN(len(cands))]
}

// pickProfile chooses a clinical profile compatible with the context and
// the institution, preferring one that bills code natively. It narrows the
// context's age range and gender to the profile's.
func pickProfile(r randSource, c *ctx, in *Institution, code string) (*profile, int, byte) {
	var native, other []*profile
	for i := range profiles {
		p := &profiles[i]
		if p.setting == settingPharmacy || (p.setting == settingInpatient) != c.inpatient {
			continue
		}
		if p.minLevel > in.Level || (in.Type == "clinic" && p.minLevel > 0) {
			continue
		}
		if c.gender != 0 && p.gender != 0 && c.gender != p.gender {
			continue
		}
		if max(c.minAge, p.minAge) > min(c.maxAge, p.maxAge) {
			continue
		}
		if c.avoidDiag != nil && c.avoidDiag.matchesDiag([]string{p.diag}) {
			continue
		}
		uses := false
		for _, u := range p.uses {
			uses = uses || u.code == code
		}
		if uses {
			native = append(native, p)
		} else {
			other = append(other, p)
		}
	}
	cands := native
	if len(cands) == 0 {
		cands = other
	}
	if len(cands) == 0 {
		return nil, 0, 0
	}
	p := cands[r.IntN(len(cands))]
	g := c.gender
	if g == 0 {
		g = p.gender
	}
	if g == 0 {
		g = byte(1 + r.IntN(2))
	}
	lo, hi := max(c.minAge, p.minAge), min(c.maxAge, p.maxAge)
	return p, between(r, lo, hi), g
}

// newPerson makes a fresh scenario person of the given gender who is age
// years old on day d.
func (inj *injector) newPerson(cp *cityPlan, gender byte, age, d int) *person {
	idx := cp.nextScenarioPerson
	cp.nextScenarioPerson++
	ps := &person{psnNo: psnNo(cp.Code, idx), gender: gender, deathDay: noDeath}
	ps.birthDay = d - age*36525/100 - 30
	for ps.ageAt(d) > age {
		ps.birthDay++
	}
	for ps.ageAt(d) < age {
		ps.birthDay--
	}
	cp.scenarioPersons = append(cp.scenarioPersons, ps)
	return ps
}

// visitFor builds a clean visit for the context: profile billed, diagnoses
// fixed up for the indication rules, sanitized against the whole catalogue.
func (inj *injector) visitFor(r randSource, c *ctx, in *Institution, ps *person, prof *profile, start, block, los int) *visitBuf {
	v := buildEpisode(r, in, ps, prof, start, block, los)
	v.age = ps.ageAt(start)
	for _, cr := range c.needDiag {
		if !cr.matchesDiag(v.diags) {
			v.diags = append(v.diags, coveredCode(cr))
		}
	}
	if c.avoidDiag != nil {
		kept := v.diags[:1]
		for _, d := range v.diags[1:] {
			if !c.avoidDiag.matchesDiag([]string{d}) {
				kept = append(kept, d)
			}
		}
		v.diags = kept
	}
	inj.pol.sanitize(v, nil, r)
	return v
}

// coveredCode returns a diagnosis code that satisfies an indication rule: a
// listed code, else a catalogue diagnosis with a listed prefix, else the
// prefix itself.
func coveredCode(cr *crule) string {
	if len(cr.Params.DiagCodes) > 0 {
		return cr.Params.DiagCodes[0]
	}
	for _, pf := range cr.Params.DiagPrefixes {
		for _, d := range Diagnoses {
			if strings.HasPrefix(d.Code, pf) {
				return d.Code
			}
		}
	}
	return cr.Params.DiagPrefixes[0]
}

// strip removes every non-fixed line of the codes.
func (v *visitBuf) strip(codes ...string) {
	m := set(codes)
	v.filter(func(l *line) bool { return l.fixed || !m[l.item.Code] })
}

// addFixed adds a violating line; truth > 0 marks it as an expected finding
// (1 + index into v.truths).
func (v *visitBuf) addFixed(it *Item, day int, sec int32, cnt, price int64, setl uint8, truth int32) *line {
	v.lines = append(v.lines, line{item: it, day: day, sec: sec, cnt: cnt, price: price, setl: setl, fixed: true, truth: truth})
	return &v.lines[len(v.lines)-1]
}

func (v *visitBuf) mark(cr *crule, scn int, visitLevel bool) int32 {
	v.truths = append(v.truths, truthMark{rule: cr, scenario: scn, visit: visitLevel})
	return int32(len(v.truths))
}

// midSec is a fee time inside the visit on day d.
func (v *visitBuf) midSec(r randSource, d int) int32 {
	lo, hi := int32(8*3600), int32(20*3600)
	if d == v.beginDay {
		lo = v.beginSec + 60
	}
	if d == v.endDay {
		hi = v.endSec - 60
	}
	if hi <= lo {
		return lo
	}
	return lo + int32(r.IntN(int(hi-lo)))
}

// safePrice is the list price lowered under every PriceCap on the item
// except the target.
func (inj *injector) safePrice(it *Item, target *crule) int64 {
	p := it.Price
	for _, cr := range inj.pol.byItem[it.Code] {
		if cr != target && cr.Template == rules.PriceCap {
			p = min(p, cr.maxPrice)
		}
	}
	return p
}

// unitCnt is the quantity of one ordinary line: one unit (cnt 100, in
// 1/100 units) unless a MaxUnits rule on the item other than target allows
// less.
func (inj *injector) unitCnt(it *Item, target *crule) int64 {
	c := int64(100)
	for _, cr := range inj.pol.byItem[it.Code] {
		if cr != target && cr.Template == rules.MaxUnits {
			c = min(c, cr.maxUnits4/100)
		}
	}
	return c
}

// neutralItem picks an item for templates whose items param is optional.
func (inj *injector) neutralItem(r randSource, cr *crule, k int) *Item {
	if len(cr.Params.Items) > 0 {
		return lookupItem(cr.Params.Items[k%len(cr.Params.Items)])
	}
	if len(inj.pol.fillers) > 0 {
		return inj.pol.fillers[r.IntN(len(inj.pol.fillers))]
	}
	return itemByCode[saline]
}

// build plans and builds scenario k for rule cr in city cp: the steps every
// template shares, with the template's injector (injectors.go) bending the
// context and adding the violation.
func (inj *injector) build(k int, cr *crule, cp *cityPlan) (*scenario, error) {
	ti := cr.tpl
	if ti.inject == nil {
		return nil, skipf("template %s has no injector", cr.Template)
	}
	r := newRand(inj.seed, 0x5c3a, uint64(k))
	nb := inj.prov.nBlocks
	s := &scene{inj: inj, r: r, k: k, cr: cr, round: k / len(inj.pol.rules), sc: &scenario{index: k, rule: cr, city: cp}}

	switch ti.item {
	case itemNeutral:
		s.x = inj.neutralItem(r, cr, s.round)
	case itemFromParams:
		s.x = s.pickItem(cr.Params.Items)
	}
	codes := []string{}
	if s.x != nil {
		codes = append(codes, s.x.Code)
	}
	c, err := inj.baseCtx(cr, codes...)
	if err != nil {
		return nil, err
	}
	s.c = c
	// The violation itself, part 1: bend the context.
	if ti.bend != nil {
		if err := ti.bend(c, cr); err != nil {
			return nil, err
		}
	}
	if c.minLevel > c.maxLevel {
		return nil, skipf("no institution level satisfies the other rules")
	}
	if c.inpatient && c.maxLevel < 1 {
		return nil, skipf("a stay needs a hospital, but the level must be below 1")
	}
	in := inj.pickInstitution(r, cp, c, nil)
	for i := 1; in == nil && i < len(inj.prov.cities); i++ {
		// e.g. no clinic in this city: take the next city
		cp = inj.prov.cities[(cp.index+1)%len(inj.prov.cities)]
		s.sc.city = cp
		in = inj.pickInstitution(r, cp, c, nil)
	}
	if in == nil {
		return nil, skipf("city %s has no institution of level %d..%d", cp.Code, c.minLevel, c.maxLevel)
	}
	s.cp, s.in = cp, in
	prof, age, gender := pickProfile(r, c, in, codes0(codes))
	if prof == nil {
		return nil, skipf("no clinical profile fits the context")
	}
	s.prof = prof
	// Length of stay: room for bed-only days and repeat exams.
	if c.inpatient {
		s.los = between(r, prof.los[0], prof.los[1])
		if ti.minStay != nil {
			s.los = max(s.los, ti.minStay(cr))
		}
		if s.los > blockDays-marginDays-2 {
			return nil, skipf("stay of %d days does not fit a block", s.los)
		}
	}
	s.block = r.IntN(nb)
	if ti.twoBlocks != nil && ti.twoBlocks(cr) {
		// two visits in different blocks, the first one not in the last block
		if nb < 2 {
			return nil, skipf("needs a window of at least two blocks")
		}
		s.block = r.IntN(nb - 1)
	}
	start := s.block*blockDays + r.IntN(max(1, blockDays-marginDays-s.los-1))
	s.ps = inj.newPerson(cp, gender, age, start)
	s.v = inj.visitFor(r, c, in, s.ps, prof, start, s.block, s.los)
	s.sc.visits = append(s.sc.visits, s.v)
	s.day = s.v.beginDay
	if s.v.inpatient && s.v.los() >= 2 {
		s.day = s.v.beginDay + 1
	}
	// An add-on item (under another rule) goes on a day its primary item is
	// billed, if the visit has one; ensurePrimaries adds one otherwise.
	s.addOn = s.x != nil && inj.isAddOn(s.x.Code, cr)
	if s.addOn {
		if d, ok := inj.primaryDay(s.v, s.x.Code, cr); ok {
			s.day = d
		}
	}
	// An item under a RepeatExamination rule is billed on one line, so that
	// a quantity violation does not also look like a repeated exam.
	s.repeated = s.x != nil && inj.hasTemplate(s.x.Code, rules.RepeatExamination, cr)

	// Part 2: the violating lines.
	if err := ti.inject(s); err != nil {
		return nil, err
	}
	for _, sv := range s.sc.visits {
		inj.ensurePrimaries(sv, r, cr)
		inj.pol.sanitize(sv, cr, r)
		sv.sortLines()
	}
	if ti.finish != nil {
		ti.finish(s)
	}
	return s.sc, nil
}

func codes0(c []string) string {
	if len(c) == 0 {
		return ""
	}
	return c[0]
}

// prepare removes from a visit the lines of the codes the violation is about
// to bill, and of the items tied to them by pair rules, so that nothing but
// the violation reacts to the new lines.
func (inj *injector) prepare(v *visitBuf, target *crule, codes ...string) {
	related := map[string]bool{}
	for _, c := range codes {
		related[c] = true
		for _, cr := range inj.pol.byItem[c] {
			for o := range cr.included {
				related[o] = true
			}
			for o := range cr.components {
				related[o] = true
			}
		}
		for _, cr := range inj.pol.byIncluded[c] {
			for o := range cr.items {
				related[o] = true
			}
		}
		for _, cr := range inj.pol.byComponent[c] {
			for o := range cr.items {
				related[o] = true
			}
		}
		for _, cr := range inj.pol.byPrimary[c] {
			for o := range cr.items {
				related[o] = true
			}
		}
	}
	v.filter(func(l *line) bool { return l.fixed || !related[l.item.Code] })
}

// addWithPrimary adds a fixed line of it and, if it is an add-on under some
// other rule, one of its primary items the same day.
func (inj *injector) addWithPrimary(v *visitBuf, r randSource, it *Item, day int, target *crule) *line {
	for _, cr := range inj.pol.byItem[it.Code] {
		if cr != target && cr.Template == rules.AddOnWithoutPrimary && len(v.daysWith(cr.primaries)) == 0 {
			p := lookupItem(cr.Params.PrimaryItems[0])
			v.addFixed(p, day, v.midSec(r, day), inj.unitCnt(p, target), inj.safePrice(p, target), 1, 0)
		}
	}
	v.addFixed(it, day, v.midSec(r, day), inj.unitCnt(it, target), inj.safePrice(it, target), 1, 0)
	return &v.lines[len(v.lines)-1]
}

// isAddOn reports whether code is the add-on item of an AddOnWithoutPrimary
// rule other than target.
func (inj *injector) isAddOn(code string, target *crule) bool {
	return inj.hasTemplate(code, rules.AddOnWithoutPrimary, target)
}

func (inj *injector) hasTemplate(code string, t rules.Template, target *crule) bool {
	for _, o := range inj.pol.byItem[code] {
		if o != target && o.Template == t {
			return true
		}
	}
	return false
}

// primaryDay returns a day on which the visit bills a primary item of every
// add-on rule (other than target) of code.
func (inj *injector) primaryDay(v *visitBuf, code string, target *crule) (int, bool) {
	var days map[int]bool
	for _, o := range inj.pol.byItem[code] {
		if o == target || o.Template != rules.AddOnWithoutPrimary {
			continue
		}
		d := v.daysWith(o.primaries)
		if days == nil {
			days = d
		} else {
			for k := range days {
				if !d[k] {
					delete(days, k)
				}
			}
		}
	}
	best := -1
	for d := range days {
		if best < 0 || d < best {
			best = d
		}
	}
	return best, best >= 0
}

// ensurePrimaries adds a primary item on the day of every fixed add-on line
// that lacks one (except for the AddOnWithoutPrimary rule being violated).
func (inj *injector) ensurePrimaries(v *visitBuf, r randSource, target *crule) {
	n := len(v.lines)
	for i := 0; i < n; i++ {
		l := v.lines[i]
		if !l.fixed {
			continue
		}
		for _, o := range inj.pol.byItem[l.item.Code] {
			if o == target || o.Template != rules.AddOnWithoutPrimary || v.daysWith(o.primaries)[l.day] {
				continue
			}
			p := lookupItem(o.Params.PrimaryItems[0])
			v.addFixed(p, l.day, l.sec, inj.unitCnt(p, target), inj.safePrice(p, target), 1, 0)
		}
	}
}

// gatedItems are the items of gated rules (RepeatExamination, per-Course
// MaxUnits): a second visit of a scenario person must not bill them.
func (pol *policy) gatedItems() []string {
	var out []string
	for _, cr := range pol.rules {
		if cr.tpl.gated != nil && cr.tpl.gated(cr) {
			out = append(out, cr.Params.Items...)
		}
	}
	return out
}

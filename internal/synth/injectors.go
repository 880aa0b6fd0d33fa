package synth

import (
	"github.com/medfund/flycheck-operator/api/v1alpha1/rules"
)

// The injectors of templates.go: how each template is broken on purpose
// (docs/rules.md §4). bend hooks change the context before the institution
// and profile are chosen; inject hooks add the violating lines and visits
// and mark the expected findings.

// scene is one scenario under construction: what build chose, shared with
// the template's injector.
type scene struct {
	inj   *injector
	r     randSource
	k     int // scenario index (the ground truth's scenario)
	round int // rotates the item a rule's scenarios use
	cr    *crule
	sc    *scenario
	c     *ctx
	cp    *cityPlan
	in    *Institution
	prof  *profile
	ps    *person
	v     *visitBuf // the first visit
	x     *Item     // the violating item; nil for itemNone
	day   int       // the violation's day in v
	block int
	los   int
	// addOn: x is an add-on item under another rule; repeated: x is under
	// a RepeatExamination rule (billed on one line).
	addOn, repeated bool
}

func (s *scene) pickItem(codes []string) *Item { return lookupItem(codes[s.round%len(codes)]) }

// mark records an expected finding of the scene's rule on visit v.
func (s *scene) mark(v *visitBuf, visitLevel bool) int32 { return v.mark(s.cr, s.k, visitLevel) }

// The five scope templates bend the context (gender, age, setting, level,
// diagnoses) and then bill one ordinary line of the item.

func bendGender(c *ctx, cr *crule) error {
	return c.requireGender(3-gend(cr.Params.Gender), "another rule requires the other gender")
}

func bendAge(c *ctx, cr *crule) error {
	if cr.Params.MinAge != nil && cr.minAge > 0 {
		c.minAge, c.maxAge = cr.minAge-1, cr.minAge-1
	} else if cr.maxAge < 150 {
		c.minAge, c.maxAge = cr.maxAge+1, cr.maxAge+1
	} else {
		return skipf("age range covers every age")
	}
	return nil
}

func bendCareSetting(c *ctx, cr *crule) error {
	c.inpatient = cr.Params.AllowedVisitType == rules.Outpatient
	if (c.inpatient && cr.EffectiveVisitType() == rules.Outpatient) || (!c.inpatient && cr.EffectiveVisitType() == rules.Inpatient) {
		return skipf("visitType %s cannot see a violation of allowedVisitType %s", cr.VisitType, cr.Params.AllowedVisitType)
	}
	return nil
}

func bendFacilityLevel(c *ctx, cr *crule) error {
	c.maxLevel = cr.minLevel - 1
	return nil
}

func bendCoveredIndication(c *ctx, cr *crule) error {
	c.avoidDiag = cr
	for _, o := range c.needDiag {
		if cr.matchesDiag([]string{coveredCode(o)}) {
			return skipf("indication rule %s needs a diagnosis that %s covers", o.ID, cr.ID)
		}
	}
	return nil
}

func injectScopeLine(s *scene) error {
	inj, v, x, cr := s.inj, s.v, s.x, s.cr
	cnt := inj.unitCnt(x, cr)
	if cnt <= 0 {
		return skipf("a MaxUnits rule allows no unit of %s", x.Code)
	}
	inj.prepare(v, cr, x.Code)
	v.addFixed(x, s.day, v.midSec(s.r, s.day), cnt, inj.safePrice(x, cr), 1, s.mark(v, false))
	return nil
}

// Quantity and price templates.

func injectPriceCap(s *scene) error {
	inj, v, x, cr := s.inj, s.v, s.x, s.cr
	inj.prepare(v, cr, x.Code)
	cnt := inj.unitCnt(x, cr)
	price := cr.maxPrice + max(100, cr.maxPrice/10)
	l := v.addFixed(x, s.day, v.midSec(s.r, s.day), cnt, price, 1, s.mark(v, false))
	l.amount6, l.override = (price*100-cr.maxPrice4)*cnt, true
	return nil
}

func injectMaxUnits(s *scene) error {
	inj, r, v, x, cr, day := s.inj, s.r, s.v, s.x, s.cr, s.day
	inj.prepare(v, cr, cr.Params.Items...)
	whole := cr.maxUnits4 / 10000 * 100 // whole units within the limit, in 1/100
	price := inj.safePrice(x, nil)
	excess := min(int64(10000), whole*100+10000-cr.maxUnits4) // 1e-4 units
	switch cr.Params.Per {
	case rules.Day, rules.Stay:
		d2 := day
		if cr.Params.Per == rules.Stay && v.inpatient && v.endDay-1 > day && !s.addOn && !s.repeated {
			d2 = v.endDay - 1
		}
		s1 := v.midSec(r, day)
		if s.repeated {
			l := v.addFixed(x, day, s1, whole+100, price, 1, s.mark(v, false))
			l.amount6, l.override = excess*price, true
			break
		}
		if whole > 0 {
			v.addFixed(x, day, s1, whole, price, 1, 0)
		}
		s2 := v.midSec(r, d2)
		if d2 == day && s2 <= s1 {
			s2 = s1 + 1
		}
		l := v.addFixed(x, d2, s2, 100, price, 1, s.mark(v, false))
		l.amount6, l.override = excess*price, true
	case rules.Course:
		// The units within the limit in a first visit, the excess in a
		// later visit (last block) of the same institution: the course
		// spans visits.
		if whole > 0 {
			v.addFixed(x, day, v.midSec(r, day), whole, price, 1, 0)
		}
		nb := inj.prov.nBlocks
		start2 := (nb-1)*blockDays + r.IntN(max(1, blockDays-marginDays-s.los-1))
		v2 := inj.visitFor(r, s.c, s.in, s.ps, s.prof, start2, nb-1, s.los)
		inj.prepare(v2, cr, cr.Params.Items...)
		d2 := v2.beginDay
		if v2.inpatient && v2.los() >= 2 {
			d2++
		}
		l := v2.addFixed(x, d2, v2.midSec(r, d2), 100, price, 1, s.mark(v2, false))
		l.amount6, l.override = excess*price, true
		s.sc.visits = append(s.sc.visits, v2)
	}
	return nil
}

func injectPerDayExceedsStay(s *scene) error {
	inj, r, v, x, cr := s.inj, s.r, s.v, s.x, s.cr
	inj.prepare(v, cr, cr.Params.Items...)
	price := inj.safePrice(x, nil)
	for d := v.beginDay; d < v.endDay; d++ {
		v.addFixed(x, d, v.midSec(r, d), 100, price, 1, 0)
	}
	extra := int64(cr.extraDays+1) * 100
	l := v.addFixed(x, v.endDay, v.endSec-1, extra, price, 1, s.mark(v, false))
	l.amount6, l.override = 10000*price, true
	return nil
}

// Fictitious charges.

func injectChargeAfterDischarge(s *scene) error {
	inj, v, x, cr := s.inj, s.v, s.x, s.cr
	inj.prepare(v, cr, x.Code)
	d := v.endDay + cr.graceDays + 1
	v.addFixed(x, d, int32(9*3600+s.r.IntN(3600)), inj.unitCnt(x, cr), inj.safePrice(x, cr), 1, s.mark(v, false))
	return nil
}

func injectChargeAfterDeath(s *scene) error {
	inj, v, x, cr := s.inj, s.v, s.x, s.cr
	s.ps.deathDay = v.beginDay - 1 - s.r.IntN(3)
	if len(cr.Params.Items) > 0 && !v.has(x.Code) {
		inj.prepare(v, cr, x.Code)
		v.addFixed(x, s.day, v.midSec(s.r, s.day), inj.unitCnt(x, cr), inj.safePrice(x, cr), 1, 0)
	}
	return nil // every line of items is marked by finishChargeAfterDeath
}

// finishChargeAfterDeath marks every line of the rule's items (every line
// without items): the whole visit is after the death.
func finishChargeAfterDeath(s *scene) {
	v, cr := s.v, s.cr
	t := s.mark(v, false)
	for i := range v.lines {
		if len(cr.items) == 0 || cr.items[v.lines[i].item.Code] {
			v.lines[i].truth = t
		}
	}
}

func injectOverlappingStays(s *scene) error {
	inj, r, v, cp := s.inj, s.r, s.v, s.cp
	in2 := inj.pickInstitution(r, cp, s.c, s.in)
	if in2 == nil {
		return skipf("city %s has only one hospital", cp.Code)
	}
	prof2, _, _ := pickProfile(r, &ctx{inpatient: true, minLevel: s.c.minLevel, maxLevel: 3, gender: s.ps.gender,
		minAge: v.age, maxAge: v.age}, in2, "")
	if prof2 == nil {
		return skipf("no profile for the second stay")
	}
	start2 := v.beginDay + 1 + r.IntN(max(1, v.los()-1))
	v2 := inj.visitFor(r, s.c, in2, s.ps, prof2, start2, s.block, 0)
	s.mark(v, true)
	s.mark(v2, true)
	s.sc.visits = append(s.sc.visits, v2)
	return nil
}

func injectAddOnWithoutPrimary(s *scene) error {
	inj, v, x, cr := s.inj, s.v, s.x, s.cr
	inj.prepare(v, cr, append([]string{x.Code}, cr.Params.PrimaryItems...)...)
	v.addFixed(x, s.day, v.midSec(s.r, s.day), inj.unitCnt(x, cr), inj.safePrice(x, cr), 1, s.mark(v, false))
	return nil
}

// Duplicate charges.

func injectInclusivePair(s *scene) error {
	inj, r, v, x, cr, day := s.inj, s.r, s.v, s.x, s.cr, s.day
	b := s.pickItem(cr.Params.IncludedItems)
	inj.prepare(v, cr, x.Code, b.Code)
	inj.addWithPrimary(v, r, x, day, cr)
	d2 := day
	if cr.Params.Per == rules.Stay && v.inpatient && v.endDay-1 > day {
		d2 = v.endDay - 1
	}
	inj.addWithPrimary(v, r, b, d2, cr).truth = s.mark(v, false)
	return nil
}

func injectDuplicateLine(s *scene) error {
	inj, v, x, cr, day := s.inj, s.v, s.x, s.cr, s.day
	inj.prepare(v, cr, x.Code)
	sec := v.midSec(s.r, day)
	cnt, price := inj.unitCnt(x, cr), inj.safePrice(x, cr)
	v.addFixed(x, day, sec, cnt, price, 1, 0)
	v.addFixed(x, day, sec, cnt, price, 2, s.mark(v, false))
	return nil
}

func injectUnbundledPackage(s *scene) error {
	inj, r, v, x, cr, day := s.inj, s.r, s.v, s.x, s.cr, s.day
	comps := cr.Params.ComponentItems
	inj.prepare(v, cr, append([]string{x.Code}, comps...)...)
	inj.addWithPrimary(v, r, x, day, cr)
	t := s.mark(v, false)
	for i := 0; i < cr.minComp; i++ {
		ci := lookupItem(comps[(s.round+i)%len(comps)])
		inj.addWithPrimary(v, r, ci, day, cr).truth = t
	}
	return nil
}

// Over-examination and inpatient behaviour.

func injectRepeatExamination(s *scene) error {
	inj, r, v, x, cr := s.inj, s.r, s.v, s.x, s.cr
	inj.prepare(v, cr, cr.Params.Items...)
	cnt, price := inj.unitCnt(x, cr), inj.safePrice(x, cr)
	if v.inpatient {
		d2 := v.beginDay + min(cr.withinDays, v.los()-1)
		v.addFixed(x, v.beginDay, v.midSec(r, v.beginDay), cnt, price, 1, 0)
		l := v.addFixed(x, d2, v.midSec(r, d2), cnt, price, 1, s.mark(v, false))
		if d2 == v.beginDay {
			l.sec = min(86399, v.lines[len(v.lines)-2].sec+600)
		}
		return nil
	}
	// A second outpatient visit within the window.
	v.addFixed(x, v.beginDay, v.midSec(r, v.beginDay), cnt, price, 1, 0)
	gap := min(cr.withinDays, 3)
	v2 := inj.visitFor(r, s.c, s.in, s.ps, s.prof, v.beginDay+gap, s.block, 0)
	v2.strip(inj.pol.gatedItems()...)
	inj.prepare(v2, cr, cr.Params.Items...)
	if gap == 0 {
		v2.beginSec = max(v2.beginSec, v.endSec+60)
		v2.endSec = max(v2.endSec, v2.beginSec+1800)
		for i := range v2.lines {
			v2.lines[i].sec = max(v2.lines[i].sec, v2.beginSec+1)
		}
	}
	v2.addFixed(x, v2.beginDay, v2.midSec(r, v2.beginDay), cnt, price, 1, s.mark(v2, false))
	inj.pol.sanitize(v2, cr, r)
	s.sc.visits = append(s.sc.visits, v2)
	return nil
}

func injectReadmission(s *scene) error {
	inj, r, cr := s.inj, s.r, s.cr
	// First stay ends on the last day of its block, the readmission
	// starts gap days later.
	end := (s.block+1)*blockDays - 1
	v := inj.visitFor(r, s.c, s.in, s.ps, s.prof, end-s.los, s.block, s.los)
	s.v, s.sc.visits[0] = v, v
	gap := min(cr.withinDays, 2)
	start2 := end + gap
	v2 := inj.visitFor(r, s.c, s.in, s.ps, s.prof, start2, start2/blockDays, 0)
	v2.strip(inj.pol.gatedItems()...)
	v2.diags[0] = v.diags[0]
	s.mark(v2, true)
	s.sc.visits = append(s.sc.visits, v2)
	return nil
}

func injectBedOnlyDays(s *scene) error {
	inj, r, v, cr := s.inj, s.r, s.v, s.cr
	if !v.inpatient || v.los() < cr.minDays+2 {
		return skipf("stay too short for %d bed-only days", cr.minDays)
	}
	t := s.mark(v, true)
	v.truths[t-1].bedOnly = map[int]bool{}
	for d := v.beginDay + 1; d <= v.beginDay+cr.minDays; d++ {
		v.truths[t-1].bedOnly[d] = true
		v.filter(func(l *line) bool { return l.day != d || cr.items[l.item.Code] })
		n := 0
		for i := range v.lines {
			if l := &v.lines[i]; l.day == d {
				l.fixed = true
				n++
			}
		}
		if n == 0 {
			it := lookupItem(cr.Params.Items[0])
			v.addFixed(it, d, v.midSec(r, d), 100, inj.safePrice(it, cr), 1, 0)
		}
	}
	return nil
}

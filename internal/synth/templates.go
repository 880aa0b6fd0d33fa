package synth

import (
	"github.com/medfund/flycheck-operator/api/v1alpha1/rules"
)

// synthTemplate is what the generator knows of one template: how to keep
// background visits clean of it (policy.go) and how to break it on purpose
// (inject.go with the hooks in injectors.go). build and sanitize call the
// hooks at fixed points, so that the random stream is consumed in one order.
type synthTemplate struct {
	// Keeping visits clean of the rule.

	// scope, if set, reports whether visit v may bill the rule's items at
	// all (the line-scope templates, and the gates of cross-visit
	// templates); sanitize drops the lines of a visit it rejects.
	scope func(pol *policy, cr *crule, v *visitBuf) bool
	// constrain, if set, narrows the context of a scenario whose violation
	// bills code, one of the rule's items, so that the scenario respects
	// the rule; setting is "", "I" or "O" (inpatient, outpatient).
	constrain func(c *ctx, cr *crule, code string, setting *string) error
	// sanitize are the steps that make a visit respect the rule, by stage:
	// sanitize runs every rule's step of one stage before the next stage.
	sanitize steps
	// gated: a second visit of a scenario person must not bill the rule's
	// items (their scope admits them only in some blocks).
	gated func(cr *crule) bool
	// index, if set, adds the rule to the policy's template-specific
	// indexes.
	index func(pol *policy, cr *crule)

	// abbrev names the template in the ids of generated benchmark rules
	// (B-<abbrev>-001, GenerateRules).
	abbrev string

	// Breaking the rule on purpose.

	// item says which item the violation bills.
	item itemChoice
	// bend, if set, changes the context so that the visit breaks the rule
	// (before the institution and the profile are chosen).
	bend func(c *ctx, cr *crule) error
	// twoBlocks: the scenario has a second visit in a later block, so the
	// first visit must not lie in the last block.
	twoBlocks func(cr *crule) bool
	// minStay, if set, is the least length of stay of an inpatient scenario.
	minStay func(cr *crule) int
	// inject adds the violating lines (and visits) to the scene and marks
	// the expected findings.
	inject func(s *scene) error
	// finish, if set, runs after the last sanitize of the scene's visits.
	finish func(s *scene)
}

// steps are a template's sanitize steps by stage.
type steps [nStages]func(v *visitBuf, cr *crule)

// Sanitize stages, in order.
const (
	// stagePairs: included items and package components away from their
	// including item or package.
	stagePairs = iota
	// stageLimits: repeat spacing, quantities and prices.
	stageLimits
	// stageAddOns: add-ons need their primary item the same day (after
	// every drop).
	stageAddOns
	nStages
)

type itemChoice uint8

const (
	// itemFromParams: the violation bills one of params.items (rotated).
	itemFromParams itemChoice = iota
	// itemNeutral: params.items if given, else an item no rule names.
	itemNeutral
	// itemNone: a visit-level violation needs no particular item.
	itemNone
)

// HasInjector reports whether the generator can inject violations of a
// template (the template-parts test checks every template).
func HasInjector(t rules.Template) bool {
	st := synthTemplates[t]
	return st != nil && st.inject != nil
}

var synthTemplates = map[rules.Template]*synthTemplate{
	rules.GenderRestriction: {abbrev: "GENDER",
		scope: scopeGender, constrain: constrainGender,
		bend: bendGender, inject: injectScopeLine},
	rules.AgeRestriction: {abbrev: "AGE",
		scope: scopeAge, constrain: constrainAge,
		bend: bendAge, inject: injectScopeLine},
	rules.CareSettingRestriction: {abbrev: "SETTING",
		scope: scopeCareSetting, constrain: constrainCareSetting,
		bend: bendCareSetting, inject: injectScopeLine},
	rules.FacilityLevelRestriction: {abbrev: "LEVEL",
		scope: scopeFacilityLevel, constrain: constrainFacilityLevel,
		bend: bendFacilityLevel, inject: injectScopeLine},
	rules.CoveredIndication: {abbrev: "INDIC",
		scope: scopeCoveredIndication, constrain: constrainCoveredIndication,
		bend: bendCoveredIndication, inject: injectScopeLine},
	rules.PriceCap: {abbrev: "PRICE",
		sanitize: steps{stageLimits: sanitizePriceCap},
		inject:   injectPriceCap},
	rules.MaxUnits: {abbrev: "UNITS",
		scope: scopeMaxUnits, gated: isCourse, sanitize: steps{stageLimits: sanitizeMaxUnits},
		inject: injectMaxUnits, twoBlocks: isCourse},
	rules.PerDayExceedsStay: {abbrev: "PERDAY",
		sanitize: steps{stageLimits: sanitizePerDayExceedsStay},
		inject:   injectPerDayExceedsStay},
	rules.ChargeAfterDischarge: {abbrev: "AFTERDISCH",
		item: itemNeutral, inject: injectChargeAfterDischarge},
	rules.ChargeAfterDeath: {abbrev: "AFTERDEATH",
		item: itemNeutral, inject: injectChargeAfterDeath, finish: finishChargeAfterDeath},
	rules.OverlappingStays: {abbrev: "OVERLAP",
		item: itemNone, inject: injectOverlappingStays},
	rules.AddOnWithoutPrimary: {abbrev: "ADDON",
		sanitize: steps{stageAddOns: sanitizeAddOn},
		inject:   injectAddOnWithoutPrimary},
	rules.InclusivePair: {abbrev: "INCL",
		sanitize: steps{stagePairs: sanitizeInclusivePair},
		inject:   injectInclusivePair},
	rules.DuplicateLine: {abbrev: "DUP",
		item: itemNeutral, inject: injectDuplicateLine},
	rules.UnbundledPackage: {abbrev: "UNBUNDLE",
		sanitize: steps{stagePairs: sanitizeUnbundledPackage},
		inject:   injectUnbundledPackage},
	rules.RepeatExamination: {abbrev: "REPEAT",
		scope: scopeRepeatExamination, gated: always, sanitize: steps{stageLimits: sanitizeRepeatExamination},
		inject: injectRepeatExamination},
	rules.Readmission: {abbrev: "READMIT",
		item: itemNone, inject: injectReadmission, twoBlocks: always},
	rules.BedOnlyDays: {abbrev: "BEDONLY",
		index:  indexBedOnly,
		inject: injectBedOnlyDays, minStay: func(cr *crule) int { return cr.minDays + 2 }},
}

func always(*crule) bool { return true }

func isCourse(cr *crule) bool { return cr.Params.Per == rules.Course }

// Line scope: who may be billed the items (限性别, 限年龄, 限住院/门诊,
// 限医院级别, 限适应症).

func scopeGender(_ *policy, cr *crule, v *visitBuf) bool {
	return !((cr.Params.Gender == rules.Male && v.gend == 2) || (cr.Params.Gender == rules.Female && v.gend == 1))
}

func constrainGender(c *ctx, cr *crule, _ string, _ *string) error {
	return c.requireGender(gend(cr.Params.Gender), "items restricted to both genders")
}

// gend is the claims data's gend of a gender: 1 male, 2 female.
func gend(g rules.Gender) byte {
	if g == rules.Female {
		return 2
	}
	return 1
}

// requireGender narrows the context to gender g, or explains why it cannot.
func (c *ctx) requireGender(g byte, conflict string) error {
	if c.gender != 0 && c.gender != g {
		return skipf("%s", conflict)
	}
	c.gender = g
	return nil
}

func scopeAge(_ *policy, cr *crule, v *visitBuf) bool {
	return v.age >= cr.minAge && v.age <= cr.maxAge
}

func constrainAge(c *ctx, cr *crule, _ string, _ *string) error {
	c.minAge = max(c.minAge, cr.minAge)
	c.maxAge = min(c.maxAge, cr.maxAge)
	return nil
}

func scopeCareSetting(_ *policy, cr *crule, v *visitBuf) bool {
	return v.inpatient == (cr.Params.AllowedVisitType == rules.Inpatient)
}

func constrainCareSetting(_ *ctx, cr *crule, code string, setting *string) error {
	want := "O"
	if cr.Params.AllowedVisitType == rules.Inpatient {
		want = "I"
	}
	if *setting != "" && *setting != want {
		return skipf("rule %s restricts %s to %s visits", cr.ID, code, cr.Params.AllowedVisitType)
	}
	*setting = want
	return nil
}

func scopeFacilityLevel(_ *policy, cr *crule, v *visitBuf) bool { return v.inst.Level >= cr.minLevel }

func constrainFacilityLevel(c *ctx, cr *crule, _ string, _ *string) error {
	c.minLevel = max(c.minLevel, cr.minLevel)
	return nil
}

func scopeCoveredIndication(_ *policy, cr *crule, v *visitBuf) bool { return cr.matchesDiag(v.diags) }

func constrainCoveredIndication(c *ctx, cr *crule, _ string, _ *string) error {
	c.needDiag = append(c.needDiag, cr)
	return nil
}

// Gates: cross-visit templates are respected by billing their items to a
// person only in some blocks. RepeatExamination: blocks far enough apart;
// per-Course MaxUnits: one block of the window.

func scopeRepeatExamination(_ *policy, cr *crule, v *visitBuf) bool {
	m := (cr.withinDays+blockDays)/blockDays + 1
	return (uint64(v.block)+mix(hashString(v.ps.psnNo), cr.hash))%uint64(m) == 0
}

func scopeMaxUnits(pol *policy, cr *crule, v *visitBuf) bool {
	return cr.Params.Per != rules.Course || uint64(v.block) == mix(hashString(v.ps.psnNo), cr.hash)%uint64(pol.nBlocks)
}

// Sanitize steps.

func sanitizeInclusivePair(v *visitBuf, cr *crule) {
	days := v.daysWith(cr.items)
	if len(days) == 0 {
		return
	}
	v.filter(func(l *line) bool {
		return l.fixed || !cr.included[l.item.Code] || (cr.Params.Per == rules.Day && !days[l.day])
	})
}

func sanitizeUnbundledPackage(v *visitBuf, cr *crule) {
	days := v.daysWith(cr.items)
	if len(days) == 0 {
		return
	}
	v.filter(func(l *line) bool { return l.fixed || !cr.components[l.item.Code] || !days[l.day] })
}

func sanitizeRepeatExamination(v *visitBuf, cr *crule) {
	last := -1 << 30
	v.filter(func(l *line) bool {
		if !cr.items[l.item.Code] {
			return true
		}
		if l.day-last <= cr.withinDays && !l.fixed {
			return false
		}
		last = l.day
		return true
	})
}

func sanitizeMaxUnits(v *visitBuf, cr *crule) {
	cum := map[int]int64{}
	v.filter(func(l *line) bool {
		if !cr.items[l.item.Code] {
			return true
		}
		key := 0
		if cr.Params.Per == rules.Day {
			key = l.day
		}
		room := cr.maxUnits4 - cum[key]
		if c4 := l.cnt * 100; c4 > room {
			if l.fixed {
				cum[key] += c4
				return true
			}
			l.cnt = room / 100
			if l.cnt <= 0 {
				return false
			}
		}
		cum[key] += l.cnt * 100
		return true
	})
}

func sanitizePerDayExceedsStay(v *visitBuf, cr *crule) {
	if !v.inpatient {
		return
	}
	room := int64(v.los()+cr.extraDays) * 100
	v.filter(func(l *line) bool {
		if !cr.items[l.item.Code] {
			return true
		}
		if l.fixed {
			room -= l.cnt
			return true
		}
		if room <= 0 {
			return false
		}
		l.cnt = min(l.cnt, room)
		room -= l.cnt
		return true
	})
}

func sanitizePriceCap(v *visitBuf, cr *crule) {
	for i := range v.lines {
		if l := &v.lines[i]; cr.items[l.item.Code] && l.price > cr.maxPrice && !l.fixed {
			l.price = cr.maxPrice
		}
	}
}

func sanitizeAddOn(v *visitBuf, cr *crule) {
	days := v.daysWith(cr.primaries)
	v.filter(func(l *line) bool { return l.fixed || !cr.items[l.item.Code] || days[l.day] })
}

// indexBedOnly adds the rule's items to the bed and nursing items that
// fillBedOnlyDays keeps from standing alone on a day.
func indexBedOnly(pol *policy, cr *crule) {
	for c := range cr.items {
		pol.bedOnly[c] = true
	}
}

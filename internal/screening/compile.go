package screening

import (
	"bytes"
	"math"

	"github.com/medfund/flycheck-operator/api/v1alpha1/rules"
)

// How a template is evaluated (see engine.go for the pass structure).
type evalKind uint8

const (
	// evalLine: decided from the line, its visit and institution alone;
	// evaluated by the decoding workers as lines are read.
	evalLine evalKind = iota
	// evalGroup: needs other lines of the same visit or person; the lines
	// it may use are retained per institution and evaluated when the
	// institution is complete.
	evalGroup
	// evalVisit: visit-level, needs only visits (and their amounts);
	// evaluated when the institution is complete.
	evalVisit
)

var templateKind = map[rules.Template]evalKind{
	rules.GenderRestriction:        evalLine,
	rules.AgeRestriction:           evalLine,
	rules.CareSettingRestriction:   evalLine,
	rules.FacilityLevelRestriction: evalLine,
	rules.CoveredIndication:        evalLine,
	rules.PriceCap:                 evalLine,
	rules.ChargeAfterDischarge:     evalLine,
	rules.ChargeAfterDeath:         evalLine,
	rules.MaxUnits:                 evalGroup,
	rules.PerDayExceedsStay:        evalGroup,
	rules.AddOnWithoutPrimary:      evalGroup,
	rules.InclusivePair:            evalGroup,
	rules.DuplicateLine:            evalGroup,
	rules.UnbundledPackage:         evalGroup,
	rules.RepeatExamination:        evalGroup,
	rules.BedOnlyDays:              evalGroup,
	rules.OverlappingStays:         evalVisit,
	rules.Readmission:              evalVisit,
}

// crule is a rule compiled for evaluation: params parsed to fixed point and
// item codes to ids.
type crule struct {
	slot    int32
	rule    rules.Rule
	id      string
	tpl     rules.Template
	cat     rules.Category
	catIdx  int
	kind    evalKind
	vt      rules.VisitType // effective; inpatient-only templates: Inpatient
	skipped bool            // a needed table is absent
	allItem bool            // applies to every item (no params.items)

	flagGend       byte // GenderRestriction: the gend value that is flagged
	minAge, maxAge int32
	wantInpatient  bool
	minLevel       int8
	covered        []bool // CoveredIndication: by diag id
	maxPrice       int64
	maxUnits       int64
	per            rules.Period
	extraDays      int32
	graceDays      int32
	withinDays     int32
	minDays        int32
	minComponents  int32
}

// itemUse says that an item is in list `role` of rule `rule`: role 0 is
// params.items, role 1 the rule's second list (primaryItems,
// includedItems or componentItems).
type itemUse struct {
	rule int32
	role uint8
}

type compiled struct {
	rules []*crule
	items *syncInterner
	// byItem[item id] lists the rules whose item lists contain the item;
	// items interned later (codes only seen in the data) have no entry.
	// This is the item index: a line only meets rules that name its item.
	byItem [][]itemUse
	// rules that apply to every item
	allItemLine  []*crule // evalLine
	allItemGroup []*crule // evalGroup (DuplicateLine without items)
	bedRules     []*crule // BedOnlyDays: need to see every inpatient line
	groupRules   []*crule
	visitRules   []*crule
	needsSetl    bool // DuplicateLine present: keep setl_id
	anyGroup     bool // some rule retains lines
	needsOverlap bool
}

func compileRules(rs []rules.Rule, m *model) *compiled {
	c := &compiled{items: newSyncInterner()}
	for i := range rs {
		r := rs[i]
		spec := rules.Spec(r.Template)
		cr := &crule{slot: int32(i), rule: r, id: r.ID, tpl: r.Template, cat: r.Category,
			kind: templateKind[r.Template], vt: r.EffectiveVisitType()}
		for k, cat := range rules.Categories {
			if cat == r.Category {
				cr.catIdx = k
			}
		}
		if spec.InpatientOnly {
			cr.vt = rules.Inpatient
		}
		switch spec.Needs {
		case "diagnoses":
			cr.skipped = !m.hasDiagnoses
		case "persons":
			cr.skipped = !m.hasPersons
		}
		p := &r.Params
		cr.minAge, cr.maxAge = math.MinInt32, math.MaxInt32
		if p.MinAge != nil {
			cr.minAge = *p.MinAge
		}
		if p.MaxAge != nil {
			cr.maxAge = *p.MaxAge
		}
		switch p.Gender {
		case rules.Male:
			cr.flagGend = '2'
		case rules.Female:
			cr.flagGend = '1'
		}
		cr.wantInpatient = p.AllowedVisitType == rules.Inpatient
		if p.MinLevel != nil {
			cr.minLevel = int8(*p.MinLevel)
		}
		if p.MaxPrice != "" {
			cr.maxPrice, _ = rules.ParseDecimal(p.MaxPrice)
		}
		if p.MaxUnits != "" {
			cr.maxUnits, _ = rules.ParseDecimal(p.MaxUnits)
		}
		cr.per = p.Per
		deref := func(v *int32, def int32) int32 {
			if v == nil {
				return def
			}
			return *v
		}
		cr.extraDays = deref(p.ExtraDays, 0)
		cr.graceDays = deref(p.GraceDays, 0)
		cr.withinDays = deref(p.WithinDays, 0)
		cr.minDays = deref(p.MinDays, 1)
		cr.minComponents = deref(p.MinComponents, 1)
		if r.Template == rules.CoveredIndication && m.hasDiagnoses {
			cr.covered = make([]bool, m.diag.len())
			for id := int32(0); id < int32(m.diag.len()); id++ {
				code := m.diag.get(id)
				for _, d := range p.DiagCodes {
					if string(code) == d {
						cr.covered[id] = true
					}
				}
				for _, pre := range p.DiagPrefixes {
					if bytes.HasPrefix(code, []byte(pre)) {
						cr.covered[id] = true
					}
				}
			}
		}
		c.rules = append(c.rules, cr)
		if cr.skipped {
			continue
		}
		add := func(codes []string, role uint8) {
			for _, code := range codes {
				id := c.items.intern([]byte(code))
				for int(id) >= len(c.byItem) {
					c.byItem = append(c.byItem, nil)
				}
				dup := false
				for _, u := range c.byItem[id] {
					dup = dup || (u.rule == cr.slot && u.role == role)
				}
				if !dup {
					c.byItem[id] = append(c.byItem[id], itemUse{cr.slot, role})
				}
			}
		}
		add(p.Items, 0)
		add(p.PrimaryItems, 1)
		add(p.IncludedItems, 1)
		add(p.ComponentItems, 1)
		cr.allItem = p.Items == nil
		switch cr.kind {
		case evalLine:
			if cr.allItem {
				c.allItemLine = append(c.allItemLine, cr)
			}
		case evalGroup:
			c.groupRules = append(c.groupRules, cr)
			c.anyGroup = true
			if cr.allItem {
				c.allItemGroup = append(c.allItemGroup, cr)
			}
			if r.Template == rules.BedOnlyDays {
				c.bedRules = append(c.bedRules, cr)
			}
			if r.Template == rules.DuplicateLine {
				c.needsSetl = true
			}
		case evalVisit:
			c.visitRules = append(c.visitRules, cr)
			if r.Template == rules.OverlappingStays {
				c.needsOverlap = true
			}
		}
	}
	return c
}

// uses returns the item-index entries of an item id.
func (c *compiled) uses(item int32) []itemUse {
	if int(item) < len(c.byItem) {
		return c.byItem[item]
	}
	return nil
}

// inItems reports whether item is in list role of rule slot.
func (c *compiled) inList(item, slot int32, role uint8) bool {
	for _, u := range c.uses(item) {
		if u.rule == slot && u.role == role {
			return true
		}
	}
	return false
}

func (r *crule) visitOK(v *visit) bool {
	switch r.vt {
	case rules.Inpatient:
		return v.inpatient
	case rules.Outpatient:
		return !v.inpatient
	}
	return true
}

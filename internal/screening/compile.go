package screening

import (
	"math"

	"github.com/medfund/flycheck-operator/api/v1alpha1/rules"
)

// crule is a rule compiled for evaluation: params parsed to fixed point and
// item codes to ids.
type crule struct {
	slot    int32
	rule    rules.Rule
	id      string
	tpl     rules.Template
	cat     rules.Category
	catIdx  int
	kind    rules.EvalKind
	eval    evaluator       // the template's implementation (templates.go)
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
	allItemLine  []*crule // EvalLine
	allItemGroup []*crule // EvalGroup (DuplicateLine without items)
	bedRules     []*crule // BedOnlyDays: need to see every inpatient line
	groupRules   []*crule
	visitRules   []*crule
	needsSetl    bool // DuplicateLine present: keep setl_id
	anyGroup     bool // some rule retains lines
	needsOverlap bool // a template needs the partners index
}

// compileRules compiles validated rules; it fails only when the engine has
// no evaluator for a rule's template.
func compileRules(rs []rules.Rule, m *model) (*compiled, error) {
	c := &compiled{items: newSyncInterner()}
	for i := range rs {
		r := rs[i]
		spec := rules.Spec(r.Template)
		ev, err := evaluators.of(r.Template)
		if err != nil {
			return nil, err
		}
		cr := &crule{slot: int32(i), rule: r, id: r.ID, tpl: r.Template, cat: r.Category,
			kind: spec.Kind, eval: ev, vt: r.EffectiveVisitType()}
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
		param := func(name string) int32 { v, _ := r.IntParam(name); return v }
		cr.extraDays = param(rules.ParamExtraDays)
		cr.graceDays = param(rules.ParamGraceDays)
		cr.withinDays = param(rules.ParamWithinDays)
		cr.minDays = param(rules.ParamMinDays)
		cr.minComponents = param(rules.ParamMinComponents)
		c.rules = append(c.rules, cr)
		if cr.skipped {
			continue
		}
		if ev.prepare != nil {
			ev.prepare(c, cr, m)
		}
		c.needsOverlap = c.needsOverlap || ev.partners
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
		case rules.EvalLine:
			if cr.allItem {
				c.allItemLine = append(c.allItemLine, cr)
			}
		case rules.EvalGroup:
			c.groupRules = append(c.groupRules, cr)
			c.anyGroup = true
			if cr.allItem {
				c.allItemGroup = append(c.allItemGroup, cr)
			}
		case rules.EvalVisit:
			c.visitRules = append(c.visitRules, cr)
		}
	}
	return c, nil
}

// uses returns the item-index entries of an item id.
func (c *compiled) uses(item int32) []itemUse {
	if int(item) < len(c.byItem) {
		return c.byItem[item]
	}
	return nil
}

// inList reports whether item is in list role of rule slot.
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

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

	// The per-line work, resolved once per item and visit type
	// (0 outpatient, 1 inpatient) so that a line does not walk byItem
	// testing each entry's kind, role and visit type: at 200 rules that
	// walk was the largest rule-dependent cost of the pass.
	steps [2]itemSteps
}

type itemSteps struct {
	line     [][]*crule    // by item id: line rules to run, item rules then every-item ones
	group    [][]groupStep // by item id: group lists to retain the line in
	allLine  []*crule      // for items no rule names
	allGroup []groupStep
}

// groupStep: retain the line in list role of group rule g (index in
// compiled.groupRules).
type groupStep struct {
	g    int32
	role uint8
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
	c.resolveSteps()
	return c, nil
}

func (c *compiled) resolveSteps() {
	gpos := make(map[int32]int32, len(c.groupRules))
	for g, r := range c.groupRules {
		gpos[r.slot] = int32(g)
	}
	for _, inpatient := range []bool{false, true} {
		v := &visit{inpatient: inpatient}
		st := c.stepsOf(v)
		for _, r := range c.allItemLine {
			if r.visitOK(v) {
				st.allLine = append(st.allLine, r)
			}
		}
		for _, r := range c.allItemGroup {
			if r.visitOK(v) {
				st.allGroup = append(st.allGroup, groupStep{gpos[r.slot], 0})
			}
		}
		st.line = make([][]*crule, len(c.byItem))
		st.group = make([][]groupStep, len(c.byItem))
		for id, uses := range c.byItem {
			for _, u := range uses {
				r := c.rules[u.rule]
				switch {
				case !r.visitOK(v):
				case r.kind == rules.EvalLine && u.role == 0:
					st.line[id] = append(st.line[id], r)
				case r.kind == rules.EvalGroup:
					st.group[id] = append(st.group[id], groupStep{gpos[r.slot], u.role})
				}
			}
			st.line[id] = append(st.line[id], st.allLine...)
			st.group[id] = append(st.group[id], st.allGroup...)
		}
	}
}

// stepsOf returns the resolved steps of a visit's type.
func (c *compiled) stepsOf(v *visit) *itemSteps {
	if v.inpatient {
		return &c.steps[1]
	}
	return &c.steps[0]
}

// lineRules returns the line rules to run on a line of item in a visit.
func (c *compiled) lineRules(item int32, v *visit) []*crule {
	st := c.stepsOf(v)
	if item >= 0 && int(item) < len(st.line) {
		return st.line[item]
	}
	return st.allLine
}

// groupSteps returns the group lists a line of item in a visit joins.
func (c *compiled) groupSteps(item int32, v *visit) []groupStep {
	st := c.stepsOf(v)
	if item >= 0 && int(item) < len(st.group) {
		return st.group[item]
	}
	return st.allGroup
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

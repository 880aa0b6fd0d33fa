package oracle

import (
	"fmt"
	"sort"
	"strings"

	"github.com/medfund/flycheck-operator/api/v1alpha1/rules"
)

// A family is the template (or templates) evaluated by one query: its
// rules' parameters are rows of a table p_<name> (one row per rule and
// item, item NULL for a rule without an item list), joined to the
// pre-filtered lines on the item.
type family struct {
	name     string
	cols     []string // extra parameter columns, "name TYPE"
	rows     []string // "(rule_id, category, template, item, vt, extras…)"
	itemless bool     // some rule has no item list
	nullCond string   // extra condition on the lines of item-less rules
	side     []sideTable
	prep     []string // statements run after the pass, before the query
	sel      func(m string) string
}

// sideTable is a second parameter table (rule_id, item) or (rule_id, code, exact).
type sideTable struct {
	name string
	cols string
	rows []string
}

func (f *family) table() string { return "p_" + f.name }

func (f *family) load(e *expert) error {
	cols := append([]string{"rule_id VARCHAR", "category VARCHAR", "template VARCHAR", "item VARCHAR", "vt VARCHAR"}, f.cols...)
	if err := e.exec("parameters "+f.name, fmt.Sprintf("CREATE OR REPLACE TEMP TABLE %s (%s)", f.table(), strings.Join(cols, ", "))); err != nil {
		return err
	}
	if err := e.exec("parameters "+f.name, fmt.Sprintf("INSERT INTO %s VALUES %s", f.table(), strings.Join(f.rows, ", "))); err != nil {
		return err
	}
	for _, s := range f.side {
		if err := e.exec("parameters "+s.name, fmt.Sprintf("CREATE OR REPLACE TEMP TABLE %s (%s)", s.name, s.cols)); err != nil {
			return err
		}
		if len(s.rows) > 0 {
			if err := e.exec("parameters "+s.name, fmt.Sprintf("INSERT INTO %s VALUES %s", s.name, strings.Join(s.rows, ", "))); err != nil {
				return err
			}
		}
	}
	return e.exec("items of "+f.name, fmt.Sprintf("INSERT INTO pitems SELECT DISTINCT item FROM %s WHERE item IS NOT NULL", f.table()))
}

// matched is the relation of (line, rule) pairs of the family: the lines of
// the rules' items that pass the rule's visit filter, with the parameters.
func (f *family) matched() string {
	extras := ""
	for _, c := range f.cols {
		extras += ", p." + strings.Fields(c)[0]
	}
	one := func(on, cond string) string {
		return fmt.Sprintf(`SELECT x.*, p.rule_id, p.category, p.template%s FROM xl x JOIN %s p ON %s
  WHERE (p.vt = 'A' OR (p.vt = 'I') = x.inpatient)%s`, extras, f.table(), on, cond)
	}
	q := one("p.item = x.item", "")
	if f.itemless {
		cond := ""
		if f.nullCond != "" {
			cond = " AND " + f.nullCond
		}
		q += "\n  UNION ALL\n  " + one("p.item IS NULL", cond)
	}
	return "(" + q + ") m"
}

func (f *family) query() string { return f.sel(f.matched()) }

// out is the select list of a line finding from m.
func out(amount, evidence string) string {
	return fmt.Sprintf("SELECT m.rule_id, m.category, m.template, m.inst, m.mdtrt_id, m.psn_no, m.item, m.sn, %s, %s", amount, evidence)
}

const wholeAmount = "ROUND(m.amt, 2)"

func (e *expert) family(name string, cols []string, sel func(m string) string) *family {
	if e.fams == nil {
		e.fams = map[rules.Template]*family{}
	}
	key := rules.Template(name)
	if f := e.fams[key]; f != nil {
		return f
	}
	f := &family{name: name, cols: cols, sel: sel}
	e.fams[key] = f
	e.order = append(e.order, key)
	return f
}

func sqlInt(v *int32) string {
	if v == nil {
		return "NULL"
	}
	return fmt.Sprint(*v)
}

// addRows adds one parameter row per distinct item (NULL: every item).
func (f *family) addRows(r *rules.Rule, items []string, extras ...string) {
	head := fmt.Sprintf("%s, %s, %s", lit(r.ID), lit(string(r.Category)), lit(string(r.Template)))
	tail := ", " + lit(visitType(r))
	for _, x := range extras {
		tail += ", " + x
	}
	if len(items) == 0 {
		f.itemless = true
		f.rows = append(f.rows, "("+head+", NULL"+tail+")")
		return
	}
	seen := map[string]bool{}
	sorted := append([]string(nil), items...)
	sort.Strings(sorted)
	for _, it := range sorted {
		if !seen[it] {
			seen[it] = true
			f.rows = append(f.rows, "("+head+", "+lit(it)+tail+")")
		}
	}
}

func (f *family) addSide(name, cols, row string) {
	for i := range f.side {
		if f.side[i].name == name {
			f.side[i].rows = append(f.side[i].rows, row)
			return
		}
	}
	f.side = append(f.side, sideTable{name: name, cols: cols, rows: []string{row}})
}

// add files a rule under its family, or as a per-rule query, and extends
// the pre-filter so that the pass keeps every line the rule can look at.
func (e *expert) add(r *rules.Rule) {
	p := &r.Params
	param := func(name string) int32 { v, _ := r.IntParam(name); return v }
	vt := visitType(r)
	itemless := func(cond string) {
		if len(p.Items) == 0 {
			e.anyLine = append(e.anyLine, cond)
		}
	}
	switch r.Template {
	case rules.GenderRestriction:
		g := "'1'"
		if p.Gender == rules.Male {
			g = "'2'"
		}
		e.family("gender", []string{"g VARCHAR", "gender VARCHAR"}, func(m string) string {
			return out(wholeAmount, "'限'||m.gender||'，患者性别 '||m.gend") + " FROM " + m + " WHERE m.gend = m.g"
		}).addRows(r, p.Items, g, lit(string(p.Gender)))
		itemless("TRUE")
	case rules.AgeRestriction:
		e.family("age", []string{"minage INTEGER", "maxage INTEGER"}, func(m string) string {
			return out(wholeAmount, "'年龄 '||m.age") + " FROM " + m + " WHERE m.age < m.minage OR m.age > m.maxage"
		}).addRows(r, p.Items, sqlInt(p.MinAge), sqlInt(p.MaxAge))
		itemless("TRUE")
	case rules.CareSettingRestriction:
		e.family("setting", []string{"allowed VARCHAR", "flaginp BOOLEAN"}, func(m string) string {
			return out(wholeAmount, "'限'||m.allowed") + " FROM " + m + " WHERE m.inpatient = m.flaginp"
		}).addRows(r, p.Items, lit(string(p.AllowedVisitType)), fmt.Sprint(p.AllowedVisitType != rules.Inpatient))
		itemless("TRUE")
	case rules.FacilityLevelRestriction:
		e.family("level", []string{"minlv INTEGER"}, func(m string) string {
			return out(wholeAmount, "'机构级别 '||m.lv") + " FROM " + m + " WHERE m.lv < m.minlv"
		}).addRows(r, p.Items, fmt.Sprint(param(rules.ParamMinLevel)))
		itemless("TRUE")
	case rules.PriceCap:
		e.family("price", []string{"maxp DECIMAL(18,4)"}, func(m string) string {
			return out("ROUND((m.pric - m.maxp) * m.cnt, 2)", "'单价 '||m.pric") + " FROM " + m + " WHERE m.pric > m.maxp"
		}).addRows(r, p.Items, decLit(p.MaxPrice))
		itemless("TRUE")
	case rules.ChargeAfterDischarge:
		g := param(rules.ParamGraceDays)
		e.family("discharge", []string{"grace INTEGER"}, func(m string) string {
			return out(wholeAmount, "'出院 '||m.find") + " FROM " + m + " WHERE m.d > m.find + m.grace"
		}).addRows(r, p.Items, fmt.Sprint(g))
		itemless(fmt.Sprintf("(%s AND d > find + %d)", vtCond(vt, "inpatient"), g))
	case rules.ChargeAfterDeath:
		e.family("death", nil, func(m string) string {
			return out(wholeAmount, "'死亡 '||pe.death") + " FROM " + m + " JOIN persons pe ON pe.psn_no = m.psn_no WHERE m.d > pe.death"
		}).addRows(r, p.Items)
		itemless("psn_no IN (SELECT psn_no FROM persons)")
	case rules.CoveredIndication:
		f := e.family("indication", nil, nil)
		f.sel = func(m string) string {
			return out(wholeAmount, "'无适应症诊断'") + " FROM " + m +
				" WHERE NOT EXISTS (SELECT 1 FROM ciok o WHERE o.rule_id = m.rule_id AND o.mdtrt_id = m.mdtrt_id)"
		}
		f.addRows(r, p.Items)
		for _, c := range p.DiagCodes {
			f.addSide("p_ind", "rule_id VARCHAR, code VARCHAR, exact BOOLEAN", fmt.Sprintf("(%s, %s, true)", lit(r.ID), lit(c)))
		}
		for _, c := range p.DiagPrefixes {
			f.addSide("p_ind", "rule_id VARCHAR, code VARCHAR, exact BOOLEAN", fmt.Sprintf("(%s, %s, false)", lit(r.ID), lit(c)))
		}
		if f.prep == nil {
			f.prep = []string{"ciok"}
		}
		itemless("TRUE")
	case rules.MaxUnits, rules.PerDayExceedsStay:
		per, lim, extra := "Stay", "NULL", "NULL"
		if r.Template == rules.MaxUnits {
			per, lim = string(p.Per), decLit(p.MaxUnits)
		} else {
			extra = fmt.Sprint(param(rules.ParamExtraDays))
		}
		e.family("units", []string{"per VARCHAR", "lim DECIMAL(18,4)", "extra INTEGER"}, func(m string) string {
			return out("ROUND(least(m.cnt, m.cum - m.lim2) * m.pric, 2)", "'累计 '||m.cum||' > '||m.lim2") + ` FROM (
  SELECT *, sum(cnt) OVER (PARTITION BY rule_id, k1, k2 ORDER BY t, sn ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS cum FROM (
    SELECT *, coalesce(lim, CAST(los + extra AS DECIMAL(18,4))) AS lim2,
           CASE per WHEN 'Course' THEN psn_no ELSE mdtrt_id END AS k1,
           CASE per WHEN 'Day' THEN CAST(d AS VARCHAR) WHEN 'Course' THEN inst ELSE '' END AS k2
    FROM ` + m + `)) m WHERE m.cum > m.lim2`
		}).addRows(r, p.Items, lit(per), lim, extra)
		itemless("TRUE")
	case rules.RepeatExamination:
		e.family("repeat", []string{"within INTEGER"}, func(m string) string {
			return out(wholeAmount, "'上次检查 '||m.prev") + ` FROM (
  SELECT *, lag(d) OVER (PARTITION BY rule_id, psn_no, inst ORDER BY t, sn) AS prev FROM ` + m + `) m
WHERE date_diff('day', m.prev, m.d) <= m.within`
		}).addRows(r, p.Items, fmt.Sprint(param(rules.ParamWithinDays)))
		itemless("TRUE")
	case rules.AddOnWithoutPrimary:
		if len(p.Items) == 0 || len(p.PrimaryItems) == 0 {
			e.perRuleAll(r)
			return
		}
		f := e.family("addon", nil, func(m string) string {
			return out(wholeAmount, "'当日无主项目'") + " FROM " + m +
				" WHERE NOT EXISTS (SELECT 1 FROM aprim a WHERE a.rule_id = m.rule_id AND a.mdtrt_id = m.mdtrt_id AND a.d = m.d)"
		})
		f.addRows(r, p.Items)
		for _, it := range p.PrimaryItems {
			f.addSide("p_prim", "rule_id VARCHAR, item VARCHAR", fmt.Sprintf("(%s, %s)", lit(r.ID), lit(it)))
		}
		f.prep = []string{`CREATE OR REPLACE TEMP TABLE aprim AS SELECT DISTINCT pp.rule_id, y.mdtrt_id, y.d FROM xl y JOIN p_prim pp ON pp.item = y.item`}
		e.anyLine = append(e.anyLine, "item IN (SELECT item FROM p_prim)")
	case rules.InclusivePair:
		if len(p.Items) == 0 || len(p.IncludedItems) == 0 {
			e.perRuleAll(r)
			return
		}
		f := e.family("inclusive", []string{"perday BOOLEAN"}, func(m string) string {
			return out(wholeAmount, "'已含于主项目'") + " FROM " + m +
				" WHERE EXISTS (SELECT 1 FROM imain a WHERE a.rule_id = m.rule_id AND a.mdtrt_id = m.mdtrt_id AND (NOT m.perday OR a.d = m.d))"
		})
		f.addRows(r, p.IncludedItems, fmt.Sprint(p.Per == rules.Day))
		for _, it := range p.Items {
			f.addSide("p_main", "rule_id VARCHAR, item VARCHAR", fmt.Sprintf("(%s, %s)", lit(r.ID), lit(it)))
		}
		f.prep = []string{`CREATE OR REPLACE TEMP TABLE imain AS SELECT DISTINCT pm.rule_id, y.mdtrt_id, y.d FROM xl y JOIN p_main pm ON pm.item = y.item`}
		e.anyLine = append(e.anyLine, "item IN (SELECT item FROM p_main)")
	case rules.DuplicateLine:
		f := e.family("duplicate", nil, func(m string) string {
			return out(wholeAmount, "'首次结算 '||m.first") + ` FROM (
  SELECT *, min(setl_id) OVER (PARTITION BY rule_id, psn_no, inst, item, t, cnt, pric) AS first FROM ` + m + `) m
WHERE m.setl_id > m.first`
		})
		f.nullCond = "x.dup"
		f.addRows(r, p.Items)
		if len(p.Items) == 0 {
			e.dupAll = true
		}
	case rules.UnbundledPackage:
		if len(p.Items) == 0 || len(p.ComponentItems) == 0 {
			e.perRuleAll(r)
			return
		}
		e.perRule = append(e.perRule, r)
		e.anyLine = append(e.anyLine, "item IN "+list(append(append([]string(nil), p.Items...), p.ComponentItems...)))
	case rules.BedOnlyDays:
		e.bedOnly = append(e.bedOnly, r)
	case rules.OverlappingStays, rules.Readmission:
		e.perRule = append(e.perRule, r)
	default:
		e.perRuleAll(r)
	}
}

// perRuleAll evaluates a rule by the oracle's SQL over the pass, which then
// keeps every line (no pre-filter can be derived).
func (e *expert) perRuleAll(r *rules.Rule) {
	e.perRule = append(e.perRule, r)
	e.anyLine = append(e.anyLine, "TRUE")
}

// ciokSQL: the (rule, visit) pairs with a diagnosis the rule accepts, by
// equality on every prefix of the visit's diagnosis codes (hashable,
// unlike starts_with), for the visits that bill a rule's item.
func (e *expert) ciokSQL(f *family) string {
	restrict := fmt.Sprintf("WHERE mdtrt_id IN (SELECT x.mdtrt_id FROM xl x JOIN %s p ON p.item = x.item)", f.table())
	if f.itemless {
		restrict = ""
	}
	return fmt.Sprintf(`CREATE OR REPLACE TEMP TABLE ciok AS
SELECT DISTINCT i.rule_id, dp.mdtrt_id FROM (
  SELECT mdtrt_id, n = length(diag_code) AS whole, substr(diag_code, 1, n) AS pfx FROM (
    SELECT mdtrt_id, diag_code, unnest(range(1, length(diag_code) + 1)) AS n FROM diags %s)) dp
JOIN p_ind i ON i.code = dp.pfx AND (dp.whole OR NOT i.exact)`, restrict)
}

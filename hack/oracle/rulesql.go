package oracle

import (
	"fmt"
	"strings"

	"github.com/medfund/flycheck-operator/api/v1alpha1/rules"
)

// RuleSQL returns a SELECT producing the findings of one rule, with the
// columns of the findings table, as docs/rules.md §4 defines them. Tables:
// lines (screened lines with their visit's attributes), vamt (valid visits
// with visitAmount), diags, persons (see stagingSQL).
func RuleSQL(r *rules.Rule) (string, error) {
	p := &r.Params
	spec := rules.Spec(r.Template)
	if spec == nil {
		return "", fmt.Errorf("rule %s: unknown template %s", r.ID, r.Template)
	}
	// Visit filter (docs/rules.md §2).
	vf := "TRUE"
	switch {
	case spec.InpatientOnly || r.EffectiveVisitType() == rules.Inpatient:
		vf = "inpatient"
	case r.EffectiveVisitType() == rules.Outpatient:
		vf = "NOT inpatient"
	}
	items := func(col string, codes []string) string {
		if len(codes) == 0 {
			return "TRUE"
		}
		return col + " IN " + list(codes)
	}
	head := fmt.Sprintf("SELECT %s AS rule_id, %s AS category, %s AS template, ", lit(r.ID), lit(string(r.Category)), lit(string(r.Template)))
	// lineSel selects line-level findings from a relation x with columns
	// inst, mdtrt_id, psn_no, item, sn.
	lineSel := func(amount, evidence, from string) string {
		return head + fmt.Sprintf("x.inst, x.mdtrt_id, x.psn_no, x.item, x.sn, %s, %s FROM %s", amount, evidence, from)
	}
	visitSel := func(amount, evidence, from string) string {
		return head + fmt.Sprintf("x.inst, x.mdtrt_id, x.psn_no, NULL, NULL, %s, %s FROM %s", amount, evidence, from)
	}
	wholeLine := "ROUND(x.amt, 2)"
	// Integer params with the template's defaults (rules.TemplateSpec):
	// the one table both implementations read.
	param := func(name string) int32 { v, _ := r.IntParam(name); return v }

	switch r.Template {
	case rules.GenderRestriction:
		g := "'1'" // a Female-only item billed to a man
		if p.Gender == rules.Male {
			g = "'2'"
		}
		return lineSel(wholeLine, "'限'||"+lit(string(p.Gender))+"||'，患者性别 '||x.gend",
			fmt.Sprintf("lines x WHERE %s AND %s AND x.gend = %s", vf, items("x.item", p.Items), g)), nil

	case rules.AgeRestriction:
		var conds []string
		if p.MinAge != nil {
			conds = append(conds, fmt.Sprintf("x.age < %d", *p.MinAge))
		}
		if p.MaxAge != nil {
			conds = append(conds, fmt.Sprintf("x.age > %d", *p.MaxAge))
		}
		return lineSel(wholeLine, "'年龄 '||x.age",
			fmt.Sprintf("lines x WHERE %s AND %s AND (%s)", vf, items("x.item", p.Items), strings.Join(conds, " OR "))), nil

	case rules.CareSettingRestriction:
		want := "x.inpatient"
		if p.AllowedVisitType == rules.Inpatient {
			want = "NOT x.inpatient"
		}
		return lineSel(wholeLine, "'限'||"+lit(string(p.AllowedVisitType)),
			fmt.Sprintf("lines x WHERE %s AND %s AND %s", vf, items("x.item", p.Items), want)), nil

	case rules.FacilityLevelRestriction:
		return lineSel(wholeLine, "'机构级别 '||x.lv",
			fmt.Sprintf("lines x WHERE %s AND %s AND x.lv < %d", vf, items("x.item", p.Items), param(rules.ParamMinLevel))), nil

	case rules.CoveredIndication:
		var conds []string
		if len(p.DiagCodes) > 0 {
			conds = append(conds, "d.diag_code IN "+list(p.DiagCodes))
		}
		for _, pf := range p.DiagPrefixes {
			conds = append(conds, "starts_with(d.diag_code, "+lit(pf)+")")
		}
		return lineSel(wholeLine, "'无适应症诊断'",
			fmt.Sprintf("lines x WHERE %s AND %s AND NOT EXISTS (SELECT 1 FROM diags d WHERE d.mdtrt_id = x.mdtrt_id AND (%s))",
				vf, items("x.item", p.Items), strings.Join(conds, " OR "))), nil

	case rules.PriceCap:
		maxp := decLit(p.MaxPrice)
		return lineSel(fmt.Sprintf("ROUND((x.pric - %s) * x.cnt, 2)", maxp), "'单价 '||x.pric",
			fmt.Sprintf("lines x WHERE %s AND %s AND x.pric > %s", vf, items("x.item", p.Items), maxp)), nil

	case rules.MaxUnits, rules.PerDayExceedsStay:
		var part, limit string
		if r.Template == rules.MaxUnits {
			limit = decLit(p.MaxUnits)
			switch p.Per {
			case rules.Day:
				part = "mdtrt_id, d"
			case rules.Stay:
				part = "mdtrt_id"
			case rules.Course:
				part = "psn_no, inst"
			}
		} else {
			part = "mdtrt_id"
			limit = fmt.Sprintf("CAST(los + %d AS DECIMAL(18,4))", param(rules.ParamExtraDays))
		}
		from := fmt.Sprintf(`(SELECT *, %s AS lim, sum(cnt) OVER (PARTITION BY %s ORDER BY t, sn ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS cum
  FROM lines WHERE %s AND %s) x WHERE x.cum > x.lim`, limit, part, vf, items("item", p.Items))
		return lineSel("ROUND(least(x.cnt, x.cum - x.lim) * x.pric, 2)", "'累计 '||x.cum||' > '||x.lim", from), nil

	case rules.ChargeAfterDischarge:
		return lineSel(wholeLine, "'出院 '||x.find",
			fmt.Sprintf("lines x WHERE %s AND %s AND x.d > x.find + %d", vf, items("x.item", p.Items), param(rules.ParamGraceDays))), nil

	case rules.ChargeAfterDeath:
		return lineSel(wholeLine, "'死亡 '||pe.death",
			fmt.Sprintf("lines x JOIN persons pe ON pe.psn_no = x.psn_no WHERE %s AND %s AND pe.death IS NOT NULL AND x.d > pe.death",
				vf, items("x.item", p.Items))), nil

	case rules.OverlappingStays:
		// Partners: valid inpatient visits of the whole input, any institution.
		return visitSel("x.amount", "'同时住院 '||x.partner",
			fmt.Sprintf(`(SELECT v.*, min(w.mdtrt_id) AS partner FROM vamt v JOIN vamt w
  ON w.psn_no = v.psn_no AND w.inst <> v.inst AND w.inpatient AND v.beg < w.fin AND w.beg < v.fin
  WHERE v.inpatient AND %s GROUP BY ALL) x`, strings.ReplaceAll(vf, "inpatient", "v.inpatient"))), nil

	case rules.AddOnWithoutPrimary:
		return lineSel(wholeLine, "'当日无主项目'",
			fmt.Sprintf("lines x WHERE %s AND %s AND NOT EXISTS (SELECT 1 FROM lines y WHERE y.mdtrt_id = x.mdtrt_id AND y.d = x.d AND %s)",
				vf, items("x.item", p.Items), items("y.item", p.PrimaryItems))), nil

	case rules.InclusivePair:
		sameDay := ""
		if p.Per == rules.Day {
			sameDay = " AND y.d = x.d"
		}
		return lineSel(wholeLine, "'已含于主项目'",
			fmt.Sprintf("lines x WHERE %s AND %s AND EXISTS (SELECT 1 FROM lines y WHERE y.mdtrt_id = x.mdtrt_id%s AND %s)",
				vf, items("x.item", p.IncludedItems), sameDay, items("y.item", p.Items))), nil

	case rules.DuplicateLine:
		return lineSel(wholeLine, "'首次结算 '||x.first",
			fmt.Sprintf(`(SELECT *, min(setl_id) OVER (PARTITION BY psn_no, inst, item, t, cnt, pric) AS first
  FROM lines WHERE %s AND %s) x WHERE x.setl_id > x.first`, vf, items("item", p.Items))), nil

	case rules.UnbundledPackage:
		return lineSel(wholeLine, "'套餐同日收费'",
			fmt.Sprintf(`lines x JOIN (
  SELECT mdtrt_id, d FROM lines WHERE %[1]s GROUP BY mdtrt_id, d
  HAVING count(*) FILTER (WHERE %[2]s) > 0 AND count(DISTINCT item) FILTER (WHERE %[3]s) >= %[4]d) g
  ON g.mdtrt_id = x.mdtrt_id AND g.d = x.d
WHERE %[3]s`, vf, items("item", p.Items), items("item", p.ComponentItems), param(rules.ParamMinComponents))), nil

	case rules.RepeatExamination:
		return lineSel(wholeLine, "'上次检查 '||x.prev",
			fmt.Sprintf(`(SELECT *, lag(d) OVER (PARTITION BY psn_no, inst ORDER BY t, sn) AS prev
  FROM lines WHERE %s AND %s) x WHERE date_diff('day', x.prev, x.d) <= %d`, vf, items("item", p.Items), param(rules.ParamWithinDays))), nil

	case rules.Readmission:
		return visitSel("x.amount", "'前次住院 '||x.prev",
			fmt.Sprintf(`(WITH pd AS (SELECT mdtrt_id, substr(min(diag_code), 1, 3) AS cat FROM diags WHERE main GROUP BY mdtrt_id),
  vv AS (SELECT v.*, pd.cat FROM vamt v JOIN pd ON pd.mdtrt_id = v.mdtrt_id WHERE v.inpatient AND %s)
  SELECT b.*, min(a.mdtrt_id) AS prev FROM vv b JOIN vv a
    ON a.psn_no = b.psn_no AND a.inst = b.inst AND a.mdtrt_id <> b.mdtrt_id AND a.cat = b.cat
   AND (a.beg < b.beg OR (a.beg = b.beg AND a.mdtrt_id < b.mdtrt_id))
   AND date_diff('day', a.find, b.begd) BETWEEN 0 AND %d
  GROUP BY ALL) x`, strings.ReplaceAll(vf, "inpatient", "v.inpatient"), param(rules.ParamWithinDays))), nil

	case rules.BedOnlyDays:
		return visitSel("ROUND(x.amt, 2)", "'仅床位护理 '||x.days||' 天'",
			fmt.Sprintf(`(SELECT inst, mdtrt_id, psn_no, count(*) AS days, sum(amt) AS amt FROM (
    SELECT inst, mdtrt_id, psn_no, d, sum(amt) AS amt FROM lines WHERE %s
    GROUP BY inst, mdtrt_id, psn_no, d HAVING bool_and(%s))
  GROUP BY inst, mdtrt_id, psn_no HAVING count(*) >= %d) x`, vf, items("item", p.Items), param(rules.ParamMinDays))), nil
	}
	return "", fmt.Errorf("rule %s: template %s has no SQL", r.ID, r.Template)
}

// decLit renders a validated rule decimal as a DECIMAL(18,4) literal.
func decLit(s string) string { return "CAST(" + lit(s) + " AS DECIMAL(18,4))" }

package synth

import (
	"bytes"
	"fmt"
	"sort"

	"sigs.k8s.io/yaml"

	"github.com/medfund/flycheck-operator/api/v1alpha1/rules"
)

// GenerateRules returns about count realistic rule instances over the item
// catalogue, for benchmarks: the behavioural templates once each, the
// knowledge-table templates (限性别, 限年龄, 限住院, 限级别, 限适应症) for the items
// they fit, then price caps and unit limits for every catalogue item, and
// finally — like a real provincial catalogue, most of whose entries never
// match one city's extract — price caps on items this synthetic catalogue
// never bills. Every template appears at least once (from count >= 18); no
// two rules share a template and an item, so injected violations stay
// free of collateral findings.
func GenerateRules(count int, seed uint64) []rules.Rule {
	var out []rules.Rule
	add := func(r rules.Rule) {
		if len(out) < count {
			r.Category = rules.TemplateCategory(r.Template)
			out = append(out, r)
		}
	}
	i32 := func(v int32) *int32 { return &v }
	n := map[rules.Template]int{}
	id := func(t rules.Template) string {
		n[t]++
		return fmt.Sprintf("B-%s-%03d", synthTemplates[t].abbrev, n[t])
	}
	// Behavioural templates first, so that even a small count covers all.
	bedItems := []string{bedFee, "001102000040000"}
	nursingItems := []string{"001201000020000", nursing1, nursing2, nursing3}
	for _, r := range []rules.Rule{
		{Template: rules.PerDayExceedsStay, Description: "床位费超住院天数", Params: rules.Params{Items: bedItems}},
		{Template: rules.ChargeAfterDischarge, Description: "出院后发生费用", Params: rules.Params{}},
		{Template: rules.ChargeAfterDeath, Description: "死亡后发生费用", Params: rules.Params{}},
		{Template: rules.OverlappingStays, Description: "同一参保人同时段在两家机构住院"},
		{Template: rules.AddOnWithoutPrimary, Description: "静脉输液加收无静脉输液", Params: rules.Params{Items: []string{infusionAdd}, PrimaryItems: []string{infusion}}},
		{Template: rules.InclusivePair, Description: "一级护理当日收取二级/三级护理", Params: rules.Params{Items: []string{nursing1}, IncludedItems: []string{nursing2, nursing3}, Per: rules.Day}},
		{Template: rules.DuplicateLine, Description: "跨结算重复明细", Params: rules.Params{}},
		{Template: rules.UnbundledPackage, Description: "尿液分析与其组成项目同日收费", Params: rules.Params{Items: []string{"002501020350000"}, ComponentItems: []string{"002501020010000", "002501020020000", "002501020060000"}}},
		{Template: rules.RepeatExamination, Description: "7日内重复CT平扫", Params: rules.Params{Items: []string{"002103000010000"}, WithinDays: i32(7)}},
		{Template: rules.Readmission, VisitType: rules.Inpatient, Description: "15日内同病种再入院", Params: rules.Params{WithinDays: i32(15)}},
		{Template: rules.BedOnlyDays, Description: "连续3日仅收床位护理费", Params: rules.Params{Items: append(append([]string{}, bedItems...), nursingItems...), MinDays: i32(3)}},
		{Template: rules.GenderRestriction, Description: "前列腺特异性抗原限男性", Params: rules.Params{Items: []string{"002504030120000"}, Gender: rules.Male}},
		{Template: rules.AgeRestriction, Description: "小儿氨酚黄那敏限14岁以下", Params: rules.Params{Items: []string{"XR05XAA051B004010100018"}, MaxAge: i32(14)}},
		{Template: rules.CareSettingRestriction, Description: "注射用奥美拉唑钠限住院", Params: rules.Params{Items: []string{"XA02BCA011B002010100022"}, AllowedVisitType: rules.Inpatient}},
		{Template: rules.FacilityLevelRestriction, Description: "注射用丹参多酚酸盐限二级及以上", Params: rules.Params{Items: []string{"ZA12BAX0789020200035"}, MinLevel: i32(2)}},
		{Template: rules.CoveredIndication, Description: "注射用胸腺法新限慢性乙型肝炎", Params: rules.Params{Items: []string{"XL03AXT011B002010100011"}, DiagCodes: []string{"B18.1"}}},
		{Template: rules.PriceCap, Description: "普通病房床位费限价", Params: rules.Params{Items: []string{bedFee}, MaxPrice: "40"}},
		{Template: rules.MaxUnits, Description: "静脉输液每日限1次", Params: rules.Params{Items: []string{infusion}, MaxUnits: "1", Per: rules.Day}},
	} {
		r.ID = id(r.Template)
		add(r)
	}
	// Knowledge tables.
	gender := map[string]rules.Gender{
		"002504030130000": rules.Male, "XG04CAA021B003010100017": rules.Male, "003311020040000": rules.Male,
		"002703000030000": rules.Female, "002504030850000": rules.Female, "003112020010000": rules.Female,
		"XG03DAA041B002010100016": rules.Female, "XH01BBA021B002010100030": rules.Female, "003312030010000": rules.Female,
	}
	for _, code := range sortedKeys(gender) {
		add(rules.Rule{ID: id(rules.GenderRestriction), Template: rules.GenderRestriction, Description: itemName(code) + "限性别",
			Params: rules.Params{Items: []string{code}, Gender: gender[code]}})
	}
	add(rules.Rule{ID: id(rules.AgeRestriction), Template: rules.AgeRestriction, Description: "喹诺酮类限18岁以上",
		Params: rules.Params{Items: []string{"XJ01MAA121B001010100003"}, MinAge: i32(18)}})
	for _, code := range []string{"XJ01DHA051B002010100004", "C03010220000000100004", "C13010330000000100005", "003202000060000", "003315070010000"} {
		add(rules.Rule{ID: id(rules.CareSettingRestriction), Template: rules.CareSettingRestriction, Description: itemName(code) + "限住院",
			Params: rules.Params{Items: []string{code}, AllowedVisitType: rules.Inpatient}})
	}
	level := map[string]int32{"ZA12BAS0123020200036": 2, "XJ01DHA051B002010100004": 2, "003310050020000": 2,
		"003202000060000": 3, "003315070010000": 3, "XL01FDA011B002010100015": 3, "002104000010000": 2, "002103000020000": 2}
	for _, code := range sortedKeys(level) {
		add(rules.Rule{ID: id(rules.FacilityLevelRestriction), Template: rules.FacilityLevelRestriction, Description: itemName(code) + "限级别",
			Params: rules.Params{Items: []string{code}, MinLevel: i32(level[code])}})
	}
	type ind struct{ codes, prefixes []string }
	indications := map[string]ind{
		"XJ05AFA101B001010100012": {nil, []string{"B18"}},
		"XB05AAA011B002010100013": {nil, []string{"K74", "C", "R57"}},
		"XA16AAA021B002010100014": {[]string{"O26.6"}, []string{"K74"}},
		"XL01FDA011B002010100015": {nil, []string{"C50", "C16"}},
		"XN07XXA011B002010100032": {[]string{"T14.4"}, []string{"S04", "S14", "S24", "S34"}},
		"XA10AEA041B002010100007": {nil, []string{"E10", "E11"}},
		"XB01ACA041B001010100010": {nil, []string{"I2", "I63"}},
		"ZA12BAX0789020200035":    {nil, []string{"I63", "I25"}},
		"XG04CAA021B003010100017": {[]string{"N40"}, nil},
	}
	for _, code := range sortedKeys(indications) {
		add(rules.Rule{ID: id(rules.CoveredIndication), Template: rules.CoveredIndication, Description: itemName(code) + "限适应症",
			Params: rules.Params{Items: []string{code}, DiagCodes: indications[code].codes, DiagPrefixes: indications[code].prefixes}})
	}
	for _, r := range []rules.Rule{
		{Template: rules.RepeatExamination, Description: "30日内重复磁共振", Params: rules.Params{Items: []string{"002104000010000"}, WithinDays: i32(30)}},
		{Template: rules.RepeatExamination, Description: "60日内重复糖化血红蛋白", Params: rules.Params{Items: []string{"002503020030000"}, WithinDays: i32(60)}},
		{Template: rules.RepeatExamination, Description: "180日内重复宫颈TCT", Params: rules.Params{Items: []string{"002703000030000"}, WithinDays: i32(180)}},
		{Template: rules.RepeatExamination, Description: "30日内重复心脏彩超", Params: rules.Params{Items: []string{"002203020010000"}, WithinDays: i32(30)}},
		{Template: rules.AddOnWithoutPrimary, Description: "CT加收无CT平扫", Params: rules.Params{Items: []string{"002103000010100"}, PrimaryItems: []string{"002103000010000"}}},
		{Template: rules.AddOnWithoutPrimary, Description: "麻醉中监测无麻醉", Params: rules.Params{Items: []string{"003301000150000"}, PrimaryItems: []string{"003301000050000", "003301000030000"}}},
		{Template: rules.InclusivePair, Description: "全身麻醉包含气管插管", Params: rules.Params{Items: []string{"003301000050000"}, IncludedItems: []string{"003106030010000"}, Per: rules.Stay}},
		{Template: rules.InclusivePair, Description: "血细胞分析包含血红蛋白测定", Params: rules.Params{Items: []string{bloodRoute}, IncludedItems: []string{"002501010010000"}, Per: rules.Day}},
		{Template: rules.UnbundledPackage, Description: "阑尾切除术同日收取剖腹探查术", Params: rules.Params{Items: []string{"003310030010000"}, ComponentItems: []string{"003310010030000"}}},
		{Template: rules.PerDayExceedsStay, Description: "护理费超住院天数", Params: rules.Params{Items: nursingItems}},
	} {
		r.ID = id(r.Template)
		add(r)
	}
	// Price caps and unit limits for the whole catalogue.
	used := map[string]bool{bedFee: true}
	for i := range Items {
		it := &Items[i]
		if used[it.Code] {
			continue
		}
		add(rules.Rule{ID: id(rules.PriceCap), Template: rules.PriceCap, Description: it.Name + "限价",
			Params: rules.Params{Items: []string{it.Code}, MaxPrice: string(appendFixed(nil, it.Price, false))}})
	}
	limited := map[string]bool{infusion: true}
	for i := range Items {
		it := &Items[i]
		if limited[it.Code] {
			continue
		}
		var per rules.Period
		var max string
		switch it.Kind {
		case KindDrug:
			per, max = rules.Day, "6"
		case KindProcedure, KindAnaesthesia:
			per, max = rules.Stay, "1"
		case KindImaging:
			per, max = rules.Day, "2"
		case KindTreatment:
			per, max = rules.Day, "12"
		default:
			continue
		}
		add(rules.Rule{ID: id(rules.MaxUnits), Template: rules.MaxUnits, Description: it.Name + "超数量",
			Params: rules.Params{Items: []string{it.Code}, MaxUnits: max, Per: per}})
	}
	// The long tail: caps on items the synthetic province never bills.
	r := newRand(seed, 0x7a11)
	for k := 1; len(out) < count; k++ {
		code := fmt.Sprintf("X%c%02d%c%cA%03dB%03d%09d", 'A'+rune(r.IntN(20)), r.IntN(20), 'A'+rune(r.IntN(26)), 'A'+rune(r.IntN(26)),
			r.IntN(1000), 1+r.IntN(9), r.IntN(1_000_000_000))
		add(rules.Rule{ID: id(rules.PriceCap), Template: rules.PriceCap, Description: fmt.Sprintf("目录药品%04d限价", k),
			Params: rules.Params{Items: []string{code}, MaxPrice: fmt.Sprintf("%d.%02d", 1+r.IntN(500), r.IntN(100))}})
	}
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func itemName(code string) string { return lookupItem(code).Name }

// CatalogueYAML renders rules as one RuleSet manifest.
func CatalogueYAML(name string, rs []rules.Rule) ([]byte, error) {
	doc := map[string]any{
		"apiVersion": rules.APIVersion,
		"kind":       rules.Kind,
		"metadata":   map[string]any{"name": name},
		"spec":       rules.RuleSetSpec{Version: "2024.1", Description: fmt.Sprintf("generated benchmark catalogue (%d rules)", len(rs)), Rules: rs},
	}
	data, err := yaml.Marshal(doc)
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, "# Generated by `flycheck generate rules --count %d`; do not edit.\n", len(rs))
	b.Write(data)
	return b.Bytes(), nil
}

package screening

import (
	"reflect"
	"testing"

	"github.com/medfund/flycheck-operator/api/v1alpha1/rules"
)

func TestRiskScore(t *testing.T) {
	for _, c := range []struct {
		atRisk, screened int64
		cats             int
		want             string
	}{
		{0, 100000, 0, "0.000000"},
		{25000, 100000, 1, "0.207142"}, // 0.6×0.25 + 0.4×(1/7) = 0.15 + 0.057142
		{200000, 100000, 7, "1.000000"},
		{1, 3, 0, "0.199999"}, // 0.6 × 0.333333 truncated
		{500, 0, 2, "0.114285"},
	} {
		if got := formatMicro(RiskScore(c.atRisk, c.screened, c.cats)); got != c.want {
			t.Errorf("RiskScore(%d, %d, %d) = %s, want %s", c.atRisk, c.screened, c.cats, got, c.want)
		}
	}
}

func TestSummaryWindowAndSkippedRules(t *testing.T) {
	d := newDataset()
	d.inst("H2", "1")
	d.visit("V1", "P1", "H1", "11", "2024-03-01 09:00:00", "2024-03-01 10:00:00", "2", "40")
	d.visit("V2", "P2", "H1", "11", "2024-04-01 09:00:00", "2024-04-01 10:00:00", "2", "40")
	d.line("L1", "V1", "PSA", "1", "80", "2024-03-01 09:10:00")
	d.line("L2", "V1", "BED", "2", "10", "2024-03-01 09:10:00")
	d.line("L3", "V2", "PSA", "1", "80", "2024-04-01 09:10:00")
	d.line("L4", "V1", "BED", "-1", "10", "2024-03-01 09:20:00")
	dir := t.TempDir()
	d.write(t, dir, "csv")
	rs := []rules.Rule{
		rule("G", rules.GenderRestriction, "", rules.Params{Items: []string{"PSA"}, Gender: rules.Male}),
		rule("Z", rules.ChargeAfterDeath, "", rules.Params{}),
		rule("I", rules.CoveredIndication, "", rules.Params{Items: []string{"PSA"}, DiagPrefixes: []string{"N40"}}),
	}
	fs, res := screen(t, dir, rs, func(o *Options) { o.From, o.To = "2024-03-01", "2024-03-31" })
	if got := keys(fs); !sameKeys(got, []string{"G/L1=80.00"}) {
		t.Errorf("findings %v", got)
	}
	if !reflect.DeepEqual(res.Stats.SkippedRules, []string{"Z", "I"}) {
		t.Errorf("skipped %v", res.Stats.SkippedRules)
	}
	want := []InstitutionSummary{
		{Code: "H1", Name: "医院H1", CityCode: "320100", Level: 3, Ownership: "public", Type: "hospital",
			Lines: 3, ScreenedAmount: "100.00", Findings: 1,
			FindingsByCategory: map[string]int64{"BeyondPaymentScope": 1}, AmountAtRisk: "80.00", RiskScore: "0.537142"},
		{Code: "H2", Name: "医院H2", CityCode: "320100", Level: 1, Ownership: "public", Type: "hospital",
			ScreenedAmount: "0.00", FindingsByCategory: map[string]int64{}, AmountAtRisk: "0.00", RiskScore: "0.000000"},
	}
	if !reflect.DeepEqual(res.Summary.Institutions, want) {
		t.Errorf("summary\n got %+v\nwant %+v", res.Summary.Institutions, want)
	}
	if res.Stats.LinesInScope != 3 || res.Stats.VisitsInScope != 1 {
		t.Errorf("in scope: %d lines, %d visits", res.Stats.LinesInScope, res.Stats.VisitsInScope)
	}
	rd, err := ReadSummary(res.OutputDir + "/summary.json")
	if err != nil || !reflect.DeepEqual(rd, res.Summary) {
		t.Errorf("summary.json round trip: %v", err)
	}
}

package main

import (
	"context"
	"slices"
	"testing"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/client"

	flycheckv1 "github.com/medfund/flycheck-operator/api/v1alpha1"
	"github.com/medfund/flycheck-operator/api/v1alpha1/rules"
	"github.com/medfund/flycheck-operator/controllers/testenv"
)

// The demo applies the embedded catalogue: the same RuleSets as
// config/rules, each valid, and accepted by the real apiserver's schema.
func TestDemoRuleSetsAreTheDefaultCatalogue(t *testing.T) {
	sets, err := demoRuleSets()
	if err != nil {
		t.Fatal(err)
	}
	cat, err := rules.LoadFiles(testenv.DefaultRuleFiles(t)...)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	total := 0
	for _, rs := range sets {
		names = append(names, rs.Name)
		total += len(rs.Spec.Rules)
		if err := rules.Validate(rs.Spec.Rules); err != nil {
			t.Errorf("RuleSet %s: %v", rs.Name, err)
		}
		probe := rs.DeepCopy() // renamed: other tests of the package apply the catalogue
		probe.Name += "-dry-run"
		if err := testClient.Create(context.Background(), probe, client.DryRunAll); err != nil {
			t.Errorf("the apiserver refuses RuleSet %s: %v", rs.Name, err)
		}
	}
	want := []string{"jiangsu-2024-beyond-indication", "jiangsu-2024-beyond-payment-scope", "jiangsu-2024-duplicate-charge",
		"jiangsu-2024-excess-quantity", "jiangsu-2024-fictitious-charge", "jiangsu-2024-inpatient-behaviour", "jiangsu-2024-over-examination"}
	if !slices.Equal(names, want) {
		t.Errorf("embedded RuleSets %v, want %v", names, want)
	}
	if total != len(cat.Rules) {
		t.Errorf("%d embedded rules, %d in config/rules", total, len(cat.Rules))
	}
}

// The demo campaign passes the CRD's schema and CEL rules, screens in the
// data analysis phase and samples in the spot- and fly-check phases.
func TestDemoCampaignIsValid(t *testing.T) {
	names := []string{"jiangsu-2024-excess-quantity"}
	camp := demoCampaign(time.Now(), 15*time.Second, names)
	if err := testClient.Create(context.Background(), camp, client.DryRunAll); err != nil {
		t.Fatalf("the apiserver refuses the demo campaign: %v", err)
	}
	byName := map[string]flycheckv1.Phase{}
	for _, p := range camp.Spec.Phases {
		byName[p.Name] = p
	}
	if s := byName["dataanalysis"].Screening; s == nil || s.Shards != 2 || !slices.Equal(s.RuleSets, names) {
		t.Errorf("dataanalysis screening %+v", s)
	}
	if s := byName["spotcheck"].Sampling; s == nil || s.Purpose != flycheckv1.PurposeRecheck || s.MinPercent != 10 ||
		s.MinTertiaryPerCity != 2 || s.MinTotal != 6 || s.RiskBasedPercent != 50 {
		t.Errorf("spotcheck sampling %+v", s)
	}
	if s := byName["flycheck"].Sampling; s == nil || s.Purpose != flycheckv1.PurposeFlyCheck || s.MinPercent != 0 ||
		s.MinTertiaryPerCity != 2 || s.MinTotal != 8 || s.RiskBasedPercent != 50 {
		t.Errorf("flycheck sampling %+v", s)
	}
	ds := camp.Spec.DataSource
	if ds == nil || ds.PersistentVolumeClaim != demoClaim || ds.Path != demoExtractPath || ds.Format != flycheckv1.FormatParquet {
		t.Errorf("data source %+v", ds)
	}
	// The province covers exactly the campaign's cities.
	var codes []string
	for _, c := range camp.Spec.Cities {
		codes = append(codes, c.Code)
	}
	cfg := demoProvinceConfig()
	if cfg.Cities != len(codes) || !slices.Equal(codes, []string{"320100", "320200", "320300"}) {
		t.Errorf("province of %d cities for campaign cities %v", cfg.Cities, codes)
	}
}

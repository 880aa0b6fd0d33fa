package synth

import (
	"bytes"
	"os"
	"testing"

	"github.com/medfund/flycheck-operator/api/v1alpha1/rules"
)

// The default catalogue loads with the screener's loader, covers every
// template and category, and names only items the synthetic province knows.
func TestDefaultCatalogue(t *testing.T) {
	files := defaultRuleFiles(t)
	cat, err := rules.LoadFiles(files...)
	if err != nil {
		t.Fatal(err)
	}
	if len(cat.Sets) != 7 {
		t.Errorf("%d RuleSets, want one per category (7)", len(cat.Sets))
	}
	templates := map[rules.Template]int{}
	for _, r := range cat.Rules {
		templates[r.Template]++
		p := r.Params
		for _, list := range [][]string{p.Items, p.PrimaryItems, p.IncludedItems, p.ComponentItems} {
			for _, code := range list {
				if itemByCode[code] == nil {
					t.Errorf("rule %s names %s, which is not in the item catalogue", r.ID, code)
				}
			}
		}
	}
	for _, tpl := range rules.Templates() {
		if templates[tpl] == 0 {
			t.Errorf("no rule of template %s", tpl)
		}
	}
	for _, set := range cat.Sets {
		cats := map[rules.Category]bool{}
		for _, r := range set.Spec.Rules {
			cats[r.Category] = true
		}
		if len(cats) != 1 {
			t.Errorf("%s mixes categories %v", set.Source, cats)
		}
	}
	t.Logf("default catalogue: %d rules, per template %v", len(cat.Rules), templates)
}

// The committed benchmark catalogues load, and bench-200 is exactly what
// `flycheck generate rules --count 200` produces.
func TestBenchCatalogues(t *testing.T) {
	cat, err := rules.LoadFiles("../../config/rules/bench/bench-200.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if n := len(cat.Rules); n != 200 {
		t.Errorf("bench-200 has %d rules", n)
	}
	want, err := CatalogueYAML("bench-200", GenerateRules(200, 1))
	if err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile("../../config/rules/bench/bench-200.yaml")
	if !bytes.Equal(got, want) {
		t.Error("config/rules/bench/bench-200.yaml is stale: run flycheck generate rules --count 200 --output config/rules/bench/bench-200.yaml")
	}
	seen := map[rules.Template]bool{}
	type key struct {
		t    rules.Template
		item string
	}
	pairs := map[key]string{}
	for _, r := range cat.Rules {
		seen[r.Template] = true
		for _, it := range r.Params.Items {
			k := key{r.Template, it}
			if other, dup := pairs[k]; dup {
				t.Errorf("rules %s and %s share template %s and item %s", other, r.ID, r.Template, it)
			}
			pairs[k] = r.ID
		}
	}
	if len(seen) != len(rules.Templates()) {
		t.Errorf("bench-200 covers %d of %d templates", len(seen), len(rules.Templates()))
	}
	six, err := rules.LoadFiles("../../config/rules/bench/bench-6.yaml")
	if err != nil {
		t.Fatal(err)
	}
	cats := map[rules.Category]bool{}
	for _, r := range six.Rules {
		cats[r.Category] = true
	}
	if len(six.Rules) != 6 || len(cats) != 6 {
		t.Errorf("bench-6: %d rules in %d categories", len(six.Rules), len(cats))
	}
	// Small counts still cover every template.
	small := GenerateRules(18, 1)
	seen = map[rules.Template]bool{}
	for _, r := range small {
		seen[r.Template] = true
	}
	if len(seen) != len(rules.Templates()) {
		t.Errorf("GenerateRules(18) covers %d templates", len(seen))
	}
	if err := rules.Validate(GenerateRules(500, 2)); err != nil {
		t.Error(err)
	}
}

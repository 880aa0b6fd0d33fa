package rules

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func int32p(v int32) *int32 { return &v }

func TestExampleCoversEveryTemplate(t *testing.T) {
	cat, err := LoadFiles("testdata/example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if len(cat.Sets) != 2 || cat.Sets[0].Name != "example-scope" || cat.Sets[1].Source != "testdata/example.yaml#2" {
		t.Fatalf("sets: %+v", cat.Sets)
	}
	seen := map[Template]bool{}
	for _, r := range cat.Rules {
		seen[r.Template] = true
	}
	for _, tpl := range Templates() {
		if !seen[tpl] {
			t.Errorf("example.yaml has no rule for template %s", tpl)
		}
	}
	if got := cat.Rules[1].Params.MinAge; got == nil || *got != 0 {
		t.Errorf("minAge 0 must be kept as present, got %v", got)
	}
}

func TestEveryTemplateHasACategory(t *testing.T) {
	for _, tpl := range Templates() {
		if !validCategory(TemplateCategory(tpl)) {
			t.Errorf("template %s: category %q", tpl, TemplateCategory(tpl))
		}
	}
	if len(Templates()) != 18 {
		t.Errorf("expected 18 templates, got %d", len(Templates()))
	}
}

func TestValidateReportsEveryProblem(t *testing.T) {
	rs := []Rule{
		{ID: "BPS-001", Category: BeyondPaymentScope, Template: GenderRestriction, Params: Params{Gender: Male}},
		{ID: "EQ 2", Category: BeyondPaymentScope, Template: PriceCap, Params: Params{Items: []string{"A"}, MaxPrice: "1.23456", WithinDays: int32p(3)}},
		{ID: "IB-1", Category: InpatientBehaviour, Template: Readmission, VisitType: Outpatient, Params: Params{}},
		{ID: "BPS-001", Category: BeyondPaymentScope, Template: AgeRestriction, Params: Params{Items: []string{}, MinAge: int32p(40), MaxAge: int32p(20)}},
		{Category: "Nope", Template: "Nope"},
		{ID: "AO-1", Category: FictitiousCharge, Template: AddOnWithoutPrimary, Params: Params{Items: []string{"A", "B"}, PrimaryItems: []string{"B"}}},
		{ID: "MU-1", Category: ExcessQuantity, Template: MaxUnits, Params: Params{Items: []string{"A", "B C"}, MaxUnits: "2", Per: "Week"}},
	}
	err := Validate(rs)
	if err == nil {
		t.Fatal("expected errors")
	}
	msg := err.Error()
	for _, want := range []string{
		`rule "BPS-001": params.items: required for template GenderRestriction`,
		`rule "EQ 2": id: must match`,
		`rule "EQ 2": category: template PriceCap belongs to category ExcessQuantity, not BeyondPaymentScope`,
		`rule "EQ 2": params.maxPrice: must be a non-negative decimal`,
		`rule "EQ 2": params.withinDays: not used by template PriceCap`,
		`rule "IB-1": visitType: template Readmission looks at inpatient visits only`,
		`rule "IB-1": params.withinDays: required for template Readmission`,
		`rule "BPS-001": id: duplicate id (also rules[0])`,
		`rule "BPS-001": params.items: must not be empty`,
		`rule "BPS-001": params.minAge: greater than maxAge`,
		`rules[4]: id: required`,
		`rules[4]: template: unknown template "Nope"`,
		`rules[4]: category: unknown category "Nope"`,
		`rule "AO-1": params.primaryItems[0]: code "B" is also in params.items`,
		`rule "MU-1": params.items[1]: invalid code "B C"`,
		`rule "MU-1": params.per: must be one of [Day Stay Course]`,
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("missing %q in:\n%s", want, msg)
		}
	}
}

func TestLoadErrors(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	head := "apiVersion: flycheck.medfund.io/v1alpha1\nkind: RuleSet\nmetadata: {name: x, uid: abc}\n"
	a := write("a.yaml", head+"spec:\n  rules:\n  - {id: D-1, category: DuplicateCharge, template: DuplicateLine, params: {}}\n")
	b := write("b.yaml", "---\n# comment only\n---\n"+head+"spec:\n  rules:\n  - {id: D-1, category: DuplicateCharge, template: DuplicateLine, params: {}}\n")
	unknown := write("c.yaml", head+"spec:\n  rules:\n  - {id: D-2, category: DuplicateCharge, template: DuplicateLine, params: {itmes: [A]}}\n")
	kind := write("d.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n")

	if _, err := LoadFiles(a); err != nil {
		t.Fatalf("a.yaml: %v", err)
	}
	_, err := LoadFiles(a, b)
	if err == nil || !strings.Contains(err.Error(), "b.yaml#3: rule \"D-1\": id: duplicate id (also in "+a+")") {
		t.Errorf("duplicate across files: %v", err)
	}
	_, err = LoadFiles(unknown)
	if err == nil || !strings.Contains(err.Error(), "c.yaml") || !strings.Contains(err.Error(), "itmes") {
		t.Errorf("unknown field: %v", err)
	}
	_, err = LoadFiles(kind)
	if err == nil || !strings.Contains(err.Error(), "d.yaml: expected apiVersion") {
		t.Errorf("wrong kind: %v", err)
	}
	_, err = LoadFiles(filepath.Join(dir, "missing.yaml"))
	if err == nil || !strings.Contains(err.Error(), "missing.yaml") {
		t.Errorf("missing file: %v", err)
	}
}

func TestParseDecimal(t *testing.T) {
	for in, want := range map[string]int64{"0": 0, "12.5": 125000, "-0.0001": -1, "60": 600000, "1.2345": 12345} {
		got, err := ParseDecimal(in)
		if err != nil || got != want {
			t.Errorf("ParseDecimal(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "1.", ".5", "1.23456", "1e3", "1,5", "--1"} {
		if _, err := ParseDecimal(in); err == nil {
			t.Errorf("ParseDecimal(%q): expected error", in)
		}
	}
}

func TestLoadDirectories(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	set := func(id string) string {
		return "apiVersion: flycheck.medfund.io/v1alpha1\nkind: RuleSet\nmetadata: {name: x}\nspec:\n  rules:\n" +
			"  - {id: " + id + ", category: DuplicateCharge, template: DuplicateLine, params: {}}\n"
	}
	write("rules/b.yml", set("B-1"))
	write("rules/a.yaml", set("A-1"))
	write("rules/README.md", "not a rule file")
	write("rules/Kustomization", "resources: []")
	write("rules/sub/c.yaml", set("C-1")) // subdirectories are not read
	write("extra.yaml", set("E-1"))

	cat, err := LoadFiles(filepath.Join(dir, "rules"), filepath.Join(dir, "extra.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, r := range cat.Rules {
		ids = append(ids, r.ID)
	}
	if got := strings.Join(ids, ","); got != "A-1,B-1,E-1" {
		t.Errorf("rules from a directory and a file: %s, want A-1,B-1,E-1 (name order, *.yaml and *.yml only)", got)
	}
	if want := filepath.Join(dir, "rules", "a.yaml"); cat.Sources[0] != want {
		t.Errorf("source %q, want %q", cat.Sources[0], want)
	}
	// The same directory twice: the ids collide, as for a file given twice.
	if _, err := LoadFiles(filepath.Join(dir, "rules"), filepath.Join(dir, "rules")); err == nil || !strings.Contains(err.Error(), "duplicate id") {
		t.Errorf("directory given twice: %v", err)
	}
	// A directory without rule files is an error, not an empty catalogue.
	empty := filepath.Join(dir, "empty")
	if err := os.Mkdir(empty, 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadFiles(empty); err == nil || !strings.Contains(err.Error(), "no *.yaml or *.yml files") {
		t.Errorf("empty directory: %v", err)
	}
	// The shipped catalogue loads as a directory (bench/ is not picked up).
	cat, err = LoadFiles("../../../config/rules")
	if err != nil {
		t.Fatal(err)
	}
	for _, src := range cat.Sources {
		if strings.Contains(src, "bench") {
			t.Errorf("config/rules/ read %s", src)
		}
	}
	if len(cat.Sets) != 7 {
		t.Errorf("config/rules/: %d RuleSets, want 7", len(cat.Sets))
	}
}

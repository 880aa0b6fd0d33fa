package screening

import (
	"fmt"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/medfund/flycheck-operator/api/v1alpha1/rules"
	"github.com/medfund/flycheck-operator/internal/synth"
)

// TestEveryTemplateHasAllParts fails when a template of the table
// (api/v1alpha1/rules/templates.go) lacks one of the parts that
// docs/contributing.md lists: the engine's evaluator of its kind, the
// generator's injector, a docs/rules.md section and summary row that agree
// with the table, a test case with findings and near misses, and CRD
// validations generated from the table. The oracle's SQL is checked by
// TestRuleSQLCoversEveryTemplate in hack/oracle (a separate module, run by
// make test).
func TestEveryTemplateHasAllParts(t *testing.T) {
	doc, err := os.ReadFile("../../docs/rules.md")
	if err != nil {
		t.Fatal(err)
	}
	sections := docSections(string(doc))
	cases := templateCases()
	for _, spec := range rules.Specs() {
		tpl := spec.Template
		if _, err := evaluators.of(tpl); err != nil {
			t.Errorf("engine: %v", err)
		}
		if !synth.HasInjector(tpl) {
			t.Errorf("generator: template %s has no injector (internal/synth/templates.go)", tpl)
		}
		if err := checkDocs(spec, sections[string(tpl)], string(doc)); err != nil {
			t.Errorf("docs/rules.md: %s: %v", tpl, err)
		}
		positive, near := false, false
		for _, tc := range cases {
			ids := map[string]bool{}
			for _, r := range tc.rules {
				if r.Template == tpl {
					ids[r.ID] = true
				}
			}
			if len(ids) == 0 {
				continue
			}
			for _, k := range tc.want {
				positive = positive || ids[k[:strings.IndexByte(k, '/')]]
			}
			near = near || len(tc.near) > 0
		}
		if !positive || !near {
			t.Errorf("tests: template %s needs a case in templates_test.go with a finding (%v) and a near miss (%v)", tpl, positive, near)
		}
	}
	for _, path := range []string{
		"../../config/crd/bases/flycheck.medfund.io_rulesets.yaml",
		"../../charts/flycheck-operator/crds/flycheck.medfund.io_rulesets.yaml",
	} {
		crd, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if err := rules.CheckSchema(crd); err != nil {
			t.Errorf("%s: %v\nrun `make generate manifests`", path, err)
		}
	}
}

var docHeading = regexp.MustCompile(`(?m)^### (\w+) — .*$`)

// docSections splits §4 of docs/rules.md into the text of each template's
// section, keyed by template name.
func docSections(doc string) map[string]string {
	out := map[string]string{}
	locs := docHeading.FindAllStringSubmatchIndex(doc, -1)
	for i, loc := range locs {
		end := len(doc)
		if i+1 < len(locs) {
			end = locs[i+1][0]
		}
		if next := strings.Index(doc[loc[0]:end], "\n## "); next >= 0 {
			end = loc[0] + next
		}
		out[doc[loc[2]:loc[3]]] = doc[loc[0]:end]
	}
	return out
}

// checkDocs compares a template's section and summary row with the table:
// category, unit (line or visit), inpatient-only, every param, every
// default, and the optional table it needs.
func checkDocs(spec rules.TemplateSpec, section, doc string) error {
	if section == "" {
		return fmt.Errorf("no section \"### %s — …\"", spec.Template)
	}
	unit, looks := "line", "any"
	if spec.VisitLevel {
		unit = "visit"
	}
	tags := string(spec.Category) + ", " + unit
	if spec.InpatientOnly {
		tags += ", inpatient"
		looks = "inpatient"
	}
	heading, _, _ := strings.Cut(section, "\n")
	if !strings.HasSuffix(heading, "("+tags+")") {
		return fmt.Errorf("heading %q should end in (%s)", heading, tags)
	}
	row := fmt.Sprintf("| %s | %s | %s | %s |", spec.Template, spec.Category, unit, looks)
	if !strings.Contains(doc, row) {
		return fmt.Errorf("§3 summary has no row starting %q", row)
	}
	params := append(append([]string(nil), spec.Required...), spec.Optional...)
	for _, g := range spec.AnyOf {
		params = append(params, g...)
	}
	for _, p := range params {
		if !strings.Contains(section, "`"+p+"`") && !strings.Contains(section, "`"+p+":") {
			return fmt.Errorf("param `%s` is not described", p)
		}
	}
	if len(params) == 0 && !strings.Contains(section, "No params.") {
		return fmt.Errorf("a template without params says \"No params.\"")
	}
	for p, v := range spec.Defaults {
		if want := fmt.Sprintf("`%s` (default %d)", p, v); !strings.Contains(section, want) {
			return fmt.Errorf("the default of %s is not stated as %q", p, want)
		}
	}
	if spec.Needs != "" && !regexp.MustCompile("Needs (the )?`"+spec.Needs+"`").MatchString(section) {
		return fmt.Errorf("the section does not say it needs `%s`", spec.Needs)
	}
	return nil
}

// A template missing from the engine, or implemented for the wrong kind, is
// an error when rules are compiled, never a rule that flags nothing.
func TestMissingEvaluatorIsAnError(t *testing.T) {
	if _, err := (evaluatorSet{}).of(rules.PriceCap); err == nil || !strings.Contains(err.Error(), "PriceCap has no line evaluator") {
		t.Errorf("missing evaluator: %v", err)
	}
	wrongKind := evaluatorSet{rules.PriceCap: {group: groupMaxUnits}}
	if _, err := wrongKind.of(rules.PriceCap); err == nil {
		t.Error("a group evaluator for a line template must be an error")
	}
	if _, err := evaluators.of("NoSuchTemplate"); err == nil {
		t.Error("an unknown template must be an error")
	}
	for _, tpl := range rules.Templates() {
		if _, err := evaluators.of(tpl); err != nil {
			t.Error(err)
		}
	}
}

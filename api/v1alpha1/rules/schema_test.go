package rules

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"strconv"
	"strings"
	"testing"
)

// TestCRDMatchesTemplateTable fails when the CEL rules or enums of the
// RuleSet CRD (and of the Helm chart's copy) disagree with the template
// table: run `make generate manifests`.
func TestCRDMatchesTemplateTable(t *testing.T) {
	for _, path := range []string{
		"../../../config/crd/bases/flycheck.medfund.io_rulesets.yaml",
		"../../../charts/flycheck-operator/crds/flycheck.medfund.io_rulesets.yaml",
	} {
		crd, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if err := CheckSchema(crd); err != nil {
			t.Errorf("%s: %v\nrun `make generate manifests`", path, err)
		}
	}
	// A CRD whose rules disagree is reported.
	bad := strings.Replace(string(mustRead(t, "../../../config/crd/bases/flycheck.medfund.io_rulesets.yaml")),
		"params.minDays is required by BedOnlyDays", "params.minDays is required", 1)
	if err := CheckSchema([]byte(bad)); err == nil || !strings.Contains(err.Error(), "differ from the template table") {
		t.Errorf("a changed message: %v", err)
	}
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestXValidationsFollowTable checks the derivation on a few known rules, so
// that a broken generator cannot agree with a CRD it generated itself.
func TestXValidationsFollowTable(t *testing.T) {
	byPath := map[string][]XValidation{}
	for _, x := range XValidations() {
		byPath[x.FieldPath] = append(byPath[x.FieldPath], x)
	}
	for path, want := range map[string]string{
		".params.gender":     "self.template != 'GenderRestriction' || has(self.params.gender)",
		".params.withinDays": "!(self.template in ['RepeatExamination', 'Readmission']) || has(self.params.withinDays)",
		".params.minDays":    "self.template != 'BedOnlyDays' || has(self.params.minDays)",
	} {
		if xs := byPath[path]; len(xs) != 1 || xs[0].Rule != want {
			t.Errorf("%s: %+v, want rule %q", path, xs, want)
		}
	}
	items := byPath[".params.items"]
	if len(items) != 1 {
		t.Fatalf("items rules: %+v", items)
	}
	for _, s := range templateTable {
		required := false
		for _, r := range s.Required {
			required = required || r == ParamItems
		}
		if in := strings.Contains(items[0].Rule, "'"+string(s.Template)+"'"); in != required {
			t.Errorf("items rule names %s: %v, but the table says required %v", s.Template, in, required)
		}
	}
	if n := len(byPath[".params"]); n != 2 {
		t.Errorf("%d any-of rules, want 2 (AgeRestriction, CoveredIndication)", n)
	}
	if cat := byPath[".category"]; len(cat) != 1 || !strings.Contains(cat[0].Rule, "'Readmission': 'InpatientBehaviour'") {
		t.Errorf("category rule: %+v", cat)
	}
}

// TestTemplateTable checks every entry of the table and that every Template
// constant has one.
func TestTemplateTable(t *testing.T) {
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, "rules.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	var consts []Template
	for _, d := range f.Decls {
		g, ok := d.(*ast.GenDecl)
		if !ok || g.Tok != token.CONST {
			continue
		}
		for _, sp := range g.Specs {
			vs := sp.(*ast.ValueSpec)
			if id, ok := vs.Type.(*ast.Ident); ok && id.Name == "Template" {
				v, _ := strconv.Unquote(vs.Values[0].(*ast.BasicLit).Value)
				consts = append(consts, Template(v))
			}
		}
	}
	if len(consts) != len(templateTable) {
		t.Errorf("%d Template constants, %d table entries", len(consts), len(templateTable))
	}
	for i, c := range consts {
		if Spec(c) == nil {
			t.Errorf("template %s has no entry in templateTable", c)
		} else if i < len(templateTable) && templateTable[i].Template != c {
			t.Errorf("table entry %d is %s, constant %s: keep the table in declaration order", i, templateTable[i].Template, c)
		}
	}
	known := map[string]bool{}
	for _, n := range paramOrder {
		known[n] = true
	}
	for _, s := range templateTable {
		if s.Kind < EvalLine || s.Kind > EvalVisit {
			t.Errorf("%s: no evaluation kind", s.Template)
		}
		if !validCategory(s.Category) {
			t.Errorf("%s: category %q", s.Template, s.Category)
		}
		if s.VisitLevel && !s.InpatientOnly {
			t.Errorf("%s: visit-level templates look at stays only", s.Template)
		}
		uses := map[string]bool{}
		for _, n := range append(append([]string(nil), s.Required...), s.Optional...) {
			uses[n] = true
		}
		for _, g := range s.AnyOf {
			for _, n := range g {
				uses[n] = true
			}
		}
		for n := range uses {
			if !known[n] {
				t.Errorf("%s: unknown param %q", s.Template, n)
			}
		}
		for n := range s.Defaults {
			var p Params
			if p.intField(n) == nil {
				t.Errorf("%s: default for %q, which is not an integer param", s.Template, n)
			}
			optional := false
			for _, o := range s.Optional {
				optional = optional || o == n
			}
			if !optional {
				t.Errorf("%s: default for %q, which is not an optional param", s.Template, n)
			}
		}
		if (len(s.Periods) > 0) != uses[ParamPer] {
			t.Errorf("%s: periods %v but per used %v", s.Template, s.Periods, uses[ParamPer])
		}
		if s.Needs != "" && s.Needs != "diagnoses" && s.Needs != "persons" {
			t.Errorf("%s: needs %q", s.Template, s.Needs)
		}
	}
}

func TestIntParamDefaults(t *testing.T) {
	r := Rule{Template: UnbundledPackage}
	if v, ok := r.IntParam(ParamMinComponents); !ok || v != 1 {
		t.Errorf("minComponents default: %d %v", v, ok)
	}
	three := int32(3)
	r.Params.MinComponents = &three
	if v, ok := r.IntParam(ParamMinComponents); !ok || v != 3 {
		t.Errorf("minComponents set: %d %v", v, ok)
	}
	a := Rule{Template: AgeRestriction, Params: Params{MinAge: &three}}
	if _, ok := a.IntParam(ParamMaxAge); ok {
		t.Error("maxAge has no default")
	}
	if v, ok := (&Rule{Template: ChargeAfterDischarge}).IntParam(ParamGraceDays); !ok || v != 0 {
		t.Errorf("graceDays default: %d %v", v, ok)
	}
}

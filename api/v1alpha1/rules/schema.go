package rules

import (
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"strings"

	"sigs.k8s.io/yaml"
)

//go:generate go run ../../../hack/genmarkers

// XValidation is one CEL rule (x-kubernetes-validations) of the Rule schema.
// +kubebuilder:object:generate=false
type XValidation struct {
	Rule, Message, FieldPath string
}

// Marker renders the rule as the kubebuilder marker controller-gen reads.
func (x XValidation) Marker() string {
	return fmt.Sprintf("// +kubebuilder:validation:XValidation:rule=%q,message=%q,fieldPath=%q", x.Rule, x.Message, x.FieldPath)
}

// XValidations derives the schema's CEL rules for Rule from the template
// table, so that a template's category and required params are checked at
// admission exactly as Validate checks them: the category map, then per
// required param the templates requiring it, then per any-of group. A list
// param counts as present only when non-empty (Validate rejects an empty
// list too). hack/genmarkers writes these as the markers above Rule; a test
// compares them with the generated CRD.
func XValidations() []XValidation {
	var cats []string
	for _, s := range templateTable {
		cats = append(cats, fmt.Sprintf("'%s': '%s'", s.Template, s.Category))
	}
	out := []XValidation{{
		Rule:      "{" + strings.Join(cats, ", ") + "}[self.template] == self.category",
		Message:   "category does not match the template (see docs/rules.md)",
		FieldPath: ".category",
	}}
	for _, name := range paramOrder {
		var ts []string
		for _, s := range templateTable {
			for _, r := range s.Required {
				if r == name {
					ts = append(ts, string(s.Template))
				}
			}
		}
		if len(ts) == 0 {
			continue
		}
		x := XValidation{Rule: templateIsNot(ts) + " || " + celPresent(name), FieldPath: ".params." + name}
		if len(ts) == 1 {
			x.Message = fmt.Sprintf("params.%s is required by %s", name, ts[0])
		} else {
			x.Message = fmt.Sprintf("params.%s is required by this template", name)
		}
		out = append(out, x)
	}
	for _, s := range templateTable {
		for _, group := range s.AnyOf {
			var has, names []string
			for _, n := range group {
				has = append(has, celPresent(n))
				names = append(names, "params."+n)
			}
			out = append(out, XValidation{
				Rule:      templateIsNot([]string{string(s.Template)}) + " || " + strings.Join(has, " || "),
				Message:   fmt.Sprintf("%s is required by %s", strings.Join(names, " or "), s.Template),
				FieldPath: ".params",
			})
		}
	}
	return out
}

func templateIsNot(ts []string) string {
	if len(ts) == 1 {
		return "self.template != '" + ts[0] + "'"
	}
	return "!(self.template in ['" + strings.Join(ts, "', '") + "'])"
}

func celPresent(name string) string {
	f := "self.params." + name
	if listParams[name] {
		return "(has(" + f + ") && size(" + f + ") > 0)"
	}
	return "has(" + f + ")"
}

// listParams are the params holding lists of codes.
var listParams = map[string]bool{
	ParamItems: true, ParamPrimaryItems: true, ParamIncludedItems: true, ParamComponentItems: true,
	ParamDiagCodes: true, ParamDiagPrefixes: true,
}

// EnumMarkers are the Enum markers of Template and Category, derived from
// the template table and Categories (written by hack/genmarkers).
func EnumMarkers() (template, category string) {
	var ts, cs []string
	for _, s := range templateTable {
		ts = append(ts, string(s.Template))
	}
	for _, c := range Categories {
		cs = append(cs, string(c))
	}
	return "// +kubebuilder:validation:Enum=" + strings.Join(ts, ";"), "// +kubebuilder:validation:Enum=" + strings.Join(cs, ";")
}

// CheckSchema reports how the Rule schema of a RuleSet CRD (YAML, as
// controller-gen writes it) differs from the template table: its CEL rules
// and the enums of template and category. nil means they agree; otherwise
// `make generate manifests` is due.
func CheckSchema(crd []byte) error {
	var doc map[string]any
	if err := yaml.Unmarshal(crd, &doc); err != nil {
		return err
	}
	node := any(doc)
	for _, k := range []string{"spec", "versions", "0", "schema", "openAPIV3Schema", "properties", "spec",
		"properties", "rules", "items"} {
		switch n := node.(type) {
		case map[string]any:
			node = n[k]
		case []any:
			if i, _ := strconv.Atoi(k); i < len(n) {
				node = n[i]
			} else {
				node = nil
			}
		}
		if node == nil {
			return fmt.Errorf("no %q on the path to spec.rules[] of the CRD", k)
		}
	}
	schema, _ := node.(map[string]any)
	var errs []error
	var got []XValidation
	raw, _ := schema["x-kubernetes-validations"].([]any)
	for _, v := range raw {
		m, _ := v.(map[string]any)
		s := func(k string) string { x, _ := m[k].(string); return x }
		got = append(got, XValidation{Rule: s("rule"), Message: s("message"), FieldPath: s("fieldPath")})
	}
	if want := XValidations(); !reflect.DeepEqual(got, want) {
		var b strings.Builder
		for _, x := range want {
			b.WriteString("\n" + x.Marker())
		}
		errs = append(errs, fmt.Errorf("the %d x-kubernetes-validations of Rule differ from the template table, whose markers are:%s", len(got), b.String()))
	}
	props, _ := schema["properties"].(map[string]any)
	enum := func(field string) string {
		var vals []string
		f, _ := props[field].(map[string]any)
		list, _ := f["enum"].([]any)
		for _, v := range list {
			s, _ := v.(string)
			vals = append(vals, s)
		}
		return "// +kubebuilder:validation:Enum=" + strings.Join(vals, ";")
	}
	wantT, wantC := EnumMarkers()
	if got := enum("template"); got != wantT {
		errs = append(errs, fmt.Errorf("template enum %s, the table says %s", got, wantT))
	}
	if got := enum("category"); got != wantC {
		errs = append(errs, fmt.Errorf("category enum %s, the table says %s", got, wantC))
	}
	return errors.Join(errs...)
}

package rules

import (
	"fmt"
	"strings"
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

// Package rules defines a screening rule instance (筛查规则实例): a template
// with typed parameters, its category (规则类型) and the visit type it applies
// to. The same Go types are embedded in the RuleSet CRD, so a rule file on
// disk and a RuleSet object in a cluster carry byte-for-byte the same YAML.
//
// The precise meaning of every template (which lines or visits it flags and
// how the amount at risk is computed) is specified in docs/rules.md; the
// engine in internal/screening and the DuckDB oracle in hack/oracle both
// implement that document.
//
// This package must not import Kubernetes API packages: it is shared by the
// CLI, the engine and the API types.
//
// +kubebuilder:object:generate=true
package rules

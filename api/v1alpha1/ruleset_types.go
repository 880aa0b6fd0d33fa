package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/medfund/flycheck-operator/api/v1alpha1/rules"
)

// RuleSetStatus reports whether the rules passed the checks the schema cannot
// express (e.g. a parameter a template needs).
type RuleSetStatus struct {
	// +optional
	// The generation this status describes.
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`
	// Number of rule instances.
	// +optional
	Rules int32 `json:"rules,omitempty"`
	// sha256 of the rules as the screener reads them.
	// +optional
	Digest string `json:"digest,omitempty"`
	// +optional
	// +listType=map
	// +listMapKey=type
	// Ready, Reconciling and Stalled (kstatus).
	Conditions []metav1.Condition `json:"conditions,omitempty"`
}

// RuleSet is a named, versioned list of screening rule instances (筛查规则):
// templates with parameters, in the six rule types. The same manifest is a
// rule file for `flycheck screen --rules`.
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:scope=Cluster,shortName=rset,categories=flycheck
// +kubebuilder:printcolumn:name="Version",type=string,JSONPath=`.spec.version`
// +kubebuilder:printcolumn:name="Rules",type=integer,JSONPath=`.status.rules`
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type RuleSet struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   rules.RuleSetSpec `json:"spec"`
	Status RuleSetStatus     `json:"status,omitempty"`
}

// +kubebuilder:object:root=true

// RuleSetList contains a list of RuleSet.
type RuleSetList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []RuleSet `json:"items"`
}

func init() {
	SchemeBuilder.Register(&RuleSet{}, &RuleSetList{})
}

// Package v1alpha1 contains the flycheck.medfund.io/v1alpha1 API: Campaign,
// RuleSet, ScreeningJob and InspectionSample, and the contract (labels,
// keys, environment) between the operator and the pods it starts.
// +kubebuilder:object:generate=true
// +groupName=flycheck.medfund.io
package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

var (
	// GroupVersion is group version used to register these objects.
	GroupVersion = schema.GroupVersion{Group: "flycheck.medfund.io", Version: "v1alpha1"}

	// SchemeBuilder is used to add go types to the GroupVersionKind scheme.
	SchemeBuilder = &schemeBuilder{}

	// AddToScheme adds the types in this group-version to the given scheme.
	AddToScheme = SchemeBuilder.AddToScheme
)

// schemeBuilder lets each kind's file register its types in init, as the
// kubebuilder layout expects, on apimachinery's SchemeBuilder (controller-
// runtime's pkg/scheme.Builder is deprecated).
type schemeBuilder struct{ runtime.SchemeBuilder }

// Register adds objs to the group-version when the scheme is built.
func (b *schemeBuilder) Register(objs ...runtime.Object) {
	b.SchemeBuilder.Register(func(s *runtime.Scheme) error {
		s.AddKnownTypes(GroupVersion, objs...)
		metav1.AddToGroupVersion(s, GroupVersion)
		return nil
	})
}

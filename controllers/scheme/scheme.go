// Package scheme builds the one runtime.Scheme that every client of the
// operator uses (the manager, the CLI, the envtest framework and the demo)
// and the one cache configuration of its managers. Keeping them in one
// place means a new kind is registered once.
package scheme

import (
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/cache"

	flycheckv1 "github.com/medfund/flycheck-operator/api/v1alpha1"
)

// New returns a scheme with the built-in kinds and flycheck.medfund.io/v1alpha1.
func New() *runtime.Scheme {
	s := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(s); err != nil {
		panic(err)
	}
	if err := flycheckv1.AddToScheme(s); err != nil {
		panic(err)
	}
	return s
}

// CacheOptions is how every manager of the operator caches objects: without
// their managed fields, which no controller reads and which are a large
// share of a case's size when tens of thousands of cases are cached (the
// import and the bureaus' tools each add an entry).
func CacheOptions() cache.Options {
	return cache.Options{DefaultTransform: cache.TransformStripManagedFields()}
}

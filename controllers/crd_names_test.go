package controllers

import (
	"slices"
	"testing"

	"k8s.io/apimachinery/pkg/runtime/schema"

	flycheckv1 "github.com/medfund/flycheck-operator/api/v1alpha1"
)

// TestShortNamesCollideWithNothingBuiltIn asks the API server's discovery
// which names and short names the built-in resources answer to: a short name
// of ours that equals one of them (RuleSet's former `rs` is ReplicaSet's)
// makes kubectl warn on every `get` and resolve it to the other kind.
func TestShortNamesCollideWithNothingBuiltIn(t *testing.T) {
	lists, err := clientset.Discovery().ServerPreferredResources()
	if err != nil {
		t.Fatalf("discovery: %v", err)
	}
	builtin := map[string]string{} // name or short name → group/resource
	var ours []string
	for _, l := range lists {
		gv, err := schema.ParseGroupVersion(l.GroupVersion)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range l.APIResources {
			if gv.Group == flycheckv1.GroupVersion.Group {
				ours = append(ours, r.ShortNames...)
				continue
			}
			for _, n := range append([]string{r.Name, r.SingularName}, r.ShortNames...) {
				builtin[n] = gv.Group + "/" + r.Name
			}
		}
	}
	if len(builtin) < 50 || !slices.Contains(ours, "camp") {
		t.Fatalf("discovery lists %d built-in names and our short names %v: the CRDs are not installed?", len(builtin), ours)
	}
	if _, ok := builtin["rs"]; !ok {
		t.Fatalf("discovery has no short name rs (ReplicaSet): the check below would prove nothing")
	}
	for _, n := range ours {
		if other, ok := builtin[n]; ok {
			t.Errorf("short name %q of a flycheck kind is also %s", n, other)
		}
	}
	t.Logf("our short names %v collide with none of %d built-in names", ours, len(builtin))
}

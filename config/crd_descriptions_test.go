package config

import (
	"io/fs"
	"sort"
	"strings"
	"testing"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"sigs.k8s.io/yaml"
)

// TestEveryCRDPropertyHasADescription walks every schema of every CRD: a
// property without a description is a blank line in `kubectl explain`,
// which is where a city bureau looks up what a field means. metadata is
// left out: the API server publishes ObjectMeta's documented schema in its
// place.
func TestEveryCRDPropertyHasADescription(t *testing.T) {
	files, err := fs.Glob(CRDs, "crd/bases/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no CRDs: %v", err)
	}
	var missing []string
	total := 0
	for _, f := range files {
		raw, err := CRDs.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var crd apiextensionsv1.CustomResourceDefinition
		if err := yaml.Unmarshal(raw, &crd); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		for _, v := range crd.Spec.Versions {
			if v.Schema == nil || v.Schema.OpenAPIV3Schema == nil {
				t.Errorf("%s %s: no schema", crd.Name, v.Name)
				continue
			}
			root := crd.Spec.Names.Kind + "." + v.Name
			walkProperties(root, *v.Schema.OpenAPIV3Schema, func(path string, p apiextensionsv1.JSONSchemaProps) {
				if path == root+".metadata" || strings.HasPrefix(path, root+".metadata.") {
					return
				}
				total++
				if strings.TrimSpace(p.Description) == "" {
					missing = append(missing, path)
				}
			})
		}
	}
	sort.Strings(missing)
	for _, m := range missing {
		t.Errorf("%s has no description", m)
	}
	if total < 200 {
		t.Errorf("walked only %d properties", total)
	}
	t.Logf("%d properties, %d without a description", total, len(missing))
}

// walkProperties calls fn for every named property below s, through objects,
// arrays and maps.
func walkProperties(path string, s apiextensionsv1.JSONSchemaProps, fn func(string, apiextensionsv1.JSONSchemaProps)) {
	for name, p := range s.Properties {
		fn(path+"."+name, p)
		walkProperties(path+"."+name, p, fn)
	}
	if s.Items != nil && s.Items.Schema != nil {
		walkProperties(path+"[]", *s.Items.Schema, fn)
	}
	if s.AdditionalProperties != nil && s.AdditionalProperties.Schema != nil {
		walkProperties(path+"{}", *s.AdditionalProperties.Schema, fn)
	}
}

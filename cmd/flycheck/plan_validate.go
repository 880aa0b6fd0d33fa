package main

import (
	"context"
	"fmt"
	"sort"
	"strings"

	apiextensionsinternal "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	structuralschema "k8s.io/apiextensions-apiserver/pkg/apiserver/schema"
	"k8s.io/apiextensions-apiserver/pkg/apiserver/schema/cel"
	structuraldefaulting "k8s.io/apiextensions-apiserver/pkg/apiserver/schema/defaulting"
	structurallisttype "k8s.io/apiextensions-apiserver/pkg/apiserver/schema/listtype"
	schemaobjectmeta "k8s.io/apiextensions-apiserver/pkg/apiserver/schema/objectmeta"
	structuralpruning "k8s.io/apiextensions-apiserver/pkg/apiserver/schema/pruning"
	apiservervalidation "k8s.io/apiextensions-apiserver/pkg/apiserver/validation"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metavalidation "k8s.io/apimachinery/pkg/api/validation"
	"k8s.io/apimachinery/pkg/runtime/schema"
	utiljson "k8s.io/apimachinery/pkg/util/json"
	"k8s.io/apimachinery/pkg/util/validation/field"
	celconfig "k8s.io/apiserver/pkg/apis/cel"
	"sigs.k8s.io/yaml"

	"github.com/medfund/flycheck-operator/config"
)

// crdValidator checks a custom resource the way kube-apiserver does on
// create, offline, with the CRD's own schema: the apiextensions-apiserver
// packages the server runs (customresource_handler.go builds the structural
// schema and the schema validator, registry/customresource/strategy.go
// validates), called in the same order, so a refusal carries the server's
// field paths and messages word for word. What needs the cluster (admission
// webhooks, quota, an existing object for update rules) is not checked; the
// Campaign CRD has no webhook.
type crdValidator struct {
	kind       schema.GroupVersionKind
	namespaced bool
	structural *structuralschema.Structural
	schema     apiservervalidation.SchemaValidator
	cel        *cel.Validator
}

// newCRDValidator loads crd/bases/<file> from the embedded manifests.
func newCRDValidator(file string) (*crdValidator, error) {
	raw, err := config.CRDs.ReadFile("crd/bases/" + file)
	if err != nil {
		return nil, err
	}
	var crd apiextensionsv1.CustomResourceDefinition
	if err := yaml.UnmarshalStrict(raw, &crd); err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	var version *apiextensionsv1.CustomResourceDefinitionVersion
	for i := range crd.Spec.Versions {
		if crd.Spec.Versions[i].Storage {
			version = &crd.Spec.Versions[i]
		}
	}
	if version == nil || version.Schema == nil {
		return nil, fmt.Errorf("%s: no storage version with a schema", file)
	}
	var internal apiextensionsinternal.CustomResourceValidation
	if err := apiextensionsv1.Convert_v1_CustomResourceValidation_To_apiextensions_CustomResourceValidation(version.Schema, &internal, nil); err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	s, err := structuralschema.NewStructural(internal.OpenAPIV3Schema)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	// As the server: defaults are pruned on a copy of the schema.
	s = s.DeepCopy()
	if err := structuraldefaulting.PruneDefaults(s); err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	sv, _, err := apiservervalidation.NewSchemaValidator(internal.OpenAPIV3Schema)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	return &crdValidator{
		kind:       schema.GroupVersionKind{Group: crd.Spec.Group, Version: version.Name, Kind: crd.Spec.Names.Kind},
		namespaced: crd.Spec.Scope == apiextensionsv1.NamespaceScoped,
		structural: s,
		schema:     sv,
		cel:        cel.NewValidator(s, true, celconfig.PerCallLimit),
	}, nil
}

// admit decodes a manifest as the server decodes a create request with
// strict field validation (kubectl's default): unknown fields refused,
// defaults applied. It returns the defaulted object, or the error the server
// would answer with.
func (v *crdValidator) admit(ctx context.Context, manifest []byte) (map[string]any, error) {
	// JSON numbers decoded as the server decodes them: whole ones int64.
	js, err := yaml.YAMLToJSON(manifest)
	if err != nil {
		return nil, err
	}
	var obj map[string]any
	if err := utiljson.Unmarshal(js, &obj); err != nil {
		return nil, err
	}
	if obj == nil {
		return nil, fmt.Errorf("the manifest is empty")
	}
	kind, _ := obj["kind"].(string)
	apiVersion, _ := obj["apiVersion"].(string)
	if kind != v.kind.Kind || apiVersion != v.kind.GroupVersion().String() {
		return nil, fmt.Errorf("a %s manifest (apiVersion %s) is wanted, not kind %q apiVersion %q",
			v.kind.Kind, v.kind.GroupVersion(), kind, apiVersion)
	}
	// Decoding: prune what the schema does not declare (strict: refuse
	// it), drop nulls, default, coerce metadata.
	unknown := structuralpruning.PruneWithOptions(obj, v.structural, true,
		structuralschema.UnknownFieldPathOptions{TrackUnknownFieldPaths: true})
	if meta, ok := obj["metadata"].(map[string]any); ok {
		unknown = append(unknown, unknownMetadataFields(meta)...)
	}
	if len(unknown) > 0 {
		sort.Strings(unknown)
		quoted := make([]string, len(unknown))
		for i, u := range unknown {
			quoted[i] = fmt.Sprintf("unknown field %q", u)
		}
		return nil, apierrors.NewBadRequest(fmt.Sprintf("%s in version %q cannot be handled as a %s: strict decoding error: %s",
			v.kind.Kind, v.kind.Version, v.kind.Kind, strings.Join(quoted, ", ")))
	}
	structuraldefaulting.PruneNonNullableNullsWithoutDefaults(obj, v.structural)
	structuraldefaulting.Default(obj, v.structural)
	if ferr := schemaobjectmeta.Coerce(nil, obj, v.structural, true, false); ferr != nil {
		return nil, apierrors.NewBadRequest(ferr.Error())
	}
	// The create strategy drops status; a cluster-scoped object's
	// namespace is cleared before validation (rest.BeforeCreate).
	delete(obj, "status")
	if meta, ok := obj["metadata"].(map[string]any); ok && !v.namespaced {
		delete(meta, "namespace")
	}
	if errs := v.validate(ctx, obj); len(errs) > 0 {
		name, _, _ := nestedString(obj, "metadata", "name")
		return nil, apierrors.NewInvalid(v.kind.GroupKind(), name, errs)
	}
	return obj, nil
}

// validate is customResourceStrategy.Validate for a create.
func (v *crdValidator) validate(ctx context.Context, obj map[string]any) field.ErrorList {
	var errs field.ErrorList
	meta, _, err := schemaobjectmeta.GetObjectMeta(obj, false)
	if err != nil || meta == nil {
		return field.ErrorList{field.Required(field.NewPath("metadata"), "")}
	}
	// rest.BeforeCreate: a name is required (generateName would make one).
	if meta.Name == "" && meta.GenerateName == "" {
		errs = append(errs, field.Required(field.NewPath("metadata", "name"), "name or generateName is required"))
	}
	if meta.Name == "" && meta.GenerateName != "" {
		meta.Name = meta.GenerateName + "xxxxx"
	}
	errs = append(errs, metavalidation.ValidateObjectMeta(meta, v.namespaced, metavalidation.NameIsDNSSubdomain, field.NewPath("metadata"))...)
	errs = append(errs, apiservervalidation.ValidateCustomResource(nil, obj, v.schema)...)
	errs = append(errs, schemaobjectmeta.Validate(ctx, nil, obj, v.structural, false)...)
	errs = append(errs, structurallisttype.ValidateListSetsAndMaps(nil, v.structural, obj)...)
	for _, e := range errs {
		// hasBlockingErr: CEL rules assume a well-formed object.
		switch e.Type {
		case field.ErrorTypeNotSupported, field.ErrorTypeRequired, field.ErrorTypeTooLong, field.ErrorTypeTooMany, field.ErrorTypeTypeInvalid:
			return append(errs, field.Invalid(nil, nil, "some validation rules were not checked because the object was invalid; correct the existing errors to complete validation"))
		}
	}
	celErrs, _ := v.cel.Validate(ctx, nil, v.structural, obj, nil, celconfig.RuntimeCELCostBudget)
	return append(errs, celErrs...)
}

// unknownMetadataFields are the metadata fields ObjectMeta does not have
// (the server's strict decoding refuses them too).
func unknownMetadataFields(meta map[string]any) []string {
	_, _, unknown, err := schemaobjectmeta.GetObjectMetaWithOptions(map[string]any{"metadata": meta},
		schemaobjectmeta.ObjectMetaOptions{ReturnUnknownFieldPaths: true})
	if err != nil {
		return nil
	}
	return unknown
}

func nestedString(obj map[string]any, keys ...string) (string, bool, error) {
	var cur any = obj
	for _, k := range keys {
		m, ok := cur.(map[string]any)
		if !ok {
			return "", false, nil
		}
		if cur, ok = m[k]; !ok {
			return "", false, nil
		}
	}
	s, ok := cur.(string)
	return s, ok, nil
}

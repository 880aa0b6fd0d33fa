package controllers

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	lua "github.com/yuin/gopher-lua"
	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/cli-utils/pkg/kstatus/status"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/apiutil"
	"sigs.k8s.io/yaml"

	"github.com/medfund/flycheck-operator/config"
)

// healthStage is an object as its reconciler left it at one stage of its
// life, with the health Argo CD (our Lua script) and kstatus (Flux, `kubectl
// wait`, cli-utils) must read from it.
type healthStage struct {
	stage   string
	obj     client.Object
	argo    string
	kstatus status.Status
}

// healthKinds brings real objects of each kind through their stages on the
// test API server. A new kind is one line here (and its stages function).
var healthKinds = map[string]func(t *testing.T) []healthStage{
	"Campaign":         campaignHealthStages,
	"ScreeningJob":     screeningJobHealthStages,
	"InspectionSample": sampleHealthStages,
	"RuleSet":          ruleSetHealthStages,
	"InspectionCase":   caseHealthStages,
	"TipOff":           tipOffHealthStages,
}

const argoHealthKeyPrefix = "resource.customizations.health.flycheck.medfund.io_"

// argoHealthScripts reads the generated argocd-cm.yaml: the scripts as Argo
// CD gets them, not their sources.
func argoHealthScripts(t *testing.T) map[string]string {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("..", "config", "argocd", "argocd-cm.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var cm corev1.ConfigMap
	if err := yaml.Unmarshal(raw, &cm); err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for k, v := range cm.Data {
		if kind, ok := strings.CutPrefix(k, argoHealthKeyPrefix); ok {
			out[kind] = v
		}
	}
	return out
}

// crdKinds lists the kinds of the generated CRDs.
func crdKinds(t *testing.T) []string {
	t.Helper()
	files, err := fs.Glob(config.CRDs, "crd/bases/*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var kinds []string
	for _, f := range files {
		raw, err := config.CRDs.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var crd apiextensionsv1.CustomResourceDefinition
		if err := yaml.Unmarshal(raw, &crd); err != nil {
			t.Fatal(err)
		}
		kinds = append(kinds, crd.Spec.Names.Kind)
	}
	sort.Strings(kinds)
	return kinds
}

// TestEveryKindHasHealthChecks: a CRD kind without an Argo CD script (or
// without stages in TestHealthChecks) would leave Argo CD reading it as
// healthy whatever happens.
func TestEveryKindHasHealthChecks(t *testing.T) {
	scripts := argoHealthScripts(t)
	kinds := crdKinds(t)
	if len(kinds) < 5 {
		t.Fatalf("only %d CRDs: %v", len(kinds), kinds)
	}
	for _, k := range kinds {
		if _, err := os.Stat(filepath.Join("..", "config", "argocd", "health", k+".lua")); err != nil {
			t.Errorf("%s: no config/argocd/health/%s.lua", k, k)
		}
		if scripts[k] == "" {
			t.Errorf("%s: no %s%s key in config/argocd/argocd-cm.yaml (make manifests)", k, argoHealthKeyPrefix, k)
		}
		if healthKinds[k] == nil {
			t.Errorf("%s: no stages in healthKinds (controllers/health_test.go)", k)
		}
	}
}

func TestHealthChecks(t *testing.T) {
	scripts := argoHealthScripts(t)
	kinds := make([]string, 0, len(healthKinds))
	for k := range healthKinds {
		kinds = append(kinds, k)
	}
	sort.Strings(kinds)
	table := []string{fmt.Sprintf("%-17s %-14s %-12s %s", "Kind", "stage", "argo", "kstatus")}
	for _, kind := range kinds {
		script := scripts[kind]
		if script == "" {
			t.Errorf("%s: no script", kind)
			continue
		}
		t.Run(kind, func(t *testing.T) {
			for _, s := range healthKinds[kind](t) {
				u := toUnstructured(t, s.obj)
				argo, msg := argoHealth(t, script, u)
				ks, err := status.Compute(u)
				if err != nil {
					t.Fatalf("%s %s: kstatus: %v", kind, s.stage, err)
				}
				table = append(table, fmt.Sprintf("%-17s %-14s %-12s %s", kind, s.stage, argo, ks.Status))
				if argo != s.argo {
					t.Errorf("%s %s: Argo CD health %s (%q), want %s", kind, s.stage, argo, msg, s.argo)
				}
				if ks.Status != s.kstatus {
					t.Errorf("%s %s: kstatus %s (%q), want %s", kind, s.stage, ks.Status, ks.Message, s.kstatus)
				}
				if argo != "Healthy" && argo != "Progressing" && msg == "" {
					t.Errorf("%s %s: %s without a message", kind, s.stage, argo)
				}
			}
		})
	}
	t.Log("Argo CD health and kstatus of each kind at each stage:\n" + strings.Join(table, "\n"))
}

// toUnstructured is the object as the API serves it, with its kind.
func toUnstructured(t *testing.T, obj client.Object) *unstructured.Unstructured {
	t.Helper()
	gvk, err := apiutil.GVKForObject(obj, testScheme)
	if err != nil {
		t.Fatal(err)
	}
	m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(obj)
	if err != nil {
		t.Fatal(err)
	}
	u := &unstructured.Unstructured{Object: m}
	u.SetGroupVersionKind(gvk)
	return u
}

// argoHealth runs a health script as Argo CD does: the object as the global
// obj, the answer a table with status and message.
func argoHealth(t *testing.T, script string, u *unstructured.Unstructured) (health, message string) {
	t.Helper()
	L := lua.NewState()
	defer L.Close()
	L.SetGlobal("obj", toLua(L, u.Object))
	if err := L.DoString(script); err != nil {
		t.Fatalf("running the health script on %s: %v", u.GetName(), err)
	}
	ret, ok := L.Get(-1).(*lua.LTable)
	if !ok {
		t.Fatalf("the health script returned %v, not a table", L.Get(-1))
	}
	return lua.LVAsString(ret.RawGetString("status")), lua.LVAsString(ret.RawGetString("message"))
}

// toLua converts JSON-shaped Go values (what Argo CD decodes an object
// into) to Lua: objects and arrays are tables, numbers are numbers.
func toLua(L *lua.LState, v any) lua.LValue {
	switch v := v.(type) {
	case map[string]any:
		tb := L.NewTable()
		for k, e := range v {
			tb.RawSetString(k, toLua(L, e))
		}
		return tb
	case []any:
		tb := L.NewTable()
		for _, e := range v {
			tb.Append(toLua(L, e))
		}
		return tb
	case string:
		return lua.LString(v)
	case bool:
		return lua.LBool(v)
	case int64:
		return lua.LNumber(v)
	case float64:
		return lua.LNumber(v)
	case nil:
		return lua.LNil
	}
	panic(fmt.Sprintf("toLua: %T", v))
}

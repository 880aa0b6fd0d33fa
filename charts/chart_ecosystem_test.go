package charts

import (
	"os"
	"reflect"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"
)

// The optional pieces for the tools around the operator: Argo CD, Grafana,
// network and disruption policies.

func TestChartArgoCDHealthChecks(t *testing.T) {
	if _, ok := mustRender(t, renderOpts{}).find("ConfigMap", "flycheck-argocd-health"); ok {
		t.Error("the Argo CD health ConfigMap is rendered by default")
	}
	raw, err := os.ReadFile("../config/argocd/argocd-cm.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var want corev1.ConfigMap
	if err := yaml.Unmarshal(raw, &want); err != nil {
		t.Fatal(err)
	}
	r := mustRender(t, renderOpts{values: "argocd: {healthChecks: {enabled: true}}"})
	got := decode[corev1.ConfigMap](t, r.get(t, "ConfigMap", "flycheck-argocd-health"))
	if got.Namespace != releaseNS || len(got.Data) < 5 || !reflect.DeepEqual(got.Data, want.Data) {
		t.Errorf("ConfigMap %s/%s has %d keys, want the %d of config/argocd/argocd-cm.yaml", got.Namespace, got.Name, len(got.Data), len(want.Data))
	}
	r = mustRender(t, renderOpts{values: "argocd: {healthChecks: {enabled: true, configMapName: argocd-cm, namespace: argocd}}"})
	r.get(t, "ConfigMap", "argocd-cm")
	if m, _ := r.find("ConfigMap", "argocd-cm"); m.Namespace != "argocd" {
		t.Errorf("namespace %q, want argocd", m.Namespace)
	}
}

func TestChartGrafanaDashboard(t *testing.T) {
	if _, ok := mustRender(t, renderOpts{}).find("ConfigMap", "flycheck-grafana-dashboard"); ok {
		t.Error("the dashboard ConfigMap is rendered by default")
	}
	want, err := os.ReadFile("../config/grafana/flycheck-dashboard.json")
	if err != nil {
		t.Fatal(err)
	}
	r := mustRender(t, renderOpts{values: "grafana: {dashboard: {enabled: true}}"})
	cm := decode[corev1.ConfigMap](t, r.get(t, "ConfigMap", "flycheck-grafana-dashboard"))
	if cm.Labels["grafana_dashboard"] != "1" || strings.TrimSpace(cm.Data["flycheck-dashboard.json"]) != strings.TrimSpace(string(want)) {
		t.Errorf("dashboard ConfigMap labels %v, %d bytes of JSON (want %d)", cm.Labels, len(cm.Data["flycheck-dashboard.json"]), len(want))
	}
}

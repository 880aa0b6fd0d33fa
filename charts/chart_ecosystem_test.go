package charts

import (
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"sigs.k8s.io/yaml"

	"github.com/medfund/flycheck-operator/controllers"
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

// TestChartScreenerDefaultsAreTheOperators: the chart passes the same
// screening pod defaults the operator has without flags, and each value
// reaches its flag.
func TestChartScreenerDefaultsAreTheOperators(t *testing.T) {
	def := controllers.DefaultScreenerDefaults()
	f := flags(t, managerContainer(t, mustRender(t, renderOpts{}).deployment(t)).Args)
	if f["screener-cpu-request"] != def.Resources.Requests.Cpu().String() || f["screener-memory-request"] != def.Resources.Requests.Memory().String() ||
		f["screener-cpu-limit"] != def.Resources.Limits.Cpu().String() || f["screener-memory-limit"] != def.Resources.Limits.Memory().String() ||
		parseDuration(t, f["screener-active-deadline"]) != time.Duration(*def.ActiveDeadlineSeconds)*time.Second {
		t.Errorf("chart screener flags %v, operator defaults %+v", f, def)
	}
	f = flags(t, managerContainer(t, mustRender(t, renderOpts{values: "screener: {resources: {requests: {cpu: 500m, memory: ''}, limits: {memory: 3Gi}}, activeDeadline: '0'}"}).deployment(t)).Args)
	if f["screener-cpu-request"] != "500m" || f["screener-memory-request"] != "" || f["screener-memory-limit"] != "3Gi" ||
		f["screener-cpu-limit"] != "2" || f["screener-active-deadline"] != "0" {
		t.Errorf("overridden screener flags %v", f)
	}
}

func TestChartNetworkPolicyAndPDB(t *testing.T) {
	r := mustRender(t, renderOpts{})
	if len(r.ofKind("NetworkPolicy")) != 0 || len(r.ofKind("PodDisruptionBudget")) != 0 {
		t.Errorf("optional policies rendered by default: %v", r.ids())
	}
	r = mustRender(t, renderOpts{values: "networkPolicy: {enabled: true}\nreplicas: 2"})
	np := decode[networkingv1.NetworkPolicy](t, r.get(t, "NetworkPolicy", "flycheck-controller-manager"))
	d := r.deployment(t)
	sel, err := metav1.LabelSelectorAsSelector(&np.Spec.PodSelector)
	if err != nil || sel.Empty() || !sel.Matches(labels.Set(d.Spec.Template.Labels)) {
		t.Errorf("NetworkPolicy selector %v does not select the manager pods %v", np.Spec.PodSelector, d.Spec.Template.Labels)
	}
	c := managerContainer(t, d)
	if len(np.Spec.Ingress) != 2 || np.Spec.Ingress[0].Ports[0].Port.String() != "metrics" || containerPort(c, "metrics") == 0 ||
		len(np.Spec.Ingress[0].From) != 1 || np.Spec.Ingress[0].From[0].NamespaceSelector == nil ||
		np.Spec.Ingress[1].Ports[0].Port.String() != "probes" || len(np.Spec.Ingress[1].From) != 0 {
		t.Errorf("NetworkPolicy ingress %+v", np.Spec.Ingress)
	}
	pdb := decode[policyv1.PodDisruptionBudget](t, r.get(t, "PodDisruptionBudget", "flycheck-controller-manager"))
	sel, err = metav1.LabelSelectorAsSelector(pdb.Spec.Selector)
	if err != nil || !sel.Matches(labels.Set(d.Spec.Template.Labels)) || pdb.Spec.MinAvailable == nil || pdb.Spec.MinAvailable.IntValue() != 1 {
		t.Errorf("PDB %+v", pdb.Spec)
	}
	// With metrics off only the probes port is open.
	r = mustRender(t, renderOpts{values: "networkPolicy: {enabled: true}\nmetrics: {enabled: false}"})
	np = decode[networkingv1.NetworkPolicy](t, r.get(t, "NetworkPolicy", "flycheck-controller-manager"))
	if len(np.Spec.Ingress) != 1 || np.Spec.Ingress[0].Ports[0].Port.String() != "probes" {
		t.Errorf("metrics off: ingress %+v", np.Spec.Ingress)
	}
}

func parseDuration(t *testing.T, s string) time.Duration {
	t.Helper()
	d, err := time.ParseDuration(s)
	if err != nil {
		t.Fatalf("duration %q: %v", s, err)
	}
	return d
}

package charts

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"

	"helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/lint"
	"helm.sh/helm/v3/pkg/lint/support"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"sigs.k8s.io/yaml"
)

func TestChartMetadata(t *testing.T) {
	c := loadChart(t)
	if c.Metadata.Name != "flycheck-operator" || c.Metadata.Version != "0.1.0" || c.Metadata.AppVersion != "dev" {
		t.Errorf("Chart.yaml: name %q version %q appVersion %q; want flycheck-operator 0.1.0 dev",
			c.Metadata.Name, c.Metadata.Version, c.Metadata.AppVersion)
	}
	if c.Metadata.APIVersion != chart.APIVersionV2 {
		t.Errorf("Chart.yaml apiVersion %q, want %q", c.Metadata.APIVersion, chart.APIVersionV2)
	}
}

func TestChartLint(t *testing.T) {
	for _, values := range []string{
		"",
		"metrics: {serviceMonitor: {enabled: true, labels: {release: prometheus}, interval: 30s}}",
		"readerRoles: {enabled: false}\nleaderElection: {enabled: false}\nmetrics: {enabled: false}",
		"image: {repository: registry.example.cn/medfund/flycheck, tag: '1.4.2'}\nreplicas: 2\nextraArgs: [--zap-log-level=debug]",
		"networkPolicy: {enabled: true}\nreplicas: 3\nargocd: {healthChecks: {enabled: true}}\ngrafana: {dashboard: {enabled: true}}\nmetrics: {secure: false}",
	} {
		l := lint.All(chartDir, readValues(t, values), releaseNS, false)
		for _, m := range l.Messages {
			if m.Severity >= support.WarningSev {
				t.Errorf("values %q: lint: %v", values, m)
			}
		}
		if l.HighestSeverity >= support.WarningSev && len(l.Messages) == 0 {
			t.Errorf("values %q: lint severity %d without messages", values, l.HighestSeverity)
		}
	}
}

// A chart whose crds/ were not re-synced after `make manifests` must fail.
func TestChartCRDsMatchConfig(t *testing.T) {
	want := dirFiles(t, crdBasesDir, ".yaml")
	got := dirFiles(t, filepath.Join(chartDir, crdsSubdir), "")
	if len(want) == 0 {
		t.Fatalf("no CRDs in %s", crdBasesDir)
	}
	if !reflect.DeepEqual(sortedKeys(got), sortedKeys(want)) {
		t.Fatalf("chart crds/ has %v, config/crd/bases has %v: run hack/sync-chart.sh", sortedKeys(got), sortedKeys(want))
	}
	for name, b := range want {
		if !bytes.Equal(got[name], b) {
			t.Errorf("crds/%s differs from config/crd/bases/%s: run hack/sync-chart.sh", name, name)
		}
	}

	// Helm sees them as CRDs (crds/ is installed before the templates).
	c := loadChart(t)
	objs := c.CRDObjects()
	if len(objs) != len(want) {
		t.Fatalf("helm loads %d CRD files, want %d", len(objs), len(want))
	}
	for _, o := range objs {
		var crd apiextensionsv1.CustomResourceDefinition
		if err := yaml.UnmarshalStrict(o.File.Data, &crd); err != nil {
			t.Fatalf("%s: %v", o.Filename, err)
		}
		if crd.Kind != "CustomResourceDefinition" || crd.Spec.Group != apiGroup ||
			crd.Name != crd.Spec.Names.Plural+"."+apiGroup {
			t.Errorf("%s: kind %q group %q name %q", o.Filename, crd.Kind, crd.Spec.Group, crd.Name)
		}
	}
}

// The chart's RBAC rule files are copies of config/rbac.
func TestChartRBACFilesMatchConfig(t *testing.T) {
	got := dirFiles(t, filepath.Join(chartDir, rbacSubdir), "")
	for _, must := range append([]string{"role.yaml", "leader_election_role.yaml"}, readerRoleFiles...) {
		if _, ok := got[must]; !ok {
			t.Errorf("chart %s/%s is missing: run hack/sync-chart.sh", rbacSubdir, must)
		}
	}
	for name, b := range got {
		want, err := os.ReadFile(filepath.Join(rbacDir, name))
		if err != nil {
			t.Errorf("chart %s/%s: %v", rbacSubdir, name, err)
			continue
		}
		if !bytes.Equal(b, want) {
			t.Errorf("chart %s/%s differs from config/rbac/%s: run hack/sync-chart.sh", rbacSubdir, name, name)
		}
	}
}

func dirFiles(t *testing.T, dir, ext string) map[string][]byte {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]byte{}
	for _, e := range ents {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ext) {
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		out[e.Name()] = b
	}
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

func TestChartDefaults(t *testing.T) {
	r := mustRender(t, renderOpts{})

	wantIDs := []string{
		"ClusterRole/flycheck-campaign-viewer",
		"ClusterRole/flycheck-city-editor",
		"ClusterRole/flycheck-city-viewer",
		"ClusterRole/flycheck-manager-role",
		"ClusterRole/flycheck-metrics-reader",
		"ClusterRole/flycheck-province-admin",
		"ClusterRole/flycheck-tipoff-identity",
		"ClusterRoleBinding/flycheck-manager-rolebinding",
		"Deployment/flycheck-system/flycheck-controller-manager",
		"Role/flycheck-system/flycheck-leader-election-role",
		"Role/flycheck-system/flycheck-manager-role",
		"RoleBinding/flycheck-system/flycheck-leader-election-rolebinding",
		"RoleBinding/flycheck-system/flycheck-manager-rolebinding",
		"Service/flycheck-system/flycheck-controller-manager-metrics",
		"ServiceAccount/flycheck-system/flycheck-controller-manager",
	}
	if got := r.ids(); !reflect.DeepEqual(got, wantIDs) {
		t.Fatalf("rendered objects\n got: %v\nwant: %v", got, wantIDs)
	}
	checkCommon(t, r)

	d := r.deployment(t)
	c := managerContainer(t, d)
	if c.Image != defaultImage {
		t.Errorf("image %q, want %q", c.Image, defaultImage)
	}
	f := flags(t, c.Args)
	want := map[string]string{
		"leader-elect":              "true",
		"operator-namespace":        releaseNS,
		"screener-image":            defaultImage,
		"metrics-bind-address":      ":8443",
		"health-probe-bind-address": ":8081",
		"screener-cpu-request":      "1",
		"screener-memory-request":   "1Gi",
		"screener-cpu-limit":        "2",
		"screener-memory-limit":     "1Gi",
		"screener-active-deadline":  "6h",
	}
	if !reflect.DeepEqual(f, want) {
		t.Errorf("manager flags\n got: %v\nwant: %v", f, want)
	}
	if got := ptrString(d.Spec.Replicas); got != "1" {
		t.Errorf("replicas %s, want 1", got)
	}
	if v := restrictedViolations(d.Spec.Template.Spec); len(v) > 0 {
		t.Errorf("the manager pod is not restricted: %v", v)
	}
	// The defaults are config/manager's: the same security contexts and
	// resources as `make deploy`.
	cfg := configManager(t)
	cfgC := managerContainer(t, cfg)
	if !apiequality.Semantic.DeepEqual(d.Spec.Template.Spec.SecurityContext, cfg.Spec.Template.Spec.SecurityContext) {
		t.Errorf("pod securityContext %+v, config/manager has %+v", d.Spec.Template.Spec.SecurityContext, cfg.Spec.Template.Spec.SecurityContext)
	}
	if !apiequality.Semantic.DeepEqual(c.SecurityContext, cfgC.SecurityContext) {
		t.Errorf("container securityContext %+v, config/manager has %+v", c.SecurityContext, cfgC.SecurityContext)
	}
	if !apiequality.Semantic.DeepEqual(c.Resources, cfgC.Resources) {
		t.Errorf("resources %+v, config/manager has %+v", c.Resources, cfgC.Resources)
	}
	if c.LivenessProbe == nil || c.LivenessProbe.HTTPGet == nil || c.LivenessProbe.HTTPGet.Path != "/healthz" ||
		c.ReadinessProbe == nil || c.ReadinessProbe.HTTPGet == nil || c.ReadinessProbe.HTTPGet.Path != "/readyz" {
		t.Errorf("probes: liveness %+v readiness %+v", c.LivenessProbe, c.ReadinessProbe)
	}
	for _, p := range []*corev1.Probe{c.LivenessProbe, c.ReadinessProbe} {
		if p != nil && p.HTTPGet != nil && containerPort(c, p.HTTPGet.Port.String()) != 8081 {
			t.Errorf("probe port %q is not the container's 8081", p.HTTPGet.Port.String())
		}
	}

	if len(r.ofKind("ServiceMonitor")) != 0 {
		t.Errorf("a ServiceMonitor without metrics.serviceMonitor.enabled")
	}
	for _, s := range []string{releaseNS, "flycheck-controller-manager", samplingKey, defaultImage, "flycheck-city-viewer"} {
		if !strings.Contains(r.notes, s) {
			t.Errorf("NOTES.txt does not mention %q:\n%s", s, r.notes)
		}
	}
}

// configManager returns the Deployment of config/manager/manager.yaml.
func configManager(t *testing.T) *appsv1.Deployment {
	t.Helper()
	b, err := os.ReadFile(managerYAML)
	if err != nil {
		t.Fatal(err)
	}
	docs, err := splitYAML(b)
	if err != nil {
		t.Fatalf("%s: %v", managerYAML, err)
	}
	for _, doc := range docs {
		var d appsv1.Deployment
		if err := yaml.Unmarshal(doc, &d); err != nil {
			t.Fatalf("%s: %v", managerYAML, err)
		}
		if d.Kind == "Deployment" {
			return &d
		}
	}
	t.Fatalf("%s has no Deployment", managerYAML)
	return nil
}

func ptrString[T any](p *T) string {
	if p == nil {
		return "<nil>"
	}
	return fmt.Sprint(*p)
}

func containerPort(c corev1.Container, name string) int32 {
	for _, p := range c.Ports {
		if p.Name == name {
			return p.ContainerPort
		}
	}
	return 0
}

// checkCommon checks what must hold for every set of values: objects in
// the right namespaces and labelled with the release; the manager's flags
// and security; RBAC rules equal to config/rbac and bound to the manager's
// ServiceAccount; the metrics Service (when there is one) reaching the pod.
func checkCommon(t *testing.T, r *rendered) {
	t.Helper()
	clusterScoped := map[string]bool{"ClusterRole": true, "ClusterRoleBinding": true}
	for _, m := range r.objects {
		switch {
		case clusterScoped[m.Kind] && m.Namespace != "":
			t.Errorf("%s: a cluster-scoped object with a namespace", m.id())
		case !clusterScoped[m.Kind] && m.Namespace == "":
			t.Errorf("%s: a namespaced object without a namespace", m.id())
		}
		if m.Labels[instanceLabel] != r.release || m.Labels["app.kubernetes.io/managed-by"] != "Helm" {
			t.Errorf("%s: labels %v lack the release's", m.id(), m.Labels)
		}
	}

	d := r.deployment(t)
	if d.Namespace != r.namespace {
		t.Errorf("Deployment in %q, want the release namespace %q", d.Namespace, r.namespace)
	}
	c := managerContainer(t, d)
	if len(c.Command) != 0 {
		t.Errorf("command %q replaces the image's entrypoint /flycheck", c.Command)
	}
	f := flags(t, c.Args)
	if f["operator-namespace"] == "" {
		t.Errorf("--operator-namespace not set: %q", c.Args)
	}
	if f["screener-image"] == "" {
		t.Errorf("--screener-image not set: %q", c.Args)
	}
	if v := restrictedViolations(d.Spec.Template.Spec); len(v) > 0 {
		t.Errorf("the manager pod is not restricted: %v", v)
	}
	sel, err := metav1.LabelSelectorAsSelector(d.Spec.Selector)
	if err != nil || sel.Empty() {
		t.Fatalf("Deployment selector %v: %v", d.Spec.Selector, err)
	}
	podLabels := d.Spec.Template.Labels
	if !sel.Matches(labels.Set(podLabels)) {
		t.Errorf("Deployment selector %v does not select its pods %v", d.Spec.Selector, podLabels)
	}

	// The ServiceAccount the pod runs as is the one every binding names.
	saName := d.Spec.Template.Spec.ServiceAccountName
	if saName == "" {
		t.Fatalf("the manager pod has no serviceAccountName")
	}
	r.get(t, "ServiceAccount", saName)

	// Manager ClusterRole and the sampling-key Role: rules exactly as
	// controller-gen wrote them.
	opNS := f["operator-namespace"]
	crs := r.ofKind("ClusterRoleBinding")
	if len(crs) != 1 {
		t.Fatalf("want one ClusterRoleBinding (the manager's), have %v", r.ids())
	}
	crb := decode[rbacv1.ClusterRoleBinding](t, crs[0])
	checkBinding(t, crb.Name, crb.RoleRef, crb.Subjects, "ClusterRole", saName, r.namespace)
	cr := decode[rbacv1.ClusterRole](t, r.get(t, "ClusterRole", crb.RoleRef.Name))
	sameRules(t, "manager ClusterRole "+cr.Name, cr.Rules, configRole(t, "role.yaml", "ClusterRole").Rules)

	var keyRole *rbacv1.Role
	for _, m := range r.ofKind("RoleBinding") {
		rb := decode[rbacv1.RoleBinding](t, m)
		role := decode[rbacv1.Role](t, r.get(t, "Role", rb.RoleRef.Name))
		checkBinding(t, rb.Name, rb.RoleRef, rb.Subjects, "Role", saName, r.namespace)
		if role.Namespace != rb.Namespace {
			t.Errorf("RoleBinding %s in %q binds Role %s in %q", rb.Name, rb.Namespace, role.Name, role.Namespace)
		}
		if rb.RoleRef.Name == cr.Name { // the sampling-key Role shares the ClusterRole's name
			keyRole = role
		}
	}
	if keyRole == nil {
		t.Fatalf("no RoleBinding of the sampling-key Role %q; have %v", cr.Name, r.ids())
	}
	if keyRole.Namespace != opNS {
		t.Errorf("sampling-key Role in %q, but --operator-namespace=%s", keyRole.Namespace, opNS)
	}
	sameRules(t, "sampling-key Role", keyRole.Rules, configRole(t, "role.yaml", "Role").Rules)
	if !slices.ContainsFunc(keyRole.Rules, func(p rbacv1.PolicyRule) bool {
		return slices.Contains(p.ResourceNames, samplingKey)
	}) {
		t.Errorf("sampling-key Role does not name Secret %s: %+v", samplingKey, keyRole.Rules)
	}

	// Leader election: a Role (config's rules) exactly when --leader-elect.
	leRoles := 0
	for _, m := range r.ofKind("Role") {
		if m.Name == cr.Name {
			continue
		}
		leRoles++
		role := decode[rbacv1.Role](t, m)
		if role.Namespace != r.namespace {
			t.Errorf("leader-election Role in %q, want the release namespace", role.Namespace)
		}
		sameRules(t, "leader-election Role", role.Rules, configRole(t, "leader_election_role.yaml", "Role").Rules)
	}
	wantLE := 0
	if f["leader-elect"] == "true" {
		wantLE = 1
	}
	if leRoles != wantLE {
		t.Errorf("%d leader-election Roles with flags %v, want %d", leRoles, f, wantLE)
	}

	// Reader ClusterRoles: all or none, rules from config/rbac.
	readers := 0
	for i, name := range readerRoles {
		m, ok := r.find("ClusterRole", name)
		if !ok {
			continue
		}
		readers++
		file := readerRoleFiles[i]
		sameRules(t, name, decode[rbacv1.ClusterRole](t, m).Rules, configRole(t, file, "ClusterRole").Rules)
	}
	if readers != 0 && readers != len(readerRoles) {
		t.Errorf("%d of the %d reader roles rendered", readers, len(readerRoles))
	}
	if n := len(r.ofKind("ClusterRole")); n != 1+readers {
		t.Errorf("%d ClusterRoles: want the manager's and %d reader roles; have %v", n, readers, r.ids())
	}

	// Metrics: a Service on the container's metrics port exactly when the
	// metrics endpoint is on.
	svcs := r.ofKind("Service")
	metricsOn := f["metrics-bind-address"] != "0"
	if metricsOn != (len(svcs) == 1) || len(svcs) > 1 {
		t.Fatalf("metrics-bind-address %q with Services %v", f["metrics-bind-address"], r.ids())
	}
	if metricsOn {
		svc := decode[corev1.Service](t, svcs[0])
		if svc.Namespace != r.namespace {
			t.Errorf("metrics Service in %q, want the release namespace", svc.Namespace)
		}
		if len(svc.Spec.Selector) == 0 || !labels.SelectorFromSet(svc.Spec.Selector).Matches(labels.Set(podLabels)) {
			t.Errorf("metrics Service selector %v does not select the manager pods %v", svc.Spec.Selector, podLabels)
		}
		if len(svc.Spec.Ports) != 1 {
			t.Fatalf("metrics Service ports %+v", svc.Spec.Ports)
		}
		p := svc.Spec.Ports[0]
		cp := containerPort(c, p.TargetPort.String())
		if cp == 0 || ":"+fmt.Sprint(cp) != f["metrics-bind-address"] {
			t.Errorf("metrics Service targets %q (container port %d), manager listens on %q", p.TargetPort.String(), cp, f["metrics-bind-address"])
		}
	} else if containerPort(c, "metrics") != 0 {
		t.Errorf("a metrics container port with metrics off")
	}
}

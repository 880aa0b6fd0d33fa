package charts

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"

	"helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/chart/loader"
	"helm.sh/helm/v3/pkg/chartutil"
	"helm.sh/helm/v3/pkg/engine"
	"helm.sh/helm/v3/pkg/lint"
	"helm.sh/helm/v3/pkg/lint/support"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"
)

const (
	chartDir    = "flycheck-operator"
	crdBasesDir = "../config/crd/bases"
	rbacDir     = "../config/rbac"
	managerYAML = "../config/manager/manager.yaml"

	apiGroup      = "flycheck.medfund.io"
	defaultImage  = "ghcr.io/medfund/flycheck-operator:dev"
	samplingKey   = "flycheck-sampling-key"
	releaseName   = "flycheck"
	releaseNS     = "flycheck-system"
	crdsSubdir    = "crds"
	rbacSubdir    = "files/rbac"
	instanceLabel = "app.kubernetes.io/instance"
)

// The reader ClusterRoles, by the names docs/rbac.md binds them with.
var readerRoles = []string{"flycheck-campaign-viewer", "flycheck-city-viewer", "flycheck-city-editor", "flycheck-province-admin"}

// readerRoleFiles are their files in config/rbac, in the same order.
var readerRoleFiles = []string{"campaign_viewer_role.yaml", "city_viewer_role.yaml", "city_editor_role.yaml", "province_admin_role.yaml"}

// manifest is one rendered Kubernetes object.
type manifest struct {
	Template   string // the template that produced it
	APIVersion string
	Kind       string
	Name       string
	Namespace  string
	Labels     map[string]string
	Raw        []byte
}

func (m manifest) id() string {
	if m.Namespace == "" {
		return m.Kind + "/" + m.Name
	}
	return m.Kind + "/" + m.Namespace + "/" + m.Name
}

// rendered is a chart rendered for one release.
type rendered struct {
	release, namespace string
	objects            []manifest
	notes              string
}

// renderOpts names a release and its values (YAML, like a -f file).
type renderOpts struct {
	release   string
	namespace string
	values    string
}

func loadChart(t *testing.T) *chart.Chart {
	t.Helper()
	c, err := loader.Load(chartDir)
	if err != nil {
		t.Fatalf("load chart: %v", err)
	}
	return c
}

func readValues(t *testing.T, s string) map[string]any {
	t.Helper()
	v, err := chartutil.ReadValues([]byte(s))
	if err != nil {
		t.Fatalf("values %q: %v", s, err)
	}
	return v.AsMap()
}

// renderChart renders the chart as `helm install` would (without a
// cluster) and returns the error of the schema or of a template's `fail`.
func renderChart(t *testing.T, o renderOpts) (*rendered, error) {
	t.Helper()
	if o.release == "" {
		o.release = releaseName
	}
	if o.namespace == "" {
		o.namespace = releaseNS
	}
	c := loadChart(t)
	vals, err := chartutil.ToRenderValues(c, readValues(t, o.values), chartutil.ReleaseOptions{
		Name: o.release, Namespace: o.namespace, Revision: 1, IsInstall: true,
	}, chartutil.DefaultCapabilities.Copy())
	if err != nil {
		return nil, err
	}
	files, err := engine.Render(c, vals)
	if err != nil {
		return nil, err
	}
	r := &rendered{release: o.release, namespace: o.namespace}
	names := make([]string, 0, len(files))
	for name := range files {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		base := filepath.Base(name)
		if base == "NOTES.txt" {
			r.notes = files[name]
			continue
		}
		if strings.HasPrefix(base, "_") {
			continue
		}
		docs, err := splitYAML([]byte(files[name]))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		for _, doc := range docs {
			var head struct {
				APIVersion string            `json:"apiVersion"`
				Kind       string            `json:"kind"`
				Metadata   metav1.ObjectMeta `json:"metadata"`
			}
			if err := yaml.Unmarshal(doc, &head); err != nil {
				t.Fatalf("%s: %v\n%s", name, err, doc)
			}
			if head.Kind == "" || head.APIVersion == "" || head.Metadata.Name == "" {
				t.Fatalf("%s: a document without apiVersion, kind or name:\n%s", name, doc)
			}
			r.objects = append(r.objects, manifest{
				Template: name, APIVersion: head.APIVersion, Kind: head.Kind,
				Name: head.Metadata.Name, Namespace: head.Metadata.Namespace,
				Labels: head.Metadata.Labels, Raw: doc,
			})
		}
	}
	return r, nil
}

func mustRender(t *testing.T, o renderOpts) *rendered {
	t.Helper()
	r, err := renderChart(t, o)
	if err != nil {
		t.Fatalf("render with values %q: %v", o.values, err)
	}
	return r
}

// splitYAML returns the non-empty documents of a YAML stream.
func splitYAML(b []byte) ([][]byte, error) {
	rd := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(b)))
	var docs [][]byte
	for {
		doc, err := rd.Read()
		if errors.Is(err, io.EOF) {
			return docs, nil
		}
		if err != nil {
			return nil, err
		}
		var v any
		if err := yaml.Unmarshal(doc, &v); err != nil {
			return nil, err
		}
		if v != nil {
			docs = append(docs, doc)
		}
	}
}

func (r *rendered) find(kind, name string) (manifest, bool) {
	for _, m := range r.objects {
		if m.Kind == kind && m.Name == name {
			return m, true
		}
	}
	return manifest{}, false
}

func (r *rendered) ofKind(kind string) []manifest {
	var out []manifest
	for _, m := range r.objects {
		if m.Kind == kind {
			out = append(out, m)
		}
	}
	return out
}

func (r *rendered) ids() []string {
	var ids []string
	for _, m := range r.objects {
		ids = append(ids, m.id())
	}
	sort.Strings(ids)
	return ids
}

// decode decodes a rendered object strictly: a field the Go type does not
// know (a typo in a template) is an error.
func decode[T any](t *testing.T, m manifest) *T {
	t.Helper()
	out := new(T)
	if err := yaml.UnmarshalStrict(m.Raw, out); err != nil {
		t.Fatalf("%s (%s): %v", m.id(), m.Template, err)
	}
	return out
}

func (r *rendered) get(t *testing.T, kind, name string) manifest {
	t.Helper()
	m, ok := r.find(kind, name)
	if !ok {
		t.Fatalf("no %s %q rendered; have %v", kind, name, r.ids())
	}
	return m
}

func (r *rendered) deployment(t *testing.T) *appsv1.Deployment {
	t.Helper()
	ds := r.ofKind("Deployment")
	if len(ds) != 1 {
		t.Fatalf("want one Deployment, have %v", r.ids())
	}
	return decode[appsv1.Deployment](t, ds[0])
}

func managerContainer(t *testing.T, d *appsv1.Deployment) corev1.Container {
	t.Helper()
	cs := d.Spec.Template.Spec.Containers
	if len(cs) != 1 || cs[0].Name != "manager" {
		t.Fatalf("want exactly the container %q, have %+v", "manager", cs)
	}
	return cs[0]
}

// flags returns the --name=value flags of a `flycheck manager` command line
// (a bare --name maps to "true"), after checking it starts with `manager`.
func flags(t *testing.T, args []string) map[string]string {
	t.Helper()
	if len(args) == 0 || args[0] != "manager" {
		t.Fatalf("container args %q do not run `flycheck manager`", args)
	}
	out := map[string]string{}
	for _, a := range args[1:] {
		if !strings.HasPrefix(a, "--") {
			t.Fatalf("unexpected positional argument %q in %q", a, args)
		}
		k, v, ok := strings.Cut(strings.TrimPrefix(a, "--"), "=")
		if !ok {
			v = "true"
		}
		if _, dup := out[k]; dup {
			t.Fatalf("flag --%s given twice in %q", k, args)
		}
		out[k] = v
	}
	return out
}

// rbacObject is the part of a Role or ClusterRole the comparisons need.
type rbacObject struct {
	Kind     string              `json:"kind"`
	Metadata metav1.ObjectMeta   `json:"metadata"`
	Rules    []rbacv1.PolicyRule `json:"rules"`
}

// configRole returns the one object of the kind in config/rbac/<file>.
func configRole(t *testing.T, file, kind string) rbacObject {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(rbacDir, file))
	if err != nil {
		t.Fatal(err)
	}
	docs, err := splitYAML(b)
	if err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	var found []rbacObject
	for _, d := range docs {
		var o rbacObject
		if err := yaml.Unmarshal(d, &o); err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		if o.Kind == kind {
			found = append(found, o)
		}
	}
	if len(found) != 1 {
		t.Fatalf("config/rbac/%s: want one %s, found %d", file, kind, len(found))
	}
	if len(found[0].Rules) == 0 {
		t.Fatalf("config/rbac/%s: the %s has no rules", file, kind)
	}
	return found[0]
}

func sameRules(t *testing.T, what string, got, want []rbacv1.PolicyRule) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s: rules differ from config/rbac\n got: %+v\nwant: %+v", what, got, want)
	}
}

// restrictedViolations lists how a pod spec breaks the "restricted" Pod
// Security Standard, as tightened by this project (read-only root
// filesystem, seccomp RuntimeDefault, no added capabilities).
func restrictedViolations(spec corev1.PodSpec) []string {
	var v []string
	if spec.HostNetwork || spec.HostPID || spec.HostIPC {
		v = append(v, "host namespaces")
	}
	for _, vol := range spec.Volumes {
		if vol.HostPath != nil {
			v = append(v, "hostPath volume "+vol.Name)
		}
	}
	psc := spec.SecurityContext
	if psc == nil {
		psc = &corev1.PodSecurityContext{}
	}
	if psc.RunAsUser != nil && *psc.RunAsUser == 0 {
		v = append(v, "pod runAsUser 0")
	}
	all := slices.Concat(spec.InitContainers, spec.Containers)
	if len(all) == 0 {
		v = append(v, "no containers")
	}
	for _, c := range all {
		sc := c.SecurityContext
		if sc == nil {
			sc = &corev1.SecurityContext{}
		}
		nonRoot := psc.RunAsNonRoot
		if sc.RunAsNonRoot != nil {
			nonRoot = sc.RunAsNonRoot
		}
		if nonRoot == nil || !*nonRoot {
			v = append(v, c.Name+": runAsNonRoot is not true")
		}
		if sc.RunAsUser != nil && *sc.RunAsUser == 0 {
			v = append(v, c.Name+": runAsUser 0")
		}
		seccomp := psc.SeccompProfile
		if sc.SeccompProfile != nil {
			seccomp = sc.SeccompProfile
		}
		if seccomp == nil || seccomp.Type != corev1.SeccompProfileTypeRuntimeDefault {
			v = append(v, c.Name+": seccomp profile is not RuntimeDefault")
		}
		if sc.Privileged != nil && *sc.Privileged {
			v = append(v, c.Name+": privileged")
		}
		if sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation {
			v = append(v, c.Name+": allowPrivilegeEscalation is not false")
		}
		if sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem {
			v = append(v, c.Name+": root filesystem is not read-only")
		}
		if sc.Capabilities == nil || !slices.Contains(sc.Capabilities.Drop, "ALL") {
			v = append(v, c.Name+": capabilities do not drop ALL")
		}
		if sc.Capabilities != nil && len(sc.Capabilities.Add) > 0 {
			v = append(v, fmt.Sprintf("%s: adds capabilities %v", c.Name, sc.Capabilities.Add))
		}
		for _, p := range c.Ports {
			if p.HostPort != 0 {
				v = append(v, fmt.Sprintf("%s: hostPort %d", c.Name, p.HostPort))
			}
		}
	}
	return v
}

// ---------------------------------------------------------------------------

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
		"ClusterRole/flycheck-province-admin",
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
		"metrics-bind-address":      ":8080",
		"health-probe-bind-address": ":8081",
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

func checkBinding(t *testing.T, name string, ref rbacv1.RoleRef, subjects []rbacv1.Subject, kind, sa, ns string) {
	t.Helper()
	if ref.APIGroup != rbacv1.GroupName || ref.Kind != kind {
		t.Errorf("%s: roleRef %+v, want a %s", name, ref, kind)
	}
	want := []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Name: sa, Namespace: ns}}
	if !reflect.DeepEqual(subjects, want) {
		t.Errorf("%s: subjects %+v, want %+v", name, subjects, want)
	}
}

func TestChartOverrides(t *testing.T) {
	t.Run("release, namespace and image", func(t *testing.T) {
		r := mustRender(t, renderOpts{
			release: "fc", namespace: "medfund-ops",
			values: "image: {repository: registry.example.cn/medfund/flycheck, tag: '1.4.2', pullPolicy: Always}\n" +
				"imagePullSecrets: [{name: regcred}]\nextraArgs: [--zap-log-level=debug]\n" +
				"nodeSelector: {kubernetes.io/os: linux}\ntolerations: [{key: dedicated, operator: Exists}]",
		})
		checkCommon(t, r)
		d := r.deployment(t)
		if d.Name != "fc-controller-manager" || d.Namespace != "medfund-ops" {
			t.Errorf("Deployment %s/%s", d.Namespace, d.Name)
		}
		c := managerContainer(t, d)
		const img = "registry.example.cn/medfund/flycheck:1.4.2"
		f := flags(t, c.Args)
		if c.Image != img || f["screener-image"] != img {
			t.Errorf("image %q, --screener-image %q; want both %q", c.Image, f["screener-image"], img)
		}
		if f["operator-namespace"] != "medfund-ops" {
			t.Errorf("--operator-namespace=%q, want the release namespace medfund-ops", f["operator-namespace"])
		}
		if f["zap-log-level"] != "debug" {
			t.Errorf("extraArgs not passed: %q", c.Args)
		}
		if c.ImagePullPolicy != corev1.PullAlways {
			t.Errorf("pullPolicy %q", c.ImagePullPolicy)
		}
		ps := d.Spec.Template.Spec
		if len(ps.ImagePullSecrets) != 1 || ps.ImagePullSecrets[0].Name != "regcred" ||
			ps.NodeSelector["kubernetes.io/os"] != "linux" || len(ps.Tolerations) != 1 {
			t.Errorf("pull secrets %v, nodeSelector %v, tolerations %v", ps.ImagePullSecrets, ps.NodeSelector, ps.Tolerations)
		}
		r.get(t, "ClusterRole", "fc-manager-role")
	})

	t.Run("screener image and operator namespace", func(t *testing.T) {
		r := mustRender(t, renderOpts{values: "screenerImage: registry.example.cn/medfund/flycheck-screen:7\noperatorNamespace: flycheck-keys"})
		checkCommon(t, r)
		c := managerContainer(t, r.deployment(t))
		f := flags(t, c.Args)
		if c.Image != defaultImage || f["screener-image"] != "registry.example.cn/medfund/flycheck-screen:7" {
			t.Errorf("image %q, --screener-image %q", c.Image, f["screener-image"])
		}
		if f["operator-namespace"] != "flycheck-keys" {
			t.Errorf("--operator-namespace=%q, want flycheck-keys", f["operator-namespace"])
		}
		// checkCommon has checked that the sampling-key Role and its binding
		// are in flycheck-keys; the rest stays in the release namespace.
		if m := r.get(t, "Role", "flycheck-leader-election-role"); m.Namespace != releaseNS {
			t.Errorf("leader-election Role in %q", m.Namespace)
		}
	})

	t.Run("image digest", func(t *testing.T) {
		const digest = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
		r := mustRender(t, renderOpts{values: "image: {tag: '9.9.9', digest: " + digest + "}"})
		c := managerContainer(t, r.deployment(t))
		want := "ghcr.io/medfund/flycheck-operator@" + digest
		if c.Image != want || flags(t, c.Args)["screener-image"] != want {
			t.Errorf("image %q args %q, want %q", c.Image, c.Args, want)
		}
	})

	t.Run("reader roles disabled", func(t *testing.T) {
		r := mustRender(t, renderOpts{values: "readerRoles: {enabled: false}"})
		checkCommon(t, r)
		for _, name := range readerRoles {
			if _, ok := r.find("ClusterRole", name); ok {
				t.Errorf("ClusterRole %s rendered with readerRoles.enabled=false", name)
			}
		}
		r.get(t, "ClusterRole", "flycheck-manager-role")
	})

	t.Run("reader roles enabled", func(t *testing.T) {
		r := mustRender(t, renderOpts{values: "readerRoles: {enabled: true}"})
		for _, name := range readerRoles {
			r.get(t, "ClusterRole", name)
		}
	})

	t.Run("service monitor", func(t *testing.T) {
		r := mustRender(t, renderOpts{values: "metrics: {serviceMonitor: {enabled: true, labels: {release: prometheus}, interval: 30s}}"})
		checkCommon(t, r)
		sms := r.ofKind("ServiceMonitor")
		if len(sms) != 1 {
			t.Fatalf("want one ServiceMonitor, have %v", r.ids())
		}
		sm := sms[0]
		if sm.APIVersion != "monitoring.coreos.com/v1" || sm.Namespace != releaseNS || sm.Labels["release"] != "prometheus" {
			t.Errorf("ServiceMonitor %s %s labels %v", sm.APIVersion, sm.id(), sm.Labels)
		}
		var spec struct {
			Spec struct {
				Endpoints []struct {
					Port     string `json:"port"`
					Path     string `json:"path"`
					Interval string `json:"interval"`
				} `json:"endpoints"`
				Selector metav1.LabelSelector `json:"selector"`
			} `json:"spec"`
		}
		if err := yaml.Unmarshal(sm.Raw, &spec); err != nil {
			t.Fatal(err)
		}
		svc := decode[corev1.Service](t, r.ofKind("Service")[0])
		sel, err := metav1.LabelSelectorAsSelector(&spec.Spec.Selector)
		if err != nil || sel.Empty() || !sel.Matches(labels.Set(svc.Labels)) {
			t.Errorf("ServiceMonitor selector %v does not select the metrics Service %v (%v)", spec.Spec.Selector, svc.Labels, err)
		}
		eps := spec.Spec.Endpoints
		if len(eps) != 1 || eps[0].Port != svc.Spec.Ports[0].Name || eps[0].Path != "/metrics" || eps[0].Interval != "30s" {
			t.Errorf("ServiceMonitor endpoints %+v, Service port %q", eps, svc.Spec.Ports[0].Name)
		}
	})

	t.Run("metrics off", func(t *testing.T) {
		r := mustRender(t, renderOpts{values: "metrics: {enabled: false}"})
		checkCommon(t, r)
		if f := flags(t, managerContainer(t, r.deployment(t)).Args); f["metrics-bind-address"] != "0" {
			t.Errorf("--metrics-bind-address=%q, want 0", f["metrics-bind-address"])
		}
		if len(r.ofKind("Service")) != 0 || len(r.ofKind("ServiceMonitor")) != 0 {
			t.Errorf("metrics objects with metrics off: %v", r.ids())
		}
	})

	t.Run("no leader election", func(t *testing.T) {
		r := mustRender(t, renderOpts{values: "leaderElection: {enabled: false}"})
		checkCommon(t, r)
		f := flags(t, managerContainer(t, r.deployment(t)).Args)
		if _, ok := f["leader-elect"]; ok {
			t.Errorf("--leader-elect with leaderElection.enabled=false")
		}
		if _, ok := r.find("Role", "flycheck-leader-election-role"); ok {
			t.Errorf("leader-election Role without leader election")
		}
	})

	t.Run("replicas", func(t *testing.T) {
		r := mustRender(t, renderOpts{values: "replicas: 3"})
		d := r.deployment(t)
		if got := ptrString(d.Spec.Replicas); got != "3" {
			t.Errorf("replicas %s, want 3", got)
		}
		if flags(t, managerContainer(t, d).Args)["leader-elect"] != "true" {
			t.Errorf("3 replicas without --leader-elect")
		}
	})

	t.Run("existing service account", func(t *testing.T) {
		r := mustRender(t, renderOpts{values: "serviceAccount: {create: false, name: flycheck-sa}"})
		if len(r.ofKind("ServiceAccount")) != 0 {
			t.Errorf("a ServiceAccount rendered with serviceAccount.create=false")
		}
		d := r.deployment(t)
		if d.Spec.Template.Spec.ServiceAccountName != "flycheck-sa" {
			t.Errorf("serviceAccountName %q", d.Spec.Template.Spec.ServiceAccountName)
		}
		for _, m := range r.ofKind("RoleBinding") {
			rb := decode[rbacv1.RoleBinding](t, m)
			checkBinding(t, rb.Name, rb.RoleRef, rb.Subjects, "Role", "flycheck-sa", releaseNS)
		}
		crb := decode[rbacv1.ClusterRoleBinding](t, r.ofKind("ClusterRoleBinding")[0])
		checkBinding(t, crb.Name, crb.RoleRef, crb.Subjects, "ClusterRole", "flycheck-sa", releaseNS)
	})
}

// Values that would deploy something broken are refused at render time.
func TestChartRejects(t *testing.T) {
	for _, tc := range []struct{ values, wantErr string }{
		{"replicas: 2\nleaderElection: {enabled: false}", "leaderElection"},
		{"metrics: {enabled: false, serviceMonitor: {enabled: true}}", "metrics.enabled"},
		{"leaderelection: {enabled: true}", "leaderelection"},
		{"image: {pullPolicy: Sometimes}", "pullPolicy"},
		{"image: {digest: latest}", "digest"},
		{"operatorNamespace: Flycheck_Keys", "operatorNamespace"},
	} {
		_, err := renderChart(t, renderOpts{values: tc.values})
		if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
			t.Errorf("values %q: error %v, want one mentioning %q", tc.values, err, tc.wantErr)
		}
	}
}

// The security check above must be able to fail: weakening any part of the
// security contexts through values is caught.
func TestRestrictedCheckCatchesWeakValues(t *testing.T) {
	// Helm merges these maps into the defaults; null removes a default key.
	for _, tc := range []struct{ values, want string }{
		{"podSecurityContext: {runAsNonRoot: false}", "runAsNonRoot"},
		{"podSecurityContext: {runAsNonRoot: null}", "runAsNonRoot"},
		{"securityContext: {runAsNonRoot: false}", "runAsNonRoot"},
		{"podSecurityContext: {runAsUser: 0}", "runAsUser 0"},
		{"securityContext: {runAsUser: 0}", "runAsUser 0"},
		{"podSecurityContext: {seccompProfile: null}", "seccomp"},
		{"securityContext: {seccompProfile: {type: Unconfined}}", "seccomp"},
		{"securityContext: {allowPrivilegeEscalation: true}", "allowPrivilegeEscalation"},
		{"securityContext: {allowPrivilegeEscalation: null}", "allowPrivilegeEscalation"},
		{"securityContext: {privileged: true}", "privileged"},
		{"securityContext: {readOnlyRootFilesystem: false}", "read-only"},
		{"securityContext: {capabilities: {drop: [NET_RAW]}}", "drop ALL"},
		{"securityContext: {capabilities: {add: [NET_ADMIN]}}", "adds capabilities"},
	} {
		r := mustRender(t, renderOpts{values: tc.values})
		v := restrictedViolations(r.deployment(t).Spec.Template.Spec)
		if !slices.ContainsFunc(v, func(s string) bool { return strings.Contains(s, tc.want) }) {
			t.Errorf("values %q: violations %v, want one about %q", tc.values, v, tc.want)
		}
	}
}

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
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
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
var readerRoles = []string{"flycheck-campaign-viewer", "flycheck-city-viewer", "flycheck-city-editor", "flycheck-province-admin", "flycheck-tipoff-identity", "flycheck-metrics-reader"}

// readerRoleFiles are their files in config/rbac, in the same order.
var readerRoleFiles = []string{"campaign_viewer_role.yaml", "city_viewer_role.yaml", "city_editor_role.yaml", "province_admin_role.yaml", "tipoff_identity_role.yaml", "metrics_reader_role.yaml"}

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

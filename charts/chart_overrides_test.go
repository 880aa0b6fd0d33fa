package charts

import (
	"reflect"
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"sigs.k8s.io/yaml"
)

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

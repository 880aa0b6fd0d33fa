package main

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/client"

	flycheckv1 "github.com/medfund/flycheck-operator/api/v1alpha1"
	"github.com/medfund/flycheck-operator/controllers"
	"github.com/medfund/flycheck-operator/controllers/testenv"
	"github.com/medfund/flycheck-operator/internal/screening"
	"github.com/medfund/flycheck-operator/internal/synth"
)

// generateTestProvince writes a small synthetic province (2 cities, CSV)
// with injected violations of the default catalogue.
func generateTestProvince(t *testing.T) string {
	t.Helper()
	cfg := synth.DefaultConfig()
	cfg.Seed, cfg.Cities, cfg.InstitutionsPerCity, cfg.FeeLines, cfg.ViolationRate = 7, 2, 16, 30_000, 0.02
	dir := t.TempDir()
	if _, err := synth.Generate(dir, synth.Options{Config: cfg, Rules: testenv.DefaultRules(t), Format: synth.CSV}); err != nil {
		t.Fatal(err)
	}
	return dir
}

// createOwnerScreeningJob makes the ScreeningJob a shard reports to.
func createOwnerScreeningJob(t *testing.T, ns, name string) *flycheckv1.ScreeningJob {
	t.Helper()
	sj := &flycheckv1.ScreeningJob{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec: flycheckv1.ScreeningJobSpec{
			CityCode: "320100",
			Source:   flycheckv1.DataSource{PersistentVolumeClaim: "claims", Path: "extract"},
			Output:   flycheckv1.OutputLocation{PersistentVolumeClaim: "claims", Path: "findings"},
			RuleSets: []string{"jiangsu-2024-excess-quantity"},
			Shards:   2,
		},
	}
	if err := testClient.Create(context.Background(), sj); err != nil {
		t.Fatal(err)
	}
	return sj
}

// screenerKubeconfig grants the shard pods' ServiceAccount exactly what the
// operator grants it (create ConfigMaps, nothing else) and returns a
// kubeconfig that acts as that ServiceAccount.
func screenerKubeconfig(t *testing.T, ns string) string {
	t.Helper()
	ctx := context.Background()
	meta := metav1.ObjectMeta{Name: controllers.ScreenerServiceAccount, Namespace: ns}
	for _, obj := range []client.Object{
		&corev1.ServiceAccount{ObjectMeta: meta},
		&rbacv1.Role{ObjectMeta: meta, Rules: []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"configmaps"}, Verbs: []string{"create"}}}},
		&rbacv1.RoleBinding{ObjectMeta: meta,
			RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: controllers.ScreenerServiceAccount},
			Subjects: []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Name: controllers.ScreenerServiceAccount, Namespace: ns}}},
	} {
		if err := testClient.Create(ctx, obj); err != nil {
			t.Fatal(err)
		}
	}
	return screenerIdentityKubeconfig(t, ns)
}

// screenerIdentityKubeconfig is a kubeconfig acting as the shard pods'
// ServiceAccount in ns (whatever RBAC grants it).
func screenerIdentityKubeconfig(t *testing.T, ns string) string {
	t.Helper()
	kc, err := clientcmd.LoadFromFile(testKubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	for _, ai := range kc.AuthInfos {
		ai.Impersonate = "system:serviceaccount:" + ns + ":" + controllers.ScreenerServiceAccount
		ai.ImpersonateGroups = []string{"system:serviceaccounts", "system:serviceaccounts:" + ns, "system:authenticated"}
	}
	path := filepath.Join(t.TempDir(), "kubeconfig")
	if err := clientcmd.WriteToFile(*kc, path); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestScreenResultConfigMapIsReadableByTheController(t *testing.T) {
	ctx := context.Background()
	ns := testenv.NewNamespace(t, testClient, "screen-result")
	data := generateTestProvince(t)
	sj := createOwnerScreeningJob(t, ns, "camp-dataanalysis-nanjing")
	kubeconfig := screenerKubeconfig(t, ns)

	// The environment of a shard pod, with the identity of its
	// ServiceAccount (create ConfigMaps, nothing else).
	t.Setenv("KUBECONFIG", kubeconfig)
	t.Setenv(controllers.EnvPodNamespace, ns)
	t.Setenv(controllers.EnvScreeningJobName, sj.Name)
	t.Setenv(controllers.EnvScreeningJobUID, string(sj.UID))

	const shard, shards = 1, 2
	cmName := controllers.ShardResultName(sj.Name, shard)
	args := []string{"screen", "--input", data, "--output", t.TempDir(), "--quiet",
		"--shards", strconv.Itoa(shards), "--shard", strconv.Itoa(shard), "--city", "320100",
		"--from", "2024-01-01", "--to", "2024-12-31", "--result-configmap", cmName}
	for _, f := range testenv.DefaultRuleFiles(t) {
		args = append(args, "--rules", f)
	}
	_, stderr, err := run(t, "", args...)
	if err != nil {
		t.Fatalf("screen --result-configmap: %v\n%s", err, stderr)
	}
	if !strings.Contains(stderr, "reported shard 1 to ConfigMap "+ns+"/"+cmName) {
		t.Errorf("stderr does not say the shard was reported:\n%s", stderr)
	}

	// The same shard screened in process.
	want, err := screening.Run(ctx, screening.Options{Input: data, RuleFiles: testenv.DefaultRuleFiles(t),
		Shard: shard, Shards: shards, City: "320100", From: "2024-01-01", To: "2024-12-31"})
	if err != nil {
		t.Fatal(err)
	}
	if len(want.Summary.Institutions) == 0 || want.Stats.Findings == 0 {
		t.Fatalf("the test shard is too small to mean anything: %d institutions, %d findings",
			len(want.Summary.Institutions), want.Stats.Findings)
	}

	// Read it back as the controller does: by label, then decode.
	var list corev1.ConfigMapList
	if err := testClient.List(ctx, &list, client.InNamespace(ns), client.MatchingLabels{
		controllers.LabelScreeningJob: sj.Name, controllers.LabelRole: controllers.RoleShard}); err != nil {
		t.Fatal(err)
	}
	if len(list.Items) != 1 {
		t.Fatalf("%d shard result ConfigMaps, want 1", len(list.Items))
	}
	cm := list.Items[0]
	if cm.Name != cmName || cm.Labels[controllers.LabelShard] != "1" {
		t.Errorf("ConfigMap %s with shard label %q, want %s and 1", cm.Name, cm.Labels[controllers.LabelShard], cmName)
	}
	if cm.Immutable == nil || !*cm.Immutable {
		t.Error("shard result ConfigMap is not immutable")
	}
	if len(cm.OwnerReferences) != 1 {
		t.Fatalf("owner references %+v, want exactly the ScreeningJob", cm.OwnerReferences)
	}
	ref := cm.OwnerReferences[0]
	if ref.APIVersion != "flycheck.medfund.io/v1alpha1" || ref.Kind != "ScreeningJob" || ref.Name != sj.Name || ref.UID != sj.UID ||
		ref.Controller == nil || !*ref.Controller || ref.BlockOwnerDeletion != nil {
		t.Errorf("owner reference %+v: want controller ScreeningJob %s/%s without blockOwnerDeletion", ref, sj.Name, sj.UID)
	}
	got, err := screening.DecodeShardResult(cm.BinaryData[controllers.ShardResultKey])
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Summary.Institutions) != len(want.Summary.Institutions) {
		t.Fatalf("%d institutions in the ConfigMap, %d screened in process", len(got.Summary.Institutions), len(want.Summary.Institutions))
	}
	var lines int64
	for i, inst := range got.Summary.Institutions {
		w := want.Summary.Institutions[i]
		if inst.Code != w.Code || inst.Lines != w.Lines || inst.Findings != w.Findings || inst.RiskScore != w.RiskScore {
			t.Errorf("institution %d: %s %d lines %d findings risk %s, in process %s %d lines %d findings risk %s",
				i, inst.Code, inst.Lines, inst.Findings, inst.RiskScore, w.Code, w.Lines, w.Findings, w.RiskScore)
		}
		lines += inst.Lines
	}
	if lines != want.Stats.LinesInScope || got.Stats.LinesInScope != want.Stats.LinesInScope ||
		got.Stats.Findings != want.Stats.Findings || got.Stats.Shard != shard || got.Stats.Shards != shards {
		t.Errorf("stats: %d lines (Σ institutions %d), %d findings, shard %d/%d; in process %d lines, %d findings",
			got.Stats.LinesInScope, lines, got.Stats.Findings, got.Stats.Shard, got.Stats.Shards, want.Stats.LinesInScope, want.Stats.Findings)
	}

	// The command really ran as the ServiceAccount: it cannot even read
	// what it wrote.
	saCfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := kubernetes.NewForConfigOrDie(saCfg).CoreV1().ConfigMaps(ns).Get(ctx, cmName, metav1.GetOptions{}); !apierrors.IsForbidden(err) {
		t.Errorf("the screener identity read its ConfigMap (err %v); the test did not run with the pod's rights", err)
	}

	// A retried shard finds its result already reported and succeeds
	// without touching it.
	_, stderr, err = run(t, "", args...)
	if err != nil {
		t.Fatalf("retried shard: %v\n%s", err, stderr)
	}
	if !strings.Contains(stderr, "shard 1 already reported") {
		t.Errorf("retried shard did not say it was already reported:\n%s", stderr)
	}
	var again corev1.ConfigMap
	if err := testClient.Get(ctx, client.ObjectKeyFromObject(&cm), &again); err != nil {
		t.Fatal(err)
	}
	if again.ResourceVersion != cm.ResourceVersion {
		t.Errorf("the retried shard changed the ConfigMap (resourceVersion %s → %s)", cm.ResourceVersion, again.ResourceVersion)
	}
}

func TestScreenResultConfigMapNamespaceFlagAndMisconfiguration(t *testing.T) {
	ctx := context.Background()
	ns := testenv.NewNamespace(t, testClient, "screen-result-flag")
	sj := createOwnerScreeningJob(t, ns, "flagged")
	data := generateTestProvince(t)
	t.Setenv("KUBECONFIG", testKubeconfig)
	t.Setenv(controllers.EnvScreeningJobName, sj.Name)
	t.Setenv(controllers.EnvScreeningJobUID, string(sj.UID))
	base := []string{"screen", "--input", data, "--rules", testenv.DefaultRuleFiles(t)[0], "--quiet"}

	// No namespace at all: refused before screening, nothing written.
	t.Setenv(controllers.EnvPodNamespace, "")
	out := filepath.Join(t.TempDir(), "out")
	if _, _, err := run(t, "", append(base, "--output", out, "--result-configmap", "x")...); err == nil ||
		!strings.Contains(err.Error(), "namespace") {
		t.Errorf("without a namespace: err %v, want one naming the namespace", err)
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Errorf("a misconfigured reporter still screened (output %s: %v)", out, err)
	}
	// No ScreeningJob identity: refused too.
	t.Setenv(controllers.EnvPodNamespace, ns)
	t.Setenv(controllers.EnvScreeningJobUID, "")
	if _, _, err := run(t, "", append(base, "--output", out, "--result-configmap", "x")...); err == nil ||
		!strings.Contains(err.Error(), controllers.EnvScreeningJobUID) {
		t.Errorf("without the ScreeningJob UID: err %v", err)
	}
	t.Setenv(controllers.EnvScreeningJobUID, string(sj.UID))

	// --namespace overrides $POD_NAMESPACE.
	t.Setenv(controllers.EnvPodNamespace, "no-such-namespace")
	if _, stderr, err := run(t, "", append(base, "--output", out, "--result-configmap", "flagged-shard-0", "--namespace", ns)...); err != nil {
		t.Fatalf("--namespace: %v\n%s", err, stderr)
	}
	var cm corev1.ConfigMap
	if err := testClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: "flagged-shard-0"}, &cm); err != nil {
		t.Fatalf("--namespace %s: %v", ns, err)
	}
	if cm.Labels[controllers.LabelShard] != "0" || cm.Labels[controllers.LabelScreeningJob] != sj.Name {
		t.Errorf("labels %v", cm.Labels)
	}
	if _, err := screening.DecodeShardResult(cm.BinaryData[controllers.ShardResultKey]); err != nil {
		t.Error(err)
	}

	// An API error that is not transient fails the shard at once.
	start := time.Now()
	if _, _, err := run(t, "", append(base, "--output", out, "--result-configmap", "x", "--namespace", "no-such-namespace")...); err == nil ||
		!apierrors.IsNotFound(err) {
		t.Errorf("creating in a missing namespace: err %v, want NotFound", err)
	}
	if time.Since(start) > 20*time.Second {
		t.Errorf("a permanent API error was retried for %s", time.Since(start))
	}
}

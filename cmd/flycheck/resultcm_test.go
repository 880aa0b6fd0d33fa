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
	meta := metav1.ObjectMeta{Name: flycheckv1.ScreenerServiceAccount, Namespace: ns}
	for _, obj := range []client.Object{
		&corev1.ServiceAccount{ObjectMeta: meta},
		&rbacv1.Role{ObjectMeta: meta, Rules: []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"configmaps"}, Verbs: []string{"create"}}}},
		&rbacv1.RoleBinding{ObjectMeta: meta,
			RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: flycheckv1.ScreenerServiceAccount},
			Subjects: []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Name: flycheckv1.ScreenerServiceAccount, Namespace: ns}}},
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
		ai.Impersonate = "system:serviceaccount:" + ns + ":" + flycheckv1.ScreenerServiceAccount
		ai.ImpersonateGroups = []string{"system:serviceaccounts", "system:serviceaccounts:" + ns, "system:authenticated"}
	}
	path := filepath.Join(t.TempDir(), "kubeconfig")
	if err := clientcmd.WriteToFile(*kc, path); err != nil {
		t.Fatal(err)
	}
	return path
}

// signingKeyFile writes a signing key as the operator's Secret volume
// would, and returns its path.
func signingKeyFile(t *testing.T, key []byte) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), flycheckv1.SigningKeyFileKey)
	if err := os.WriteFile(path, key, 0o440); err != nil {
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
	t.Setenv(flycheckv1.EnvPodNamespace, ns)
	t.Setenv(flycheckv1.EnvScreeningJobName, sj.Name)
	t.Setenv(flycheckv1.EnvScreeningJobUID, string(sj.UID))

	const shard, shards = 1, 2
	key := []byte("a signing key of the test's own, 32B")
	prefix := controllers.ShardResultPrefix(sj.Name, shard)
	args := []string{"screen", "--input", data, "--output", t.TempDir(), "--quiet",
		"--shards", strconv.Itoa(shards), "--shard", strconv.Itoa(shard), "--city", "320100",
		"--from", "2024-01-01", "--to", "2024-12-31", "--report", "--signing-key", signingKeyFile(t, key), "--overwrite"}
	for _, f := range testenv.DefaultRuleFiles(t) {
		args = append(args, "--rules", f)
	}
	_, stderr, err := run(t, "", args...)
	if err != nil {
		t.Fatalf("screen --report: %v\n%s", err, stderr)
	}
	if !strings.Contains(stderr, "reported shard 1 to ConfigMap "+ns+"/"+prefix) {
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
		flycheckv1.LabelScreeningJob: sj.Name, flycheckv1.LabelRole: flycheckv1.RoleShard}); err != nil {
		t.Fatal(err)
	}
	if len(list.Items) != 1 {
		t.Fatalf("%d shard result ConfigMaps, want 1", len(list.Items))
	}
	cm := list.Items[0]
	cmName := cm.Name
	if !strings.HasPrefix(cm.Name, prefix) || len(cm.Name) <= len(prefix) || cm.Labels[flycheckv1.LabelShard] != "1" {
		t.Errorf("ConfigMap %s with shard label %q, want a name generated from %s and 1", cm.Name, cm.Labels[flycheckv1.LabelShard], prefix)
	}
	// Signed with the job's key over its UID, the index and the bytes.
	sig := cm.BinaryData[flycheckv1.ShardSignatureKey]
	if !screening.VerifyShardResult(key, string(sj.UID), shard, cm.BinaryData[flycheckv1.ShardResultKey], sig) {
		t.Error("the shard result's signature does not verify with the job's key")
	}
	if screening.VerifyShardResult(key, string(sj.UID), 0, cm.BinaryData[flycheckv1.ShardResultKey], sig) {
		t.Error("the signature also verifies for another shard index")
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
	got, err := screening.DecodeShardResult(cm.BinaryData[flycheckv1.ShardResultKey])
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

	// A retried shard reports again under a new generated name, without
	// touching the first result; both are genuine and equal, so the
	// controller may use either.
	_, stderr, err = run(t, "", args...)
	if err != nil {
		t.Fatalf("retried shard: %v\n%s", err, stderr)
	}
	if err := testClient.List(ctx, &list, client.InNamespace(ns), client.MatchingLabels{
		flycheckv1.LabelScreeningJob: sj.Name, flycheckv1.LabelRole: flycheckv1.RoleShard}); err != nil {
		t.Fatal(err)
	}
	if len(list.Items) != 2 {
		t.Fatalf("%d shard results after the retry, want 2", len(list.Items))
	}
	for _, again := range list.Items {
		switch {
		case again.Name == cm.Name && again.ResourceVersion != cm.ResourceVersion:
			t.Errorf("the retried shard changed the first result (resourceVersion %s → %s)", cm.ResourceVersion, again.ResourceVersion)
		case again.Name != cm.Name && !screening.VerifyShardResult(key, string(sj.UID), shard,
			again.BinaryData[flycheckv1.ShardResultKey], again.BinaryData[flycheckv1.ShardSignatureKey]):
			t.Errorf("the retried shard's result %s does not verify", again.Name)
		}
	}
}

func TestScreenResultConfigMapNamespaceFlagAndMisconfiguration(t *testing.T) {
	ctx := context.Background()
	ns := testenv.NewNamespace(t, testClient, "screen-result-flag")
	sj := createOwnerScreeningJob(t, ns, "flagged")
	data := generateTestProvince(t)
	t.Setenv("KUBECONFIG", testKubeconfig)
	t.Setenv(flycheckv1.EnvScreeningJobName, sj.Name)
	t.Setenv(flycheckv1.EnvScreeningJobUID, string(sj.UID))
	base := []string{"screen", "--input", data, "--rules", testenv.DefaultRuleFiles(t)[0], "--quiet",
		"--signing-key", signingKeyFile(t, []byte("another test key"))}

	// No namespace at all: refused before screening, nothing written.
	t.Setenv(flycheckv1.EnvPodNamespace, "")
	out := filepath.Join(t.TempDir(), "out")
	if _, _, err := run(t, "", append(base, "--output", out, "--report")...); err == nil ||
		!strings.Contains(err.Error(), "namespace") {
		t.Errorf("without a namespace: err %v, want one naming the namespace", err)
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Errorf("a misconfigured reporter still screened (output %s: %v)", out, err)
	}
	// No ScreeningJob identity: refused too.
	t.Setenv(flycheckv1.EnvPodNamespace, ns)
	t.Setenv(flycheckv1.EnvScreeningJobUID, "")
	if _, _, err := run(t, "", append(base, "--output", out, "--report")...); err == nil ||
		!strings.Contains(err.Error(), flycheckv1.EnvScreeningJobUID) {
		t.Errorf("without the ScreeningJob UID: err %v", err)
	}
	t.Setenv(flycheckv1.EnvScreeningJobUID, string(sj.UID))
	// No signing key: refused before screening (an unsigned result would
	// only be refused by the operator).
	if _, _, err := run(t, "", "screen", "--input", data, "--rules", testenv.DefaultRuleFiles(t)[0], "--quiet",
		"--output", out, "--report", "--signing-key", filepath.Join(t.TempDir(), "missing")); err == nil ||
		!strings.Contains(err.Error(), "signing key") {
		t.Errorf("without a signing key: err %v", err)
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Errorf("a misconfigured reporter still screened (output %s: %v)", out, err)
	}

	// --namespace overrides $POD_NAMESPACE.
	t.Setenv(flycheckv1.EnvPodNamespace, "no-such-namespace")
	if _, stderr, err := run(t, "", append(base, "--output", out, "--report", "--namespace", ns)...); err != nil {
		t.Fatalf("--namespace: %v\n%s", err, stderr)
	}
	var list corev1.ConfigMapList
	if err := testClient.List(ctx, &list, client.InNamespace(ns), client.MatchingLabels{flycheckv1.LabelScreeningJob: sj.Name}); err != nil || len(list.Items) != 1 {
		t.Fatalf("--namespace %s: %d results, %v", ns, len(list.Items), err)
	}
	cm := list.Items[0]
	if cm.Labels[flycheckv1.LabelShard] != "0" || cm.Labels[flycheckv1.LabelScreeningJob] != sj.Name {
		t.Errorf("labels %v", cm.Labels)
	}
	if _, err := screening.DecodeShardResult(cm.BinaryData[flycheckv1.ShardResultKey]); err != nil {
		t.Error(err)
	}

	// An API error that is not transient fails the shard at once.
	start := time.Now()
	if _, _, err := run(t, "", append(base, "--output", out, "--overwrite", "--report", "--namespace", "no-such-namespace")...); err == nil ||
		!apierrors.IsNotFound(err) {
		t.Errorf("creating in a missing namespace: err %v, want NotFound", err)
	}
	if time.Since(start) > 20*time.Second {
		t.Errorf("a permanent API error was retried for %s", time.Since(start))
	}
}

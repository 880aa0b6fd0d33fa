package node

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/clock"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	flycheckv1 "github.com/medfund/flycheck-operator/api/v1alpha1"
	"github.com/medfund/flycheck-operator/controllers"
	"github.com/medfund/flycheck-operator/controllers/testenv"
	"github.com/medfund/flycheck-operator/internal/screening"
	"github.com/medfund/flycheck-operator/internal/synth"
)

// The node player is tested against a real kube-apiserver and etcd
// (package testenv), running shards with a flycheck binary built from this
// checkout: the screener it plays is the real one.
var (
	testEnv *testenv.Env
	// testKubeconfig is a system:masters kubeconfig file, for the pods.
	testKubeconfig string
	// flycheckBinary is cmd/flycheck, built by TestMain.
	flycheckBinary string
)

func TestMain(m *testing.M) {
	os.Exit(testenv.Main(m, func(env *testenv.Env) (func(), error) {
		testEnv = env
		var err error
		if testKubeconfig, err = env.AdminKubeconfig(); err != nil {
			return nil, err
		}
		dir, err := os.MkdirTemp("", "flycheck-node-test-")
		if err != nil {
			return nil, err
		}
		cleanup := func() { os.RemoveAll(dir) }
		if flycheckBinary, err = buildFlycheck(dir); err != nil {
			cleanup()
			return nil, err
		}
		return cleanup, nil
	}))
}

// buildFlycheck builds cmd/flycheck into dir (the go build cache makes
// this a link when nothing changed).
func buildFlycheck(dir string) (string, error) {
	root, err := testenv.RepoRoot()
	if err != nil {
		return "", err
	}
	exe := filepath.Join(dir, "flycheck")
	cmd := exec.Command("go", "build", "-o", exe, "./cmd/flycheck")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("building flycheck: %v\n%s", err, out)
	}
	return exe, nil
}

// createOwnerScreeningJob makes the ScreeningJob a shard reports to.
func createOwnerScreeningJob(t *testing.T, ns, name string) *flycheckv1.ScreeningJob {
	t.Helper()
	sj := &flycheckv1.ScreeningJob{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec: flycheckv1.ScreeningJobSpec{
			Source:   flycheckv1.DataSource{PersistentVolumeClaim: "src", Path: "extract"},
			Output:   flycheckv1.OutputLocation{PersistentVolumeClaim: "out", Path: "findings"},
			RuleSets: []string{"jiangsu-2024-excess-quantity"},
			Shards:   2,
		},
	}
	if err := testEnv.Client.Create(context.Background(), sj); err != nil {
		t.Fatal(err)
	}
	return sj
}

// jobWatch records every status of a namespace's Jobs, as seen through a
// real watch.
type jobWatch struct {
	mu   sync.Mutex
	seen []batchv1.JobStatus
}

func watchJobs(t *testing.T, ctx context.Context, ns string) *jobWatch {
	t.Helper()
	w, err := kubernetes.NewForConfigOrDie(testEnv.Config).BatchV1().Jobs(ns).Watch(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	jw := &jobWatch{}
	go func() {
		for ev := range w.ResultChan() {
			if job, ok := ev.Object.(*batchv1.Job); ok {
				jw.mu.Lock()
				jw.seen = append(jw.seen, *job.Status.DeepCopy())
				jw.mu.Unlock()
			}
		}
	}()
	t.Cleanup(w.Stop)
	return jw
}

func (jw *jobWatch) statuses() []batchv1.JobStatus {
	jw.mu.Lock()
	defer jw.mu.Unlock()
	return slices.Clone(jw.seen)
}

func conditionTrue(st batchv1.JobStatus, typ batchv1.JobConditionType) *batchv1.JobCondition {
	for i, c := range st.Conditions {
		if c.Type == typ && c.Status == corev1.ConditionTrue {
			return &st.Conditions[i]
		}
	}
	return nil
}

// startNodePlayer plays the cluster's screening Jobs with the flycheck
// binary TestMain built, until the test ends.
func startNodePlayer(t *testing.T, workdir string, impersonate bool) (*Player, func() string) {
	t.Helper()
	var mu sync.Mutex
	var out strings.Builder
	say := func(format string, args ...any) {
		mu.Lock()
		defer mu.Unlock()
		fmt.Fprintf(&out, format+"\n", args...)
	}
	p := New(Config{Clientset: kubernetes.NewForConfigOrDie(testEnv.Config), Flycheck: flycheckBinary, Workdir: workdir,
		Kubeconfig: testKubeconfig, Impersonate: impersonate, Slots: 2, Say: say})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
		if t.Failed() {
			mu.Lock()
			t.Logf("node player said:\n%s", out.String())
			mu.Unlock()
		}
	})
	said := func() string {
		mu.Lock()
		defer mu.Unlock()
		return out.String()
	}
	return p, said
}

// applyDefaultRuleSets creates the default catalogue's RuleSets (cluster
// scoped, so shared by the tests) unless they exist.
func applyDefaultRuleSets(t *testing.T) []string {
	t.Helper()
	var names []string
	for _, f := range testenv.DefaultRuleFiles(t) {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var rs flycheckv1.RuleSet
		if err := yaml.Unmarshal(data, &rs); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if err := testEnv.Client.Create(context.Background(), &rs); err != nil && !apierrors.IsAlreadyExists(err) {
			t.Fatalf("RuleSet %s: %v", rs.Name, err)
		}
		names = append(names, rs.Name)
	}
	return names
}

// TestNodePlayerRunsAScreeningJob runs the whole chain the demo relies on:
// the operator's ScreeningJob controller creates its Indexed Job, the node
// player runs the shards as processes acting as the screener
// ServiceAccount, and the controller reads their result ConfigMaps back.
func TestNodePlayerRunsAScreeningJob(t *testing.T) {
	ctx := context.Background()
	ns := testenv.NewNamespace(t, testEnv.Client, "node-player")
	ruleSets := applyDefaultRuleSets(t)
	workdir := t.TempDir()
	extract := filepath.Join(workdir, "pvc", "claims", "extract")
	rulesCat := testenv.DefaultRules(t)
	cfg := synth.DefaultConfig()
	cfg.Seed, cfg.Cities, cfg.InstitutionsPerCity, cfg.FeeLines, cfg.ViolationRate = 5, 2, 20, 40_000, 0.02
	if _, err := synth.Generate(extract, synth.Options{Config: cfg, Rules: rulesCat, Format: synth.Parquet}); err != nil {
		t.Fatal(err)
	}

	opNS := testenv.NewNamespace(t, testEnv.Client, "node-player-operator") // the signing key
	testenv.StartManager(t, testEnv.Config, func(mgr ctrl.Manager) error {
		return (&controllers.ScreeningJobReconciler{Client: mgr.GetClient(), APIReader: mgr.GetAPIReader(), Clock: clock.RealClock{},
			Recorder: mgr.GetEventRecorder("screeningjob-test"), ScreenerImage: "flycheck:test", OperatorNamespace: opNS}).SetupWithManager(mgr)
	})

	jobs := watchJobs(t, ctx, ns)
	// The shards act as the screener ServiceAccount the controller creates.
	player, said := startNodePlayer(t, workdir, true)

	const shards = 3
	sj := &flycheckv1.ScreeningJob{
		ObjectMeta: metav1.ObjectMeta{Name: "camp-dataanalysis-nanjing", Namespace: ns},
		Spec: flycheckv1.ScreeningJobSpec{
			CityCode:   "320100",
			DataWindow: &flycheckv1.DataWindow{From: "2024-01-01", To: "2024-12-31"},
			Source:     flycheckv1.DataSource{PersistentVolumeClaim: "claims", Path: "extract", Format: flycheckv1.FormatParquet},
			Output:     flycheckv1.OutputLocation{PersistentVolumeClaim: "claims", Path: "findings/nanjing"},
			RuleSets:   ruleSets,
			Shards:     shards,
		},
	}
	if err := testEnv.Client.Create(ctx, sj); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, 90*time.Second, func() error {
		if err := testEnv.Client.Get(ctx, client.ObjectKeyFromObject(sj), sj); err != nil {
			return err
		}
		if sj.Status.State == flycheckv1.ScreeningFailed {
			t.Fatalf("ScreeningJob failed: %+v", sj.Status.FailedShards)
		}
		if sj.Status.State != flycheckv1.ScreeningSucceeded {
			return fmt.Errorf("ScreeningJob is %q (%d/%d shards, %d failed)", sj.Status.State,
				sj.Status.Shards.Succeeded, sj.Status.Shards.Total, sj.Status.Shards.Failed)
		}
		return nil
	})

	// The Job was finished as the Job controller would.
	var job batchv1.Job
	if err := testEnv.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: controllers.JobName(sj.Name)}, &job); err != nil {
		t.Fatal(err)
	}
	st := job.Status
	if conditionTrue(st, batchv1.JobSuccessCriteriaMet) == nil || conditionTrue(st, batchv1.JobComplete) == nil ||
		conditionTrue(st, batchv1.JobFailed) != nil {
		t.Errorf("Job conditions %+v, want SuccessCriteriaMet and Complete", st.Conditions)
	}
	if st.Succeeded != shards || st.Failed != 0 || st.Active != 0 || ptr.Deref(st.Ready, -1) != 0 ||
		st.CompletedIndexes != "0-2" || ptr.Deref(st.FailedIndexes, "?") != "" {
		t.Errorf("Job status: succeeded %d failed %d active %d ready %v completed %q failed %v",
			st.Succeeded, st.Failed, st.Active, st.Ready, st.CompletedIndexes, st.FailedIndexes)
	}
	if st.StartTime == nil || st.CompletionTime == nil || st.CompletionTime.Before(st.StartTime) {
		t.Errorf("start %v, completion %v", st.StartTime, st.CompletionTime)
	}
	// ... through the states a watcher would have seen.
	testenv.Eventually(t, 5*time.Second, func() error {
		if seen := jobs.statuses(); len(seen) == 0 || conditionTrue(seen[len(seen)-1], batchv1.JobComplete) == nil {
			return fmt.Errorf("the watch has not seen the Job complete")
		}
		return nil
	})
	var sawRunning, sawPending, sawCriteriaFirst bool
	for _, s := range jobs.statuses() {
		ready := ptr.Deref(s.Ready, 0)
		if ready > s.Active || ready > 2 {
			t.Errorf("status with %d ready of %d active (2 cores)", ready, s.Active)
		}
		sawRunning = sawRunning || ready > 0
		sawPending = sawPending || s.Active > ready // an index waiting for a core
		if conditionTrue(s, batchv1.JobSuccessCriteriaMet) != nil && conditionTrue(s, batchv1.JobComplete) == nil {
			sawCriteriaFirst = true
			if s.Active != 0 || s.CompletionTime != nil {
				t.Errorf("SuccessCriteriaMet with %d active, completionTime %v", s.Active, s.CompletionTime)
			}
		}
	}
	if !sawRunning || !sawPending || !sawCriteriaFirst {
		t.Errorf("transitions seen: running %v, an index pending %v, SuccessCriteriaMet before Complete %v",
			sawRunning, sawPending, sawCriteriaFirst)
	}
	if peak := player.PeakProcesses(); peak != 2 {
		t.Errorf("at most %d processes ran at once, want exactly 2 (3 shards, 2 cores)", peak)
	}

	// What the shards wrote, through the mapped volumes and as the
	// ScreeningJob's status, matches screening the city in process.
	want, err := screening.Run(ctx, screening.Options{Input: extract, Rules: rulesCat, City: "320100", From: "2024-01-01", To: "2024-12-31"})
	if err != nil {
		t.Fatal(err)
	}
	if sj.Status.LinesScanned != want.Stats.LinesInScope || sj.Status.Findings.Total != want.Stats.Findings ||
		int64(sj.Status.Institutions.Total) != want.Stats.Institutions || sj.Status.FrameConfigMap == "" {
		t.Errorf("ScreeningJob status %d lines, %d findings, %d institutions, frame %q; in process %d, %d, %d",
			sj.Status.LinesScanned, sj.Status.Findings.Total, sj.Status.Institutions.Total, sj.Status.FrameConfigMap,
			want.Stats.LinesInScope, want.Stats.Findings, want.Stats.Institutions)
	}
	for i := range shards {
		dir := filepath.Join(workdir, "pvc", "claims", "findings", "nanjing", fmt.Sprintf("shard-%d-of-%d", i, shards))
		if _, err := os.Stat(filepath.Join(dir, "summary.json")); err != nil {
			t.Errorf("shard %d did not write to the output claim: %v", i, err)
		}
	}

	// Pods as the Job controller and kubelet leave them.
	var pods corev1.PodList
	if err := testEnv.Client.List(ctx, &pods, client.InNamespace(ns), client.MatchingLabels{batchv1.JobNameLabel: job.Name}); err != nil {
		t.Fatal(err)
	}
	var indexes []string
	for _, p := range pods.Items {
		indexes = append(indexes, p.Annotations[batchv1.JobCompletionIndexAnnotation])
		if p.Status.Phase != corev1.PodSucceeded || !metav1.IsControlledBy(&p, &job) || p.Spec.NodeName != Name ||
			len(p.Status.ContainerStatuses) != 1 || p.Status.ContainerStatuses[0].State.Terminated == nil ||
			p.Status.ContainerStatuses[0].State.Terminated.ExitCode != 0 {
			t.Errorf("pod %s: phase %s, node %q, statuses %+v", p.Name, p.Status.Phase, p.Spec.NodeName, p.Status.ContainerStatuses)
		}
	}
	slices.Sort(indexes)
	if !slices.Equal(indexes, []string{"0", "1", "2"}) {
		t.Errorf("pods of indexes %v, want one each of 0-2", indexes)
	}
	for i := range shards {
		if !strings.Contains(said(), fmt.Sprintf("shard %d/3 of %s/%s succeeded", i, ns, job.Name)) {
			t.Errorf("no line for shard %d finishing", i)
		}
	}
}

// TestNodePlayerFailedIndex plays a Job (built like the operator's) whose
// last index fails every attempt: it is retried backoffLimitPerIndex times,
// the other indexes complete, and the Job fails as the Job controller fails
// it, with the pods' termination messages.
func TestNodePlayerFailedIndex(t *testing.T) {
	ctx := context.Background()
	ns := testenv.NewNamespace(t, testEnv.Client, "node-player-fail")
	workdir := t.TempDir()
	cfg := synth.DefaultConfig()
	cfg.Seed, cfg.Cities, cfg.InstitutionsPerCity, cfg.FeeLines = 3, 1, 8, 5_000
	if _, err := synth.Generate(filepath.Join(workdir, "pvc", "src", "extract"), synth.Options{Config: cfg, Format: synth.CSV}); err != nil {
		t.Fatal(err)
	}
	var catalogue []string
	for _, f := range testenv.DefaultRuleFiles(t) {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		catalogue = append(catalogue, string(data))
	}
	rulesCM := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "broken-rules", Namespace: ns},
		Data: map[string]string{flycheckv1.RulesFileKey: strings.Join(catalogue, "\n---\n")}}
	owner := createOwnerScreeningJob(t, ns, "broken")
	if err := testEnv.Client.Create(ctx, rulesCM); err != nil {
		t.Fatal(err)
	}
	// The signing key reaches the pods as a Secret volume, as the operator
	// mounts it.
	key := []byte("the broken job's signing key")
	keySecret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "broken-signing", Namespace: ns},
		Data: map[string][]byte{flycheckv1.SigningKeyFileKey: key}}
	if err := testEnv.Client.Create(ctx, keySecret); err != nil {
		t.Fatal(err)
	}
	// 3 completions but --shards 2: index 2 is out of range and fails.
	env := []corev1.EnvVar{
		{Name: flycheckv1.EnvCompletionIndex, ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{
			FieldPath: "metadata.annotations['batch.kubernetes.io/job-completion-index']"}}},
		{Name: flycheckv1.EnvPodNamespace, ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.namespace"}}},
		{Name: flycheckv1.EnvScreeningJobName, Value: owner.Name},
		{Name: flycheckv1.EnvScreeningJobUID, Value: string(owner.UID)},
	}
	job := &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{Name: "broken", Namespace: ns, Labels: map[string]string{flycheckv1.LabelScreeningJob: owner.Name}},
		Spec: batchv1.JobSpec{
			CompletionMode:       ptr.To(batchv1.IndexedCompletion),
			Completions:          ptr.To[int32](3),
			Parallelism:          ptr.To[int32](3),
			BackoffLimitPerIndex: ptr.To[int32](1),
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{flycheckv1.LabelScreeningJob: owner.Name}},
				Spec: corev1.PodSpec{
					RestartPolicy: corev1.RestartPolicyNever,
					Containers: []corev1.Container{{
						Name: "screen", Image: "flycheck:test", Env: env,
						TerminationMessagePolicy: corev1.TerminationMessageFallbackToLogsOnError,
						Args: []string{"screen", "--input", "/data/source/extract", "--rules", "/rules/" + flycheckv1.RulesFileKey,
							"--output=/data/output/findings", "--format", "csv", "--shards", "2", "--shard", "$(JOB_COMPLETION_INDEX)",
							"--report", "--signing-key", flycheckv1.SigningKeyMountPath + "/" + flycheckv1.SigningKeyFileKey, "--quiet"},
						VolumeMounts: []corev1.VolumeMount{
							{Name: "source", MountPath: controllers.SourceMountPath, ReadOnly: true},
							{Name: "output", MountPath: controllers.OutputMountPath},
							{Name: "rules", MountPath: controllers.RulesMountPath, ReadOnly: true},
							{Name: "signing-key", MountPath: flycheckv1.SigningKeyMountPath, ReadOnly: true},
							{Name: "tmp", MountPath: "/tmp"},
						},
					}},
					Volumes: []corev1.Volume{
						{Name: "source", VolumeSource: corev1.VolumeSource{PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: "src", ReadOnly: true}}},
						{Name: "output", VolumeSource: corev1.VolumeSource{PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: "out"}}},
						{Name: "rules", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{
							LocalObjectReference: corev1.LocalObjectReference{Name: rulesCM.Name}}}},
						{Name: "signing-key", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: keySecret.Name}}},
						{Name: "tmp", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}},
					},
				},
			},
		},
	}
	if err := testEnv.Client.Create(ctx, job); err != nil {
		t.Fatal(err)
	}
	jobs := watchJobs(t, ctx, ns)
	_, said := startNodePlayer(t, workdir, false)

	testenv.Eventually(t, 60*time.Second, func() error {
		if err := testEnv.Client.Get(ctx, client.ObjectKeyFromObject(job), job); err != nil {
			return err
		}
		if conditionTrue(job.Status, batchv1.JobFailed) == nil {
			return fmt.Errorf("Job not failed: %+v", job.Status)
		}
		return nil
	})
	st := job.Status
	failed := conditionTrue(st, batchv1.JobFailed)
	target := conditionTrue(st, batchv1.JobFailureTarget)
	if failed.Reason != "FailedIndexes" || target == nil || target.Reason != "FailedIndexes" ||
		conditionTrue(st, batchv1.JobComplete) != nil || conditionTrue(st, batchv1.JobSuccessCriteriaMet) != nil {
		t.Errorf("conditions %+v: want FailureTarget and Failed, reason FailedIndexes", st.Conditions)
	}
	if st.CompletedIndexes != "0-1" || ptr.Deref(st.FailedIndexes, "") != "2" || st.Succeeded != 2 || st.Failed != 2 ||
		st.Active != 0 || st.CompletionTime != nil {
		t.Errorf("status: completed %q failed %v succeeded %d failed pods %d active %d completionTime %v",
			st.CompletedIndexes, st.FailedIndexes, st.Succeeded, st.Failed, st.Active, st.CompletionTime)
	}
	testenv.Eventually(t, 5*time.Second, func() error {
		if seen := jobs.statuses(); len(seen) == 0 || conditionTrue(seen[len(seen)-1], batchv1.JobFailed) == nil {
			return fmt.Errorf("the watch has not seen the Job fail")
		}
		return nil
	})
	sawTargetFirst := false
	for _, s := range jobs.statuses() {
		sawTargetFirst = sawTargetFirst || (conditionTrue(s, batchv1.JobFailureTarget) != nil && conditionTrue(s, batchv1.JobFailed) == nil)
	}
	if !sawTargetFirst {
		t.Error("FailureTarget was not written before Failed")
	}

	// Two failed pods of index 2, carrying the screener's error; shards 0
	// and 1 reported.
	var pods corev1.PodList
	if err := testEnv.Client.List(ctx, &pods, client.InNamespace(ns), client.MatchingLabels{batchv1.JobNameLabel: job.Name}); err != nil {
		t.Fatal(err)
	}
	failedPods := 0
	for _, p := range pods.Items {
		if p.Status.Phase != corev1.PodFailed {
			continue
		}
		failedPods++
		term := p.Status.ContainerStatuses[0].State.Terminated
		if p.Annotations[batchv1.JobCompletionIndexAnnotation] != "2" || term == nil || term.ExitCode != 1 ||
			!strings.Contains(term.Message, "out of range") {
			t.Errorf("failed pod %s (index %s): %+v", p.Name, p.Annotations[batchv1.JobCompletionIndexAnnotation], term)
		}
	}
	if failedPods != 2 || len(pods.Items) != 4 {
		t.Errorf("%d pods, %d failed; want 4 and 2", len(pods.Items), failedPods)
	}
	var results corev1.ConfigMapList
	if err := testEnv.Client.List(ctx, &results, client.InNamespace(ns), client.MatchingLabels{
		flycheckv1.LabelScreeningJob: owner.Name, flycheckv1.LabelRole: flycheckv1.RoleShard}); err != nil {
		t.Fatal(err)
	}
	reported := map[string]bool{}
	for _, cm := range results.Items {
		idx, _ := strconv.Atoi(cm.Labels[flycheckv1.LabelShard])
		if !screening.VerifyShardResult(key, string(owner.UID), idx, cm.BinaryData[flycheckv1.ShardResultKey], cm.BinaryData[flycheckv1.ShardSignatureKey]) {
			t.Errorf("shard result %s is not signed with the mounted key", cm.Name)
		}
		reported[cm.Labels[flycheckv1.LabelShard]] = true
	}
	if !reported["0"] || !reported["1"] || len(reported) != 2 {
		t.Errorf("shards reported %v, want 0 and 1", reported)
	}
	testenv.Eventually(t, 5*time.Second, func() error { // said after the status is written
		if !strings.Contains(said(), "attempt 2 of 2") || !strings.Contains(said(), "failed (FailedIndexes)") {
			return fmt.Errorf("node player output:\n%s", said())
		}
		return nil
	})
}

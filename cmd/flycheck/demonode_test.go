package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
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
	"sigs.k8s.io/controller-runtime/pkg/config"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	flycheckv1 "github.com/medfund/flycheck-operator/api/v1alpha1"
	"github.com/medfund/flycheck-operator/controllers"
	"github.com/medfund/flycheck-operator/internal/screening"
	"github.com/medfund/flycheck-operator/internal/synth"
)

func TestExpandKubeVars(t *testing.T) {
	vars := map[string]string{"JOB_COMPLETION_INDEX": "3", "A": "x$(B)", "EMPTY": ""}
	lookup := func(n string) (string, bool) { v, ok := vars[n]; return v, ok }
	for in, want := range map[string]string{
		"--shard":                            "--shard",
		"$(JOB_COMPLETION_INDEX)":            "3",
		"sj-shard-$(JOB_COMPLETION_INDEX)":   "sj-shard-3",
		"$(A)$(A)":                           "x$(B)x$(B)", // values are not expanded again
		"$(UNDEFINED)/x":                     "$(UNDEFINED)/x",
		"$$(JOB_COMPLETION_INDEX)":           "$(JOB_COMPLETION_INDEX)",
		"a$$b":                               "a$b",
		"$(EMPTY)-":                          "-",
		"cost $5":                            "cost $5",
		"open $(JOB_COMPLETION_INDEX":        "open $(JOB_COMPLETION_INDEX",
		"trailing $":                         "trailing $",
		"$()":                                "$()",
		"$(JOB_COMPLETION_INDEX)$(EMPTY)end": "3end",
	} {
		if got := expandKubeVars(in, lookup); got != want {
			t.Errorf("expand(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestRewriteMountPath(t *testing.T) {
	mounts := []mountPoint{ // longest first, as mountVolumes sorts them
		{path: "/data/source/extra", local: "/w/pvc/extra"},
		{path: "/data/source", local: "/w/pvc/claims"},
		{path: "/rules", local: "/w/node/p/volumes/rules"},
	}
	for in, want := range map[string]string{
		"/data/source":                       "/w/pvc/claims",
		"/data/source/extract":               "/w/pvc/claims/extract",
		"/data/source/extra/x":               "/w/pvc/extra/x",
		"/data/sourcefile":                   "/data/sourcefile",
		"/rules/rules.yaml":                  "/w/node/p/volumes/rules/rules.yaml",
		"--rules=/rules/rules.yaml":          "--rules=/w/node/p/volumes/rules/rules.yaml",
		"--input":                            "--input",
		"relative/data/source":               "relative/data/source",
		"--note=/elsewhere":                  "--note=/elsewhere",
		"name=/rules/x (not a flag)":         "name=/rules/x (not a flag)",
		"/data/output/findings/shard-0-of-2": "/data/output/findings/shard-0-of-2",
	} {
		if got := rewriteMountPath(in, mounts); got != want {
			t.Errorf("rewrite(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestFormatIndexSet(t *testing.T) {
	set := func(idx ...int) map[int]bool {
		m := map[int]bool{}
		for _, i := range idx {
			m[i] = true
		}
		return m
	}
	for want, in := range map[string]map[int]bool{
		"":            set(),
		"0":           set(0),
		"0-1":         set(1, 0),
		"0-3":         set(3, 1, 2, 0),
		"0,2-4,7":     set(7, 4, 3, 2, 0),
		"1,3,5-6,255": set(255, 6, 5, 3, 1),
	} {
		if got := formatIndexSet(in); got != want {
			t.Errorf("format(%v) = %q, want %q", in, got, want)
		}
	}
}

func TestContainerEnvResolvesFieldRefsAndExpansion(t *testing.T) {
	job := &batchv1.Job{ObjectMeta: metav1.ObjectMeta{Name: "sj", Namespace: "demo-wuxi", UID: "u-1"}}
	job.Spec.Template.Labels = map[string]string{"app": "screen"}
	c := &corev1.Container{Env: []corev1.EnvVar{
		{Name: flycheckv1.EnvCompletionIndex, ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{
			FieldPath: "metadata.annotations['batch.kubernetes.io/job-completion-index']"}}},
		{Name: flycheckv1.EnvPodNamespace, ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.namespace"}}},
		{Name: "APP", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.labels['app']"}}},
		{Name: "RESULT", Value: "sj-shard-$(JOB_COMPLETION_INDEX)-$(LATER)"},
		{Name: "LATER", Value: "x"},
	}}
	env, err := containerEnv(job, c, 2, "sj-2-abcde")
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, e := range env {
		got[e.Name] = e.Value
	}
	want := map[string]string{flycheckv1.EnvCompletionIndex: "2", flycheckv1.EnvPodNamespace: "demo-wuxi", "APP": "screen",
		"RESULT": "sj-shard-2-$(LATER)", "LATER": "x"}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %q, want %q", k, got[k], v)
		}
	}
	// JOB_COMPLETION_INDEX is there even when the template does not say so.
	env, err = containerEnv(job, &corev1.Container{}, 5, "p")
	if err != nil || len(env) != 1 || env[0].Name != flycheckv1.EnvCompletionIndex || env[0].Value != "5" {
		t.Errorf("implicit completion index: %v %v", env, err)
	}
	// What the node cannot answer is an error, not a silent empty value.
	_, err = containerEnv(job, &corev1.Container{Env: []corev1.EnvVar{{Name: "X", ValueFrom: &corev1.EnvVarSource{
		FieldRef: &corev1.ObjectFieldSelector{FieldPath: "status.hostIPs"}}}}}, 0, "p")
	if err == nil {
		t.Error("unsupported field reference accepted")
	}
}

// jobWatch records every status of a namespace's Jobs, as seen through a
// real watch.
type jobWatch struct {
	mu   sync.Mutex
	seen []batchv1.JobStatus
}

func watchJobs(t *testing.T, ctx context.Context, ns string) *jobWatch {
	t.Helper()
	w, err := kubernetes.NewForConfigOrDie(testCfg).BatchV1().Jobs(ns).Watch(ctx, metav1.ListOptions{})
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

// startNodePlayer plays the cluster's screening Jobs with this test binary
// as flycheck, until the test ends.
func startNodePlayer(t *testing.T, workdir string, impersonate bool) (*nodePlayer, func() string) {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var out strings.Builder
	say := func(format string, args ...any) {
		mu.Lock()
		defer mu.Unlock()
		fmt.Fprintf(&out, format+"\n", args...)
	}
	p := newNodePlayer(kubernetes.NewForConfigOrDie(testCfg), exe, workdir, testKubeconfig, 2, say)
	p.env = []string{runAsFlycheck}
	p.impersonate = impersonate
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.run(ctx) }()
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
	for _, f := range defaultRuleFiles(t) {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var rs flycheckv1.RuleSet
		if err := yaml.Unmarshal(data, &rs); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if err := testClient.Create(context.Background(), &rs); err != nil && !apierrors.IsAlreadyExists(err) {
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
	ns := newTestNamespace(t, "node-player")
	ruleSets := applyDefaultRuleSets(t)
	workdir := t.TempDir()
	extract := filepath.Join(workdir, "pvc", "claims", "extract")
	rulesCat := loadDefaultRules(t)
	cfg := synth.DefaultConfig()
	cfg.Seed, cfg.Cities, cfg.InstitutionsPerCity, cfg.FeeLines, cfg.ViolationRate = 5, 2, 20, 40_000, 0.02
	if _, err := synth.Generate(extract, synth.Options{Config: cfg, Rules: rulesCat, Format: synth.Parquet}); err != nil {
		t.Fatal(err)
	}

	mgr, err := ctrl.NewManager(testCfg, ctrl.Options{Scheme: newScheme(), Metrics: metricsserver.Options{BindAddress: "0"},
		Controller: config.Controller{SkipNameValidation: ptr.To(true)}})
	if err != nil {
		t.Fatal(err)
	}
	if err := (&controllers.ScreeningJobReconciler{Client: mgr.GetClient(), APIReader: mgr.GetAPIReader(), Clock: clock.RealClock{},
		Recorder: mgr.GetEventRecorder("screeningjob-test"), ScreenerImage: "flycheck:test"}).SetupWithManager(mgr); err != nil {
		t.Fatal(err)
	}
	mgrCtx, stopMgr := context.WithCancel(ctx)
	mgrDone := make(chan error, 1)
	go func() { mgrDone <- mgr.Start(mgrCtx) }()
	t.Cleanup(func() { stopMgr(); <-mgrDone })

	jobs := watchJobs(t, mgrCtx, ns)
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
	if err := testClient.Create(ctx, sj); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 90*time.Second, func() error {
		if err := testClient.Get(ctx, client.ObjectKeyFromObject(sj), sj); err != nil {
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
	if err := testClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: controllers.JobName(sj.Name)}, &job); err != nil {
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
	waitFor(t, 5*time.Second, func() error {
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
	if peak := player.peakProcesses(); peak != 2 {
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
	if err := testClient.List(ctx, &pods, client.InNamespace(ns), client.MatchingLabels{batchv1.JobNameLabel: job.Name}); err != nil {
		t.Fatal(err)
	}
	var indexes []string
	for _, p := range pods.Items {
		indexes = append(indexes, p.Annotations[batchv1.JobCompletionIndexAnnotation])
		if p.Status.Phase != corev1.PodSucceeded || !metav1.IsControlledBy(&p, &job) || p.Spec.NodeName != demoNodeName ||
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
	ns := newTestNamespace(t, "node-player-fail")
	workdir := t.TempDir()
	cfg := synth.DefaultConfig()
	cfg.Seed, cfg.Cities, cfg.InstitutionsPerCity, cfg.FeeLines = 3, 1, 8, 5_000
	if _, err := synth.Generate(filepath.Join(workdir, "pvc", "src", "extract"), synth.Options{Config: cfg, Format: synth.CSV}); err != nil {
		t.Fatal(err)
	}
	var catalogue []string
	for _, f := range defaultRuleFiles(t) {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		catalogue = append(catalogue, string(data))
	}
	rulesCM := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "broken-rules", Namespace: ns},
		Data: map[string]string{flycheckv1.RulesFileKey: strings.Join(catalogue, "\n---\n")}}
	owner := createOwnerScreeningJob(t, ns, "broken")
	if err := testClient.Create(ctx, rulesCM); err != nil {
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
							"--result-configmap", "broken-shard-$(JOB_COMPLETION_INDEX)", "--quiet"},
						VolumeMounts: []corev1.VolumeMount{
							{Name: "source", MountPath: controllers.SourceMountPath, ReadOnly: true},
							{Name: "output", MountPath: controllers.OutputMountPath},
							{Name: "rules", MountPath: controllers.RulesMountPath, ReadOnly: true},
							{Name: "tmp", MountPath: "/tmp"},
						},
					}},
					Volumes: []corev1.Volume{
						{Name: "source", VolumeSource: corev1.VolumeSource{PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: "src", ReadOnly: true}}},
						{Name: "output", VolumeSource: corev1.VolumeSource{PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: "out"}}},
						{Name: "rules", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{
							LocalObjectReference: corev1.LocalObjectReference{Name: rulesCM.Name}}}},
						{Name: "tmp", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}},
					},
				},
			},
		},
	}
	if err := testClient.Create(ctx, job); err != nil {
		t.Fatal(err)
	}
	jobs := watchJobs(t, ctx, ns)
	_, said := startNodePlayer(t, workdir, false)

	waitFor(t, 60*time.Second, func() error {
		if err := testClient.Get(ctx, client.ObjectKeyFromObject(job), job); err != nil {
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
	waitFor(t, 5*time.Second, func() error {
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
	if err := testClient.List(ctx, &pods, client.InNamespace(ns), client.MatchingLabels{batchv1.JobNameLabel: job.Name}); err != nil {
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
	for _, name := range []string{"broken-shard-0", "broken-shard-1"} {
		var cm corev1.ConfigMap
		if err := testClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, &cm); err != nil {
			t.Errorf("shard result %s: %v", name, err)
		}
	}
	waitFor(t, 5*time.Second, func() error { // said after the status is written
		if !strings.Contains(said(), "attempt 2 of 2") || !strings.Contains(said(), "failed (FailedIndexes)") {
			return fmt.Errorf("node player output:\n%s", said())
		}
		return nil
	})
}

package controllers

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	authorizationv1 "k8s.io/api/authorization/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	clocktesting "k8s.io/utils/clock/testing"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	flycheckv1 "github.com/medfund/flycheck-operator/api/v1alpha1"
	"github.com/medfund/flycheck-operator/api/v1alpha1/rules"
	"github.com/medfund/flycheck-operator/controllers/testenv"
	"github.com/medfund/flycheck-operator/internal/sampling"
	"github.com/medfund/flycheck-operator/internal/screening"
)

// createCatalogueRuleSet installs one of the repository's default RuleSets.
func createCatalogueRuleSet(t *testing.T, file string) *flycheckv1.RuleSet {
	t.Helper()
	cat, err := rules.LoadFiles(filepath.Join("..", "config", "rules", file))
	if err != nil {
		t.Fatal(err)
	}
	set := cat.Sets[0]
	rs := &flycheckv1.RuleSet{ObjectMeta: metav1.ObjectMeta{Name: set.Name}, Spec: set.Spec}
	if err := k8sClient.Create(context.Background(), rs); err != nil && !strings.Contains(err.Error(), "already exists") {
		t.Fatal(err)
	}
	return rs
}

// sjOperatorNS holds the signing key Secret of the ScreeningJob tests.
const sjOperatorNS = "sj-operator"

func newSJReconciler() *ScreeningJobReconciler {
	err := k8sClient.Create(context.Background(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: sjOperatorNS}})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		panic(err)
	}
	return &ScreeningJobReconciler{Client: k8sClient, APIReader: k8sClient, Clock: clocktesting.NewFakeClock(time.Date(2026, 5, 1, 9, 0, 0, 0, time.UTC)),
		Recorder: recorder, ScreenerImage: "registry.example/flycheck:test", OperatorNamespace: sjOperatorNS}
}

func reconcileSJ(t *testing.T, r *ScreeningJobReconciler, ns, name string) {
	t.Helper()
	if _, err := r.Reconcile(context.Background(), ctrl.Request{NamespacedName: types.NamespacedName{Namespace: ns, Name: name}}); err != nil {
		t.Fatalf("reconcile %s/%s: %v", ns, name, err)
	}
}

func testScreeningJob(ns, name string, shards int32, ruleSets ...string) *flycheckv1.ScreeningJob {
	return &flycheckv1.ScreeningJob{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name,
			Labels: map[string]string{flycheckv1.LabelCampaign: "jiangsu-2020", flycheckv1.LabelCity: "nanjing"}},
		Spec: flycheckv1.ScreeningJobSpec{
			CityCode:   "320100",
			DataWindow: &flycheckv1.DataWindow{From: "2019-01-01", To: "2019-12-31"},
			Source:     flycheckv1.DataSource{PersistentVolumeClaim: "claims", Path: "extracts/2019", Format: flycheckv1.FormatParquet},
			Output:     flycheckv1.OutputLocation{PersistentVolumeClaim: "findings", Path: "2019/nanjing"},
			RuleSets:   ruleSets,
			Shards:     shards,
		},
	}
}

func getSJ(t *testing.T, ns, name string) *flycheckv1.ScreeningJob {
	t.Helper()
	var sj flycheckv1.ScreeningJob
	if err := k8sClient.Get(context.Background(), types.NamespacedName{Namespace: ns, Name: name}, &sj); err != nil {
		t.Fatal(err)
	}
	return &sj
}

func TestScreeningJobCreatesOneJobAndSnapshot(t *testing.T) {
	ns := "sj-create"
	createNamespace(t, ns)
	dup := createCatalogueRuleSet(t, "duplicate-charge.yaml")
	bps := createCatalogueRuleSet(t, "beyond-payment-scope.yaml")
	sj := testScreeningJob(ns, "jiangsu-2020-dataanalysis-nanjing", 4, dup.Name, bps.Name)
	if err := k8sClient.Create(context.Background(), sj); err != nil {
		t.Fatal(err)
	}
	r := newSJReconciler()
	reconcileSJ(t, r, ns, sj.Name)

	var jobs batchv1.JobList
	if err := k8sClient.List(context.Background(), &jobs, client.InNamespace(ns)); err != nil {
		t.Fatal(err)
	}
	if len(jobs.Items) != 1 {
		t.Fatalf("%d Jobs, want 1", len(jobs.Items))
	}
	job := jobs.Items[0]
	if job.Name != sj.Name || !metav1.IsControlledBy(&job, getSJ(t, ns, sj.Name)) {
		t.Errorf("Job %s is not named after and owned by the ScreeningJob", job.Name)
	}
	spec := job.Spec
	if ptr.Deref(spec.CompletionMode, "") != batchv1.IndexedCompletion || *spec.Completions != 4 || *spec.Parallelism != 4 {
		t.Errorf("completion mode %v, completions %d, parallelism %d; want Indexed 4/4", spec.CompletionMode, *spec.Completions, *spec.Parallelism)
	}
	pod := spec.Template.Spec
	c := pod.Containers[0]
	if c.Image != "registry.example/flycheck:test" || pod.ServiceAccountName != flycheckv1.ScreenerServiceAccount {
		t.Errorf("image %s, service account %s", c.Image, pod.ServiceAccountName)
	}
	if !ptr.Deref(pod.SecurityContext.RunAsNonRoot, false) || !ptr.Deref(c.SecurityContext.ReadOnlyRootFilesystem, false) ||
		ptr.Deref(c.SecurityContext.AllowPrivilegeEscalation, true) || !slices.Contains(c.SecurityContext.Capabilities.Drop, "ALL") {
		t.Errorf("pod security context is not restricted: %+v / %+v", pod.SecurityContext, c.SecurityContext)
	}
	args := strings.Join(c.Args, " ")
	for _, want := range []string{"screen ", "--input /data/source/extracts/2019", "--output /data/output/2019/nanjing --overwrite",
		"--shards 4", "--shard $(JOB_COMPLETION_INDEX)", "--report",
		"--city 320100", "--from 2019-01-01", "--to 2019-12-31", "--format parquet", "--rules /rules/rules.yaml"} {
		if !strings.Contains(args, want) {
			t.Errorf("args %q lack %q", args, want)
		}
	}
	mounts := map[string]corev1.VolumeMount{}
	for _, m := range c.VolumeMounts {
		mounts[m.Name] = m
	}
	if !mounts["source"].ReadOnly || mounts["output"].ReadOnly || !mounts["rules"].ReadOnly || !mounts["signing-key"].ReadOnly {
		t.Errorf("mounts: source and signing key must be read-only, output writable: %+v", mounts)
	}
	// The signing key: a Secret under a generated name, owned by the
	// ScreeningJob, holding the key derived for this job only.
	var keySecret corev1.Secret
	for _, v := range pod.Volumes {
		if v.Name == "signing-key" && v.Secret != nil {
			if err := k8sClient.Get(context.Background(), types.NamespacedName{Namespace: ns, Name: v.Secret.SecretName}, &keySecret); err != nil {
				t.Fatal(err)
			}
		}
	}
	wantKey, err := r.jobKey(context.Background(), getSJ(t, ns, sj.Name))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(keySecret.Data[flycheckv1.SigningKeyFileKey], wantKey) || !metav1.IsControlledBy(&keySecret, getSJ(t, ns, sj.Name)) ||
		keySecret.Name != signingSecretName(sj.Name, wantKey) {
		t.Errorf("signing key Secret %q (owned %v) does not carry this job's key under a name derived from it", keySecret.Name,
			metav1.IsControlledBy(&keySecret, getSJ(t, ns, sj.Name)))
	}

	// The rules snapshot: one immutable ConfigMap whose hash is in status.
	var cms corev1.ConfigMapList
	if err := k8sClient.List(context.Background(), &cms, client.InNamespace(ns), client.MatchingLabels{flycheckv1.LabelRole: flycheckv1.RoleRules}); err != nil {
		t.Fatal(err)
	}
	if len(cms.Items) != 1 {
		t.Fatalf("%d rules snapshots, want 1", len(cms.Items))
	}
	snap := cms.Items[0]
	sum := sha256.Sum256([]byte(snap.Data[flycheckv1.RulesFileKey]))
	got := getSJ(t, ns, sj.Name)
	if got.Status.RulesDigest != hex.EncodeToString(sum[:]) || got.Status.RulesConfigMap != snap.Name || !ptr.Deref(snap.Immutable, false) {
		t.Errorf("status digest %s / configmap %s do not match snapshot %s (immutable %v)", got.Status.RulesDigest, got.Status.RulesConfigMap, snap.Name, snap.Immutable)
	}
	// The snapshot is a rule file the screener reads back.
	sets, err := rules.Parse("snapshot", []byte(snap.Data[flycheckv1.RulesFileKey]))
	if err != nil || len(sets) != 2 || sets[0].Name != dup.Name {
		t.Errorf("snapshot does not parse back into the two RuleSets: %v %v", sets, err)
	}
	if got.Status.State != flycheckv1.ScreeningRunning || got.Status.Shards.Total != 4 {
		t.Errorf("state %s shards %+v", got.Status.State, got.Status.Shards)
	}

	// Reconciling again changes nothing.
	rv, jobRV := got.ResourceVersion, job.ResourceVersion
	reconcileSJ(t, r, ns, sj.Name)
	reconcileSJ(t, r, ns, sj.Name)
	if err := k8sClient.List(context.Background(), &jobs, client.InNamespace(ns)); err != nil {
		t.Fatal(err)
	}
	if len(jobs.Items) != 1 || jobs.Items[0].ResourceVersion != jobRV || getSJ(t, ns, sj.Name).ResourceVersion != rv {
		t.Error("a second reconcile wrote something")
	}
	if err := k8sClient.List(context.Background(), &cms, client.InNamespace(ns), client.MatchingLabels{flycheckv1.LabelRole: flycheckv1.RoleRules}); err != nil || len(cms.Items) != 1 {
		t.Errorf("snapshots after re-reconcile: %d (%v)", len(cms.Items), err)
	}

	// The pod template passes the restricted Pod Security Standard: the real
	// PodSecurity admission of the apiserver enforces it on this namespace.
	restricted := "sj-restricted"
	if err := k8sClient.Create(context.Background(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: restricted,
		Labels: map[string]string{"pod-security.kubernetes.io/enforce": "restricted"}}}); err != nil {
		t.Fatal(err)
	}
	p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: restricted, Name: "shard-0"}, Spec: *job.Spec.Template.Spec.DeepCopy()}
	p.Spec.ServiceAccountName = ""
	if err := k8sClient.Create(context.Background(), p, client.DryRunAll); err != nil {
		t.Errorf("the shard pod is refused by the restricted Pod Security Standard: %v", err)
	}
	bad := p.DeepCopy()
	bad.Spec.Containers[0].SecurityContext.AllowPrivilegeEscalation = ptr.To(true)
	if err := k8sClient.Create(context.Background(), bad, client.DryRunAll); err == nil {
		t.Error("PodSecurity admission is not enforcing: a privileged-escalation pod was accepted")
	}

	// Spec is immutable.
	got.Spec.Shards = 8
	if err := k8sClient.Update(context.Background(), got); err == nil || !strings.Contains(err.Error(), "spec is immutable") {
		t.Errorf("changing spec.shards: %v", err)
	}
}

// shardResultConfigMap is what a shard pod writes (cmd/flycheck screen
// --report): signed with the job's key, under a generated name.
func shardResultConfigMap(t *testing.T, r *ScreeningJobReconciler, sj *flycheckv1.ScreeningJob, idx int, insts ...screening.InstitutionSummary) *corev1.ConfigMap {
	t.Helper()
	return shardResultConfigMapWith(t, r, sj, idx, nil, insts...)
}

// shardResultConfigMapWith is shardResultConfigMap with the shard's stats
// changed by mod before they are signed.
func shardResultConfigMapWith(t *testing.T, r *ScreeningJobReconciler, sj *flycheckv1.ScreeningJob, idx int, mod func(*screening.Stats), insts ...screening.InstitutionSummary) *corev1.ConfigMap {
	t.Helper()
	stats := &screening.Stats{Shard: idx, Shards: int(sj.Spec.Shards), FindingsByCat: map[string]int64{}}
	var atRisk int64
	for _, in := range insts {
		stats.LinesInScope += in.Lines
		stats.Findings += in.Findings
		for k, v := range in.FindingsByCategory {
			stats.FindingsByCat[k] += v
		}
		v, err := rules.ParseDecimal(in.AmountAtRisk)
		if err != nil {
			t.Fatal(err)
		}
		atRisk += v
	}
	stats.LinesRejected = 1
	stats.AmountAtRisk = fmt.Sprintf("%d.%02d", atRisk/10000, atRisk%10000/100)
	if mod != nil {
		mod(stats)
	}
	data, err := screening.EncodeShardResult(screening.ShardResult{Summary: &screening.Summary{Institutions: insts}, Stats: stats})
	if err != nil {
		t.Fatal(err)
	}
	key, err := r.jobKey(context.Background(), sj)
	if err != nil {
		t.Fatal(err)
	}
	return &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Namespace: sj.Namespace, GenerateName: ShardResultPrefix(sj.Name, idx),
			Labels:          map[string]string{flycheckv1.LabelScreeningJob: sj.Name, flycheckv1.LabelRole: flycheckv1.RoleShard, flycheckv1.LabelShard: fmt.Sprint(idx)},
			OwnerReferences: []metav1.OwnerReference{*metav1.NewControllerRef(sj, flycheckv1.GroupVersion.WithKind("ScreeningJob"))}},
		BinaryData: map[string][]byte{flycheckv1.ShardResultKey: data,
			flycheckv1.ShardSignatureKey: screening.SignShardResult(key, string(sj.UID), idx, data)},
	}
}

func inst(code string, level int, findings int64, atRisk, risk string) screening.InstitutionSummary {
	by := map[string]int64{}
	if findings > 0 {
		by["DuplicateCharge"] = findings
	}
	return screening.InstitutionSummary{Code: code, Name: "医院" + code, CityCode: "320100", Level: level, Ownership: "public",
		Type: "hospital", Lines: 100, Findings: findings, FindingsByCategory: by, AmountAtRisk: atRisk, RiskScore: risk, ScreenedAmount: "1000.00"}
}

// setJobStatus writes a Job's status as the Job controller would.
func setJobStatus(t *testing.T, job *batchv1.Job, mutate func(*batchv1.JobStatus)) {
	t.Helper()
	var cur batchv1.Job
	if err := k8sClient.Get(context.Background(), client.ObjectKeyFromObject(job), &cur); err != nil {
		t.Fatal(err)
	}
	mutate(&cur.Status)
	if err := k8sClient.Status().Update(context.Background(), &cur); err != nil {
		t.Fatalf("writing Job status: %v", err)
	}
}

func TestScreeningJobFollowsShardsToTheFrame(t *testing.T) {
	ns := "sj-drive"
	createNamespace(t, ns)
	dup := createCatalogueRuleSet(t, "duplicate-charge.yaml")
	sj := testScreeningJob(ns, "drive", 3, dup.Name)
	if err := k8sClient.Create(context.Background(), sj); err != nil {
		t.Fatal(err)
	}
	r := newSJReconciler()
	reconcileSJ(t, r, ns, sj.Name)
	sj = getSJ(t, ns, sj.Name)
	job := &batchv1.Job{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: sj.Status.JobName}}
	start := metav1.NewTime(time.Now().Add(-time.Minute).Truncate(time.Second))
	setJobStatus(t, job, func(s *batchv1.JobStatus) { s.StartTime = &start; s.Active = 3 })

	// Shards finish out of order: 2 first, then 0.
	for _, step := range []struct {
		idx       int
		insts     []screening.InstitutionSummary
		succeeded int32
		indexes   string
	}{
		{2, []screening.InstitutionSummary{inst("H32010000003", 3, 2, "40.00", "0.400000"), inst("P32010000009", 0, 0, "0.00", "0.000000")}, 1, "2"},
		{0, []screening.InstitutionSummary{inst("H32010000001", 3, 0, "0.00", "0.000000")}, 2, "0,2"},
	} {
		// Shard 2 outgrew its memory limit (and raised it): a Warning.
		overMemory := func(st *screening.Stats) {
			if step.idx == 2 {
				st.MemoryLimitBytes, st.LiveHeapBytes, st.MemoryLimitRaisedTo = 768<<20, 900<<20, 1125<<20
			}
		}
		if err := k8sClient.Create(context.Background(), shardResultConfigMapWith(t, r, sj, step.idx, overMemory, step.insts...)); err != nil {
			t.Fatal(err)
		}
		reconcileSJ(t, r, ns, sj.Name)
		got := getSJ(t, ns, sj.Name)
		if got.Status.Shards.Succeeded != step.succeeded || got.Status.Shards.CompletedIndexes != step.indexes || got.Status.State != flycheckv1.ScreeningRunning {
			t.Errorf("after shard %d: shards %+v state %s", step.idx, got.Status.Shards, got.Status.State)
		}
		assertSJCondition(t, got, flycheckv1.ConditionReconciling, metav1.ConditionTrue, ScreeningJobReasonRunning)
	}
	// A stray ConfigMap with the labels but a forged signature is refused.
	stray := shardResultConfigMap(t, r, sj, 1, inst("H99999999999", 3, 9, "999.00", "1.000000"))
	stray.GenerateName, stray.Name = "", "drive-shard-one"
	stray.BinaryData[flycheckv1.ShardSignatureKey] = []byte("forged")
	if err := k8sClient.Create(context.Background(), stray); err != nil {
		t.Fatal(err)
	}
	if err := k8sClient.Create(context.Background(), shardResultConfigMap(t, r, sj, 1,
		inst("H32010000002", 2, 1, "12.50", "0.300000"), inst("H32010000004", 3, 0, "0.00", "0.000000"))); err != nil {
		t.Fatal(err)
	}
	done := metav1.NewTime(time.Now().Truncate(time.Second))
	setJobStatus(t, job, func(s *batchv1.JobStatus) {
		s.Active, s.Succeeded, s.CompletedIndexes, s.CompletionTime = 0, 3, "0-2", &done
		s.Conditions = []batchv1.JobCondition{
			{Type: batchv1.JobSuccessCriteriaMet, Status: corev1.ConditionTrue, LastTransitionTime: done, LastProbeTime: done},
			{Type: batchv1.JobComplete, Status: corev1.ConditionTrue, LastTransitionTime: done, LastProbeTime: done},
		}
	})
	reconcileSJ(t, r, ns, sj.Name)
	got := getSJ(t, ns, sj.Name)
	st := got.Status
	if st.State != flycheckv1.ScreeningSucceeded || st.Shards.Succeeded != 3 || st.LinesScanned != 500 || st.LinesRejected != 3 ||
		st.Findings.Total != 3 || st.Findings.ByCategory["DuplicateCharge"] != 3 || st.Findings.SuspectAmount != "52.50" ||
		st.Institutions.Total != 5 || st.Institutions.Flagged != 2 || st.CompletionTime == nil {
		t.Errorf("final status %+v", st)
	}
	assertSJCondition(t, got, flycheckv1.ConditionReady, metav1.ConditionTrue, ScreeningJobReasonSucceeded)

	// The frame: every institution of every shard, with its risk.
	var frameCM corev1.ConfigMap
	if err := k8sClient.Get(context.Background(), types.NamespacedName{Namespace: ns, Name: st.FrameConfigMap}, &frameCM); err != nil {
		t.Fatal(err)
	}
	frameCSV, err := FrameCSV(&frameCM)
	if err != nil {
		t.Fatal(err)
	}
	frame, err := sampling.ReadFrame(bytes.NewReader(frameCSV))
	if err != nil {
		t.Fatal(err)
	}
	if digest, _ := sampling.Digest(frame); st.FrameDigest != digest || !strings.HasSuffix(st.FrameConfigMap, digest[:10]) {
		t.Errorf("frameDigest %q and frame %s, want the digest %s of the frame", st.FrameDigest, st.FrameConfigMap, digest)
	}
	if st.RefusedResults == nil || st.RefusedResults.Count != 1 || st.RefusedResults.Recent[0].Name != "drive-shard-one" {
		t.Errorf("refused results %+v, want the forged drive-shard-one", st.RefusedResults)
	}
	var codes []string
	for _, in := range frame {
		codes = append(codes, in.Code+"="+in.Risk.String())
	}
	want := []string{"H32010000001=0.000000", "H32010000002=0.300000", "H32010000003=0.400000", "H32010000004=0.000000", "P32010000009=0.000000"}
	if !slices.Equal(codes, want) {
		t.Errorf("frame %v, want %v", codes, want)
	}
	if !metav1.IsControlledBy(&frameCM, got) {
		t.Error("frame ConfigMap is not owned by the ScreeningJob")
	}
	waitForSJEvents(t, ns, sj.Name, map[string]int{ScreeningJobReasonRulesSnapshotted: 1, ScreeningJobReasonJobCreated: 1, ScreeningJobReasonShardFinished: 3, ScreeningJobReasonSucceeded: 1, ScreeningJobReasonResultRefused: 1,
		ScreeningJobReasonShardOverMemory: 1})
}

func TestScreeningJobFailedShard(t *testing.T) {
	ns := "sj-fail"
	createNamespace(t, ns)
	dup := createCatalogueRuleSet(t, "duplicate-charge.yaml")
	sj := testScreeningJob(ns, "fail", 2, dup.Name)
	if err := k8sClient.Create(context.Background(), sj); err != nil {
		t.Fatal(err)
	}
	r := newSJReconciler()
	reconcileSJ(t, r, ns, sj.Name)
	sj = getSJ(t, ns, sj.Name)
	if err := k8sClient.Create(context.Background(), shardResultConfigMap(t, r, sj, 0, inst("H32010000001", 3, 0, "0.00", "0.000000"))); err != nil {
		t.Fatal(err)
	}
	// Shard 1's pod failed: the pod and the Job say so, as a cluster would.
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "fail-1-x7k2p",
			Labels:      map[string]string{batchv1.JobNameLabel: sj.Status.JobName},
			Annotations: map[string]string{batchv1.JobCompletionIndexAnnotation: "1"}},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "screen", Image: "x"}}, RestartPolicy: corev1.RestartPolicyNever},
	}
	if err := k8sClient.Create(context.Background(), pod); err != nil {
		t.Fatal(err)
	}
	pod.Status = corev1.PodStatus{Phase: corev1.PodFailed, ContainerStatuses: []corev1.ContainerStatus{{Name: "screen",
		State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 1, Reason: "Error",
			Message: "flycheck: fee_lines.parquet: missing column hilist_code"}}}}}
	if err := k8sClient.Status().Update(context.Background(), pod); err != nil {
		t.Fatal(err)
	}
	job := &batchv1.Job{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: sj.Status.JobName}}
	start := metav1.NewTime(time.Now().Add(-time.Minute).Truncate(time.Second))
	setJobStatus(t, job, func(s *batchv1.JobStatus) {
		s.StartTime, s.Active, s.Failed, s.FailedIndexes = &start, 0, 1, ptr.To("1")
	})
	reconcileSJ(t, r, ns, sj.Name)
	got := getSJ(t, ns, sj.Name)
	if got.Status.State != flycheckv1.ScreeningFailed || len(got.Status.FailedShards) != 1 || got.Status.FailedShards[0].Index != 1 ||
		!strings.Contains(got.Status.FailedShards[0].Reason, "missing column hilist_code") {
		t.Errorf("status %+v", got.Status)
	}
	assertSJCondition(t, got, flycheckv1.ConditionStalled, metav1.ConditionTrue, ScreeningJobReasonFailed)
	if got.Status.FrameConfigMap != "" {
		t.Error("a failed ScreeningJob wrote a frame")
	}
	waitForSJEvents(t, ns, sj.Name, map[string]int{ScreeningJobReasonRulesSnapshotted: 1, ScreeningJobReasonJobCreated: 1, ScreeningJobReasonShardFinished: 1, ScreeningJobReasonFailed: 1})
}

func TestScreeningJobWaitsForMissingRuleSet(t *testing.T) {
	ns := "sj-missing"
	createNamespace(t, ns)
	sj := testScreeningJob(ns, "waits", 1, "arrives-later")
	if err := k8sClient.Create(context.Background(), sj); err != nil {
		t.Fatal(err)
	}
	r := newSJReconciler()
	reconcileSJ(t, r, ns, sj.Name)
	got := getSJ(t, ns, sj.Name)
	// A RuleSet that is not there yet can still appear (GitOps applies in
	// any order): the job waits (Reconciling), it is not Stalled.
	assertSJCondition(t, got, flycheckv1.ConditionReconciling, metav1.ConditionTrue, ScreeningJobReasonRuleSetNotFound)
	assertSJCondition(t, got, flycheckv1.ConditionStalled, metav1.ConditionFalse, ReasonUpToDate)
	if !strings.Contains(meta.FindStatusCondition(got.Status.Conditions, flycheckv1.ConditionReady).Message, "arrives-later") {
		t.Error("the Ready message does not name the RuleSet")
	}
	var jobs batchv1.JobList
	if err := k8sClient.List(context.Background(), &jobs, client.InNamespace(ns)); err != nil || len(jobs.Items) != 0 {
		t.Fatalf("a Job was created without rules (%d, %v)", len(jobs.Items), err)
	}

	cat, err := rules.LoadFiles(filepath.Join("..", "config", "rules", "duplicate-charge.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	rs := &flycheckv1.RuleSet{ObjectMeta: metav1.ObjectMeta{Name: "arrives-later"}, Spec: cat.Sets[0].Spec}
	if err := k8sClient.Create(context.Background(), rs); err != nil {
		t.Fatal(err)
	}
	// The watch maps the new RuleSet to the waiting job (through the
	// manager cache's index, once the cache has seen the job)...
	waiting := &ScreeningJobReconciler{Client: indexedClient(t, screeningJobWaitingIndex)}
	testenv.Eventually(t, 5*time.Second, func() error {
		reqs := waiting.jobsWaitingForRuleSet(context.Background(), rs)
		if !slices.ContainsFunc(reqs, func(q ctrl.Request) bool { return q.Name == sj.Name && q.Namespace == ns }) {
			return fmt.Errorf("RuleSet event maps to %v, not to the waiting job", reqs)
		}
		return nil
	})
	// ...whose next reconcile starts it.
	reconcileSJ(t, r, ns, sj.Name)
	got = getSJ(t, ns, sj.Name)
	assertSJCondition(t, got, flycheckv1.ConditionStalled, metav1.ConditionFalse, "")
	if got.Status.JobName == "" || got.Status.State != flycheckv1.ScreeningRunning {
		t.Errorf("after the RuleSet appeared: %+v", got.Status)
	}
}

func TestScreenerIdentityCanOnlyWriteConfigMaps(t *testing.T) {
	ns := "sj-rbac"
	createNamespace(t, ns)
	if err := newSJReconciler().ensureScreenerIdentity(context.Background(), ns); err != nil {
		t.Fatal(err)
	}
	user := fmt.Sprintf("system:serviceaccount:%s:%s", ns, flycheckv1.ScreenerServiceAccount)
	can := func(namespace, verb, group, resource string) bool {
		sar := &authorizationv1.SubjectAccessReview{Spec: authorizationv1.SubjectAccessReviewSpec{
			User:               user,
			Groups:             []string{"system:serviceaccounts", "system:serviceaccounts:" + ns, "system:authenticated"},
			ResourceAttributes: &authorizationv1.ResourceAttributes{Namespace: namespace, Verb: verb, Group: group, Resource: resource},
		}}
		if err := k8sClient.Create(context.Background(), sar); err != nil {
			t.Fatal(err)
		}
		return sar.Status.Allowed
	}
	// The authorizer learns of new Roles through its informers: wait for it.
	testenv.Eventually(t, 5*time.Second, func() error {
		if !can(ns, "create", "", "configmaps") {
			return fmt.Errorf("the screener cannot create its result ConfigMap")
		}
		return nil
	})
	for _, denied := range []struct{ ns, verb, group, resource string }{
		{ns, "get", "", "secrets"}, {ns, "list", "", "secrets"}, {ns, "get", "", "configmaps"},
		{ns, "update", "", "configmaps"}, {ns, "delete", "", "configmaps"}, {ns, "create", "", "pods"},
		{ns, "create", "batch", "jobs"}, {ns, "patch", "flycheck.medfund.io", "screeningjobs"},
		{"default", "create", "", "configmaps"},
	} {
		if can(denied.ns, denied.verb, denied.group, denied.resource) {
			t.Errorf("the screener may %s %s %s in %s", denied.verb, denied.group, denied.resource, denied.ns)
		}
	}
}

func assertSJCondition(t *testing.T, sj *flycheckv1.ScreeningJob, typ string, status metav1.ConditionStatus, reason string) {
	t.Helper()
	c := meta.FindStatusCondition(sj.Status.Conditions, typ)
	if c == nil || c.Status != status || (reason != "" && c.Reason != reason) || c.ObservedGeneration != sj.Generation {
		t.Errorf("%s condition %+v, want %s/%s", typ, c, status, reason)
	}
}

// waitForSJEvents waits until the ScreeningJob's events have the wanted
// count per reason (series of identical events counted by their count).
func waitForSJEvents(t *testing.T, ns, name string, want map[string]int) {
	t.Helper()
	testenv.Eventually(t, 10*time.Second, func() error {
		var list corev1.EventList
		if err := k8sClient.List(context.Background(), &list, client.InNamespace(ns)); err != nil {
			return err
		}
		got := map[string]int{}
		for _, e := range list.Items {
			if e.InvolvedObject.Kind == "ScreeningJob" && e.InvolvedObject.Name == name {
				got[e.Reason]++
			}
		}
		for k, v := range want {
			if got[k] != v {
				return fmt.Errorf("events %v, want %v", got, want)
			}
		}
		return nil
	})
}

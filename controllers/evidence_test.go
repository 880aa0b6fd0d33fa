package controllers

import (
	"bytes"
	"compress/gzip"
	"context"
	"runtime"
	"strings"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	flycheckv1 "github.com/medfund/flycheck-operator/api/v1alpha1"
	"github.com/medfund/flycheck-operator/internal/sampling"
	"github.com/medfund/flycheck-operator/internal/screening"
)

// The evidence chain (DESIGN §11) against someone who may create ConfigMaps
// in a city namespace: none of the objects below can choose the city's frame
// or its figures, and none blocks the genuine results.

// gzipBomb is a tiny gzip stream that inflates to 64 MiB.
func gzipBomb(t *testing.T) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	zero := make([]byte, 1<<20)
	for range 64 {
		if _, err := zw.Write(zero); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// completeJob marks the ScreeningJob's Job complete, as the Job controller
// would once every index succeeded.
func completeJob(t *testing.T, sj *flycheckv1.ScreeningJob, shards int) {
	t.Helper()
	job := &batchv1.Job{ObjectMeta: metav1.ObjectMeta{Namespace: sj.Namespace, Name: sj.Status.JobName}}
	now := metav1.NewTime(time.Now().Truncate(time.Second))
	setJobStatus(t, job, func(s *batchv1.JobStatus) {
		s.StartTime, s.CompletionTime, s.Succeeded = &now, &now, int32(shards)
		s.Conditions = []batchv1.JobCondition{
			{Type: batchv1.JobSuccessCriteriaMet, Status: corev1.ConditionTrue, LastTransitionTime: now, LastProbeTime: now},
			{Type: batchv1.JobComplete, Status: corev1.ConditionTrue, LastTransitionTime: now, LastProbeTime: now},
		}
	})
}

func TestEvidenceChainRefusesForgeries(t *testing.T) {
	ctx := context.Background()
	ns := "evidence"
	createNamespace(t, ns)
	dup := createCatalogueRuleSet(t, "duplicate-charge.yaml")
	sj := testScreeningJob(ns, "evidence", 2, dup.Name)
	mustCreate(t, sj)
	r := newSJReconciler()
	reconcileSJ(t, r, ns, sj.Name)
	sj = getSJ(t, ns, sj.Name)

	genuine := [][]screening.InstitutionSummary{
		{inst("H32010000001", 3, 2, "40.00", "0.400000"), inst("H32010000002", 3, 0, "0.00", "0.000000")},
		{inst("H32010000003", 2, 1, "12.50", "0.300000"), inst("P32010000004", 0, 0, "0.00", "0.000000")},
	}
	fake := inst("H99999999999", 3, 9, "999.00", "1.000000")
	fake.Lines = 999_999_999

	// The adversary's objects, all labelled as this job's shard results
	// and owned by it (anyone may write an owner reference).
	forged := shardResultConfigMap(t, r, sj, 0, fake)
	delete(forged.BinaryData, flycheckv1.ShardSignatureKey)
	otherKey := shardResultConfigMap(t, r, sj, 1, fake)
	otherKey.BinaryData[flycheckv1.ShardSignatureKey] = screening.SignShardResult([]byte("not the job's key, 32 bytes long"),
		string(sj.UID), 1, otherKey.BinaryData[flycheckv1.ShardResultKey])
	wrongIndex := shardResultConfigMap(t, r, sj, 0, genuine[0]...) // genuine bytes and signature of shard 0...
	wrongIndex.Labels[flycheckv1.LabelShard] = "1"                 // ...filed under shard 1
	unsignedBomb := shardResultConfigMap(t, r, sj, 0, fake)
	unsignedBomb.BinaryData[flycheckv1.ShardResultKey] = gzipBomb(t)
	key, err := r.jobKey(ctx, sj)
	if err != nil {
		t.Fatal(err)
	}
	signedBomb := shardResultConfigMap(t, r, sj, 1, fake) // as if the key leaked
	signedBomb.BinaryData[flycheckv1.ShardResultKey] = gzipBomb(t)
	signedBomb.BinaryData[flycheckv1.ShardSignatureKey] = screening.SignShardResult(key, string(sj.UID), 1, gzipBomb(t))
	// A frame under the name the operator used to give frames, with a third
	// of the institutions and the tertiary hospitals removed.
	oldFrame := frameConfigMap(ns, sj.Name+"-frame", makeFrameCSV(testCity{"320100", 3, 0}))
	for _, obj := range []client.Object{oldFrame, forged, otherKey, wrongIndex, unsignedBomb, signedBomb} {
		mustCreate(t, obj)
	}
	// The genuine shards report after the forgeries, as they would when the
	// adversary is quick (creation times have second precision: the
	// forgeries sort first, so each one is looked at).
	time.Sleep(1100 * time.Millisecond)
	for i, insts := range genuine {
		mustCreate(t, shardResultConfigMap(t, r, sj, i, insts...))
	}
	completeJob(t, sj, 2)

	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	reconcileSJ(t, r, ns, sj.Name)
	runtime.ReadMemStats(&after)
	// Two 64 MiB bombs: the unsigned one is never inflated, the signed one
	// only up to the cap.
	if grew := after.TotalAlloc - before.TotalAlloc; grew > 6*screening.MaxShardResultJSON {
		t.Errorf("the reconcile allocated %d MiB, want at most %d MiB", grew>>20, 6*screening.MaxShardResultJSON>>20)
	}

	got := getSJ(t, ns, sj.Name)
	st := got.Status
	if st.State != flycheckv1.ScreeningSucceeded || st.Shards.Succeeded != 2 || st.LinesScanned != 400 || st.Institutions.Total != 4 {
		t.Fatalf("status %+v: want Succeeded with the genuine shards only (400 lines, 4 institutions)", st)
	}
	if st.RefusedResults == nil || st.RefusedResults.Count != 5 {
		t.Fatalf("refused %+v, want the 5 forgeries", st.RefusedResults)
	}
	reasons := map[string]string{}
	for _, rr := range st.RefusedResults.Recent {
		reasons[rr.Name] = rr.Reason
	}
	for obj, want := range map[client.Object]string{forged: "no signature", otherKey: "signature does not verify",
		wrongIndex: "signature does not verify for shard 1", unsignedBomb: "signature does not verify",
		signedBomb: "inflates to more than the limit"} {
		if !strings.Contains(reasons[obj.GetName()], want) {
			t.Errorf("%s refused for %q, want %q", obj.GetName(), reasons[obj.GetName()], want)
		}
	}
	if st.FrameConfigMap == oldFrame.Name || !strings.HasPrefix(st.FrameConfigMap, sj.Name+"-frame-") {
		t.Fatalf("frame %s: the pre-created %s must not be adopted", st.FrameConfigMap, oldFrame.Name)
	}
	var frameCM corev1.ConfigMap
	if err := k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: st.FrameConfigMap}, &frameCM); err != nil {
		t.Fatal(err)
	}
	frame, err := FrameFromConfigMap(&frameCM)
	if err != nil {
		t.Fatal(err)
	}
	if len(frame) != 4 || frame[0].Code != "H32010000001" || frame[3].Code != "P32010000004" {
		t.Errorf("frame %+v, want the 4 genuine institutions", frame)
	}
	waitForSJEvents(t, ns, sj.Name, map[string]int{ScreeningJobReasonResultRefused: 5, ScreeningJobReasonSucceeded: 1})

	// A sample drawing from it draws from the genuine frame, checked
	// against the digest in the ScreeningJob's status.
	opNS := "evidence-op"
	createNamespace(t, opNS)
	sr := &InspectionSampleReconciler{Client: k8sClient, APIReader: k8sClient, Clock: r.Clock, Recorder: recorder, OperatorNamespace: opNS}
	s := newSample(ns, "recheck", jobFrame(sj.Name))
	mustCreate(t, s)
	if err := sr.reconcileSample(ctx, getSample(t, ns, s.Name)); err != nil {
		t.Fatal(err)
	}
	drawn := getSample(t, ns, s.Name)
	if drawn.Status.Frame == nil || drawn.Status.Frame.Size != 4 || drawn.Status.Frame.Digest != st.FrameDigest ||
		len(drawn.Status.Frame.Sources) != 1 || drawn.Status.Frame.Sources[0].Digest != st.FrameDigest {
		t.Errorf("the draw's frame %+v, want the genuine 4 institutions with digest %s", drawn.Status.Frame, st.FrameDigest)
	}
}

// A ConfigMap someone made under the very name of the frame (which they can
// only know if they know the frame) is refused, never adopted; once it is
// gone, the frame is written.
func TestEvidenceChainRefusesASquattedFrameName(t *testing.T) {
	ctx := context.Background()
	ns := "evidence-squat"
	createNamespace(t, ns)
	dup := createCatalogueRuleSet(t, "duplicate-charge.yaml")
	sj := testScreeningJob(ns, "squat", 1, dup.Name)
	mustCreate(t, sj)
	r := newSJReconciler()
	reconcileSJ(t, r, ns, sj.Name)
	sj = getSJ(t, ns, sj.Name)
	insts := []screening.InstitutionSummary{inst("H32010000001", 3, 2, "40.00", "0.400000"), inst("H32010000002", 2, 0, "0.00", "0.000000")}
	mustCreate(t, shardResultConfigMap(t, r, sj, 0, insts...))
	completeJob(t, sj, 1)

	want, err := sampling.ReadFrame(strings.NewReader("code,cityCode,name,level,ownership,type,risk\n" +
		"H32010000001,320100,医院H32010000001,3,public,hospital,0.4\nH32010000002,320100,医院H32010000002,2,public,hospital,0\n"))
	if err != nil {
		t.Fatal(err)
	}
	digest, err := sampling.Digest(want)
	if err != nil {
		t.Fatal(err)
	}
	squatter := frameConfigMap(ns, FrameConfigMapName(sj.Name, digest), makeFrameCSV(testCity{"320100", 1, 0}))
	mustCreate(t, squatter)
	reconcileSJ(t, r, ns, sj.Name)
	got := getSJ(t, ns, sj.Name)
	assertSJCondition(t, got, flycheckv1.ConditionStalled, metav1.ConditionTrue, ScreeningJobReasonFrameNameTaken)
	if got.Status.FrameConfigMap != "" || got.Status.State != flycheckv1.ScreeningRunning {
		t.Fatalf("the squatted frame was adopted: %+v", got.Status)
	}

	if err := k8sClient.Delete(ctx, squatter); err != nil {
		t.Fatal(err)
	}
	reconcileSJ(t, r, ns, sj.Name)
	got = getSJ(t, ns, sj.Name)
	if got.Status.State != flycheckv1.ScreeningSucceeded || got.Status.FrameConfigMap != squatter.Name || got.Status.FrameDigest != digest {
		t.Fatalf("after the squatter left: %+v", got.Status)
	}
	assertSJCondition(t, got, flycheckv1.ConditionReady, metav1.ConditionTrue, ScreeningJobReasonSucceeded)
}

// A Job that completes while a shard left no verified result (it was
// deleted, or only forgeries are there) fails the ScreeningJob, saying so;
// it does not stay Running for ever.
func TestEvidenceChainMissingResultFails(t *testing.T) {
	ns := "evidence-missing"
	createNamespace(t, ns)
	dup := createCatalogueRuleSet(t, "duplicate-charge.yaml")
	sj := testScreeningJob(ns, "missing", 2, dup.Name)
	mustCreate(t, sj)
	r := newSJReconciler()
	reconcileSJ(t, r, ns, sj.Name)
	sj = getSJ(t, ns, sj.Name)
	mustCreate(t, shardResultConfigMap(t, r, sj, 0, inst("H32010000001", 3, 0, "0.00", "0.000000")))
	forged := shardResultConfigMap(t, r, sj, 1, inst("H32010000002", 3, 0, "0.00", "0.000000"))
	forged.BinaryData[flycheckv1.ShardSignatureKey] = []byte("x")
	mustCreate(t, forged)
	completeJob(t, sj, 2)
	reconcileSJ(t, r, ns, sj.Name)
	got := getSJ(t, ns, sj.Name)
	assertSJCondition(t, got, flycheckv1.ConditionStalled, metav1.ConditionTrue, ScreeningJobReasonResultsMissing)
	if got.Status.State != flycheckv1.ScreeningFailed || !strings.Contains(conditionMessageOf(got.Status.Conditions), "shards 1 left no verified result (1 refused") {
		t.Errorf("state %s, message %q", got.Status.State, conditionMessageOf(got.Status.Conditions))
	}
}

func conditionMessageOf(conds []metav1.Condition) string {
	for _, c := range conds {
		if c.Type == flycheckv1.ConditionReady {
			return c.Message
		}
	}
	return ""
}

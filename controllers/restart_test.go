package controllers

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	flycheckv1 "github.com/medfund/flycheck-operator/api/v1alpha1"
	"github.com/medfund/flycheck-operator/controllers/testenv"
	"github.com/medfund/flycheck-operator/internal/screening"
)

// playJobs does what a cluster's kubelets and Job controller would for the
// screening Jobs in namespaces: each shard reports a signed result (with
// the key the operator derives, read from its Secret as a pod reads its
// mounted copy) and the Job completes. It is idempotent, so it can run
// while managers come and go.
func playJobs(ctx context.Context, t *testing.T, opNS string, namespaces ...string) {
	for ctx.Err() == nil {
		for _, ns := range namespaces {
			var jobs batchv1.JobList
			if err := k8sClient.List(ctx, &jobs, client.InNamespace(ns), client.HasLabels{flycheckv1.LabelScreeningJob}); err != nil {
				continue
			}
			for i := range jobs.Items {
				playJob(ctx, t, opNS, &jobs.Items[i])
			}
		}
		select {
		case <-ctx.Done():
		case <-time.After(150 * time.Millisecond):
		}
	}
}

func playJob(ctx context.Context, t *testing.T, opNS string, job *batchv1.Job) {
	if jobCondition(job, batchv1.JobComplete) {
		return
	}
	var sj flycheckv1.ScreeningJob
	if err := k8sClient.Get(ctx, client.ObjectKey{Namespace: job.Namespace, Name: job.Labels[flycheckv1.LabelScreeningJob]}, &sj); err != nil {
		return
	}
	var master corev1.Secret
	if err := k8sClient.Get(ctx, client.ObjectKey{Namespace: opNS, Name: SigningKeySecretName}, &master); err != nil {
		return
	}
	key := deriveJobKey(master.Data[SamplingKeyDataKey], string(sj.UID))
	var have corev1.ConfigMapList
	if err := k8sClient.List(ctx, &have, client.InNamespace(sj.Namespace),
		client.MatchingLabels{flycheckv1.LabelScreeningJob: sj.Name, flycheckv1.LabelRole: flycheckv1.RoleShard}); err != nil {
		return
	}
	reported := map[string]bool{}
	for _, cm := range have.Items {
		reported[cm.Labels[flycheckv1.LabelShard]] = true
	}
	shards := int(shardCount(&sj))
	for idx := range shards {
		if reported[strconv.Itoa(idx)] {
			continue
		}
		var insts []screening.InstitutionSummary
		for n := idx; n < 6; n += shards { // 6 institutions per city, 2 tertiary
			level := 1
			if n < 2 {
				level = 3
			}
			insts = append(insts, inst(fmt.Sprintf("H%s%04d", sj.Spec.CityCode, n), level, int64(n%2), fmt.Sprintf("%d.00", 10*(n%2)), fmt.Sprintf("0.%d00000", n)))
		}
		for i := range insts {
			insts[i].CityCode = sj.Spec.CityCode
		}
		stats := &screening.Stats{Shard: idx, Shards: shards, FindingsByCat: map[string]int64{}, AmountAtRisk: "0.00"}
		data, err := screening.EncodeShardResult(screening.ShardResult{Summary: &screening.Summary{Institutions: insts}, Stats: stats})
		if err != nil {
			t.Error(err)
			return
		}
		cm := &corev1.ConfigMap{
			ObjectMeta: metav1.ObjectMeta{Namespace: sj.Namespace, GenerateName: ShardResultPrefix(sj.Name, idx),
				Labels: map[string]string{flycheckv1.LabelScreeningJob: sj.Name, flycheckv1.LabelRole: flycheckv1.RoleShard,
					flycheckv1.LabelShard: strconv.Itoa(idx)},
				OwnerReferences: []metav1.OwnerReference{*metav1.NewControllerRef(&sj, flycheckv1.GroupVersion.WithKind("ScreeningJob"))}},
			BinaryData: map[string][]byte{flycheckv1.ShardResultKey: data,
				flycheckv1.ShardSignatureKey: screening.SignShardResult(key, string(sj.UID), idx, data)},
		}
		if err := k8sClient.Create(ctx, cm); err != nil {
			return
		}
	}
	now := metav1.NewTime(time.Now().Truncate(time.Second))
	job.Status.StartTime, job.Status.CompletionTime, job.Status.Succeeded = &now, &now, int32(shards)
	job.Status.Conditions = []batchv1.JobCondition{
		{Type: batchv1.JobSuccessCriteriaMet, Status: corev1.ConditionTrue, LastTransitionTime: now, LastProbeTime: now},
		{Type: batchv1.JobComplete, Status: corev1.ConditionTrue, LastTransitionTime: now, LastProbeTime: now},
	}
	_ = k8sClient.Status().Update(ctx, job)
}

// TestManagerRestartsCreateNothingTwice runs a compressed campaign with
// screening, a recheck and a fly-check while its manager is stopped and
// started again at random points, at least a dozen times: every child
// exists once, every sample is drawn once, every transition has one event.
func TestManagerRestartsCreateNothingTwice(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	newNS := func(prefix string) string { return testenv.NewNamespace(t, k8sClient, prefix) }
	cities, prov, opNS := []string{newNS("restart-a"), newNS("restart-b")}, newNS("restart-prov"), newNS("restart-op")
	dup := createCatalogueRuleSet(t, "duplicate-charge.yaml")
	loc, _ := time.LoadLocation("Asia/Shanghai")
	t0 := time.Now().Add(2 * time.Second).Truncate(time.Second)
	at := func(s float64) time.Time { return t0.Add(time.Duration(s * float64(time.Second))) }
	// No garbage collector runs in envtest: a campaign of an earlier run
	// (-count=N) leaves its children, so each run has a name of its own.
	c := testCampaign("restarts-"+strings.TrimPrefix(opNS, "restart-op-"), cities,
		phaseAt("screen", at(0), at(3), loc),
		phaseAt("recheck", at(4), at(7), loc),
		phaseAt("flycheck", at(4), at(8), loc),
		phaseAt("summary", at(9), at(10), loc))
	c.Spec.ProvinceNamespace = prov
	c.Spec.DataSource = &flycheckv1.DataSource{PersistentVolumeClaim: "claims"}
	c.Spec.Phases[0].Screening = &flycheckv1.PhaseScreening{RuleSets: []string{dup.Name}, Shards: 2}
	c.Spec.Phases[1].Sampling = &flycheckv1.PhaseSampling{Purpose: flycheckv1.PurposeRecheck,
		SamplingPolicy: flycheckv1.SamplingPolicy{MinPercent: 50, MinTertiaryPerCity: 1}}
	c.Spec.Phases[2].Sampling = &flycheckv1.PhaseSampling{Purpose: flycheckv1.PurposeFlyCheck,
		SamplingPolicy: flycheckv1.SamplingPolicy{MinTertiaryPerCity: 1, MinTotal: 3}}
	createCampaign(t, c)
	go playJobs(ctx, t, opNS, cities...)

	setup := func(mgr ctrl.Manager) error { return SetupWithManager(mgr, Options{OperatorNamespace: opNS}) }
	settled := func() error {
		var got flycheckv1.Campaign
		if err := k8sClient.Get(ctx, client.ObjectKey{Name: c.Name}, &got); err != nil {
			return err
		}
		if conditionReason(got.Status.Conditions, flycheckv1.ConditionReady) != CampaignReasonFinished {
			return fmt.Errorf("campaign not finished")
		}
		var samples flycheckv1.InspectionSampleList
		if err := k8sClient.List(ctx, &samples, client.MatchingLabels{flycheckv1.LabelCampaign: c.Name}); err != nil {
			return err
		}
		for _, s := range samples.Items {
			if s.Status.DrawnAt == nil {
				return fmt.Errorf("sample %s/%s not drawn: %s", s.Namespace, s.Name, conditionMessageOf(s.Status.Conditions))
			}
		}
		if len(samples.Items) != 3 {
			return fmt.Errorf("%d samples", len(samples.Items))
		}
		return nil
	}
	rng := rand.New(rand.NewPCG(7, 11))
	restarts := 0
	deadline := time.Now().Add(40 * time.Second)
	for restarts < 12 || settled() != nil {
		if time.Now().After(deadline) {
			t.Fatalf("not settled after %d restarts: %v", restarts, settled())
		}
		m, err := testenv.RunManager(ctx, cfg, setup)
		if err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Duration(100+rng.IntN(900)) * time.Millisecond)
		if err := m.Stop(); err != nil {
			t.Fatal(err)
		}
		restarts++
	}
	t.Logf("settled after %d manager restarts", restarts)
	time.Sleep(500 * time.Millisecond) // events in flight are written by now

	count := func(list client.ObjectList, ns string, labels client.MatchingLabels) int {
		if err := k8sClient.List(ctx, list, client.InNamespace(ns), labels); err != nil {
			t.Fatal(err)
		}
		items, err := meta.ExtractList(list)
		if err != nil {
			t.Fatal(err)
		}
		return len(items)
	}
	campaignLabel := client.MatchingLabels{flycheckv1.LabelCampaign: c.Name}
	for _, ns := range cities {
		for what, n := range map[string]int{
			"ScreeningJobs":     count(&flycheckv1.ScreeningJobList{}, ns, campaignLabel),
			"Jobs":              count(&batchv1.JobList{}, ns, client.MatchingLabels{flycheckv1.LabelCampaign: c.Name}),
			"signing Secrets":   count(&corev1.SecretList{}, ns, campaignLabel),
			"frames":            count(&corev1.ConfigMapList{}, ns, client.MatchingLabels{flycheckv1.LabelRole: flycheckv1.RoleFrame}),
			"rules snapshots":   count(&corev1.ConfigMapList{}, ns, client.MatchingLabels{flycheckv1.LabelRole: flycheckv1.RoleRules}),
			"InspectionSamples": count(&flycheckv1.InspectionSampleList{}, ns, campaignLabel),
			"frame snapshots":   count(&corev1.ConfigMapList{}, ns, client.MatchingLabels{flycheckv1.LabelRole: flycheckv1.RoleSnapshot}),
		} {
			if n != 1 {
				t.Errorf("%s: %d %s, want 1", ns, n, what)
			}
		}
	}
	if n := count(&flycheckv1.InspectionSampleList{}, prov, campaignLabel); n != 1 {
		t.Errorf("%d fly-check samples, want 1", n)
	}

	var evs eventsv1.EventList
	if err := k8sClient.List(ctx, &evs); err != nil {
		t.Fatal(err)
	}
	ours := map[string]bool{"": true}
	for _, ns := range append(slices.Clone(cities), prov) {
		ours[ns] = true
	}
	byObject := map[string]int{}
	for _, e := range evs.Items {
		if !ours[e.Regarding.Namespace] || (e.Regarding.Namespace == "" && e.Regarding.Name != c.Name) {
			continue
		}
		key := e.Regarding.Kind + "/" + e.Regarding.Namespace + "/" + e.Regarding.Name + " " + e.Reason + " " + e.Action
		byObject[key] += eventCount(e)
	}
	for _, p := range c.Spec.Phases {
		for _, reason := range []string{CampaignReasonPhaseStarted, CampaignReasonPhaseCompleted} {
			key := "Campaign//" + c.Name + " " + reason + " Advance/" + p.Name
			if byObject[key] > 1 {
				t.Errorf("%d %s events for phase %s, want at most 1 across restarts", byObject[key], reason, p.Name)
			}
		}
	}
	for key, n := range byObject {
		if n > 1 && (strings.Contains(key, " "+SampleReasonDrawn+" ") || strings.Contains(key, " "+CampaignReasonScreeningJobCreated+" ") ||
			strings.Contains(key, " "+CampaignReasonInspectionSampleCreated+" ")) {
			t.Errorf("%d events %s, want 1", n, key)
		}
	}
}

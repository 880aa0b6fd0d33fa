package controllers

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	flycheckv1 "github.com/medfund/flycheck-operator/api/v1alpha1"
)

// BenchmarkCaseWriteCeiling is the anchor of the case scale run: what the
// API server and etcd of this machine do with the same writes when no
// operator is in the way. The test process itself, with the case opener's
// 32 workers, writes FLYCHECK_BENCH_INSTITUTIONS (default 5000) cases in
// each of 13 city namespaces, each exactly as the opener writes it (labels,
// owner reference, spec; then the status the opener computes, with its
// origin, deadline and conditions), and reports cases/s; then it creates
// as many again without status (the create alone). No manager runs, no
// watch is open, nothing is rolled up: the figures are an upper bound for
// BenchmarkScaleCases. Run it with -benchtime=1x.
func BenchmarkCaseWriteCeiling(b *testing.B) {
	institutions := benchEnvInt(b, "FLYCHECK_BENCH_INSTITUTIONS", 5000)
	const cities, workers = 13, 32
	total := cities * institutions
	var withStatus, createOnly time.Duration
	for iter := range b.N {
		run := fmt.Sprintf("%s-%d", benchRunID(), iter)
		opNS, provNS, cityNS, _ := benchProvince(b, "bceil", run, cities, 1)
		moreNS := make([]string, cities)
		for c := range cityNS {
			moreNS[c] = cityNS[c] + "x"
		}
		benchNamespaces(b, run, moreNS...)
		loc, err := time.LoadLocation("Asia/Shanghai")
		if err != nil {
			b.Fatal(err)
		}
		now := time.Date(2020, 7, 15, 9, 0, 0, 0, loc)
		camp := benchSamplingCampaign("bceil-"+run, run, cityNS, provNS, phase("selfinspection", "2020-07-01", "2020-08-31"))
		camp.Spec.Phases[0].SelfInspection = &flycheckv1.PhaseSelfInspection{Scope: flycheckv1.ScopeAll}
		if err := k8sClient.Create(context.Background(), camp); err != nil {
			b.Fatal(err)
		}
		status := ceilingStatus(b, camp, opNS, now)
		b.StartTimer()
		withStatus = max(withStatus, ceilingWrite(b, camp, cityNS, institutions, workers, status))
		createOnly = max(createOnly, ceilingWrite(b, camp, moreNS, institutions, workers, nil))
		b.StopTimer()
		cleanupBenchRun(b, run, []string{camp.Name}, append(append([]string{opNS, provNS}, cityNS...), moreNS...))
	}
	benchLog(b, "ceiling: %d cases with their status in %s (%.0f cases/s, %.0f writes/s); %d creates alone in %s (%.0f cases/s)",
		total, withStatus.Round(time.Millisecond), float64(total)/withStatus.Seconds(), 2*float64(total)/withStatus.Seconds(),
		total, createOnly.Round(time.Millisecond), float64(total)/createOnly.Seconds())
	b.ReportMetric(float64(total)/withStatus.Seconds(), "cases/s")
	b.ReportMetric(withStatus.Seconds(), "all-written-s")
	b.ReportMetric(float64(total)/createOnly.Seconds(), "creates/s")
	b.ReportMetric(0, "ns/op")
}

// ceilingStatus is the status the opener writes on a self-inspection case
// of camp at now (the evaluator's, so the same size and conditions).
func ceilingStatus(b *testing.B, camp *flycheckv1.Campaign, opNS string, now time.Time) *flycheckv1.InspectionCaseStatus {
	ic := &flycheckv1.InspectionCase{
		ObjectMeta: metav1.ObjectMeta{Namespace: camp.Spec.Cities[0].Namespace, Name: "template", Generation: 1},
		Spec: flycheckv1.InspectionCaseSpec{CampaignRef: &flycheckv1.CampaignReference{Name: camp.Name},
			Institution: flycheckv1.CaseInstitution{Code: "H3201000000", Name: "医院3201-00000", CityCode: "320100", Level: 2}},
		Status: flycheckv1.InspectionCaseStatus{Origins: []flycheckv1.CaseOrigin{
			{Type: flycheckv1.OriginScreening, Phase: "selfinspection", At: metav1.NewTime(now)}}},
	}
	cal, err := (&HolidayCalendar{Reader: k8sClient, Namespace: opNS}).Get(context.Background())
	if cal == nil {
		b.Fatalf("holiday calendar: %v", err)
	}
	st, _ := desiredCaseStatus(ic, caseContext{campaign: camp, calendar: cal, now: now})
	return st
}

// ceilingWrite writes the cases of one opening per namespace with workers
// in parallel, as the opener does, and returns the time taken.
func ceilingWrite(b *testing.B, camp *flycheckv1.Campaign, namespaces []string, institutions, workers int, status *flycheckv1.InspectionCaseStatus) time.Duration {
	ctx := context.Background()
	work := make(chan *flycheckv1.InspectionCase)
	var (
		wg      sync.WaitGroup
		errOnce sync.Once
		failed  error
	)
	for range workers {
		wg.Go(func() {
			for ic := range work {
				err := k8sClient.Create(ctx, ic)
				if err == nil && status != nil {
					ic.Status = *status.DeepCopy()
					err = k8sClient.Status().Update(ctx, ic)
				}
				if err != nil {
					errOnce.Do(func() { failed = err })
				}
			}
		})
	}
	start := time.Now()
	for c, ns := range namespaces {
		for i := range institutions {
			code := fmt.Sprintf("H32%02d00%05d", c+1, i)
			ic := &flycheckv1.InspectionCase{
				ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: CaseName(camp.Name, code),
					Labels: map[string]string{flycheckv1.LabelCampaign: camp.Name, flycheckv1.LabelCity: camp.Spec.Cities[c].Name}},
				Spec: flycheckv1.InspectionCaseSpec{CampaignRef: &flycheckv1.CampaignReference{Name: camp.Name},
					Institution: flycheckv1.CaseInstitution{Code: code, Name: fmt.Sprintf("医院%02d-%05d", c+1, i), CityCode: fmt.Sprintf("32%02d00", c+1), Level: int32(1 + i%3)}},
			}
			if err := controllerutil.SetControllerReference(camp, ic, k8sClient.Scheme()); err != nil {
				b.Fatal(err)
			}
			work <- ic
		}
	}
	close(work)
	wg.Wait()
	if failed != nil {
		b.Fatalf("writing cases: %v", failed)
	}
	return time.Since(start)
}

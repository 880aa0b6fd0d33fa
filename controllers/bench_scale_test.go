package controllers

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/rest"
	"k8s.io/utils/clock"
	clocktesting "k8s.io/utils/clock/testing"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	flycheckv1 "github.com/medfund/flycheck-operator/api/v1alpha1"
	"github.com/medfund/flycheck-operator/controllers/testenv"
	"github.com/medfund/flycheck-operator/internal/sampling"
)

// BenchmarkScaleCampaigns: 13 city namespaces (shared by all campaigns), each
// with a roster ConfigMap of 5 000 institutions, a province namespace, and
// 100 Campaigns, each with an active Recheck phase (10 %, ≥2 tertiary per
// city, ≥26) and an active FlyCheck phase (0 %, ≥2 tertiary per city, ≥30)
// under a fake clock. The manager starts after the campaigns exist and
// creates 13 recheck samples and one fly-check sample (over 13 frame copies)
// per campaign, and draws them. Reports the time until every sample is drawn
// and every campaign counts its cities, reconcile latency per controller from
// controller-runtime's histogram, reconcile errors (any fails the benchmark),
// the manager's memory (this test process hosts it), the apiserver's and
// etcd's RSS and etcd's database size.
//
// The manager runs without the case opener: otherwise every drawn
// institution would get an InspectionCase (~650 000 at full size) and the
// run would measure the opening instead of the draws it has measured since
// before cases existed. BenchmarkScaleCases measures the opening.
//
// FLYCHECK_BENCH_CAMPAIGNS (default 100) and FLYCHECK_BENCH_INSTITUTIONS
// (per city, default 5000) size it; FLYCHECK_BENCH_SCALE_IDLE_SECONDS is the
// idle window after convergence (default 15); FLYCHECK_BENCH_HEAPPROFILE
// names a file for a heap profile taken while the converged manager runs.
// Run it with -benchtime=1x.
func BenchmarkScaleCampaigns(b *testing.B) {
	n := benchEnvInt(b, "FLYCHECK_BENCH_CAMPAIGNS", 100)
	institutions := benchEnvInt(b, "FLYCHECK_BENCH_INSTITUTIONS", 5000)
	const cities = 13
	var results []scaleResult
	b.ResetTimer()
	for iter := range b.N {
		b.StopTimer()
		run := fmt.Sprintf("%s-%d", benchRunID(), iter)
		results = append(results, scaleRound(b, run, n, cities, institutions))
	}
	b.StopTimer()
	var drawn, counted, idleW time.Duration
	var samples int
	var heapPeak, liveEnd, rss uint64
	var idleWrites int
	for _, r := range results {
		drawn += r.allDrawn
		counted += r.allCounted
		samples += r.samples
		heapPeak = max(heapPeak, r.heapPeak)
		liveEnd = max(liveEnd, r.liveEnd)
		rss = max(rss, r.rssHWM)
		idleWrites += r.idleWrites
		idleW += r.idleWindow
	}
	k := float64(len(results))
	b.ReportMetric(float64(n), "campaigns")
	b.ReportMetric(float64(samples)/k, "samples")
	b.ReportMetric(drawn.Seconds()/k, "all-drawn-s")
	b.ReportMetric(counted.Seconds()/k, "all-counted-s")
	b.ReportMetric(float64(heapPeak)/(1<<20), "heap-peak-MiB")
	b.ReportMetric(float64(liveEnd)/(1<<20), "heap-live-end-MiB")
	b.ReportMetric(float64(rss)/(1<<20), "rss-hwm-MiB")
	b.ReportMetric(float64(idleWrites)/idleW.Minutes(), "idle-writes/min")
	// Reconcile latency of the first iteration (with -benchtime=1x the only
	// one; every iteration's is logged).
	for _, c := range []string{"campaign", "inspectionsample"} {
		h := results[0].metrics.reconcile[c]
		b.ReportMetric(h.mean()*1000, c+"-mean-ms")
		b.ReportMetric(h.quantile(0.95)*1000, c+"-p95-ms")
	}
	b.ReportMetric(0, "ns/op")
}

type scaleResult struct {
	samples              int
	allDrawn, allCounted time.Duration
	metrics              controllerMetrics
	heapPeak, liveEnd    uint64
	rssHWM               uint64
	idleWrites           int
	idleWindow           time.Duration
}

func scaleRound(b *testing.B, run string, n, cities, institutions int) scaleResult {
	ctx := context.Background()
	opNS, provNS, cityNS, rosterBytes := benchProvince(b, "bscale", run, cities, institutions)
	benchLog(b, "scale: %d campaigns × %d cities × %d institutions; largest roster ConfigMap %d KB (limit %d KB)",
		n, cities, institutions, rosterBytes/1024, configMapLimit/1024)

	// 2020-07-15 09:00 in Shanghai: both phases active.
	loc, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		b.Fatal(err)
	}
	fake := clocktesting.NewFakeClock(time.Date(2020, 7, 15, 9, 0, 0, 0, loc))
	var names []string
	for i := range n {
		c := benchSamplingCampaign(fmt.Sprintf("bscale-%s-%03d", run, i), run, cityNS, provNS,
			phase("spotcheck", "2020-07-01", "2020-08-31"),
			phase("flycheck", "2020-07-01", "2020-11-30"))
		if err := k8sClient.Create(ctx, c); err != nil {
			b.Fatalf("creating campaign %s: %v", c.Name, err)
		}
		names = append(names, c.Name)
	}
	wantSamples := n * (cities + 1)

	// Watch the samples and the campaigns from before the manager starts.
	type sampleSeen struct {
		purpose            flycheckv1.SamplingPurpose
		drawn              bool
		selected, tertiary int32
		size               int32
		stalled            string
	}
	var mu sync.Mutex
	samples := map[string]sampleSeen{}
	var lastDrawn time.Time
	counted := map[string]bool{}
	var lastCounted time.Time
	wctx, stopWatch := context.WithCancel(ctx)
	sel := client.MatchingLabels{benchLabel: run}
	sampleWatch := benchWatch(wctx, b, &flycheckv1.InspectionSampleList{}, nil, func(obj client.Object, at time.Time) {
		s := obj.(*flycheckv1.InspectionSample)
		if !strings.HasPrefix(s.Labels[flycheckv1.LabelCampaign], "bscale-"+run+"-") {
			return
		}
		seen := sampleSeen{purpose: s.Spec.Purpose, drawn: s.Status.DrawnAt != nil}
		if c := s.Status.Counts; c != nil {
			seen.selected, seen.tertiary = c.Selected, c.Tertiary
		}
		if s.Status.Frame != nil {
			seen.size = s.Status.Frame.Size
		}
		if c := meta.FindStatusCondition(s.Status.Conditions, flycheckv1.ConditionStalled); c != nil && c.Status == metav1.ConditionTrue {
			seen.stalled = c.Reason + ": " + c.Message
		}
		mu.Lock()
		defer mu.Unlock()
		if seen.drawn && !samples[s.Namespace+"/"+s.Name].drawn {
			lastDrawn = at
		}
		samples[s.Namespace+"/"+s.Name] = seen
	})
	campaignWatch := benchWatch(wctx, b, &flycheckv1.CampaignList{}, sel, func(obj client.Object, at time.Time) {
		c := obj.(*flycheckv1.Campaign)
		ok := len(c.Status.Cities) == len(c.Spec.Cities)
		for _, row := range c.Status.Cities {
			ok = ok && row.Sampled > 0
		}
		mu.Lock()
		defer mu.Unlock()
		if ok && !counted[c.Name] {
			counted[c.Name] = true
			lastCounted = at
		}
	})

	mem := startMemorySampler()
	writes := &writeCounter{}
	before := gatherControllerMetrics(b)
	runtime.GC()
	liveBefore := readRuntimeMetric("/gc/heap/live:bytes")
	b.StartTimer()
	start := time.Now()
	stopMgr := startBenchManagerWith(b, Options{Clock: fake, OperatorNamespace: opNS, withoutCaseOpener: true}, writes)
	defer func() {
		b.StopTimer()
		stopMgr()
		stopWatch()
		<-sampleWatch
		<-campaignWatch
		cleanupBenchRun(b, run, names, append([]string{opNS, provNS}, cityNS...))
	}()

	progress := time.NewTicker(30 * time.Second)
	defer progress.Stop()
	deadline := time.Now().Add(50 * time.Minute)
	for {
		mu.Lock()
		nDrawn, nCounted := 0, len(counted)
		var stalled []string
		for k, s := range samples {
			if s.drawn {
				nDrawn++
			}
			if s.stalled != "" {
				stalled = append(stalled, k+" "+s.stalled)
			}
		}
		mu.Unlock()
		if len(stalled) > 0 {
			slices.Sort(stalled)
			b.Fatalf("%d samples stalled, e.g. %s", len(stalled), stalled[0])
		}
		if nDrawn == wantSamples && nCounted == n {
			break
		}
		if time.Now().After(deadline) {
			b.Fatalf("after %s: %d/%d samples drawn, %d/%d campaigns counting their cities",
				time.Since(start).Round(time.Second), nDrawn, wantSamples, nCounted, n)
		}
		select {
		case <-progress.C:
			benchLog(b, "scale: %s: %d/%d samples drawn, %d/%d campaigns counted, %d writes so far",
				time.Since(start).Round(time.Second), nDrawn, wantSamples, nCounted, n, len(writes.between(time.Time{}, time.Now())))
		case <-time.After(200 * time.Millisecond):
		}
	}
	b.StopTimer()
	mu.Lock()
	res := scaleResult{samples: len(samples), allDrawn: lastDrawn.Sub(start), allCounted: lastCounted.Sub(start)}
	var minRecheck, minFly, minFlyTertiary int32 = math.MaxInt32, math.MaxInt32, math.MaxInt32
	for _, s := range samples {
		if s.purpose == flycheckv1.PurposeFlyCheck {
			minFly, minFlyTertiary = min(minFly, s.selected), min(minFlyTertiary, s.tertiary)
		} else {
			minRecheck = min(minRecheck, s.selected)
		}
	}
	mu.Unlock()
	benchLog(b, "scale: %d samples drawn in %s (all %d campaigns counting their cities after %s); smallest recheck %d selected, smallest fly-check %d selected (%d tertiary)",
		res.samples, res.allDrawn.Round(time.Millisecond), n, res.allCounted.Round(time.Millisecond), minRecheck, minFly, minFlyTertiary)
	if quota := int32((10*institutions + 99) / 100); minRecheck < quota || minFly < 30 || minFlyTertiary < int32(2*cities) {
		b.Errorf("a draw misses the policy: recheck %d < %d, or fly-check %d < 30 / %d tertiary < %d",
			minRecheck, quota, minFly, minFlyTertiary, 2*cities)
	}
	all := writes.between(time.Time{}, time.Now())
	benchLog(b, "scale: the manager made %d writes to converge: %s", len(all), writes.summary(time.Time{}, time.Now()))

	// Idle at scale: once quiet, nothing more may be written.
	writes.waitQuiet(b, 3*time.Second, 5*time.Minute)
	idle := time.Duration(benchEnvInt(b, "FLYCHECK_BENCH_SCALE_IDLE_SECONDS", 15)) * time.Second
	w0 := time.Now()
	time.Sleep(idle)
	res.idleWindow = time.Since(w0)
	res.idleWrites = len(writes.between(w0, time.Now()))
	benchLog(b, "scale: %d writes in an idle window of %s %s", res.idleWrites, res.idleWindow.Round(time.Millisecond), writes.summary(w0, time.Now()))
	if res.idleWrites > 0 {
		b.Errorf("%d API writes while nothing changed at scale; target 0", res.idleWrites)
	}

	// Memory: peaks sampled every 200 ms while the manager worked, and what
	// stays live after a forced GC (the manager's caches).
	res.liveEnd, res.heapPeak, res.rssHWM = reportManagerMemory(b, "scale", mem, liveBefore)
	for _, p := range controlPlaneProcesses() {
		st := procStatus(strconv.Itoa(p.pid))
		benchLog(b, "scale: %s (pid %d): RSS %s, high-water mark %s", p.name, p.pid, mib(st["VmRSS"]), mib(st["VmHWM"]))
		b.ReportMetric(float64(st["VmHWM"])/(1<<20), p.name+"-rss-hwm-MiB")
	}
	if db, quota, err := etcdDBSize(); err == nil {
		benchLog(b, "scale: etcd database %s of a %s quota", mib(uint64(db)), mib(uint64(quota)))
		b.ReportMetric(db/(1<<20), "etcd-db-MiB")
	} else {
		benchLog(b, "scale: etcd metrics: %v", err)
	}

	res.metrics = gatherControllerMetrics(b).minus(before)
	res.metrics.log(b)
	res.metrics.failOnErrors(b)
	return res
}

// benchSamplingCampaign is a campaign over cityNS (roster "roster-<run>")
// whose phases named spotcheck and flycheck sample as in Jiangsu 2020.
func benchSamplingCampaign(name, run string, cityNS []string, provNS string, phases ...flycheckv1.Phase) *flycheckv1.Campaign {
	c := testCampaign(name, cityNS, phases...)
	c.Labels = map[string]string{benchLabel: run}
	c.Spec.ProvinceNamespace = provNS
	c.Spec.Roster = "roster-" + run
	for i := range c.Spec.Cities {
		c.Spec.Cities[i].Name = fmt.Sprintf("c%02d", i+1)
		c.Spec.Cities[i].Code = fmt.Sprintf("32%02d00", i+1)
	}
	for i := range c.Spec.Phases {
		switch c.Spec.Phases[i].Name {
		case "spotcheck":
			c.Spec.Phases[i].Sampling = &flycheckv1.PhaseSampling{Purpose: flycheckv1.PurposeRecheck,
				SamplingPolicy: flycheckv1.SamplingPolicy{MinPercent: 10, MinTertiaryPerCity: 2, MinTotal: 26, RiskBasedPercent: 50}}
		case "flycheck":
			c.Spec.Phases[i].Sampling = &flycheckv1.PhaseSampling{Purpose: flycheckv1.PurposeFlyCheck,
				SamplingPolicy: flycheckv1.SamplingPolicy{MinPercent: 0, MinTertiaryPerCity: 2, MinTotal: 30, RiskBasedPercent: 50}}
		}
	}
	return c
}

// benchRosters writes a roster ConfigMap "roster-<run>" of size institutions
// into each city namespace (city i has code 32ii00): 2–31 tertiary
// hospitals, the rest secondary and primary hospitals, clinics and
// pharmacies; a third of them with a random risk score. Returns the size of
// the largest, failing if one would not fit in a ConfigMap.
func benchRosters(b *testing.B, run string, cityNS []string, size int, seed uint64) int {
	rng := rand.New(rand.NewPCG(seed, uint64(size)))
	cityNames := []string{"南京", "无锡", "徐州", "常州", "苏州", "南通", "连云港", "淮安", "盐城", "扬州", "镇江", "泰州", "宿迁"}
	districts := []string{"城东区", "城西区", "开发区", "高新区", "经开区", "新城区", "滨江区"}
	largest := 0
	for i, ns := range cityNS {
		code := fmt.Sprintf("32%02d00", i+1)
		place := cityNames[i%len(cityNames)] + "市"
		tertiary := 2 + rng.IntN(30)
		frame := make([]sampling.Institution, size)
		for j := range frame {
			in := sampling.Institution{Code: fmt.Sprintf("H%s%05d", code, j), CityCode: code,
				Ownership: "public", Type: "hospital"}
			switch {
			case j < tertiary:
				in.Level, in.Name = 3, fmt.Sprintf("第%d人民医院", j+1)
			case j%4 == 0:
				in.Level, in.Name = 2, fmt.Sprintf("区中心医院%05d", j)
			case j%4 == 1:
				in.Level, in.Name, in.Ownership = 1, fmt.Sprintf("社区卫生服务中心%05d", j), "public"
			case j%4 == 2:
				in.Name, in.Type, in.Ownership = fmt.Sprintf("大药房连锁%05d", j), "pharmacy", "private"
			default:
				in.Name, in.Type, in.Ownership = fmt.Sprintf("诊所%05d", j), "clinic", "private"
			}
			if rng.IntN(3) == 0 {
				in.Risk = sampling.Risk(rng.Int64N(100 * sampling.RiskScale))
			}
			in.Name = place + districts[j%len(districts)] + in.Name
			frame[j] = in
		}
		var buf bytes.Buffer
		if err := sampling.WriteFrame(&buf, frame); err != nil {
			b.Fatal(err)
		}
		if buf.Len() >= configMapLimit {
			b.Fatalf("roster of %d institutions is %d bytes, over the %d-byte ConfigMap limit", size, buf.Len(), configMapLimit)
		}
		largest = max(largest, buf.Len())
		cm := &corev1.ConfigMap{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "roster-" + run, Labels: map[string]string{benchLabel: run}},
			Data:       map[string]string{flycheckv1.FrameKey: buf.String()},
		}
		if err := k8sClient.Create(context.Background(), cm); err != nil {
			b.Fatalf("creating roster %s/%s: %v", ns, cm.Name, err)
		}
	}
	return largest
}

// allDrawn checks that want samples of the run exist and are drawn.
func allDrawn(ctx context.Context, run string, want int) error {
	var list flycheckv1.InspectionSampleList
	if err := k8sClient.List(ctx, &list); err != nil {
		return err
	}
	got := 0
	for _, s := range list.Items {
		if !strings.Contains(s.Labels[flycheckv1.LabelCampaign], "-"+run+"-") {
			continue
		}
		if c := meta.FindStatusCondition(s.Status.Conditions, flycheckv1.ConditionStalled); c != nil && c.Status == metav1.ConditionTrue {
			return fmt.Errorf("sample %s/%s stalled: %s: %s", s.Namespace, s.Name, c.Reason, c.Message)
		}
		if s.Status.DrawnAt != nil {
			got++
		}
	}
	if got != want {
		return fmt.Errorf("%d of %d samples drawn", got, want)
	}
	return nil
}

// campaignsCounted checks that every campaign shows a sampled count per city.
func campaignsCounted(ctx context.Context, names []string) error {
	for _, name := range names {
		var c flycheckv1.Campaign
		if err := k8sClient.Get(ctx, client.ObjectKey{Name: name}, &c); err != nil {
			return err
		}
		for _, row := range c.Status.Cities {
			if row.Sampled == 0 {
				return fmt.Errorf("campaign %s: city %s has no sample count yet", name, row.Name)
			}
		}
	}
	return nil
}

// ---------------------------------------------------------------------------
// Manager, namespaces, cleanup

// startBenchManager starts a manager with every controller on the suite's
// apiserver. writes, when set, sees every request the manager sends.
func startBenchManager(b *testing.B, clk clock.Clock, operatorNS string, writes *writeCounter) (stop func()) {
	b.Helper()
	return startBenchManagerWith(b, Options{Clock: clk, OperatorNamespace: operatorNS}, writes)
}

// startBenchManagerWith is startBenchManager with the manager's options.
func startBenchManagerWith(b *testing.B, opts Options, writes *writeCounter) (stop func()) {
	b.Helper()
	mcfg := rest.CopyConfig(cfg)
	if writes != nil {
		mcfg.Wrap(writes.wrap)
	}
	return testenv.StartManager(b, mcfg, func(mgr ctrl.Manager) error {
		return SetupWithManager(mgr, opts)
	})
}

// benchNamespaces creates namespaces labelled with the run.
func benchNamespaces(b *testing.B, run string, names ...string) {
	for _, name := range names {
		ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{benchLabel: run}}}
		if err := k8sClient.Create(context.Background(), ns); err != nil {
			b.Fatalf("creating namespace %s: %v", name, err)
		}
	}
}

// cleanupBenchRun deletes what a run created. envtest runs neither the
// garbage collector nor the namespace controller, so children are deleted
// one kind at a time, and the namespaces stay Terminating (their names are
// unique per run).
func cleanupBenchRun(b *testing.B, run string, campaigns, namespaces []string) {
	ctx := context.Background()
	for _, name := range campaigns {
		_ = k8sClient.Delete(ctx, &flycheckv1.Campaign{ObjectMeta: metav1.ObjectMeta{Name: name}})
	}
	for _, ns := range namespaces {
		in := client.InNamespace(ns)
		for _, obj := range []client.Object{&flycheckv1.InspectionCase{}, &flycheckv1.InspectionSample{}, &flycheckv1.ScreeningJob{},
			&corev1.ConfigMap{}, &corev1.Secret{}, &eventsv1.Event{}} {
			if err := k8sClient.DeleteAllOf(ctx, obj, in); err != nil {
				benchLog(b, "cleanup: deleting %T in %s: %v", obj, ns, err)
			}
		}
		_ = k8sClient.Delete(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}})
	}
	deleteCampaignEvents(b, run)
}

// deleteCampaignEvents deletes the events about the run's campaigns (they
// are cluster-scoped, so their events live in "default").
func deleteCampaignEvents(b *testing.B, run string) {
	ctx := context.Background()
	var list eventsv1.EventList
	if err := k8sClient.List(ctx, &list, client.InNamespace(metav1.NamespaceDefault)); err != nil {
		benchLog(b, "cleanup: listing events: %v", err)
		return
	}
	for i := range list.Items {
		if strings.Contains(list.Items[i].Regarding.Name, "-"+run) {
			_ = k8sClient.Delete(ctx, &list.Items[i])
		}
	}
}

// benchWatch watches list (filtered by sel) and calls fn with every object
// added or modified and the moment the event arrived, re-establishing the
// watch from the last resourceVersion if the apiserver closes it. The
// returned channel closes when ctx ends.
func benchWatch(ctx context.Context, b *testing.B, list client.ObjectList, sel client.MatchingLabels, fn func(client.Object, time.Time)) <-chan struct{} {
	wc, err := client.NewWithWatch(cfg, client.Options{Scheme: testScheme})
	if err != nil {
		b.Fatal(err)
	}
	done := make(chan struct{})
	open := func(rv string) (watch.Interface, error) {
		opts := []client.ListOption{&client.ListOptions{Raw: &metav1.ListOptions{ResourceVersion: rv}}}
		if sel != nil {
			opts = append(opts, sel)
		}
		return wc.Watch(ctx, list, opts...)
	}
	w, err := open("")
	if err != nil {
		b.Fatalf("watching %T: %v", list, err)
	}
	go func() {
		defer close(done)
		rv := ""
		for {
			for ev := range w.ResultChan() {
				at := time.Now()
				switch ev.Type {
				case watch.Added, watch.Modified:
					obj := ev.Object.(client.Object)
					rv = obj.GetResourceVersion()
					fn(obj, at)
				case watch.Error:
					rv = "" // e.g. 410 Gone: start over
				}
			}
			w.Stop()
			for {
				if ctx.Err() != nil {
					return
				}
				if w, err = open(rv); err == nil {
					break
				}
				time.Sleep(100 * time.Millisecond)
			}
		}
	}()
	return done
}

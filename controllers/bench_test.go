package controllers

// Benchmarks of DESIGN §7 "Schedule" and "Scale", run against the suite's
// real kube-apiserver and etcd (TestMain in suite_test.go) with a full
// manager:
//
//   - BenchmarkPhaseTransitionLatency: boundary → new state visible through a
//     watch, real clock (target < 1 s).
//   - BenchmarkIdleWrites: API writes of the manager while nothing changes
//     (target 0), and the writes one phase boundary costs per campaign.
//   - BenchmarkScaleCampaigns: 100 Campaigns × 13 cities × 5 000
//     institutions under a fake clock; time to draw every sample, reconcile
//     latency and errors per controller, manager memory.
//
// Every benchmark works in namespaces and on Campaigns of its own (names carry
// a run id), stops its manager and deletes what it created. docs/benchmarks.md
// has the figures and the environment variables that size them.

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"runtime/pprof"
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
	crmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"

	flycheckv1 "github.com/medfund/flycheck-operator/api/v1alpha1"
	"github.com/medfund/flycheck-operator/controllers/testenv"
	"github.com/medfund/flycheck-operator/internal/sampling"
)

// benchLabel marks every object a benchmark creates with its run id, so that
// watches see only that run's objects and cleanup finds them.
const benchLabel = "flycheck.medfund.io/bench-run"

// configMapLimit is the apiserver's limit on a ConfigMap's data.
const configMapLimit = 1 << 20

// benchPoll is how often a benchmark polls: less often than the tests, to
// load the apiserver it measures less.
const benchPoll = 100 * time.Millisecond

// ---------------------------------------------------------------------------
// BenchmarkPhaseTransitionLatency

// BenchmarkPhaseTransitionLatency runs the manager with the real clock over
// campaigns whose two phases (date-times, spread over one second between
// campaigns) give three boundaries each, the first ~2 s after creation. A
// watch on the Campaigns timestamps every status change; a boundary's latency
// is the time from the boundary to the first watch event whose phase states
// are the ones after it. Reports p50/p95/max in ms (DESIGN §7: < 1 s).
//
// FLYCHECK_BENCH_TRANSITION_CAMPAIGNS sets the number of campaigns per
// iteration (default 20).
func BenchmarkPhaseTransitionLatency(b *testing.B) {
	n := benchEnvInt(b, "FLYCHECK_BENCH_TRANSITION_CAMPAIGNS", 20)
	run := benchRunID()
	ns := "bpt-" + run
	benchNamespaces(b, run, ns)
	stopMgr := startBenchManager(b, clock.RealClock{}, "", nil)
	defer stopMgr() // on a failure; stop is idempotent
	warmUp(b, run, ns)
	before := gatherControllerMetrics(b)

	var latencies []time.Duration
	late := 0
	b.ResetTimer()
	for iter := range b.N {
		lat, skipped := transitionRound(b, fmt.Sprintf("%s-%d", run, iter), ns, n)
		latencies = append(latencies, lat...)
		late += skipped
	}
	b.StopTimer()
	stopMgr()
	_ = k8sClient.Delete(context.Background(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}})
	m := gatherControllerMetrics(b).minus(before)
	m.log(b)
	m.failOnErrors(b)

	if len(latencies) == 0 {
		b.Fatalf("no transition observed (%d campaigns were created too late for their first boundary)", late)
	}
	slices.Sort(latencies)
	p50, p95, maxLat := quantile(latencies, 0.50), quantile(latencies, 0.95), latencies[len(latencies)-1]
	benchLog(b, "phase transitions: %d boundaries over %d campaigns × %d iterations; latency p50 %s, p95 %s, max %s, min %s; %d boundaries not counted (the campaign's first status came after them)",
		len(latencies), n, b.N, p50, p95, maxLat, latencies[0], late)
	b.ReportMetric(ms(p50), "p50-ms")
	b.ReportMetric(ms(p95), "p95-ms")
	b.ReportMetric(ms(maxLat), "max-ms")
	b.ReportMetric(float64(len(latencies)), "boundaries")
	b.ReportMetric(0, "ns/op") // one iteration is a schedule of fixed length: its duration says nothing
	if maxLat >= time.Second {
		b.Errorf("a phase transition took %s to show in status; target < 1 s", maxLat)
	}
}

// warmUp waits until the manager's Campaign controller has reconciled a
// campaign, so that the measured campaigns do not wait for its start.
func warmUp(b *testing.B, run, ns string) {
	c := testCampaign("bpt-"+run+"-warmup", []string{ns}, phase("only", "2020-01-01", "2020-12-31"))
	c.Labels = map[string]string{benchLabel: run}
	if err := k8sClient.Create(context.Background(), c); err != nil {
		b.Fatal(err)
	}
	testenv.EventuallyEvery(b, benchPoll, time.Minute, func() error {
		var got flycheckv1.Campaign
		if err := k8sClient.Get(context.Background(), client.ObjectKeyFromObject(c), &got); err != nil {
			return err
		}
		if got.Status.ObservedGeneration != got.Generation {
			return errors.New("the warm-up campaign is not reconciled yet")
		}
		return nil
	})
	_ = k8sClient.Delete(context.Background(), c)
	deleteCampaignEvents(b, run)
}

// transitionRound creates n campaigns, watches them through their three
// boundaries, deletes them, and returns the latencies.
func transitionRound(b *testing.B, run, ns string, n int) (latencies []time.Duration, skipped int) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	sel := client.MatchingLabels{benchLabel: run}
	events := make(chan campaignSeen, 1024)
	watchDone := benchWatch(ctx, b, &flycheckv1.CampaignList{}, sel, func(obj client.Object, at time.Time) {
		c := obj.(*flycheckv1.Campaign)
		select {
		case events <- campaignSeen{name: c.Name, at: at, states: phaseStateList(c)}:
		case <-ctx.Done():
		}
	})

	loc, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		b.Fatal(err)
	}
	t0 := time.Now().Add(2 * time.Second).Truncate(100 * time.Millisecond)
	type plan struct {
		boundaries []time.Time
		want       [][]flycheckv1.PhaseState
		seen       []bool
		firstSeen  time.Time
	}
	plans := map[string]*plan{}
	var camps []*flycheckv1.Campaign
	for i := range n {
		off := t0.Add(time.Duration(i) * time.Second / time.Duration(n))
		b1, b2, b3 := off, off.Add(time.Second), off.Add(2*time.Second)
		c := testCampaign(fmt.Sprintf("bpt-%s-%03d", run, i), []string{ns},
			flycheckv1.Phase{Name: "first", Start: rfc3339(b1, loc), End: rfc3339(b2, loc)},
			flycheckv1.Phase{Name: "second", Start: rfc3339(b2, loc), End: rfc3339(b3, loc)})
		c.Labels = map[string]string{benchLabel: run}
		camps = append(camps, c)
		plans[c.Name] = &plan{
			boundaries: []time.Time{b1, b2, b3},
			want: [][]flycheckv1.PhaseState{
				{flycheckv1.PhaseActive, flycheckv1.PhasePending},
				{flycheckv1.PhaseCompleted, flycheckv1.PhaseActive},
				{flycheckv1.PhaseCompleted, flycheckv1.PhaseCompleted},
			},
			seen: make([]bool, 3),
		}
	}
	for _, c := range camps {
		if err := k8sClient.Create(ctx, c); err != nil {
			b.Fatalf("creating campaign %s: %v", c.Name, err)
		}
	}
	defer func() {
		cancel()
		<-watchDone
		for _, c := range camps {
			_ = k8sClient.Delete(context.Background(), c)
		}
		deleteCampaignEvents(b, run)
	}()

	remaining := 3 * n
	for remaining > 0 {
		var ev campaignSeen
		select {
		case ev = <-events:
		case <-ctx.Done():
			b.Fatalf("%d of %d transitions not observed within 2 minutes", remaining, 3*n)
		}
		p := plans[ev.name]
		if p == nil {
			continue
		}
		if p.firstSeen.IsZero() && len(ev.states) > 0 {
			p.firstSeen = ev.at
		}
		for j, want := range p.want {
			if p.seen[j] || !slices.Equal(ev.states, want) {
				continue
			}
			p.seen[j] = true
			remaining--
			lat := ev.at.Sub(p.boundaries[j])
			switch {
			case lat < 0:
				b.Errorf("campaign %s showed %v %s before its boundary %d", ev.name, want, -lat, j)
			case !p.firstSeen.Before(p.boundaries[j]):
				// The campaign was created (or first reconciled) after this
				// boundary: that measures creation, not the schedule.
				skipped++
			default:
				latencies = append(latencies, lat)
			}
		}
	}
	return latencies, skipped
}

type campaignSeen struct {
	name   string
	at     time.Time
	states []flycheckv1.PhaseState
}

func phaseStateList(c *flycheckv1.Campaign) []flycheckv1.PhaseState {
	out := make([]flycheckv1.PhaseState, len(c.Status.Phases))
	for i, p := range c.Status.Phases {
		out[i] = p.State
	}
	return out
}

// ---------------------------------------------------------------------------
// BenchmarkIdleWrites

// BenchmarkIdleWrites counts the manager's API writes (every request that is
// not a GET, through a WrapTransport on its rest.Config, events included)
// while nothing changes, after campaigns with an active Recheck and FlyCheck
// phase have created and drawn their samples and settled; then moves one
// pending phase's start to just after the idle window and counts what that
// boundary costs per campaign. Reports idle writes/min (target 0) and
// Campaign status writes per campaign per boundary (target exactly 1).
//
// FLYCHECK_BENCH_IDLE_CAMPAIGNS (default 10) and FLYCHECK_BENCH_IDLE_SECONDS
// (the idle window, default 30) size it.
func BenchmarkIdleWrites(b *testing.B) {
	n := benchEnvInt(b, "FLYCHECK_BENCH_IDLE_CAMPAIGNS", 10)
	idle := time.Duration(benchEnvInt(b, "FLYCHECK_BENCH_IDLE_SECONDS", 30)) * time.Second
	const cities, institutions = 3, 300

	var total idleResult
	b.ResetTimer()
	for iter := range b.N {
		total.add(idleRound(b, fmt.Sprintf("%s-%d", benchRunID(), iter), n, cities, institutions, idle))
	}
	b.StopTimer()
	perMin := float64(total.idleWrites) / total.idleWindow.Minutes()
	benchLog(b, "idle: %d writes in %s over %d campaigns × %d iterations = %.2f writes/min",
		total.idleWrites, total.idleWindow.Round(time.Millisecond), n, b.N, perMin)
	boundaries := float64(n * b.N)
	benchLog(b, "one boundary per campaign: %d Campaign status writes (%.2f per campaign; fewest %d, most %d for one campaign), %d event writes, %d other writes",
		total.statusWrites, float64(total.statusWrites)/boundaries, total.minPerCampaign, total.maxPerCampaign,
		total.eventWrites, total.otherWrites)
	b.ReportMetric(perMin, "idle-writes/min")
	b.ReportMetric(total.idleWindow.Seconds(), "idle-window-s")
	b.ReportMetric(float64(total.statusWrites)/boundaries, "status-writes/boundary")
	b.ReportMetric(float64(total.eventWrites)/boundaries, "event-writes/boundary")
	b.ReportMetric(float64(total.otherWrites)/boundaries, "other-writes/boundary")
	b.ReportMetric(0, "ns/op")
	if total.idleWrites > 0 {
		b.Errorf("%d API writes while nothing changed; target 0", total.idleWrites)
	}
	if total.minPerCampaign != 1 || total.maxPerCampaign != 1 {
		b.Errorf("a boundary cost %d..%d Campaign status writes per campaign; target exactly 1", total.minPerCampaign, total.maxPerCampaign)
	}
}

type idleResult struct {
	idleWrites                             int
	idleWindow                             time.Duration
	statusWrites, eventWrites, otherWrites int
	minPerCampaign, maxPerCampaign, rounds int
}

func (t *idleResult) add(r idleResult) {
	t.idleWrites += r.idleWrites
	t.idleWindow += r.idleWindow
	t.statusWrites += r.statusWrites
	t.eventWrites += r.eventWrites
	t.otherWrites += r.otherWrites
	if t.rounds == 0 || r.minPerCampaign < t.minPerCampaign {
		t.minPerCampaign = r.minPerCampaign
	}
	t.maxPerCampaign = max(t.maxPerCampaign, r.maxPerCampaign)
	t.rounds++
}

func idleRound(b *testing.B, run string, n, cities, institutions int, idle time.Duration) idleResult {
	b.StopTimer()
	ctx := context.Background()
	opNS, provNS := "bidle-"+run+"-op", "bidle-"+run+"-prov"
	var cityNS []string
	for c := range cities {
		cityNS = append(cityNS, fmt.Sprintf("bidle-%s-c%02d", run, c+1))
	}
	benchNamespaces(b, run, append([]string{opNS, provNS}, cityNS...)...)
	rosterBytes := benchRosters(b, run, cityNS, institutions, 11)
	benchLog(b, "idle: %d campaigns × %d cities × %d institutions (roster %d KB)", n, cities, institutions, rosterBytes/1024)

	loc, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		b.Fatal(err)
	}
	now := time.Now()
	var names []string
	for i := range n {
		c := benchSamplingCampaign(fmt.Sprintf("bidle-%s-%03d", run, i), run, cityNS, provNS,
			phaseAt("spotcheck", now.Add(-time.Hour), now.Add(48*time.Hour), loc),
			phaseAt("flycheck", now.Add(-time.Hour), now.Add(48*time.Hour), loc),
			phaseAt("summary", now.Add(24*time.Hour), now.Add(48*time.Hour), loc))
		if err := k8sClient.Create(ctx, c); err != nil {
			b.Fatalf("creating campaign %s: %v", c.Name, err)
		}
		names = append(names, c.Name)
	}
	writes := &writeCounter{}
	stopMgr := startBenchManager(b, clock.RealClock{}, opNS, writes)
	before := gatherControllerMetrics(b)
	defer func() {
		stopMgr()
		cleanupBenchRun(b, run, names, append([]string{opNS, provNS}, cityNS...))
	}()
	b.StartTimer()

	// Settle: every sample drawn, every campaign's city rows filled, then no
	// write for 3 s.
	settleStart := time.Now()
	testenv.EventuallyEvery(b, benchPoll, 5*time.Minute, func() error {
		return allDrawn(ctx, run, n*(cities+1))
	})
	testenv.EventuallyEvery(b, benchPoll, 2*time.Minute, func() error { return campaignsCounted(ctx, names) })
	writes.waitQuiet(b, 3*time.Second, 2*time.Minute)
	benchLog(b, "idle: settled in %s with %d writes (%s)", time.Since(settleStart).Round(time.Millisecond),
		len(writes.between(time.Time{}, time.Now())), writes.summary(time.Time{}, time.Now()))

	// Move the summary phase's start to just after the idle window. The
	// manager records the new nextTransitionAt (one status write per
	// campaign), then must stay silent until the boundary.
	boundary := time.Now().Add(idle + 5*time.Second).Truncate(time.Second)
	for _, name := range names {
		var c flycheckv1.Campaign
		if err := k8sClient.Get(ctx, client.ObjectKey{Name: name}, &c); err != nil {
			b.Fatal(err)
		}
		c.Spec.Phases[2].Start = rfc3339(boundary, loc)
		if err := k8sClient.Update(ctx, &c); err != nil {
			b.Fatalf("moving the summary phase of %s: %v", name, err)
		}
	}
	testenv.EventuallyEvery(b, benchPoll, time.Minute, func() error {
		for _, name := range names {
			var c flycheckv1.Campaign
			if err := k8sClient.Get(ctx, client.ObjectKey{Name: name}, &c); err != nil {
				return err
			}
			if c.Status.NextTransitionAt == nil || !c.Status.NextTransitionAt.Time.Equal(boundary) {
				return fmt.Errorf("campaign %s: nextTransitionAt %v, want %s", name, c.Status.NextTransitionAt, boundary)
			}
		}
		return nil
	})
	writes.waitQuiet(b, time.Second, time.Minute)

	w0 := time.Now()
	w1 := boundary.Add(-time.Second)
	if w1.Sub(w0) < idle/2 {
		b.Fatalf("settling after the spec change took too long: the idle window would be %s", w1.Sub(w0))
	}
	time.Sleep(time.Until(w1))
	res := idleResult{idleWindow: w1.Sub(w0)}
	res.idleWrites = len(writes.between(w0, w1))
	if res.idleWrites > 0 {
		benchLog(b, "idle: writes in the window: %s", writes.summary(w0, w1))
	}

	// The boundary: wait until every campaign shows the summary phase active
	// and a little more, then count.
	testenv.EventuallyEvery(b, benchPoll, time.Minute, func() error {
		for _, name := range names {
			var c flycheckv1.Campaign
			if err := k8sClient.Get(ctx, client.ObjectKey{Name: name}, &c); err != nil {
				return err
			}
			if st := phaseStateList(&c); st[2] != flycheckv1.PhaseActive {
				return fmt.Errorf("campaign %s: phases %v", name, st)
			}
		}
		return nil
	})
	time.Sleep(3 * time.Second) // a second write or a late event would show by now
	b.StopTimer()
	perCampaign := map[string]int{}
	for _, w := range writes.between(w1, time.Now()) {
		switch {
		case w.resource == "campaigns/status":
			res.statusWrites++
			perCampaign[w.name]++
		case w.resource == "events":
			res.eventWrites++
		default:
			res.otherWrites++
		}
	}
	benchLog(b, "idle: writes at the boundary: %s", writes.summary(w1, time.Now()))
	res.minPerCampaign = math.MaxInt
	for _, name := range names {
		res.minPerCampaign = min(res.minPerCampaign, perCampaign[name])
		res.maxPerCampaign = max(res.maxPerCampaign, perCampaign[name])
	}
	m := gatherControllerMetrics(b).minus(before)
	m.log(b)
	m.failOnErrors(b)
	b.StartTimer()
	return res
}

// ---------------------------------------------------------------------------
// BenchmarkScaleCampaigns

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
	opNS, provNS := "bscale-"+run+"-op", "bscale-"+run+"-prov"
	var cityNS []string
	for c := range cities {
		cityNS = append(cityNS, fmt.Sprintf("bscale-%s-c%02d", run, c+1))
	}
	allNS := append([]string{opNS, provNS}, cityNS...)
	benchNamespaces(b, run, allNS...)
	rosterBytes := benchRosters(b, run, cityNS, institutions, 2020)
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
	stopMgr := startBenchManager(b, fake, opNS, writes)
	defer func() {
		b.StopTimer()
		stopMgr()
		stopWatch()
		<-sampleWatch
		<-campaignWatch
		cleanupBenchRun(b, run, names, allNS)
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
	mem.stop()
	runtime.GC()
	res.liveEnd = readRuntimeMetric("/gc/heap/live:bytes")
	res.heapPeak = mem.heapPeak
	if path := os.Getenv("FLYCHECK_BENCH_HEAPPROFILE"); path != "" {
		writeHeapProfile(b, path)
	}
	self := procStatus("self")
	res.rssHWM = self["VmHWM"]
	benchLog(b, "scale: manager (test process) memory: heap objects peak %s, live heap peak %s, live heap after GC %s (%s before the manager started), Go runtime total peak %s; RSS %s, RSS high-water mark %s",
		mib(mem.heapPeak), mib(mem.livePeak), mib(res.liveEnd), mib(liveBefore), mib(mem.totalPeak), mib(self["VmRSS"]), mib(self["VmHWM"]))
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
	mcfg := rest.CopyConfig(cfg)
	if writes != nil {
		mcfg.Wrap(writes.wrap)
	}
	return testenv.StartManager(b, mcfg, func(mgr ctrl.Manager) error {
		return SetupWithManager(mgr, Options{Clock: clk, OperatorNamespace: operatorNS})
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
		for _, obj := range []client.Object{&flycheckv1.InspectionSample{}, &flycheckv1.ScreeningJob{},
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

// benchLog prints a line of the report on stdout as it happens: a
// benchmark's own log (b.Logf) is cut to its first ten lines.
func benchLog(b *testing.B, format string, args ...any) {
	fmt.Printf("    %s: %s\n", b.Name(), fmt.Sprintf(format, args...))
}

func benchEnvInt(b *testing.B, name string, def int) int {
	s := os.Getenv(name)
	if s == "" {
		return def
	}
	v, err := strconv.Atoi(s)
	if err != nil || v <= 0 {
		b.Fatalf("%s=%q: want a positive integer", name, s)
	}
	return v
}

// benchRunID is short and unique per run (names must stay under 63 chars).
func benchRunID() string {
	return strconv.FormatInt(time.Now().UnixMilli()%(36*36*36*36*36*36), 36)
}

func rfc3339(t time.Time, loc *time.Location) flycheckv1.Date {
	return flycheckv1.Date(t.In(loc).Format(time.RFC3339Nano))
}

func phaseAt(name string, start, end time.Time, loc *time.Location) flycheckv1.Phase {
	return flycheckv1.Phase{Name: name, Start: rfc3339(start, loc), End: rfc3339(end, loc)}
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func mib(v uint64) string { return fmt.Sprintf("%.1f MiB", float64(v)/(1<<20)) }

// quantile of sorted durations, nearest rank.
func quantile(sorted []time.Duration, q float64) time.Duration {
	i := int(math.Ceil(q*float64(len(sorted)))) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}

// ---------------------------------------------------------------------------
// Counting the manager's writes

// apiWrite is one request of the manager that is not a GET.
type apiWrite struct {
	at       time.Time
	method   string
	resource string // e.g. "campaigns/status", "inspectionsamples", "events"
	name     string
	code     int
}

// writeCounter is a WrapTransport for the manager's rest.Config that records
// every request that is not a GET (lists and watches are GETs).
type writeCounter struct {
	mu     sync.Mutex
	writes []apiWrite
}

type roundTripperFunc func(*http.Request) (*http.Response, error)

func (f roundTripperFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func (w *writeCounter) wrap(rt http.RoundTripper) http.RoundTripper {
	return roundTripperFunc(func(req *http.Request) (*http.Response, error) {
		if req.Method == http.MethodGet || req.Method == http.MethodHead || req.Method == http.MethodOptions {
			return rt.RoundTrip(req)
		}
		at := time.Now()
		resp, err := rt.RoundTrip(req)
		rec := apiWrite{at: at, method: req.Method}
		rec.resource, rec.name = resourceOf(req.URL.Path)
		if resp != nil {
			rec.code = resp.StatusCode
		}
		w.mu.Lock()
		w.writes = append(w.writes, rec)
		w.mu.Unlock()
		return resp, err
	})
}

// resourceOf turns /api/v1/namespaces/ns/events or
// /apis/g/v/campaigns/name/status into ("events", "") or
// ("campaigns/status", "name").
func resourceOf(path string) (resource, name string) {
	seg := strings.Split(strings.Trim(path, "/"), "/")
	switch {
	case len(seg) >= 2 && seg[0] == "api":
		seg = seg[2:]
	case len(seg) >= 3 && seg[0] == "apis":
		seg = seg[3:]
	}
	if len(seg) > 2 && seg[0] == "namespaces" {
		seg = seg[2:]
	}
	if len(seg) == 0 {
		return path, ""
	}
	resource = seg[0]
	if len(seg) > 1 {
		name = seg[1]
	}
	if len(seg) > 2 {
		resource += "/" + seg[2]
	}
	return resource, name
}

// between returns the writes sent in [from, to).
func (w *writeCounter) between(from, to time.Time) []apiWrite {
	w.mu.Lock()
	defer w.mu.Unlock()
	var out []apiWrite
	for _, x := range w.writes {
		if !x.at.Before(from) && x.at.Before(to) {
			out = append(out, x)
		}
	}
	return out
}

// summary counts writes in [from, to) by method, resource and status code.
func (w *writeCounter) summary(from, to time.Time) string {
	counts := map[string]int{}
	for _, x := range w.between(from, to) {
		counts[fmt.Sprintf("%s %s %d", x.method, x.resource, x.code)]++
	}
	keys := make([]string, 0, len(counts))
	for k := range counts {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s ×%d", k, counts[k])
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, ", ")
}

// waitQuiet waits until no write has been sent for quiet.
func (w *writeCounter) waitQuiet(b *testing.B, quiet, timeout time.Duration) {
	b.Helper()
	testenv.EventuallyEvery(b, benchPoll, timeout, func() error {
		w.mu.Lock()
		var last time.Time
		if len(w.writes) > 0 {
			last = w.writes[len(w.writes)-1].at
		}
		w.mu.Unlock()
		if time.Since(last) < quiet {
			return fmt.Errorf("the manager kept writing: %s", w.summary(time.Now().Add(-10*time.Second), time.Now()))
		}
		return nil
	})
}

// ---------------------------------------------------------------------------
// controller-runtime metrics

// histogram is a classic Prometheus histogram: cumulative bucket counts.
type histogram struct {
	count  uint64
	sum    float64
	bounds []float64
	cum    []uint64
}

func (h histogram) minus(o histogram) histogram {
	out := histogram{count: h.count - o.count, sum: h.sum - o.sum, bounds: h.bounds, cum: slices.Clone(h.cum)}
	if len(o.cum) == len(h.cum) {
		for i := range out.cum {
			out.cum[i] -= o.cum[i]
		}
	}
	return out
}

func (h histogram) mean() float64 {
	if h.count == 0 {
		return 0
	}
	return h.sum / float64(h.count)
}

// quantile interpolates linearly within the bucket holding the rank, as
// PromQL's histogram_quantile does; beyond the last bound it is that bound.
func (h histogram) quantile(q float64) float64 {
	if h.count == 0 {
		return 0
	}
	rank := q * float64(h.count)
	lower, prev := 0.0, uint64(0)
	for i, c := range h.cum {
		if float64(c) >= rank {
			if c == prev {
				return h.bounds[i]
			}
			return lower + (h.bounds[i]-lower)*(rank-float64(prev))/float64(c-prev)
		}
		lower, prev = h.bounds[i], c
	}
	return h.bounds[len(h.bounds)-1]
}

// controllerMetrics holds controller-runtime's metrics per controller.
type controllerMetrics struct {
	reconcile map[string]histogram          // controller_runtime_reconcile_time_seconds
	queue     map[string]histogram          // workqueue_queue_duration_seconds
	errors    map[string]float64            // controller_runtime_reconcile_errors_total
	results   map[string]map[string]float64 // controller_runtime_reconcile_total by result
}

var benchControllers = []string{"campaign", "inspectionsample", "screeningjob", "ruleset"}

func gatherControllerMetrics(b *testing.B) controllerMetrics {
	fams, err := crmetrics.Registry.Gather()
	if err != nil {
		b.Fatal(err)
	}
	m := controllerMetrics{reconcile: map[string]histogram{}, queue: map[string]histogram{},
		errors: map[string]float64{}, results: map[string]map[string]float64{}}
	for _, f := range fams {
		for _, s := range f.GetMetric() {
			labels := map[string]string{}
			for _, l := range s.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			var h histogram
			if hs := s.GetHistogram(); hs != nil {
				h.count, h.sum = hs.GetSampleCount(), hs.GetSampleSum()
				for _, bk := range hs.GetBucket() {
					if math.IsInf(bk.GetUpperBound(), 1) {
						continue
					}
					h.bounds = append(h.bounds, bk.GetUpperBound())
					h.cum = append(h.cum, bk.GetCumulativeCount())
				}
			}
			switch f.GetName() {
			case "controller_runtime_reconcile_time_seconds":
				m.reconcile[labels["controller"]] = h
			case "workqueue_queue_duration_seconds":
				m.queue[labels["name"]] = h
			case "controller_runtime_reconcile_errors_total":
				m.errors[labels["controller"]] = s.GetCounter().GetValue()
			case "controller_runtime_reconcile_total":
				c := labels["controller"]
				if m.results[c] == nil {
					m.results[c] = map[string]float64{}
				}
				m.results[c][labels["result"]] = s.GetCounter().GetValue()
			}
		}
	}
	return m
}

// minus is what happened between two snapshots (the registry is global and
// outlives managers).
func (m controllerMetrics) minus(o controllerMetrics) controllerMetrics {
	out := controllerMetrics{reconcile: map[string]histogram{}, queue: map[string]histogram{},
		errors: map[string]float64{}, results: map[string]map[string]float64{}}
	for k, h := range m.reconcile {
		out.reconcile[k] = h.minus(o.reconcile[k])
	}
	for k, h := range m.queue {
		out.queue[k] = h.minus(o.queue[k])
	}
	for k, v := range m.errors {
		out.errors[k] = v - o.errors[k]
	}
	for c, rs := range m.results {
		out.results[c] = map[string]float64{}
		for r, v := range rs {
			out.results[c][r] = v - o.results[c][r]
		}
	}
	return out
}

func (m controllerMetrics) log(b *testing.B) {
	for _, c := range benchControllers {
		h := m.reconcile[c]
		if h.count == 0 {
			continue
		}
		var rs []string
		for _, r := range []string{"success", "requeue", "requeue_after", "error"} {
			if v := m.results[c][r]; v > 0 {
				rs = append(rs, fmt.Sprintf("%s %.0f", r, v))
			}
		}
		benchLog(b, "controller %s: %d reconciles (%s), reconcile time mean %.1f ms, p50 %.1f ms, p95 %.1f ms, p99 %.1f ms; queue wait mean %.1f ms; %.0f errors",
			c, h.count, strings.Join(rs, ", "), h.mean()*1000, h.quantile(0.5)*1000, h.quantile(0.95)*1000, h.quantile(0.99)*1000,
			m.queue[c].mean()*1000, m.errors[c])
	}
}

func (m controllerMetrics) failOnErrors(b *testing.B) {
	for _, c := range benchControllers {
		if m.errors[c] > 0 {
			b.Errorf("controller %s: %.0f reconcile errors (controller_runtime_reconcile_errors_total); target 0", c, m.errors[c])
		}
	}
}

// ---------------------------------------------------------------------------
// Memory

// memorySampler records the peaks of the Go runtime's heap figures.
type memorySampler struct {
	heapPeak, livePeak, totalPeak uint64
	quit                          chan struct{}
	done                          chan struct{}
}

func startMemorySampler() *memorySampler {
	m := &memorySampler{quit: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(m.done)
		samples := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}, {Name: "/gc/heap/live:bytes"},
			{Name: "/memory/classes/total:bytes"}}
		t := time.NewTicker(200 * time.Millisecond)
		defer t.Stop()
		for {
			metrics.Read(samples)
			m.heapPeak = max(m.heapPeak, samples[0].Value.Uint64())
			m.livePeak = max(m.livePeak, samples[1].Value.Uint64())
			m.totalPeak = max(m.totalPeak, samples[2].Value.Uint64())
			select {
			case <-m.quit:
				return
			case <-t.C:
			}
		}
	}()
	return m
}

func (m *memorySampler) stop() {
	close(m.quit)
	<-m.done
}

// writeHeapProfile writes the live heap (the manager still running) for
// `go tool pprof -sample_index=inuse_space`.
func writeHeapProfile(b *testing.B, path string) {
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	if err := pprof.Lookup("heap").WriteTo(f, 0); err != nil {
		b.Fatal(err)
	}
	benchLog(b, "heap profile written to %s", path)
}

func readRuntimeMetric(name string) uint64 {
	s := []metrics.Sample{{Name: name}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

// procStatus reads the kB figures of /proc/<pid>/status, in bytes.
func procStatus(pid string) map[string]uint64 {
	out := map[string]uint64{}
	f, err := os.Open(filepath.Join("/proc", pid, "status"))
	if err != nil {
		return out
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		fields := strings.Fields(v)
		if !ok || len(fields) != 2 || fields[1] != "kB" {
			continue
		}
		if n, err := strconv.ParseUint(fields[0], 10, 64); err == nil {
			out[k] = n * 1024
		}
	}
	return out
}

type childProcess struct {
	pid  int
	name string
}

// controlPlaneProcesses finds envtest's kube-apiserver and etcd: children of
// this process.
func controlPlaneProcesses() []childProcess {
	entries, _ := os.ReadDir("/proc")
	self := os.Getpid()
	var out []childProcess
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		// pid (comm) state ppid ...: comm may hold spaces, so cut at the last ')'.
		s := string(stat)
		i := strings.LastIndexByte(s, ')')
		if i < 0 {
			continue
		}
		fields := strings.Fields(s[i+1:])
		if len(fields) < 2 || fields[1] != strconv.Itoa(self) {
			continue
		}
		comm := s[strings.IndexByte(s, '(')+1 : i]
		if comm == "kube-apiserver" || comm == "etcd" {
			out = append(out, childProcess{pid: pid, name: comm})
		}
	}
	slices.SortFunc(out, func(a, b childProcess) int { return strings.Compare(a.name, b.name) })
	return out
}

// etcdDBSize reads etcd's database size and quota from its /metrics.
func etcdDBSize() (size, quota float64, err error) {
	if testEnv == nil || testEnv.ControlPlane.Etcd == nil || testEnv.ControlPlane.Etcd.URL == nil {
		return 0, 0, errors.New("no etcd URL")
	}
	u := *testEnv.ControlPlane.Etcd.URL
	u.Path = "/metrics"
	resp, err := http.Get(u.String())
	if err != nil {
		return 0, 0, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, 0, err
	}
	for line := range strings.SplitSeq(string(body), "\n") {
		name, val, ok := strings.Cut(line, " ")
		if !ok {
			continue
		}
		v, perr := strconv.ParseFloat(strings.TrimSpace(val), 64)
		if perr != nil {
			continue
		}
		switch name {
		case "etcd_mvcc_db_total_size_in_bytes":
			size = v
		case "etcd_server_quota_backend_bytes":
			quota = v
		}
	}
	if size == 0 {
		return 0, 0, errors.New("etcd_mvcc_db_total_size_in_bytes not found")
	}
	return size, quota, nil
}

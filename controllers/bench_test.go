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
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/clock"
	"sigs.k8s.io/controller-runtime/pkg/client"

	flycheckv1 "github.com/medfund/flycheck-operator/api/v1alpha1"
	"github.com/medfund/flycheck-operator/controllers/testenv"
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

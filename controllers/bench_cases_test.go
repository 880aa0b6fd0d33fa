package controllers

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	clocktesting "k8s.io/utils/clock/testing"
	"sigs.k8s.io/controller-runtime/pkg/client"

	flycheckv1 "github.com/medfund/flycheck-operator/api/v1alpha1"
	"github.com/medfund/flycheck-operator/internal/cases"
)

// BenchmarkScaleCases: the case scale run of issue 10 (Jiangsu 2020's 100 %
// self-inspection). 13 city namespaces, each with a roster ConfigMap of
// 5 000 institutions, and one Campaign whose phase "selfinspection" has
// selfInspection {scope: All} and is active under a fake clock (the roster
// is the frame: no screening phase). The manager starts after the campaign
// exists and opens one case per institution: 65 000 cases. Reports:
//
//   - the time until every case exists (seen through a watch; cases/s) and
//     until the Campaign's status.cities[] counts them all;
//   - the manager's API writes by method, resource and status code;
//   - the manager's memory (this test process hosts it): Go heap peak, live
//     heap after GC, RSS high-water mark (VmHWM, reset before the manager
//     starts), and the apiserver's and etcd's RSS;
//   - the roll-up latency: FLYCHECK_BENCH_ROLLUP_ROUNDS times (default 10),
//     one case's spec gets an on-site check (two inspectors, one violation)
//     and the time until the Campaign's row for its city shows it (inspected,
//     with findings, found to the fen) is measured; min, median, max.
//
// Targets (issue 10): all created in under 3 minutes, manager RSS under
// 1 GiB, roll-up under 2 s; missing one fails the benchmark, as does any
// reconcile error. FLYCHECK_BENCH_INSTITUTIONS (per city, default 5000)
// sizes it; FLYCHECK_BENCH_HEAPPROFILE names a heap profile taken at the
// end. Run it with -benchtime=1x.
func BenchmarkScaleCases(b *testing.B) {
	institutions := benchEnvInt(b, "FLYCHECK_BENCH_INSTITUTIONS", 5000)
	rounds := benchEnvInt(b, "FLYCHECK_BENCH_ROLLUP_ROUNDS", 10)
	const cities = 13
	if rounds > institutions {
		b.Fatalf("FLYCHECK_BENCH_ROLLUP_ROUNDS=%d: at most one per institution (%d)", rounds, institutions)
	}
	var results []casesResult
	b.ResetTimer()
	for iter := range b.N {
		b.StopTimer()
		results = append(results, casesRound(b, fmt.Sprintf("%s-%d", benchRunID(), iter), cities, institutions, rounds))
	}
	b.StopTimer()
	// The worst iteration's figures (with -benchtime=1x the only one).
	var w casesResult
	var rollups []time.Duration
	for _, r := range results {
		w.created, w.counted, w.evaluated = max(w.created, r.created), max(w.counted, r.counted), max(w.evaluated, r.evaluated)
		w.heapPeak, w.liveEnd, w.rssHWM = max(w.heapPeak, r.heapPeak), max(w.liveEnd, r.liveEnd), max(w.rssHWM, r.rssHWM)
		w.writes = max(w.writes, r.writes)
		rollups = append(rollups, r.rollups...)
	}
	slices.Sort(rollups)
	total := cities * institutions
	b.ReportMetric(float64(total), "cases")
	b.ReportMetric(w.created.Seconds(), "all-created-s")
	b.ReportMetric(w.counted.Seconds(), "all-counted-s")
	b.ReportMetric(float64(total)/w.created.Seconds(), "cases/s")
	b.ReportMetric(w.evaluated.Seconds(), "all-with-status-s")
	b.ReportMetric(float64(w.writes), "writes")
	b.ReportMetric(float64(w.heapPeak)/(1<<20), "heap-peak-MiB")
	b.ReportMetric(float64(w.liveEnd)/(1<<20), "heap-live-end-MiB")
	b.ReportMetric(float64(w.rssHWM)/(1<<20), "rss-hwm-MiB")
	b.ReportMetric(ms(rollups[0]), "rollup-min-ms")
	b.ReportMetric(ms(quantile(rollups, 0.5)), "rollup-p50-ms")
	b.ReportMetric(ms(rollups[len(rollups)-1]), "rollup-max-ms")
	b.ReportMetric(0, "ns/op")
}

type casesResult struct {
	created, counted  time.Duration
	evaluated         time.Duration // until every case has its status
	writes            int
	heapPeak, liveEnd uint64
	rssHWM            uint64
	rollups           []time.Duration
}

// casesCampaignSeen is what the Campaign watch saw.
type casesCampaignSeen struct {
	mu      sync.Mutex
	counted time.Time            // first event counting every case
	opened  map[string]time.Time // casesOpened key → first seen
	// match, when set, is checked on every event; matched is the arrival
	// of the first event it accepted.
	match   func(*flycheckv1.Campaign) bool
	matched time.Time
	changed chan struct{}
}

func casesRound(b *testing.B, run string, cities, institutions, rounds int) casesResult {
	ctx := context.Background()
	opNS, provNS, cityNS, rosterBytes := benchProvince(b, "bcase", run, cities, institutions)
	total := cities * institutions
	benchLog(b, "cases: 1 campaign × %d cities × %d institutions, selfInspection scope All: %d cases; largest roster ConfigMap %d KB",
		cities, institutions, total, rosterBytes/1024)

	// 2020-07-15 09:00 in Shanghai: the self-inspection phase is active.
	loc, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		b.Fatal(err)
	}
	fake := clocktesting.NewFakeClock(time.Date(2020, 7, 15, 9, 0, 0, 0, loc))
	camp := benchSamplingCampaign("bcase-"+run, run, cityNS, provNS, phase("selfinspection", "2020-07-01", "2020-08-31"))
	camp.Spec.Phases[0].SelfInspection = &flycheckv1.PhaseSelfInspection{Scope: flycheckv1.ScopeAll}
	if err := k8sClient.Create(ctx, camp); err != nil {
		b.Fatalf("creating campaign %s: %v", camp.Name, err)
	}

	// Watch the cases and the Campaign from before the manager starts.
	var casesMu sync.Mutex
	seenCases := make(map[string]struct{}, total)
	evaluated := make(map[string]struct{}, total) // with their status (origin, deadlines)
	var allCreated, allEvaluated time.Time
	seen := &casesCampaignSeen{opened: map[string]time.Time{}, changed: make(chan struct{}, 1)}
	wctx, stopWatch := context.WithCancel(ctx)
	caseWatch := benchWatch(wctx, b, &flycheckv1.InspectionCaseList{}, client.MatchingLabels{flycheckv1.LabelCampaign: camp.Name},
		func(obj client.Object, at time.Time) {
			casesMu.Lock()
			defer casesMu.Unlock()
			key := obj.GetNamespace() + "/" + obj.GetName()
			seenCases[key] = struct{}{}
			if len(seenCases) == total && allCreated.IsZero() {
				allCreated = at
			}
			if len(obj.(*flycheckv1.InspectionCase).Status.Origins) > 0 {
				evaluated[key] = struct{}{}
				if len(evaluated) == total && allEvaluated.IsZero() {
					allEvaluated = at
				}
			}
		})
	campaignWatch := benchWatch(wctx, b, &flycheckv1.CampaignList{}, client.MatchingLabels{benchLabel: run}, func(obj client.Object, at time.Time) {
		c := obj.(*flycheckv1.Campaign)
		n := 0
		for _, row := range c.Status.Cities {
			n += int(row.Cases)
		}
		seen.mu.Lock()
		if seen.match != nil && seen.matched.IsZero() && seen.match(c) {
			seen.matched = at
		}
		if n == total && seen.counted.IsZero() {
			seen.counted = at
		}
		for _, k := range c.Status.CasesOpened {
			if _, ok := seen.opened[k]; !ok {
				seen.opened[k] = at
			}
		}
		seen.mu.Unlock()
		select {
		case seen.changed <- struct{}{}:
		default:
		}
	})

	// The RSS high-water mark is the process's: reset it (clear_refs 5,
	// Linux ≥ 4.0) so that it is the manager's run, not the suite's past.
	if err := os.WriteFile("/proc/self/clear_refs", []byte("5"), 0); err != nil {
		benchLog(b, "cases: could not reset VmHWM (%v): the RSS high-water mark covers the whole test process", err)
	}
	mem := startMemorySampler()
	writes := &writeCounter{}
	before := gatherControllerMetrics(b)
	runtime.GC()
	liveBefore := readRuntimeMetric("/gc/heap/live:bytes")
	b.StartTimer()
	start := time.Now()
	stopMgr := startBenchManager(b, fake, opNS, writes)
	profiled := profileAPIServer(b, "cases")
	defer func() {
		<-profiled
		b.StopTimer()
		stopMgr()
		stopWatch()
		<-caseWatch
		<-campaignWatch
		cleanupBenchRun(b, run, []string{camp.Name}, append([]string{opNS, provNS}, cityNS...))
	}()

	progress := time.NewTicker(30 * time.Second)
	defer progress.Stop()
	deadline := time.Now().Add(30 * time.Minute)
	for {
		casesMu.Lock()
		nCases, nEvaluated, created, done := len(seenCases), len(evaluated), allCreated, allEvaluated
		casesMu.Unlock()
		seen.mu.Lock()
		counted, nOpened := seen.counted, len(seen.opened)
		seen.mu.Unlock()
		if !created.IsZero() && !counted.IsZero() && !done.IsZero() {
			break
		}
		if time.Now().After(deadline) {
			b.Fatalf("after %s: %d/%d cases, %d with status, %d/%d cities opened, campaign counting all: %v",
				time.Since(start).Round(time.Second), nCases, total, nEvaluated, nOpened, cities, !counted.IsZero())
		}
		select {
		case <-progress.C:
			benchLog(b, "cases: %s: %d/%d cases, %d with status, %d/%d cities opened, %d writes so far",
				time.Since(start).Round(time.Second), nCases, total, nEvaluated, nOpened, cities, len(writes.between(time.Time{}, time.Now())))
		case <-time.After(200 * time.Millisecond):
		}
	}
	b.StopTimer()
	var res casesResult
	casesMu.Lock()
	res.created, res.evaluated = allCreated.Sub(start), allEvaluated.Sub(start)
	casesMu.Unlock()
	seen.mu.Lock()
	res.counted = seen.counted.Sub(start)
	var firstCity, lastCity time.Duration
	for _, at := range seen.opened {
		d := at.Sub(start)
		if firstCity == 0 || d < firstCity {
			firstCity = d
		}
		lastCity = max(lastCity, d)
	}
	seen.mu.Unlock()
	benchLog(b, "cases: all %d cases created after %s (%.0f cases/s); the Campaign counts them all after %s; all have their status (origin, deadlines) after %s (%.0f cases/s); first city's opening recorded after %s, last after %s",
		total, res.created.Round(time.Millisecond), float64(total)/res.created.Seconds(), res.counted.Round(time.Millisecond),
		res.evaluated.Round(time.Millisecond), float64(total)/res.evaluated.Seconds(),
		firstCity.Round(time.Millisecond), lastCity.Round(time.Millisecond))
	if res.created >= 3*time.Minute {
		b.Errorf("creating %d cases took %s; target under 3 minutes", total, res.created.Round(time.Second))
	}
	writes.waitQuiet(b, 3*time.Second, 5*time.Minute)
	quiet := time.Now()
	res.writes = len(writes.between(time.Time{}, quiet))
	benchLog(b, "cases: the manager made %d writes to converge: %s", res.writes, writes.summary(time.Time{}, quiet))

	res.rollups = casesRollupRounds(b, camp.Name, cityNS, institutions, rounds, seen)
	sorted := slices.Clone(res.rollups)
	slices.Sort(sorted)
	benchLog(b, "cases: roll-up latency over %d case updates: min %s, median %s, max %s (%d writes meanwhile: %s)",
		len(sorted), sorted[0].Round(time.Millisecond), quantile(sorted, 0.5).Round(time.Millisecond),
		sorted[len(sorted)-1].Round(time.Millisecond), len(writes.between(quiet, time.Now())), writes.summary(quiet, time.Now()))
	if sorted[len(sorted)-1] >= 2*time.Second {
		b.Errorf("roll-up latency up to %s; target under 2 s", sorted[len(sorted)-1].Round(time.Millisecond))
	}

	res.liveEnd, res.heapPeak, res.rssHWM = reportManagerMemory(b, "cases", mem, liveBefore)
	if res.rssHWM >= 1<<30 {
		b.Errorf("manager RSS high-water mark %s; target under 1 GiB", mib(res.rssHWM))
	}
	for _, p := range controlPlaneProcesses() {
		st := procStatus(strconv.Itoa(p.pid))
		benchLog(b, "cases: %s (pid %d): RSS %s, high-water mark %s", p.name, p.pid, mib(st["VmRSS"]), mib(st["VmHWM"]))
		b.ReportMetric(float64(st["VmHWM"])/(1<<20), p.name+"-rss-hwm-MiB")
	}
	if db, quota, err := etcdDBSize(); err == nil {
		benchLog(b, "cases: etcd database %s of a %s quota", mib(uint64(db)), mib(uint64(quota)))
		b.ReportMetric(db/(1<<20), "etcd-db-MiB")
	} else {
		benchLog(b, "cases: etcd metrics: %v", err)
	}
	m := gatherControllerMetrics(b).minus(before)
	m.log(b)
	m.failOnErrors(b)
	return res
}

// casesRollupRounds records an on-site check with one violation on one case
// per round (a different institution each time, cities in turn) and times
// the patch until the Campaign's row for the city shows it: one more
// inspected case with findings and the violation's amount in found. That
// is two hops: the case's spec (inspected, with findings) and the
// InspectionCase reconciler's status.amounts (found).
func casesRollupRounds(b *testing.B, campName string, cityNS []string, institutions, rounds int, seen *casesCampaignSeen) []time.Duration {
	ctx := context.Background()
	type want struct {
		inspected int32
		found     cases.Fen
	}
	wants := map[string]*want{}
	var out []time.Duration
	for i := range rounds {
		c := i % len(cityNS)
		cityName := fmt.Sprintf("c%02d", c+1)
		code := fmt.Sprintf("H32%02d00%05d", c+1, institutions-1-i)
		w := wants[cityName]
		if w == nil {
			w = &want{}
			wants[cityName] = w
		}
		amount := cases.Fen(100000 + 137*i) // 1 000.00 yuan and up, odd fen
		w.inspected++
		var err error
		if w.found, err = w.found.Add(amount); err != nil {
			b.Fatal(err)
		}
		var ic flycheckv1.InspectionCase
		key := client.ObjectKey{Namespace: cityNS[c], Name: CaseName(campName, code)}
		if err := k8sClient.Get(ctx, key, &ic); err != nil {
			b.Fatalf("case of %s: %v", code, err)
		}
		patch := client.MergeFrom(ic.DeepCopy())
		ic.Spec.OnSite = &flycheckv1.OnSite{Inspectors: []string{"王检查", "李核实"}, From: "2020-07-14", To: "2020-07-15",
			WorkingPaper: fmt.Sprintf("苏医保稽〔2020〕%d号", i+1),
			Violations:   []flycheckv1.Violation{{Category: "FictitiousCharge", Amount: flycheckv1.Money(amount.String())}}}
		inspected, found := w.inspected, w.found
		seen.mu.Lock()
		seen.matched, seen.match = time.Time{}, func(camp *flycheckv1.Campaign) bool {
			for _, row := range camp.Status.Cities {
				f, err := cases.ParseOptional(string(row.Found))
				if row.Name == cityName {
					return err == nil && row.Inspected == inspected && row.WithFindings == inspected && f == found
				}
			}
			return false
		}
		seen.mu.Unlock()
		t0 := time.Now()
		if err := k8sClient.Patch(ctx, &ic, patch); err != nil {
			b.Fatalf("recording the on-site check of %s: %v", key, err)
		}
		timeout := time.After(30 * time.Second)
		for {
			seen.mu.Lock()
			at := seen.matched
			seen.mu.Unlock()
			if !at.IsZero() {
				out = append(out, at.Sub(t0))
				break
			}
			select {
			case <-seen.changed:
			case <-time.After(benchPoll):
			case <-timeout:
				b.Fatalf("round %d: the Campaign's row %s does not show the on-site check of %s after 30 s (want %d inspected, found %s)",
					i+1, cityName, code, inspected, found)
			}
		}
		benchLog(b, "cases: roll-up %d (%s, %s yuan): %s", i+1, key.Name, amount, out[len(out)-1].Round(time.Millisecond))
	}
	return out
}

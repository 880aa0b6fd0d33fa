package controllers

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
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

	crmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"

	flycheckv1 "github.com/medfund/flycheck-operator/api/v1alpha1"
	"github.com/medfund/flycheck-operator/controllers/testenv"
)

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

var benchControllers = []string{"campaign", "inspectionsample", "screeningjob", "ruleset", "caseopener", "inspectioncase"}

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
// benchProvince creates an operator, a province and cities city
// namespaces named <prefix>-<run>-…, each city with a roster of
// institutions (2020); it returns the namespaces and the largest roster's
// size.
func benchProvince(b *testing.B, prefix, run string, cities, institutions int) (opNS, provNS string, cityNS []string, rosterBytes int) {
	opNS, provNS = prefix+"-"+run+"-op", prefix+"-"+run+"-prov"
	for c := range cities {
		cityNS = append(cityNS, fmt.Sprintf("%s-%s-c%02d", prefix, run, c+1))
	}
	benchNamespaces(b, run, append([]string{opNS, provNS}, cityNS...)...)
	return opNS, provNS, cityNS, benchRosters(b, run, cityNS, institutions, 2020)
}

// reportManagerMemory stops the sampler, forces a GC and logs the memory
// of the manager (this test process hosts it): heap peaks, the live heap
// after GC against liveBefore, and RSS. FLYCHECK_BENCH_HEAPPROFILE names a
// file for a heap profile. It returns the live heap after GC, the heap
// peak and the RSS high-water mark.
func reportManagerMemory(b *testing.B, prefix string, mem *memorySampler, liveBefore uint64) (liveEnd, heapPeak, rssHWM uint64) {
	mem.stop()
	runtime.GC()
	liveEnd = readRuntimeMetric("/gc/heap/live:bytes")
	if path := os.Getenv("FLYCHECK_BENCH_HEAPPROFILE"); path != "" {
		writeHeapProfile(b, path)
	}
	self := procStatus("self")
	benchLog(b, "%s: manager (test process) memory: heap objects peak %s, live heap peak %s, live heap after GC %s (%s before the manager started), Go runtime total peak %s; RSS %s, RSS high-water mark %s",
		prefix, mib(mem.heapPeak), mib(mem.livePeak), mib(liveEnd), mib(liveBefore), mib(mem.totalPeak), mib(self["VmRSS"]), mib(self["VmHWM"]))
	return liveEnd, mem.heapPeak, self["VmHWM"]
}

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

// profileAPIServer, when FLYCHECK_BENCH_APISERVER_PROFILE names a file,
// takes a CPU profile of kube-apiserver (its /debug/pprof, which a
// system:masters client may read) over FLYCHECK_BENCH_APISERVER_SECONDS
// (default 30) starting now, in the background; the channel closes when
// it is written. It shows where the API server's time goes while the
// manager writes.
func profileAPIServer(b *testing.B, what string) <-chan struct{} {
	done := make(chan struct{})
	path := os.Getenv("FLYCHECK_BENCH_APISERVER_PROFILE")
	if path == "" {
		close(done)
		return done
	}
	seconds := benchEnvInt(b, "FLYCHECK_BENCH_APISERVER_SECONDS", 30)
	go func() {
		defer close(done)
		raw, err := clientset.CoreV1().RESTClient().Get().AbsPath("/debug/pprof/profile").
			Param("seconds", strconv.Itoa(seconds)).Timeout(time.Duration(seconds+30) * time.Second).DoRaw(context.Background())
		if err == nil {
			err = os.WriteFile(path, raw, 0o644)
		}
		if err != nil {
			benchLog(b, "%s: kube-apiserver CPU profile: %v", what, err)
			return
		}
		benchLog(b, "%s: kube-apiserver CPU profile over %d s written to %s", what, seconds, path)
	}()
	return done
}

package controllers

import (
	"os"
	"regexp"
	"slices"
	"sort"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

var (
	docMetricRow  = regexp.MustCompile("(?m)^\\| `(flycheck_[a-z_]+)` \\|")
	descFQName    = regexp.MustCompile(`fqName: "([^"]+)"`)
	metricsDocRel = "../docs/metrics.md"
)

// documentedMetrics reads the metric names of docs/metrics.md's table.
func documentedMetrics(t *testing.T) []string {
	t.Helper()
	raw, err := os.ReadFile(metricsDocRel)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, m := range docMetricRow.FindAllStringSubmatch(string(raw), -1) {
		out = append(out, m[1])
	}
	sort.Strings(out)
	return out
}

// registeredMetrics names every metric the domain collectors describe,
// including vectors that have no series yet.
func registeredMetrics(t *testing.T) []string {
	t.Helper()
	ch := make(chan *prometheus.Desc, 64)
	go func() {
		for _, c := range domainCollectors() {
			c.Describe(ch)
		}
		close(ch)
	}()
	var out []string
	for d := range ch {
		m := descFQName.FindStringSubmatch(d.String())
		if m == nil {
			t.Fatalf("cannot read the name of %s", d)
		}
		out = append(out, m[1])
	}
	sort.Strings(out)
	return slices.Compact(out)
}

// TestMetricsDocumented keeps docs/metrics.md and the registered metrics in
// step: a metric nobody documented cannot be alerted on with confidence,
// and a documented one that is gone breaks dashboards silently.
func TestMetricsDocumented(t *testing.T) {
	doc, reg := documentedMetrics(t), registeredMetrics(t)
	if len(reg) < 10 {
		t.Fatalf("only %d metrics registered: %v", len(reg), reg)
	}
	for _, n := range reg {
		if !slices.Contains(doc, n) {
			t.Errorf("%s is registered but not in docs/metrics.md", n)
		}
	}
	for _, n := range doc {
		if !slices.Contains(reg, n) {
			t.Errorf("%s is in docs/metrics.md but not registered", n)
		}
	}
}

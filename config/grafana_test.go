package config

import (
	"encoding/json"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
)

var (
	metricRef    = regexp.MustCompile(`\bflycheck_[a-z_]+`)
	docMetricRow = regexp.MustCompile("(?m)^\\| `(flycheck_[a-z_]+)` \\|")
)

// TestGrafanaDashboardUsesDocumentedMetrics: every metric a panel or
// variable queries is one docs/metrics.md documents (a histogram through
// its _bucket, _sum or _count series), so a renamed metric cannot leave a
// panel silently empty.
func TestGrafanaDashboardUsesDocumentedMetrics(t *testing.T) {
	doc, err := os.ReadFile("../docs/metrics.md")
	if err != nil {
		t.Fatal(err)
	}
	var documented []string
	for _, m := range docMetricRow.FindAllStringSubmatch(string(doc), -1) {
		documented = append(documented, m[1])
	}
	raw, err := os.ReadFile("grafana/flycheck-dashboard.json")
	if err != nil {
		t.Fatal(err)
	}
	var dash struct {
		Title  string `json:"title"`
		Panels []struct {
			Title   string `json:"title"`
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
		Templating struct {
			List []struct {
				Query any `json:"query"`
			} `json:"list"`
		} `json:"templating"`
	}
	if err := json.Unmarshal(raw, &dash); err != nil {
		t.Fatalf("the dashboard is not JSON: %v", err)
	}
	var queries []string
	for _, p := range dash.Panels {
		if len(p.Targets) == 0 {
			t.Errorf("panel %q has no query", p.Title)
		}
		for _, tg := range p.Targets {
			queries = append(queries, tg.Expr)
		}
	}
	for _, v := range dash.Templating.List {
		if s, ok := v.Query.(string); ok {
			queries = append(queries, s)
		}
	}
	used := map[string]bool{}
	for _, q := range queries {
		for _, name := range metricRef.FindAllString(q, -1) {
			base := name
			for _, suf := range []string{"_bucket", "_sum", "_count"} {
				if b, ok := strings.CutSuffix(name, suf); ok && slices.Contains(documented, b) {
					base = b
				}
			}
			used[base] = true
			if !slices.Contains(documented, base) {
				t.Errorf("the dashboard queries %s, which docs/metrics.md does not document", name)
			}
		}
	}
	if len(dash.Panels) < 8 || len(used) < 10 {
		t.Errorf("%d panels using %d metrics: the dashboard lost its content", len(dash.Panels), len(used))
	}
}

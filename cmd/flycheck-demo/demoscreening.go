package main

// The screening and sampling part of the demo: a synthetic province on a
// local "volume", the default RuleSets, the node player that runs the
// screening Jobs, and the lines that show results arriving.

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	flycheckv1 "github.com/medfund/flycheck-operator/api/v1alpha1"
	"github.com/medfund/flycheck-operator/api/v1alpha1/rules"
	"github.com/medfund/flycheck-operator/cmd/flycheck-demo/node"
	"github.com/medfund/flycheck-operator/cmd/internal/campaignview"
	"github.com/medfund/flycheck-operator/config"
	"github.com/medfund/flycheck-operator/internal/synth"
)

// The demo's claims live on the "PersistentVolumeClaim" demo-claims, which
// the node player maps to <workdir>/pvc/demo-claims.
const (
	demoClaim       = "demo-claims"
	demoExtractPath = "extract"
)

// demoDataSource is the campaign's claims extract.
func demoDataSource() *flycheckv1.DataSource {
	return &flycheckv1.DataSource{PersistentVolumeClaim: demoClaim, Path: demoExtractPath, Format: flycheckv1.FormatParquet}
}

// demoProvinceConfig is a province of the demo campaign's three cities
// (320100 南京, 320200 无锡, 320300 徐州): 40 institutions each (3 of them
// tertiary), about 200 000 fee lines of 2024, 1 % of visits carrying an
// injected violation, so that every city has flagged institutions and the
// samples have risk to draw on.
func demoProvinceConfig() synth.Config {
	cfg := synth.DefaultConfig()
	cfg.Seed = 2024
	cfg.Cities = 3
	cfg.InstitutionsPerCity = 40
	cfg.FeeLines = 200_000
	cfg.ViolationRate = 0.01
	return cfg
}

// demoRuleSets decodes the default RuleSet catalogue compiled into the
// binary (config/rules).
func demoRuleSets() ([]*flycheckv1.RuleSet, error) {
	var out []*flycheckv1.RuleSet
	err := fs.WalkDir(config.Rules, ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := config.Rules.ReadFile(path)
		if err != nil {
			return err
		}
		dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(data), 4096)
		for {
			rs := &flycheckv1.RuleSet{}
			if err := dec.Decode(rs); err == io.EOF {
				return nil
			} else if err != nil {
				return fmt.Errorf("embedded %s: %w", path, err)
			}
			if rs.Kind == "RuleSet" { // not the kustomization
				out = append(out, rs)
			}
		}
	})
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, err
}

// prepareDemoScreening writes the synthetic province onto the demo volume
// and applies the default RuleSets; it returns their names.
func prepareDemoScreening(ctx context.Context, c client.Client, workdir string, say *demoPrinter) ([]string, error) {
	sets, err := demoRuleSets()
	if err != nil {
		return nil, err
	}
	var names []string
	var catalogue []rules.Rule // the background respects them, violations break them
	for _, rs := range sets {
		names = append(names, rs.Name)
		catalogue = append(catalogue, rs.Spec.Rules...)
	}

	dir := filepath.Join(workdir, "pvc", demoClaim, demoExtractPath)
	// A fresh volume each run: the findings of an earlier demo go too.
	if err := os.RemoveAll(filepath.Join(workdir, "pvc", demoClaim)); err != nil {
		return nil, err
	}
	start := time.Now()
	m, err := synth.Generate(dir, synth.Options{Config: demoProvinceConfig(), Rules: catalogue, Format: synth.Parquet})
	if err != nil {
		return nil, fmt.Errorf("generating the demo province: %w", err)
	}
	say.line("generated a synthetic province in %s (volume %s): %d cities, %d institutions, %d visits, %d fee lines, %d injected violations (%.1fs)",
		dir, demoClaim, len(m.Cities), m.Counts.Institutions, m.Counts.Visits, m.Counts.FeeLines, m.Violations.Scenarios, time.Since(start).Seconds())

	for _, rs := range sets {
		if err := c.Create(ctx, rs); err != nil && !apierrors.IsAlreadyExists(err) {
			return nil, fmt.Errorf("applying RuleSet %s: %w", rs.Name, err)
		}
	}
	say.line("applied %d RuleSets (%d rules): %s", len(sets), len(catalogue), strings.Join(names, ", "))
	return names, nil
}

// startDemoNode starts the node player, which runs the screening pods as
// processes of the flycheck binary; stop ends it and waits for them.
func startDemoNode(ctx context.Context, cfg *rest.Config, flycheck, workdir, kubeconfig string, say *demoPrinter) (stop func(), err error) {
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	player := node.New(node.Config{Clientset: cs, Flycheck: flycheck, Workdir: workdir, Kubeconfig: kubeconfig,
		Impersonate: true, Slots: 2, Say: say.line})
	nodeCtx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- player.Run(nodeCtx) }()
	say.line("node player up: screening Jobs run as local processes of %s, 2 at a time (logs in %s)", flycheck, filepath.Join(workdir, "logs"))
	return func() {
		cancel()
		if err := <-done; err != nil {
			fmt.Fprintln(os.Stderr, "node player:", err)
		}
	}, nil
}

// followDemoResults prints each city's screening as its status changes,
// and each inspection sample once drawn, until ctx ends.
func followDemoResults(ctx context.Context, c client.Client, say *demoPrinter) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		seenSJ := map[string]string{}
		seenIS := map[string]bool{}
		tick := time.NewTicker(250 * time.Millisecond)
		defer tick.Stop()
		for {
			var sjs flycheckv1.ScreeningJobList
			if err := c.List(ctx, &sjs); err == nil {
				for i := range sjs.Items {
					sj := &sjs.Items[i]
					key := sj.Namespace + "/" + sj.Name
					if line := screeningLine(sj); line != seenSJ[key] {
						seenSJ[key] = line
						say.line("%s", line)
					}
				}
			}
			var samples flycheckv1.InspectionSampleList
			if err := c.List(ctx, &samples); err == nil {
				for i := range samples.Items {
					is := &samples.Items[i]
					key := is.Namespace + "/" + is.Name
					if is.Status.Counts != nil && is.Status.DrawnAt != nil && !seenIS[key] {
						seenIS[key] = true
						say.line("%s", sampleLine(is))
					}
				}
			}
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
		}
	}()
	return func() { cancel(); wg.Wait() }
}

func cityOf(labels map[string]string, fallback string) string {
	if c := labels[flycheckv1.LabelCity]; c != "" {
		return c
	}
	return fallback
}

// screeningLine is one city's screening, as its status stands.
func screeningLine(sj *flycheckv1.ScreeningJob) string {
	st := &sj.Status
	state := string(st.State)
	if state == "" {
		state = "Pending"
	}
	head := fmt.Sprintf("screening %-8s %s/%s: %s", cityOf(sj.Labels, sj.Spec.CityCode), sj.Namespace, sj.Name, state)
	switch st.State {
	case flycheckv1.ScreeningRunning:
		if st.Shards.Succeeded == 0 {
			return fmt.Sprintf("%s, %d shards", head, st.Shards.Total)
		}
		return fmt.Sprintf("%s, %d/%d shards in: %d lines, %d findings, %d of %d institutions flagged so far",
			head, st.Shards.Succeeded, st.Shards.Total, st.LinesScanned, st.Findings.Total, st.Institutions.Flagged, st.Institutions.Total)
	case flycheckv1.ScreeningSucceeded:
		return fmt.Sprintf("%s: %d lines, %d findings (%s), ¥%s at risk, %d of %d institutions flagged; frame %s",
			head, st.LinesScanned, st.Findings.Total, byCategory(st.Findings.ByCategory), st.Findings.SuspectAmount,
			st.Institutions.Flagged, st.Institutions.Total, st.FrameConfigMap)
	case flycheckv1.ScreeningFailed:
		var why []string
		for _, f := range st.FailedShards {
			why = append(why, fmt.Sprintf("shard %d: %s", f.Index, f.Reason))
		}
		return fmt.Sprintf("%s: %s", head, strings.Join(why, "; "))
	}
	return head
}

// byCategory lists finding counts, largest first.
func byCategory(m map[string]int64) string {
	cats := make([]string, 0, len(m))
	for c := range m {
		cats = append(cats, c)
	}
	sort.Slice(cats, func(i, j int) bool {
		if m[cats[i]] != m[cats[j]] {
			return m[cats[i]] > m[cats[j]]
		}
		return cats[i] < cats[j]
	})
	parts := make([]string, len(cats))
	for i, c := range cats {
		parts[i] = fmt.Sprintf("%s %d", c, m[c])
	}
	return strings.Join(parts, ", ")
}

// sampleLine is a drawn sample: totals and, per city, picks of quota.
func sampleLine(is *flycheckv1.InspectionSample) string {
	n := is.Status.Counts
	var cities []string
	for _, bc := range n.ByCity {
		cities = append(cities, fmt.Sprintf("%s %d (%d tertiary, quota %d)", bc.CityCode, bc.Selected, bc.Tertiary, bc.Quota))
	}
	line := fmt.Sprintf("sample %s/%s (%s) drawn: %d institutions, %d tertiary; %s",
		is.Namespace, is.Name, is.Spec.Purpose, n.Selected, n.Tertiary, strings.Join(cities, ", "))
	if len(is.Status.Shortfalls) > 0 {
		line += fmt.Sprintf("; %d shortfall(s): %s", len(is.Status.Shortfalls), is.Status.Shortfalls[0].Message)
	}
	return line
}

// printDemoResults is the closing table: per city, the screening and the
// samples drawn for it.
func printDemoResults(ctx context.Context, c client.Client, camp *flycheckv1.Campaign, out io.Writer) {
	var sjs flycheckv1.ScreeningJobList
	var samples flycheckv1.InspectionSampleList
	if c.List(ctx, &sjs, client.MatchingLabels{flycheckv1.LabelCampaign: camp.Name}) != nil ||
		c.List(ctx, &samples, client.MatchingLabels{flycheckv1.LabelCampaign: camp.Name}) != nil {
		return
	}
	fmt.Fprintf(out, "\nResults of campaign %s by city (as `kubectl flycheck status %s` prints them):\n", camp.Name, camp.Name)
	_ = campaignview.WriteCityTable(out, camp, sjs.Items, samples.Items)
	if len(samples.Items) == 0 {
		// The spot- and fly-check phases create them; none means those
		// phases failed to, and the Campaign's events say why.
		fmt.Fprintf(out, "(no InspectionSamples were created for the sampling phases: see `kubectl describe camp %s`)\n", camp.Name)
	}
}

package controllers

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	flycheckv1 "github.com/medfund/flycheck-operator/api/v1alpha1"
)

// TestDecisionsAreLoggedAndCounted: a phase that starts is an info log line
// (JSON, with the decision's reason and object), a transition counted once,
// and a schedule lag observed; the next reconcile, which decides nothing,
// logs and counts nothing.
func TestDecisionsAreLoggedAndCounted(t *testing.T) {
	ns := "decisions-city"
	createNamespace(t, ns)
	var buf bytes.Buffer
	ctx := logf.IntoContext(context.Background(), zap.New(zap.WriteTo(&buf)))
	r, clk := newTestReconciler(shanghai(t, "2020-05-01 00:00:30"))
	c := testCampaign("decisions", []string{ns}, phase("selfinspection", "2020-05-01", "2020-06-30"))
	createCampaign(t, c)
	started := phaseTransitions.WithLabelValues(c.Name, "started")
	before := testutil.ToFloat64(started)
	lagBefore := lagCount(t)
	reconcile := func() {
		t.Helper()
		if _, err := r.Reconcile(ctx, ctrl.Request{NamespacedName: client.ObjectKey{Name: c.Name}}); err != nil {
			t.Fatal(err)
		}
	}
	reconcile()
	var found map[string]any
	for _, line := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("log line is not JSON: %q", line)
		}
		if rec["decision"] == CampaignReasonPhaseStarted {
			found = rec
		}
	}
	if found == nil || found["level"] != "info" || found["kind"] != "Campaign" || found["name"] != c.Name ||
		!strings.Contains(found["msg"].(string), "selfinspection") || found["eventType"] != "Normal" {
		t.Errorf("no info line for the phase start: %v\n%s", found, buf.String())
	}
	if got := testutil.ToFloat64(started) - before; got != 1 {
		t.Errorf("%v transitions counted, want 1", got)
	}
	if got := lagCount(t) - lagBefore; got != 1 {
		t.Errorf("%d schedule lags observed, want 1", got)
	}
	buf.Reset()
	clk.Step(1)
	reconcile()
	if strings.Contains(buf.String(), `"decision"`) || testutil.ToFloat64(started)-before != 1 || lagCount(t)-lagBefore != 1 {
		t.Errorf("an idle reconcile logged or counted a decision: %s", buf.String())
	}
}

func lagCount(t *testing.T) uint64 {
	t.Helper()
	var m dto.Metric
	if err := scheduleLag.Write(&m); err != nil {
		t.Fatal(err)
	}
	return m.GetHistogram().GetSampleCount()
}

// TestScreeningAndRefusalMetrics: a screening that succeeds adds its lines
// (by namespace) and findings (by category) once and observes its duration;
// a refused shard result is counted.
func TestScreeningAndRefusalMetrics(t *testing.T) {
	ns := "metrics-sj"
	createNamespace(t, ns)
	dup := createCatalogueRuleSet(t, "duplicate-charge.yaml")
	sj := testScreeningJob(ns, "metrics", 2, dup.Name)
	mustCreate(t, sj)
	r := newSJReconciler()
	reconcileSJ(t, r, ns, sj.Name)
	sj = getSJ(t, ns, sj.Name)
	lines, findings := screeningLines.WithLabelValues(ns), screeningFindings.WithLabelValues("DuplicateCharge")
	linesBefore, findingsBefore, refusedBefore := testutil.ToFloat64(lines), testutil.ToFloat64(findings), testutil.ToFloat64(shardResultsRefused)
	durations := func() uint64 {
		var m dto.Metric
		if err := screeningDuration.WithLabelValues("Succeeded").(interface{ Write(*dto.Metric) error }).Write(&m); err != nil {
			t.Fatal(err)
		}
		return m.GetHistogram().GetSampleCount()
	}
	durBefore := durations()

	forged := shardResultConfigMap(t, r, sj, 1, inst("H99999999999", 3, 9, "999.00", "1.000000"))
	delete(forged.BinaryData, flycheckv1.ShardSignatureKey)
	mustCreate(t, forged)
	mustCreate(t, shardResultConfigMap(t, r, sj, 0, inst("H32010000001", 3, 2, "40.00", "0.400000")))
	mustCreate(t, shardResultConfigMap(t, r, sj, 1, inst("H32010000002", 2, 1, "10.00", "0.100000")))
	completeJob(t, sj, 2)
	reconcileSJ(t, r, ns, sj.Name)
	reconcileSJ(t, r, ns, sj.Name) // nothing new: nothing counted again
	if got := getSJ(t, ns, sj.Name); got.Status.State != flycheckv1.ScreeningSucceeded {
		t.Fatalf("state %s", got.Status.State)
	}
	if d := testutil.ToFloat64(lines) - linesBefore; d != 200 {
		t.Errorf("lines counted %v, want 200", d)
	}
	if d := testutil.ToFloat64(findings) - findingsBefore; d != 3 {
		t.Errorf("DuplicateCharge findings counted %v, want 3", d)
	}
	if d := durations() - durBefore; d != 1 {
		t.Errorf("%d durations observed, want 1", d)
	}
	if d := testutil.ToFloat64(shardResultsRefused) - refusedBefore; d != 1 {
		t.Errorf("%v refusals counted, want 1", d)
	}
}

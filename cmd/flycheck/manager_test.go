package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/pflag"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
)

func parseManagerFlags(t *testing.T, args ...string) managerFlags {
	t.Helper()
	var f managerFlags
	fs := pflag.NewFlagSet("manager", pflag.ContinueOnError)
	bindManagerFlags(fs, &f)
	if err := fs.Parse(args); err != nil {
		t.Fatal(err)
	}
	return f
}

// TestScreenerDefaultsFromFlags: screening pods get requests, limits and a
// deadline by default (a namespace with a ResourceQuota rejects pods
// without), each flag overrides one, an empty value drops it.
func TestScreenerDefaultsFromFlags(t *testing.T) {
	q := func(l corev1.ResourceList, n corev1.ResourceName) string { v := l[n]; return v.String() }
	d, err := screenerDefaults(parseManagerFlags(t))
	if err != nil {
		t.Fatal(err)
	}
	r := d.Resources
	if q(r.Requests, corev1.ResourceCPU) != "1" || q(r.Requests, corev1.ResourceMemory) != "1Gi" ||
		q(r.Limits, corev1.ResourceCPU) != "2" || q(r.Limits, corev1.ResourceMemory) != "1Gi" ||
		d.ActiveDeadlineSeconds == nil || *d.ActiveDeadlineSeconds != 6*3600 {
		t.Errorf("defaults: %+v, deadline %v", r, d.ActiveDeadlineSeconds)
	}
	d, err = screenerDefaults(parseManagerFlags(t, "--screener-memory-limit=3Gi", "--screener-cpu-limit=",
		"--screener-active-deadline=0", "--screener-cpu-request=500m"))
	if err != nil {
		t.Fatal(err)
	}
	r = d.Resources
	if q(r.Limits, corev1.ResourceMemory) != "3Gi" || q(r.Requests, corev1.ResourceCPU) != "500m" || d.ActiveDeadlineSeconds != nil {
		t.Errorf("overrides: %+v, deadline %v", r, d.ActiveDeadlineSeconds)
	}
	if _, ok := r.Limits[corev1.ResourceCPU]; ok {
		t.Error("an empty --screener-cpu-limit still sets a CPU limit")
	}
	if _, err := screenerDefaults(parseManagerFlags(t, "--screener-memory-request=lots")); err == nil || !strings.Contains(err.Error(), "screener-memory-request") {
		t.Errorf("a bad quantity: %v", err)
	}
}

// TestManagerLogsJSONByDefault: with no --zap-* flag the manager logs one
// JSON object per line, with the decision's fields as keys.
func TestManagerLogsJSONByDefault(t *testing.T) {
	f := parseManagerFlags(t)
	var buf bytes.Buffer
	log := zap.New(zap.UseFlagOptions(&f.zap), zap.WriteTo(&buf))
	log.Info("Phase selfinspection started", "decision", "PhaseStarted", "kind", "Campaign", "name", "jiangsu-2020")
	log.V(1).Info("debug detail")
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 1 {
		t.Fatalf("%d lines (debug logged at the default level?):\n%s", len(lines), buf.String())
	}
	var rec map[string]any
	if err := json.Unmarshal([]byte(lines[0]), &rec); err != nil {
		t.Fatalf("not JSON: %q", lines[0])
	}
	if rec["level"] != "info" || rec["decision"] != "PhaseStarted" || rec["kind"] != "Campaign" || rec["msg"] != "Phase selfinspection started" {
		t.Errorf("log record %v", rec)
	}
}

// TestTerminationMessageIsTheErrorAlone: in a pod the error replaces
// whatever the file held (the kubelet would otherwise use the log's tail,
// progress lines first); outside a pod nothing is created.
func TestTerminationMessageIsTheErrorAlone(t *testing.T) {
	path := filepath.Join(t.TempDir(), "termination-log")
	if err := os.WriteFile(path, []byte("screen: fee_lines 1200000 lines read"), 0o644); err != nil {
		t.Fatal(err)
	}
	writeTerminationMessage(path, errors.New("fee_lines.parquet: missing column hilist_code"))
	got, err := os.ReadFile(path)
	if err != nil || string(got) != "flycheck: fee_lines.parquet: missing column hilist_code" {
		t.Errorf("termination message %q, %v", got, err)
	}
	absent := filepath.Join(t.TempDir(), "none")
	writeTerminationMessage(absent, errors.New("x"))
	if _, err := os.Stat(absent); !os.IsNotExist(err) {
		t.Errorf("a termination log was created outside a pod: %v", err)
	}
	t.Setenv("FLYCHECK_TERMINATION_LOG", path)
	if terminationLogPath() != path {
		t.Error("FLYCHECK_TERMINATION_LOG ignored")
	}
}

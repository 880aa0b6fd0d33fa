package screening

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/medfund/flycheck-operator/api/v1alpha1/rules"
)

func outdirFixture(t *testing.T) (input string, rs []rules.Rule) {
	t.Helper()
	d := newDataset().out("v1", "p1").line("l1", "v1", "X1", "1", "500.00", "2024-03-01 10:00:00")
	input = t.TempDir()
	d.write(t, input, "csv")
	return input, []rules.Rule{rule("cap", rules.PriceCap, rules.Any, rules.Params{Items: []string{"X1"}, MaxPrice: "100.00"})}
}

func readMarker(t *testing.T, dir string) completion {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, CompleteMarker))
	if err != nil {
		t.Fatalf("no completion marker in %s: %v", dir, err)
	}
	var c completion
	if err := json.Unmarshal(data, &c); err != nil {
		t.Fatal(err)
	}
	return c
}

// A run writes beside its output and moves the whole run into place at the
// end, with a marker; the output never holds half a run.
func TestOutputIsWholeOrAbsent(t *testing.T) {
	input, rs := outdirFixture(t)
	out := filepath.Join(t.TempDir(), "out")
	res, err := Run(context.Background(), Options{Input: input, Rules: rs, Output: out})
	if err != nil {
		t.Fatal(err)
	}
	if res.OutputDir != out {
		t.Errorf("OutputDir %s, want %s", res.OutputDir, out)
	}
	if m := readMarker(t, out); m.Findings != 1 || m.Rules != 1 || m.Shards != 1 {
		t.Errorf("marker %+v", m)
	}
	for _, f := range []string{"findings.csv", "findings.parquet", "summary.json", "stats.json", "quarantine.csv"} {
		if _, err := os.Stat(filepath.Join(out, f)); err != nil {
			t.Errorf("%s missing: %v", f, err)
		}
	}
	if _, err := os.Stat(out + incompleteSuffix); !os.IsNotExist(err) {
		t.Errorf("the staging directory is left behind: %v", err)
	}

	// A failing run (its input is gone) leaves no output and no staging.
	failed := filepath.Join(t.TempDir(), "failed")
	if _, err := Run(context.Background(), Options{Input: t.TempDir(), Rules: rs, Output: failed}); err == nil {
		t.Fatal("a run over an empty input succeeded")
	}
	for _, p := range []string{failed, failed + incompleteSuffix} {
		if _, err := os.Stat(p); !os.IsNotExist(err) {
			t.Errorf("a failed run left %s: %v", p, err)
		}
	}
}

// An output holding an earlier run, or other files, is refused unless the
// run may overwrite; an overwriting run replaces it only once complete.
func TestOutputRefusesAnEarlierRun(t *testing.T) {
	input, rs := outdirFixture(t)
	out := t.TempDir()
	if _, err := Run(context.Background(), Options{Input: input, Rules: rs, Output: out}); err != nil {
		t.Fatal(err)
	}
	first := readMarker(t, out)
	_, err := Run(context.Background(), Options{Input: input, Rules: rs, Output: out})
	if !errors.Is(err, ErrOutputInUse) || !strings.Contains(err.Error(), "holds an earlier run") || !strings.Contains(err.Error(), "--overwrite") {
		t.Fatalf("second run into the same output: %v", err)
	}
	if _, err := Run(context.Background(), Options{Input: input, Rules: rs, Output: out, Overwrite: true}); err != nil {
		t.Fatalf("--overwrite: %v", err)
	}
	if second := readMarker(t, out); !second.CompletedAt.After(first.CompletedAt) {
		t.Errorf("the overwriting run's marker %v is not newer than %v", second.CompletedAt, first.CompletedAt)
	}

	other := t.TempDir()
	if err := os.WriteFile(filepath.Join(other, "notes.txt"), []byte("a bureau's file"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Run(context.Background(), Options{Input: input, Rules: rs, Output: other}); !errors.Is(err, ErrOutputInUse) ||
		!strings.Contains(err.Error(), "not a run of flycheck screen") {
		t.Errorf("an output with other files: %v", err)
	}
	if _, err := os.Stat(filepath.Join(other, "notes.txt")); err != nil {
		t.Errorf("the refused run touched the directory: %v", err)
	}
}

// An interrupted run is recognisable (<output>.incomplete, no marker) and
// cleaned by the next run; spill directories of processes that died are
// removed, those of live ones kept.
func TestInterruptedRunIsCleanedUp(t *testing.T) {
	input, rs := outdirFixture(t)
	base := t.TempDir()
	out := filepath.Join(base, "out")
	if err := os.MkdirAll(filepath.Join(out+incompleteSuffix, "partial"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(out+incompleteSuffix, "findings.csv"), []byte("half"), 0o644); err != nil {
		t.Fatal(err)
	}
	spills := t.TempDir()
	dead := exec.Command("true")
	if err := dead.Run(); err != nil {
		t.Fatal(err)
	}
	deadSpill := filepath.Join(spills, "flycheck-spill-"+strconv.Itoa(dead.Process.Pid)+"-123")
	liveSpill := filepath.Join(spills, spillPrefix()+"456")
	for _, d := range []string{deadSpill, liveSpill} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := Run(context.Background(), Options{Input: input, Rules: rs, Output: out, TempDir: spills, Spill: true}); err != nil {
		t.Fatal(err)
	}
	readMarker(t, out)
	if _, err := os.Stat(filepath.Join(out, "partial")); !os.IsNotExist(err) {
		t.Errorf("the interrupted run's files reached the output: %v", err)
	}
	if _, err := os.Stat(deadSpill); !os.IsNotExist(err) {
		t.Errorf("the dead process's spill directory is still there: %v", err)
	}
	if _, err := os.Stat(liveSpill); err != nil {
		t.Errorf("a live process's spill directory was removed: %v", err)
	}
	entries, _ := os.ReadDir(spills)
	if len(entries) != 1 {
		t.Errorf("spill directory holds %d entries after the run, want only the live one", len(entries))
	}
}

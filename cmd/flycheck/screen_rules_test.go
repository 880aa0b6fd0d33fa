package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/medfund/flycheck-operator/controllers/testenv"
	"github.com/medfund/flycheck-operator/internal/screening"
)

// TestScreenRulesDirectory: `--rules config/rules/` (the help's example)
// screens with the same catalogue as every file named on its own, and a
// directory can be mixed with files.
func TestScreenRulesDirectory(t *testing.T) {
	data := generateTestProvince(t)
	root, err := testenv.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	stats := func(rules ...string) *screening.Stats {
		t.Helper()
		out := filepath.Join(t.TempDir(), "out")
		args := []string{"screen", "--input", data, "--output", out, "--quiet"}
		for _, r := range rules {
			args = append(args, "--rules", r)
		}
		if _, stderr, err := run(t, "", args...); err != nil {
			t.Fatalf("screen %v: %v\n%s", rules, err, stderr)
		}
		b, err := os.ReadFile(filepath.Join(out, "stats.json"))
		if err != nil {
			t.Fatal(err)
		}
		var s screening.Stats
		if err := json.Unmarshal(b, &s); err != nil {
			t.Fatal(err)
		}
		return &s
	}
	files := testenv.DefaultRuleFiles(t)
	byFile := stats(files...)
	byDir := stats(filepath.Join(root, "config", "rules") + "/")
	if byDir.Rules != byFile.Rules || byDir.Findings != byFile.Findings || byFile.Findings == 0 {
		t.Errorf("--rules config/rules/: %d rules, %d findings; the files one by one: %d rules, %d findings",
			byDir.Rules, byDir.Findings, byFile.Rules, byFile.Findings)
	}
	// A directory and a file of it: the ids collide, as for a file twice.
	_, _, err = run(t, "", "screen", "--input", data, "--output", filepath.Join(t.TempDir(), "out"), "--quiet",
		"--rules", filepath.Join(root, "config", "rules"), "--rules", files[0])
	if err == nil || !strings.Contains(err.Error(), "duplicate id") {
		t.Errorf("directory and one of its files: %v", err)
	}
}

package main

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/medfund/flycheck-operator/internal/sampling"
)

// run executes the flycheck command line with stdin and returns stdout,
// stderr and the error main would print.
func run(t *testing.T, stdin string, args ...string) (string, string, error) {
	t.Helper()
	root := newRootCommand()
	var out, errOut bytes.Buffer
	root.SetArgs(args)
	root.SetIn(strings.NewReader(stdin))
	root.SetOut(&out)
	root.SetErr(&errOut)
	err := root.Execute()
	return out.String(), errOut.String(), err
}

const testFrame = `code,cityCode,name,level,ownership,type,risk
A1,320100,甲医院,3,public,hospital,5
A2,320100,乙医院,3,public,hospital,0
A3,320100,丙医院,3,public,hospital,1.5
A4,320100,丁诊所,1,private,clinic,2
A5,320100,戊药房,0,private,pharmacy,
B1,320200,己医院,3,public,hospital,
B2,320200,庚医院,2,public,hospital,7
B3,320200,辛诊所,1,private,clinic,0.25
B4,320200,壬药房,0,private,pharmacy,
`

var policyArgs = []string{"--min-percent", "40", "--min-tertiary-per-city", "2", "--min-total", "7", "--risk-based-percent", "50"}

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// drawJSON runs `sample draw` and returns its JSON and decoded result.
func drawJSON(t *testing.T, frame string) (string, sampling.Result) {
	t.Helper()
	out, _, err := run(t, "", append([]string{"sample", "draw", "--frame", frame, "--seed", "cli-seed"}, policyArgs...)...)
	if err != nil {
		t.Fatal(err)
	}
	var res sampling.Result
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("draw output is not a Result: %v\n%s", err, out)
	}
	return out, res
}

func TestSampleDrawThenVerify(t *testing.T) {
	frame := writeFile(t, "frame.csv", testFrame)
	out, res := drawJSON(t, frame)
	if res.Algorithm != sampling.Algorithm || len(res.Selected) != 7 || res.Seed != "cli-seed" {
		t.Fatalf("draw: %+v", res)
	}

	// The whole draw carries seed and policy: nothing else is needed.
	drawn := writeFile(t, "draw.json", out)
	stdout, stderr, err := run(t, "", "sample", "verify", "--frame", frame, "--selection", drawn)
	if err != nil || stdout != "match\n" {
		t.Fatalf("verify: %q %q %v", stdout, stderr, err)
	}

	// The bare list (jq .status.selected) from stdin needs seed and policy.
	list, _ := json.Marshal(res.Selected)
	args := append([]string{"sample", "verify", "--frame", frame, "--selection", "-", "--seed", "cli-seed"}, policyArgs...)
	if stdout, _, err := run(t, string(list), args...); err != nil || stdout != "match\n" {
		t.Fatalf("verify list: %q %v", stdout, err)
	}
	// … and with the Campaign default policy instead it does not match.
	if stdout, _, err := run(t, string(list), "sample", "verify", "--frame", frame, "--selection", "-", "--seed", "cli-seed"); !errors.Is(err, errMismatch) || !strings.HasPrefix(stdout, "differs: ") {
		t.Fatalf("verify list under default policy: %q %v", stdout, err)
	}

	// CSV form.
	csvOut, _, err := run(t, "", append([]string{"sample", "draw", "--frame", frame, "--seed", "cli-seed", "-o", "csv"}, policyArgs...)...)
	if err != nil {
		t.Fatal(err)
	}
	csvPath := writeFile(t, "sel.csv", csvOut)
	if stdout, _, err := run(t, "", append([]string{"sample", "verify", "--frame", frame, "--selection", csvPath, "--seed", "cli-seed"}, policyArgs...)...); err != nil || stdout != "match\n" {
		t.Fatalf("verify csv: %q %v", stdout, err)
	}
}

func TestSampleVerifyTampered(t *testing.T) {
	frame := writeFile(t, "frame.csv", testFrame)
	_, res := drawJSON(t, frame)

	// A whole InspectionSample as kubectl prints it, with one institution
	// swapped for one the draw did not pick.
	picked := map[string]bool{}
	for _, p := range res.Selected {
		picked[p.Code] = true
	}
	var other string
	for _, c := range []string{"A1", "A2", "A3", "A4", "A5", "B1", "B2", "B3", "B4"} {
		if !picked[c] {
			other = c
		}
	}
	tampered := append([]sampling.Pick(nil), res.Selected...)
	tampered[4].Code = other
	isample := func(sel []sampling.Pick, digest, seed, algorithm string) string {
		b, _ := json.Marshal(map[string]any{
			"apiVersion": "flycheck.medfund.io/v1alpha1", "kind": "InspectionSample",
			"spec":   map[string]any{"purpose": "Recheck", "policy": res.Policy},
			"status": map[string]any{"algorithm": algorithm, "seed": seed, "frame": map[string]any{"digest": digest}, "selected": sel},
		})
		return string(b)
	}

	cases := []struct {
		name, stdin string
		extra       []string
		want        string
	}{
		{"swapped", isample(tampered, res.Frame.Digest, "cli-seed", sampling.Algorithm), nil,
			"differs: entry 5: code is \"" + res.Selected[4].Code + "\" in the draw but \"" + other + "\" in the record"},
		{"other frame", isample(res.Selected, strings.Repeat("0", 64), "cli-seed", sampling.Algorithm), nil,
			"differs: frame digest is " + res.Frame.Digest},
		{"seed flag disagrees", isample(res.Selected, res.Frame.Digest, "cli-seed", sampling.Algorithm), []string{"--seed", "x"},
			`differs: seed is "x" on the command line but "cli-seed" in the record`},
		{"policy flag overrides", isample(res.Selected, res.Frame.Digest, "cli-seed", sampling.Algorithm), []string{"--min-total", "9"},
			"differs: entry "},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"sample", "verify", "--frame", frame, "--selection", "-"}, tc.extra...)
			stdout, _, err := run(t, tc.stdin, args...)
			if !errors.Is(err, errMismatch) {
				t.Fatalf("err = %v, want errMismatch (stdout %q)", err, stdout)
			}
			if !strings.HasPrefix(stdout, tc.want) {
				t.Fatalf("stdout %q, want prefix %q", stdout, tc.want)
			}
		})
	}

	// An explicit flag equal to the recorded policy changes nothing.
	if stdout, _, err := run(t, isample(res.Selected, res.Frame.Digest, "cli-seed", sampling.Algorithm),
		"sample", "verify", "--frame", frame, "--selection", "-", "--min-total", "7"); err != nil || stdout != "match\n" {
		t.Fatalf("same policy via flag: %q %v", stdout, err)
	}

	// Another algorithm is an error, not a difference.
	_, _, err := run(t, isample(res.Selected, res.Frame.Digest, "cli-seed", "flycheck-sample/v9"), "sample", "verify", "--frame", frame, "--selection", "-")
	if err == nil || errors.Is(err, errMismatch) || !strings.Contains(err.Error(), "flycheck-sample/v9") {
		t.Fatalf("other algorithm: %v", err)
	}
	// No seed anywhere.
	list, _ := json.Marshal(res.Selected)
	_, _, err = run(t, string(list), "sample", "verify", "--frame", frame, "--selection", "-")
	if err == nil || !strings.Contains(err.Error(), "no seed") {
		t.Fatalf("missing seed: %v", err)
	}
}

func TestSampleFrameFromConfigMap(t *testing.T) {
	csvPath := writeFile(t, "frame.csv", testFrame)
	want, _ := drawJSON(t, csvPath)

	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write([]byte(testFrame))
	zw.Close()
	plain, _ := json.Marshal(map[string]any{"apiVersion": "v1", "kind": "ConfigMap", "data": map[string]string{"frame.csv": testFrame}})
	binary, _ := json.Marshal(map[string]any{"apiVersion": "v1", "kind": "ConfigMap", "binaryData": map[string][]byte{"frame.csv": gz.Bytes()}})
	for name, cm := range map[string][]byte{"data": plain, "gzip binaryData": binary} {
		got, _ := drawJSON(t, writeFile(t, "cm.json", string(cm)))
		if got != want {
			t.Errorf("%s: draw from the ConfigMap differs from the draw from the CSV", name)
		}
	}

	for name, bad := range map[string]string{
		"not a ConfigMap": `{"kind": "Secret"}`,
		"no key":          `{"kind": "ConfigMap", "data": {"other.csv": "x"}}`,
	} {
		_, _, err := run(t, "", "sample", "draw", "--frame", writeFile(t, "bad.json", bad), "--seed", "s")
		if err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestSampleMergesFramesAndReportsErrors(t *testing.T) {
	a := writeFile(t, "a.csv", "code,cityCode,name,level,ownership,type,risk\nA1,320100,a,3,public,hospital,1\n")
	b := writeFile(t, "b.csv", "code,cityCode,name,level,ownership,type,risk\nB1,320200,b,3,public,hospital,1\n")
	out, stderr, err := run(t, "", "sample", "draw", "--frame", a, "--frame", b, "--seed", "s", "--min-percent", "0", "--min-total", "5")
	if err != nil {
		t.Fatal(err)
	}
	var res sampling.Result
	if err := json.Unmarshal([]byte(out), &res); err != nil || res.Frame.Size != 2 || len(res.Selected) != 2 {
		t.Fatalf("merged draw: %+v %v", res, err)
	}
	if !strings.Contains(stderr, "shortfall: frame: 2 institution(s), fewer than minTotal 5") {
		t.Fatalf("shortfall not reported on stderr: %q", stderr)
	}

	dup := writeFile(t, "dup.csv", "code,cityCode,name,level,ownership,type,risk\nA1,320300,c,1,public,hospital,0\n")
	if _, _, err := run(t, "", "sample", "draw", "--frame", a, "--frame", dup, "--seed", "s"); err == nil || !strings.Contains(err.Error(), `duplicate code "A1"`) {
		t.Fatalf("duplicate across frames: %v", err)
	}
	bad := writeFile(t, "bad.csv", "code,cityCode,name,level,ownership,type,risk\nA1,320100,a,3,public,hospital,-2\n")
	if _, _, err := run(t, "", "sample", "draw", "--frame", bad, "--seed", "s"); err == nil || !strings.Contains(err.Error(), "bad.csv: line 2") {
		t.Fatalf("bad frame error does not name file and line: %v", err)
	}
	if _, _, err := run(t, "", "sample", "draw", "--frame", a, "--seed", "s", "--min-percent", "101"); err == nil || !strings.Contains(err.Error(), "minPercent 101") {
		t.Fatalf("bad policy: %v", err)
	}
}

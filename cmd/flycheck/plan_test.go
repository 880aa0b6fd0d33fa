package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	"github.com/medfund/flycheck-operator/controllers/testenv"
)

var updatePlanGolden = flag.Bool("update", false, "rewrite testdata/plan/*.golden from the current output")

// checkGolden compares got with testdata/plan/name.golden (-update writes it).
func checkGolden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", "plan", name+".golden")
	if *updatePlanGolden {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./cmd/flycheck/ -run Plan -update)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file (-update to accept):\n--- got\n%s\n--- want\n%s", name, got, want)
	}
}

// Every sample campaign prints its calendar as the golden file has it, the
// same on every run (nothing depends on today).
func TestPlanSamples(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("..", "..", "config", "samples", "campaign_*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 3 {
		t.Fatalf("expected the three sample campaigns, found %v", files)
	}
	for _, f := range files {
		name := strings.TrimSuffix(strings.TrimPrefix(filepath.Base(f), "campaign_"), ".yaml")
		t.Run(name, func(t *testing.T) {
			var out, notes bytes.Buffer
			if err := runPlan(context.Background(), &out, &notes, f, planFlags{}); err != nil {
				t.Fatal(err)
			}
			checkGolden(t, name, out.Bytes())
			var again bytes.Buffer
			if err := runPlan(context.Background(), &again, &notes, f, planFlags{}); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(out.Bytes(), again.Bytes()) {
				t.Error("two runs printed different plans")
			}
		})
	}
}

// writeJiangsuRosters writes a frame CSV for twelve of Jiangsu's cities
// (city i has 8+7i institutions, i%4 of them tertiary, so some cities lack
// the two tertiary hospitals the policy asks for) with three institutions of
// a city outside the campaign, and Suqian's list as a bureau sends it.
func writeJiangsuRosters(t *testing.T) []string {
	t.Helper()
	dir := t.TempDir()
	codes := []string{"320100", "320200", "320300", "320400", "320500", "320600", "320700", "320800", "320900", "321000", "321100", "321200"}
	var frame strings.Builder
	frame.WriteString("code,cityCode,name,level,ownership,type,risk\n")
	for i, code := range codes {
		for j := range 8 + 7*i {
			level := 1
			if j < i%4 {
				level = 3
			}
			fmt.Fprintf(&frame, "H%s%05d,%s,机构%d,%d,public,hospital,0\n", code, j, code, j, level)
		}
	}
	for j := range 3 {
		fmt.Fprintf(&frame, "H329900%05d,329900,外省机构%d,1,private,clinic,0\n", j, j)
	}
	var suqian strings.Builder
	suqian.WriteString("宿迁市定点医药机构名单\nfixmedins_code,fixmedins_name,admdvs,hosp_lv\n")
	for j := range 40 {
		grade := "一级"
		if j < 5 {
			grade = "三级甲等"
		}
		fmt.Fprintf(&suqian, "H321300%05d,宿迁机构%d,321300,%s\n", j, j, grade)
	}
	files := []string{filepath.Join(dir, "jiangsu-frame.csv"), filepath.Join(dir, "suqian.csv")}
	for i, content := range []string{frame.String(), suqian.String()} {
		if err := os.WriteFile(files[i], []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return files
}

// With rosters, each sampling phase prints every city's sample size and
// tertiary quota; the Gantt chart is written as SVG and as HTML.
func TestPlanRostersAndGantt(t *testing.T) {
	dir := t.TempDir()
	sample := filepath.Join("..", "..", "config", "samples", "campaign_jiangsu_2020.yaml")
	for _, ext := range []string{"svg", "html"} {
		var out, notes bytes.Buffer
		gantt := filepath.Join(dir, "plan."+ext)
		f := planFlags{rosters: writeJiangsuRosters(t), gantt: gantt}
		if err := runPlan(context.Background(), &out, &notes, sample, f); err != nil {
			t.Fatal(err)
		}
		checkGolden(t, "jiangsu_2020-rosters", out.Bytes())
		if !strings.Contains(notes.String(), gantt) {
			t.Errorf("no note of the chart written: %q", notes.String())
		}
		chart, err := os.ReadFile(gantt)
		if err != nil {
			t.Fatal(err)
		}
		for _, want := range []string{"<svg", "自查自纠", "省级飞行检查", "工作节点截止"} {
			if !bytes.Contains(chart, []byte(want)) {
				t.Errorf("%s lacks %q", gantt, want)
			}
		}
		if bytes.Contains(chart, []byte("今天")) {
			t.Errorf("%s marks a today", gantt)
		}
		if ext == "html" && !bytes.Contains(chart, []byte("抽查复查")) || ext == "html" && !bytes.Contains(chart, []byte("TERTIARY QUOTA")) {
			t.Errorf("the page lacks the calendar")
		}
	}
	var out bytes.Buffer
	if err := runPlan(context.Background(), &out, &out, sample, planFlags{gantt: filepath.Join(dir, "plan.png")}); err == nil || out.Len() > 0 {
		t.Errorf("--gantt plan.png: %v, printed %q", err, out.String())
	}
}

// The bad manifests of TestCampaignValidation (controllers/testdata) are
// refused by `flycheck plan` with the words that test expects, and with the
// very message the API server answers when kubectl sends the same file.
func TestPlanRejectsWhatTheAPIServerRejects(t *testing.T) {
	dir := filepath.Join("..", "..", "controllers", "testdata", "campaigns")
	var out, notes bytes.Buffer
	if err := runPlan(context.Background(), &out, &notes, filepath.Join(dir, "valid.yaml"), planFlags{}); err != nil {
		t.Fatalf("the valid base was refused: %v", err)
	}
	cases, err := testenv.Refusals(filepath.Join(dir, "bad"))
	if err != nil {
		t.Fatal(err)
	}
	if len(cases) < 27 {
		t.Fatalf("only %d bad manifests", len(cases))
	}
	for _, tc := range cases {
		t.Run(tc.Name, func(t *testing.T) {
			path := filepath.Join(dir, "bad", tc.File)
			var out, notes bytes.Buffer
			err := runPlan(context.Background(), &out, &notes, path, planFlags{})
			if err == nil {
				t.Fatalf("plan accepted it:\n%s", out.String())
			}
			if out.Len() > 0 {
				t.Errorf("a refused manifest printed a plan:\n%s", out.String())
			}
			if !strings.Contains(err.Error(), tc.Field) || !strings.Contains(err.Error(), tc.Message) {
				t.Errorf("error does not name %q with %q:\n%v", tc.Field, tc.Message, err)
			}
			var u unstructured.Unstructured
			if err := yaml.Unmarshal(tc.Manifest, &u.Object); err != nil {
				t.Fatal(err)
			}
			server := testClient.Create(context.Background(), &u, client.DryRunAll, client.FieldValidation("Strict"))
			if server == nil {
				t.Fatal("the API server accepted it")
			}
			if server.Error() != err.Error() {
				t.Errorf("plan and the API server disagree:\nplan:   %v\nserver: %v", err, server)
			}
		})
	}
}

// What the schema does not declare is refused as under kubectl's strict
// field validation, and defaults are applied before the rules run.
func TestPlanStrictFieldsAndDefaults(t *testing.T) {
	base, err := os.ReadFile(filepath.Join("..", "..", "controllers", "testdata", "campaigns", "valid.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	unknown := strings.Replace(string(base), "  timeZone: Asia/Shanghai", "  timeZone: Asia/Shanghai\n  timezone: UTC", 1)
	unknown = strings.Replace(unknown, "  name: validation-base\n", "  name: validation-base\n  labelz: {a: b}\n", 1)
	unknown = strings.Replace(unknown, "    name: city0\n", "    name: city0\n    extra: 1\n", 1)
	_, err = admitCampaign(context.Background(), []byte(unknown))
	if err == nil || !strings.Contains(err.Error(), `unknown field "spec.timezone"`) {
		t.Errorf("an unknown field: %v", err)
	}
	var u unstructured.Unstructured
	if err := yaml.Unmarshal([]byte(unknown), &u.Object); err != nil {
		t.Fatal(err)
	}
	server := testClient.Create(context.Background(), &u, client.DryRunAll, client.FieldValidation("Strict"))
	if server == nil || err == nil || server.Error() != err.Error() {
		t.Errorf("an unknown field:\nplan:   %v\nserver: %v", err, server)
	}

	noZone := strings.Replace(string(base), "  timeZone: Asia/Shanghai\n", "", 1)
	camp, err := admitCampaign(context.Background(), []byte(noZone))
	if err != nil {
		t.Fatal(err)
	}
	if camp.Spec.TimeZone != "Asia/Shanghai" {
		t.Errorf("timeZone not defaulted: %q", camp.Spec.TimeZone)
	}
	// A Campaign is cluster-scoped: a namespace in the manifest is dropped,
	// as the API server drops it.
	inNamespace := strings.Replace(string(base), "  name: validation-base\n", "  name: validation-base\n  namespace: nanjing\n", 1)
	if camp, err := admitCampaign(context.Background(), []byte(inNamespace)); err != nil || camp.Namespace != "" {
		t.Errorf("a namespace on a cluster-scoped campaign: %v", err)
	}
	if _, err := admitCampaign(context.Background(), []byte("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n")); err == nil || !strings.Contains(err.Error(), "Campaign") {
		t.Errorf("a ConfigMap: %v", err)
	}
}

// Working days need the year's holidays: a year the built-in calendar lacks
// reads "?" with a note, until --holidays gives it.
func TestPlanHolidaysForLaterYears(t *testing.T) {
	base, err := os.ReadFile(filepath.Join("..", "..", "controllers", "testdata", "campaigns", "valid.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	manifest := filepath.Join(dir, "campaign.yaml")
	if err := os.WriteFile(manifest, []byte(strings.ReplaceAll(string(base), "2020-", "2031-")), 0o644); err != nil {
		t.Fatal(err)
	}
	var out, notes bytes.Buffer
	if err := runPlan(context.Background(), &out, &notes, manifest, planFlags{}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "123 days, ? working days") || !strings.Contains(out.String(), "does not cover 2031") {
		t.Errorf("a year the calendar lacks:\n%s", out.String())
	}
	// 2031 with one holiday on Thursday 1 May and a make-up Saturday 10 May:
	// May–June has 43 weekdays, so 43 − 1 + 1.
	holidays := filepath.Join(dir, "holidays.csv")
	if err := os.WriteFile(holidays, []byte("date,kind,name\n2031-05-01,holiday,劳动节\n2031-05-10,workday,劳动节\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out.Reset()
	if err := runPlan(context.Background(), &out, &notes, manifest, planFlags{holidays: holidays}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "selfinspection  —             2031-05-01  2031-06-30    61            43") || strings.Contains(out.String(), "?") {
		t.Errorf("with --holidays:\n%s", out.String())
	}
}

// A compressed schedule (the demo's): date-time phases, snapshots every few
// minutes, times of day in the table.
func TestPlanCompressedSchedule(t *testing.T) {
	base, err := os.ReadFile(filepath.Join("..", "..", "controllers", "testdata", "campaigns", "valid.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	s := strings.NewReplacer(`"2020-05-01"`, `"2026-11-22T10:00:00+08:00"`, `"2020-06-30"`, `"2026-11-22T10:59:59+08:00"`,
		`"2020-07-01"`, `"2026-11-22T10:30:00+08:00"`, `"2020-08-31"`, `"2026-11-22T12:00:00+08:00"`).Replace(string(base))
	s += "  reporting: {every: 30m, summaryPhase: spotcheck}\n"
	manifest := filepath.Join(t.TempDir(), "demo.yaml")
	if err := os.WriteFile(manifest, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
	var out, notes bytes.Buffer
	if err := runPlan(context.Background(), &out, &notes, manifest, planFlags{}); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"selfinspection  —             2026-11-22 10:00:00  2026-11-22 10:59:59     1             0",
		"spotcheck       —             2026-11-22 10:30:00  2026-11-22 12:00:00",
		"Snapshots (every 30m0s): 4 snapshots, the first 2026-11-22 10:00:00, the last 2026-11-22 11:30:00.",
		"Summary: when spotcheck ends, 2026-11-22 12:00.",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("no %q in\n%s", want, out.String())
		}
	}
	// The two phases share half an hour: each lists the other.
	for _, line := range strings.Split(out.String(), "\n") {
		if strings.HasPrefix(line, "selfinspection ") && !strings.HasSuffix(line, "  spotcheck") ||
			strings.HasPrefix(line, "spotcheck ") && !strings.HasSuffix(line, "  selfinspection") {
			t.Errorf("overlap not shown: %q", line)
		}
	}
}

package synth

import (
	"bytes"
	"encoding/csv"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/medfund/flycheck-operator/api/v1alpha1/rules"
)

// defaultRuleFiles are the default catalogue (config/rules/*.yaml).
func defaultRuleFiles(t testing.TB) []string {
	t.Helper()
	files, err := filepath.Glob("../../config/rules/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no rule files: %v", err)
	}
	return files
}

func loadRules(t testing.TB, files ...string) []rules.Rule {
	t.Helper()
	cat, err := rules.LoadFiles(files...)
	if err != nil {
		t.Fatal(err)
	}
	return cat.Rules
}

// smallOptions is a province small enough for a unit test (~40k lines).
func smallOptions(seed uint64, rs []rules.Rule, rate float64) Options {
	cfg := DefaultConfig()
	cfg.Seed = seed
	cfg.Cities = 3
	cfg.InstitutionsPerCity = 12
	cfg.FeeLines = 40_000
	cfg.ViolationRate = rate
	return Options{Config: cfg, Rules: rs}
}

func readCSV(t testing.TB, path string) [][]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return recs
}

var tableFiles = []string{"institutions", "visits", "fee_lines", "diagnoses", "persons"}

func TestDeterministic(t *testing.T) {
	rs := loadRules(t, defaultRuleFiles(t)...)
	for _, tc := range []struct {
		format   Format
		encoding string
	}{{CSV, "UTF-8"}, {CSV, "GB18030"}, {Parquet, ""}} {
		t.Run(string(tc.format)+tc.encoding, func(t *testing.T) {
			gen := func(seed uint64) string {
				dir := t.TempDir()
				opt := smallOptions(seed, rs, 0.02)
				opt.Format, opt.Encoding = tc.format, tc.encoding
				if _, err := Generate(dir, opt); err != nil {
					t.Fatal(err)
				}
				return dir
			}
			a, b, c := gen(7), gen(7), gen(8)
			ext := "." + string(tc.format)
			for _, name := range append(tableFiles, "ground_truth", "manifest") {
				file := name + ext
				switch name {
				case "ground_truth":
					file = name + ".csv"
				case "manifest":
					file = name + ".json"
				}
				da, _ := os.ReadFile(filepath.Join(a, file))
				db, _ := os.ReadFile(filepath.Join(b, file))
				if len(da) == 0 || !bytes.Equal(da, db) {
					t.Errorf("%s: same seed, different bytes (or empty: %d bytes)", file, len(da))
				}
				if name == "fee_lines" {
					dc, _ := os.ReadFile(filepath.Join(c, file))
					if bytes.Equal(da, dc) {
						t.Errorf("%s: seeds 7 and 8 gave identical files", file)
					}
				}
			}
		})
	}
}

func TestProvinceShape(t *testing.T) {
	dir := t.TempDir()
	opt := Options{Config: DefaultConfig()}
	opt.FeeLines = 60_000
	m, err := Generate(dir, opt)
	if err != nil {
		t.Fatal(err)
	}
	// Sizes: the target is approximate, but not wildly off.
	if f := float64(m.Counts.FeeLines) / float64(opt.FeeLines); f < 0.8 || f > 1.25 {
		t.Errorf("fee lines %d for a target of %d", m.Counts.FeeLines, opt.FeeLines)
	}
	insts := readCSV(t, filepath.Join(dir, "institutions.csv"))
	if !equalStrings(insts[0], institutionsHeader) {
		t.Fatalf("header %v", insts[0])
	}
	type mix struct{ tertiary, pharmacies, clinics, private int }
	byCity := map[string]*mix{}
	hosp := regexp.MustCompile(`^H32\d{2}00\d{5}$`)
	pharm := regexp.MustCompile(`^P32\d{2}00\d{5}$`)
	for _, r := range insts[1:] {
		code, city, lv, own, typ := r[0], r[2], r[3], r[4], r[5]
		if byCity[city] == nil {
			byCity[city] = &mix{}
		}
		c := byCity[city]
		if !strings.HasPrefix(code[1:], city) {
			t.Errorf("%s not in city %s", code, city)
		}
		switch typ {
		case "pharmacy":
			c.pharmacies++
			if !pharm.MatchString(code) || lv != "0" {
				t.Errorf("pharmacy %s level %s", code, lv)
			}
		case "clinic":
			c.clinics++
			if !hosp.MatchString(code) || lv != "0" {
				t.Errorf("clinic %s level %s", code, lv)
			}
		case "hospital":
			if !hosp.MatchString(code) {
				t.Errorf("hospital code %s", code)
			}
			if lv == "3" {
				c.tertiary++
			}
		default:
			t.Errorf("type %q", typ)
		}
		if own == "private" {
			c.private++
		}
	}
	if len(byCity) != 13 {
		t.Fatalf("%d cities", len(byCity))
	}
	for i, city := range Jiangsu {
		c := byCity[city.Code]
		if c == nil || c.tertiary < 2 || c.pharmacies == 0 || c.clinics == 0 || c.private == 0 {
			t.Errorf("city %d %s: mix %+v", i, city.Code, c)
		}
	}
	// Visits: med_type matches the institution; gend/age valid; line
	// amounts are cnt × pric.
	visits := readCSV(t, filepath.Join(dir, "visits.csv"))
	inpatient := 0
	for _, v := range visits[1:] {
		if v[6] != "1" && v[6] != "2" {
			t.Fatalf("gend %q", v[6])
		}
		if strings.HasPrefix(v[3], "2") {
			inpatient++
			if v[2][0] != 'H' {
				t.Fatalf("stay at %s", v[2])
			}
		}
		if v[3] == "41" && v[2][0] != 'P' {
			t.Fatalf("med_type 41 at %s", v[2])
		}
	}
	if share := float64(inpatient) / float64(len(visits)-1); share < 0.01 || share > 0.2 {
		t.Errorf("inpatient share %.3f", share)
	}
	persons := readCSV(t, filepath.Join(dir, "persons.csv"))
	dead := 0
	for _, p := range persons[1:] {
		if p[1] != "" {
			dead++
		}
	}
	if dead == 0 {
		t.Error("nobody dies")
	}
}

func equalStrings(a, b []string) bool { return strings.Join(a, "\x00") == strings.Join(b, "\x00") }

// A city's extract (--city, or --per-city) is its part of the province.
func TestCityExtractsMatchProvince(t *testing.T) {
	rs := loadRules(t, defaultRuleFiles(t)...)
	prov, per, one := t.TempDir(), t.TempDir(), t.TempDir()
	opt := smallOptions(3, rs, 0.02)
	if _, err := Generate(prov, opt); err != nil {
		t.Fatal(err)
	}
	opt.PerCity = true
	if _, err := Generate(per, opt); err != nil {
		t.Fatal(err)
	}
	opt.PerCity = false
	opt.OnlyCities = []string{"320200"}
	if _, err := Generate(one, opt); err != nil {
		t.Fatal(err)
	}
	for _, table := range append(tableFiles, "ground_truth") {
		all := readCSV(t, filepath.Join(prov, table+".csv"))
		total := 0
		for _, city := range []string{"320100", "320200", "320300"} {
			part := readCSV(t, filepath.Join(per, city, table+".csv"))
			total += len(part) - 1
			if city == "320200" {
				solo := readCSV(t, filepath.Join(one, table+".csv"))
				if !equalStrings(flatten(part), flatten(solo)) {
					t.Errorf("%s: --city 320200 differs from the per-city directory", table)
				}
			}
		}
		if total != len(all)-1 {
			t.Errorf("%s: per-city rows %d, province rows %d", table, total, len(all)-1)
		}
	}
}

func flatten(recs [][]string) []string {
	var out []string
	for _, r := range recs {
		out = append(out, strings.Join(r, ","))
	}
	return out
}

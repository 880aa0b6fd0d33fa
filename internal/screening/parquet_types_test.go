package screening

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/medfund/flycheck-operator/api/v1alpha1/rules"
)

// Parquet writers differ: numbers as INT32/INT64, DECIMAL, DATE and
// TIMESTAMP logical types, DOUBLE, nullable columns. The same data typed
// this way must give the findings of the all-string CSV.
func TestParquetTypedColumns(t *testing.T) {
	type inst struct {
		Code  string  `parquet:"fixmedins_code"`
		Name  string  `parquet:"fixmedins_name"`
		City  *string `parquet:"admdvs,optional"`
		Level int64   `parquet:"hosp_lv"`
		Own   string  `parquet:"ownership"`
		Type  string  `parquet:"fixmedins_type"`
	}
	type visit struct {
		Mdtrt string    `parquet:"mdtrt_id"`
		Psn   string    `parquet:"psn_no,dict"`
		Code  string    `parquet:"fixmedins_code,dict"`
		Med   int32     `parquet:"med_type"`
		Begin time.Time `parquet:"begntime,timestamp(millisecond:local)"`
		End   int64     `parquet:"endtime,timestamp(microsecond:local)"`
		Gend  int32     `parquet:"gend"`
		Age   int32     `parquet:"age"`
	}
	type line struct {
		SN   string  `parquet:"feedetl_sn"`
		Md   string  `parquet:"mdtrt_id"`
		Setl string  `parquet:"setl_id"`
		Psn  string  `parquet:"psn_no"`
		Code string  `parquet:"fixmedins_code"`
		Item string  `parquet:"hilist_code,dict"`
		Name *string `parquet:"hilist_name,optional"`
		Cnt  float64 `parquet:"cnt"`
		Pric int64   `parquet:"pric,decimal(2:18)"`
		Amt  int32   `parquet:"det_item_fee_sumamt,decimal(2:9)"`
		Time string  `parquet:"fee_ocur_time"`
	}
	city := "320100"
	ts := func(s string) time.Time {
		v, err := time.Parse("2006-01-02 15:04:05", s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	dir := t.TempDir()
	if err := writePQ(filepath.Join(dir, "institutions.parquet"), []inst{{"H1", "医院", &city, 2, "public", "hospital"}, {"H2", "诊所", nil, 0, "private", "clinic"}}); err != nil {
		t.Fatal(err)
	}
	if err := writePQ(filepath.Join(dir, "visits.parquet"), []visit{
		{"V1", "P1", "H1", 21, ts("2024-03-01 08:00:00"), ts("2024-03-03 10:00:00").UnixMicro(), 2, 30},
		{"V2", "P2", "H2", 11, ts("2024-03-02 08:00:00"), ts("2024-03-02 10:00:00").UnixMicro(), 1, 8},
	}); err != nil {
		t.Fatal(err)
	}
	if err := writePQ(filepath.Join(dir, "fee_lines.parquet"), []line{
		{"L1", "V1", "S1", "P1", "H1", "PSA", nil, 1, 8000, 8000, "2024-03-01 09:00:00"},    // female: flagged
		{"L2", "V1", "S1", "P1", "H1", "BED", nil, 2.5, 7050, 17625, "2024-03-01 09:00:00"}, // price cap 60: 10.50 × 2.5
		{"L3", "V1", "S1", "P1", "H1", "BED", nil, 1, 6000, 6000, "2024-03-04 09:00:00"},    // after discharge
		{"L4", "V2", "S2", "P2", "H2", "PET", nil, 1, 100, 100, "2024-03-02 09:00:00"},      // level 0 < 2
		{"L5", "V2", "S2", "P2", "H2", "BED", nil, 0.1, 6000, 600, "2024-03-02 09:00:00"},   // 0.1 (float) → exactly 0.1
	}); err != nil {
		t.Fatal(err)
	}
	rs := []rules.Rule{
		rule("G", rules.GenderRestriction, "", rules.Params{Items: []string{"PSA"}, Gender: rules.Male}),
		rule("P", rules.PriceCap, "", rules.Params{Items: []string{"BED"}, MaxPrice: "60"}),
		rule("X", rules.ChargeAfterDischarge, rules.Inpatient, rules.Params{}),
		rule("F", rules.FacilityLevelRestriction, "", rules.Params{Items: []string{"PET"}, MinLevel: i32(2)}),
		rule("A", rules.AgeRestriction, "", rules.Params{Items: []string{"BED"}, MinAge: i32(18)}),
	}
	fs, res := screen(t, dir, rs, nil)
	want := []string{"A/L5=6.00", "F/L4=1.00", "G/L1=80.00", "P/L2=26.25", "X/L3=60.00"}
	if got := keys(fs); !sameKeys(got, want) {
		t.Errorf("findings\n got %v\nwant %v", got, want)
	}
	if res.Stats.LinesRejected != 0 || res.Summary.Institutions[1].CityCode != "" {
		t.Errorf("rejected %d, city of H2 %q", res.Stats.LinesRejected, res.Summary.Institutions[1].CityCode)
	}
}

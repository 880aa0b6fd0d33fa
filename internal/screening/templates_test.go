package screening

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/medfund/flycheck-operator/api/v1alpha1/rules"
)

func at(day, hms string) string { return "2024-03-" + day + " " + hms }

// templateCase is a template's test: a dataset with lines or visits its
// rules must flag (want: "rule/id=amount", id is feedetl_sn or
// "visit:"+mdtrt_id) and near misses they must not (near: ids present in
// the data, docs/rules.md's "near miss").
type templateCase struct {
	name  string
	rules []rules.Rule
	data  func(d *dataset)
	want  []string
	near  []string
}

func templateCases() []templateCase {
	return []templateCase{
		{
			name:  "GenderRestriction",
			rules: []rules.Rule{rule("G", rules.GenderRestriction, "", rules.Params{Items: []string{"PSA"}, Gender: rules.Male})},
			data: func(d *dataset) {
				d.visit("VM", "P1", "H1", "11", at("01", "09:00:00"), at("01", "10:00:00"), "1", "50")
				d.visit("VF", "P2", "H1", "11", at("01", "09:00:00"), at("01", "10:00:00"), "2", "50")
				d.visit("VU", "P3", "H1", "11", at("01", "09:00:00"), at("01", "10:00:00"), "9", "50")
				d.line("L1", "VM", "PSA", "1", "80", at("01", "09:10:00")) // allowed gender
				d.line("L2", "VF", "PSA", "1", "80", at("01", "09:10:00")) // flagged
				d.line("L3", "VU", "PSA", "1", "80", at("01", "09:10:00")) // unknown gender
				d.line("L4", "VF", "XRAY", "1", "80", at("01", "09:10:00"))
			},
			want: []string{"G/L2=80.00"},
			near: []string{"L1", "L3", "L4"},
		},
		{
			name:  "AgeRestriction",
			rules: []rules.Rule{rule("A", rules.AgeRestriction, "", rules.Params{Items: []string{"PED"}, MinAge: i32(0), MaxAge: i32(17)})},
			data: func(d *dataset) {
				d.visit("V17", "P1", "H1", "11", at("01", "09:00:00"), at("01", "10:00:00"), "1", "17")
				d.visit("V18", "P2", "H1", "11", at("01", "09:00:00"), at("01", "10:00:00"), "1", "18")
				d.line("L1", "V17", "PED", "2", "3.5", at("01", "09:10:00"))
				d.line("L2", "V18", "PED", "2", "3.5", at("01", "09:10:00"))
			},
			want: []string{"A/L2=7.00"},
			near: []string{"L1"},
		},
		{
			name:  "CareSettingRestriction",
			rules: []rules.Rule{rule("C", rules.CareSettingRestriction, rules.Any, rules.Params{Items: []string{"INJ"}, AllowedVisitType: rules.Inpatient})},
			data: func(d *dataset) {
				d.in("VI", "P1").out("VO", "P2")
				d.line("L1", "VI", "INJ", "1", "100", at("02", "09:00:00"))
				d.line("L2", "VO", "INJ", "1", "100", at("01", "09:30:00"))
			},
			want: []string{"C/L2=100.00"},
			near: []string{"L1"},
		},
		{
			name:  "FacilityLevelRestriction",
			rules: []rules.Rule{rule("F", rules.FacilityLevelRestriction, "", rules.Params{Items: []string{"PET"}, MinLevel: i32(3)})},
			data: func(d *dataset) {
				d.inst("H2", "2").inst("H0", "0")
				d.out("V3", "P1")
				d.visit("V2", "P2", "H2", "11", at("01", "09:00:00"), at("01", "10:00:00"), "1", "40")
				d.visit("V0", "P3", "H0", "41", at("01", "09:00:00"), at("01", "10:00:00"), "1", "40")
				d.line("L3", "V3", "PET", "1", "7000", at("01", "09:10:00"))
				d.line("L2", "V2", "PET", "1", "7000", at("01", "09:10:00"))
				d.line("L0", "V0", "PET", "1", "7000", at("01", "09:10:00"))
			},
			want: []string{"F/L0=7000.00", "F/L2=7000.00"},
			near: []string{"L3"},
		},
		{
			name: "CoveredIndication",
			rules: []rules.Rule{rule("I", rules.CoveredIndication, "", rules.Params{Items: []string{"MET"},
				DiagCodes: []string{"E11.900"}, DiagPrefixes: []string{"E14"}})},
			data: func(d *dataset) {
				for _, v := range []string{"V1", "V2", "V3", "V4", "V5"} {
					d.out(v, "P"+v)
					d.line("L"+v, v, "MET", "1", "12", at("01", "09:30:00"))
				}
				d.diag("V1", "I10", "1").diag("V1", "E11.900", "0") // exact code, secondary diagnosis
				d.diag("V2", "E14.1", "1")                          // prefix
				d.diag("V3", "I10", "1")                            // not covered
				d.diag("V5", "E11.901", "1")                        // neither exact nor prefix
			},
			want: []string{"I/LV3=12.00", "I/LV4=12.00", "I/LV5=12.00"},
			near: []string{"LV1", "LV2"},
		},
		{
			name:  "PriceCap",
			rules: []rules.Rule{rule("P", rules.PriceCap, "", rules.Params{Items: []string{"BED"}, MaxPrice: "60"})},
			data: func(d *dataset) {
				d.in("V1", "P1")
				d.line("L1", "V1", "BED", "1", "60", at("01", "10:00:00"))
				d.line("L2", "V1", "BED", "2", "75.005", at("02", "10:00:00"))
				d.line("L3", "V1", "BED", "-2", "75", at("02", "11:00:00")) // refund line: never screened
			},
			want: []string{"P/L2=30.01"},
			near: []string{"L1", "L3"},
		},
		{
			name: "MaxUnits",
			rules: []rules.Rule{
				rule("D", rules.MaxUnits, "", rules.Params{Items: []string{"A", "A2"}, MaxUnits: "2", Per: rules.Day}),
				rule("S", rules.MaxUnits, "", rules.Params{Items: []string{"B"}, MaxUnits: "3", Per: rules.Stay}),
				rule("K", rules.MaxUnits, "", rules.Params{Items: []string{"C"}, MaxUnits: "4", Per: rules.Course}),
			},
			data: func(d *dataset) {
				d.in("V1", "P1").in("V2", "P1").in("V3", "P2")
				// Day: 1 + 1 (A2 counts with A) = 2 → fine; the third unit exceeds.
				d.line("D1", "V1", "A", "1", "10", at("01", "09:00:00"))
				d.line("D2", "V1", "A2", "1", "10", at("01", "10:00:00"))
				d.line("D3", "V1", "A", "1.5", "10", at("01", "10:00:00")) // same time, sn after D2: cum 3.5 → 1.5 excess
				d.line("D4", "V1", "A", "2", "10", at("02", "09:00:00"))   // next day: exactly 2
				// Stay: 2 + 2 = 4 > 3 → second line, 1 unit excess.
				d.line("S1", "V3", "B", "2", "5", at("01", "09:00:00"))
				d.line("S2", "V3", "B", "2", "5", at("03", "09:00:00"))
				d.line("S3", "V1", "B", "3", "5", at("03", "09:00:00")) // other visit: exactly 3
				// Course: person P1 over V1 and V2: 3 + 1 = 4 → fine, +2 → excess 2.
				d.line("K1", "V1", "C", "3", "7", at("01", "09:00:00"))
				d.line("K2", "V2", "C", "1", "7", at("02", "09:00:00"))
				d.line("K3", "V2", "C", "2", "7", at("04", "09:00:00"))
				d.line("K4", "V3", "C", "4", "7", at("04", "09:00:00")) // P2: exactly 4
			},
			want: []string{"D/D3=15.00", "K/K3=14.00", "S/S2=5.00"},
			near: []string{"D1", "D2", "D4", "S1", "S3", "K1", "K2", "K4"},
		},
		{
			name:  "PerDayExceedsStay",
			rules: []rules.Rule{rule("B", rules.PerDayExceedsStay, rules.Inpatient, rules.Params{Items: []string{"BED", "BED2"}})},
			data: func(d *dataset) {
				// 03-01 08:00 → 03-05 10:00: LOS 4.
				d.in("V1", "P1").in("V2", "P2")
				for i, day := range []string{"01", "02", "03", "04"} {
					d.line("A"+day, "V1", "BED", "1", "50", at(day, "12:00:00")) // exactly LOS
					_ = i
				}
				d.line("B1", "V2", "BED", "3", "50", at("01", "12:00:00"))
				d.line("B2", "V2", "BED2", "2", "40", at("04", "12:00:00")) // cum 5 > 4: 1 unit × 40
				d.line("B3", "V2", "BED", "1", "50", at("05", "09:00:00"))  // whole line over
			},
			want: []string{"B/B2=40.00", "B/B3=50.00"},
			near: []string{"A01", "A02", "A03", "A04", "B1"},
		},
		{
			name:  "ChargeAfterDischarge",
			rules: []rules.Rule{rule("X", rules.ChargeAfterDischarge, rules.Inpatient, rules.Params{})},
			data: func(d *dataset) {
				d.in("V1", "P1").out("VO", "P2")
				d.line("L1", "V1", "DRUG", "1", "9", at("05", "23:59:59")) // discharge day
				d.line("L2", "V1", "DRUG", "1", "9", at("06", "00:00:00"))
				d.line("L3", "VO", "DRUG", "1", "9", at("09", "00:00:00")) // outpatient: not this template
			},
			want: []string{"X/L2=9.00"},
			near: []string{"L1", "L3"},
		},
		{
			name:  "ChargeAfterDischargeGrace",
			rules: []rules.Rule{rule("X", rules.ChargeAfterDischarge, rules.Inpatient, rules.Params{Items: []string{"DRUG"}, GraceDays: i32(1)})},
			data: func(d *dataset) {
				d.in("V1", "P1")
				d.line("L1", "V1", "DRUG", "1", "9", at("06", "10:00:00"))
				d.line("L2", "V1", "DRUG", "1", "9", at("07", "10:00:00"))
				d.line("L3", "V1", "OTHER", "1", "9", at("07", "10:00:00"))
			},
			want: []string{"X/L2=9.00"},
			near: []string{"L1", "L3"},
		},
		{
			name:  "ChargeAfterDeath",
			rules: []rules.Rule{rule("Z", rules.ChargeAfterDeath, "", rules.Params{})},
			data: func(d *dataset) {
				d.in("V1", "P1").in("V2", "P2")
				d.person("P1", "2024-03-03").person("P2", "").person("P9", "2020-01-01")
				d.line("L1", "V1", "DRUG", "1", "9", at("03", "23:00:00"))
				d.line("L2", "V1", "DRUG", "1", "9", at("04", "08:00:00"))
				d.line("L3", "V2", "DRUG", "1", "9", at("04", "08:00:00"))
			},
			want: []string{"Z/L2=9.00"},
			near: []string{"L1", "L3"},
		},
		{
			name:  "OverlappingStays",
			rules: []rules.Rule{rule("O", rules.OverlappingStays, rules.Inpatient, rules.Params{})},
			data: func(d *dataset) {
				d.inst("H2", "2")
				d.visit("A1", "P1", "H1", "21", at("01", "08:00:00"), at("05", "10:00:00"), "1", "40")
				d.visit("A2", "P1", "H2", "21", at("04", "08:00:00"), at("08", "10:00:00"), "1", "40")
				// transfer: discharged 10:00, admitted 14:00 the same day
				d.visit("B1", "P2", "H1", "21", at("01", "08:00:00"), at("05", "10:00:00"), "1", "40")
				d.visit("B2", "P2", "H2", "21", at("05", "14:00:00"), at("08", "10:00:00"), "1", "40")
				// same institution
				d.visit("C1", "P3", "H1", "21", at("01", "08:00:00"), at("05", "10:00:00"), "1", "40")
				d.visit("C2", "P3", "H1", "21", at("02", "08:00:00"), at("06", "10:00:00"), "1", "40")
				// outpatient visit during a stay elsewhere
				d.visit("D1", "P4", "H1", "21", at("01", "08:00:00"), at("05", "10:00:00"), "1", "40")
				d.visit("D2", "P4", "H2", "11", at("02", "08:00:00"), at("02", "10:00:00"), "1", "40")
				d.line("L1", "A1", "BED", "4", "50", at("01", "12:00:00"))
				d.line("L2", "A1", "DRUG", "1", "0.125", at("02", "12:00:00"))
				d.line("L3", "A1", "DRUG", "-1", "0.125", at("02", "13:00:00")) // refund: not in the amount
			},
			want: []string{"O/visit:A1=200.13", "O/visit:A2=0.00"},
			near: []string{"visit:B1", "visit:B2", "visit:C1", "visit:C2", "visit:D1", "visit:D2"},
		},
		{
			name:  "AddOnWithoutPrimary",
			rules: []rules.Rule{rule("D", rules.AddOnWithoutPrimary, "", rules.Params{Items: []string{"ADD"}, PrimaryItems: []string{"PRI", "PRI2"}})},
			data: func(d *dataset) {
				d.in("V1", "P1").in("V2", "P2")
				d.line("L1", "V1", "PRI2", "1", "100", at("01", "09:00:00"))
				d.line("L2", "V1", "ADD", "1", "30", at("01", "23:00:00"))
				d.line("L3", "V1", "ADD", "1", "30", at("02", "09:00:00")) // primary on another day
				d.line("L4", "V2", "ADD", "1", "30", at("01", "10:00:00")) // primary in another visit only
			},
			want: []string{"D/L3=30.00", "D/L4=30.00"},
			near: []string{"L2"},
		},
		{
			name: "InclusivePair",
			rules: []rules.Rule{
				rule("D", rules.InclusivePair, "", rules.Params{Items: []string{"SURG"}, IncludedItems: []string{"SUT"}, Per: rules.Day}),
				rule("S", rules.InclusivePair, "", rules.Params{Items: []string{"ANES"}, IncludedItems: []string{"MON"}, Per: rules.Stay}),
			},
			data: func(d *dataset) {
				d.in("V1", "P1").in("V2", "P2")
				d.line("L1", "V1", "SURG", "1", "900", at("01", "09:00:00"))
				d.line("L2", "V1", "SUT", "1", "20", at("01", "10:00:00"))
				d.line("L3", "V1", "SUT", "1", "20", at("02", "10:00:00")) // other day
				d.line("M1", "V2", "ANES", "1", "300", at("01", "09:00:00"))
				d.line("M2", "V2", "MON", "2", "15", at("03", "10:00:00")) // same stay
				d.line("M3", "V1", "MON", "2", "15", at("03", "10:00:00")) // stay without ANES
			},
			want: []string{"D/L2=20.00", "S/M2=30.00"},
			near: []string{"L3", "M3"},
		},
		{
			name:  "DuplicateLine",
			rules: []rules.Rule{rule("U", rules.DuplicateLine, "", rules.Params{})},
			data: func(d *dataset) {
				d.in("V1", "P1").in("V2", "P1")
				d.lineS("L1", "V1", "S2", "DRUG", "1", "10", at("01", "09:00:00"))
				d.lineS("L2", "V2", "S1", "DRUG", "1.0", "10.00", at("01", "09:00:00")) // same line, earlier settlement
				d.lineS("L3", "V1", "S2", "DRUG", "1", "10", at("01", "09:00:00"))      // copy in the same settlement as L1
				d.lineS("L4", "V1", "S1", "DRUG", "1", "10", at("01", "09:00:01"))      // one second apart
				d.lineS("L5", "V1", "S9", "DRUG", "2", "10", at("01", "09:00:00"))      // other quantity
			},
			want: []string{"U/L1=10.00", "U/L3=10.00"},
			near: []string{"L2", "L4", "L5"},
		},
		{
			name: "UnbundledPackage",
			rules: []rules.Rule{rule("K", rules.UnbundledPackage, "", rules.Params{Items: []string{"PKG"},
				ComponentItems: []string{"C1", "C2", "C3"}, MinComponents: i32(2)})},
			data: func(d *dataset) {
				d.in("V1", "P1")
				d.line("L1", "V1", "PKG", "1", "100", at("01", "09:00:00"))
				d.line("L2", "V1", "C1", "1", "30", at("01", "09:00:00"))
				d.line("L3", "V1", "C2", "1", "40", at("01", "09:00:00"))
				d.line("L4", "V1", "PKG", "1", "100", at("02", "09:00:00"))
				d.line("L5", "V1", "C1", "1", "30", at("02", "09:00:00")) // one distinct component only
				d.line("L6", "V1", "C1", "1", "30", at("02", "11:00:00"))
				d.line("L7", "V1", "C3", "1", "30", at("03", "09:00:00")) // no package that day
				d.line("L8", "V1", "C2", "1", "30", at("03", "09:00:00"))
			},
			want: []string{"K/L2=30.00", "K/L3=40.00"},
			near: []string{"L5", "L6", "L7", "L8"},
		},
		{
			name:  "RepeatExamination",
			rules: []rules.Rule{rule("E", rules.RepeatExamination, "", rules.Params{Items: []string{"CT", "CT2"}, WithinDays: i32(7)})},
			data: func(d *dataset) {
				d.inst("H2", "3")
				d.out("V1", "P1").out("V2", "P1").out("V3", "P1").out("V4", "P2")
				d.visit("V5", "P1", "H2", "11", at("09", "09:00:00"), at("09", "10:00:00"), "1", "40")
				d.line("L1", "V1", "CT", "1", "200", at("01", "09:00:00"))
				d.line("L2", "V2", "CT2", "1", "200", at("08", "09:00:00")) // 7 days later: flagged
				d.line("L3", "V3", "CT", "1", "200", at("16", "09:00:00"))  // 8 days after L2
				d.line("L4", "V4", "CT", "1", "200", at("02", "09:00:00"))  // other person
				d.line("L5", "V5", "CT", "1", "200", at("09", "09:00:00"))  // other institution
			},
			want: []string{"E/L2=200.00"},
			near: []string{"L1", "L3", "L4", "L5"},
		},
		{
			name:  "Readmission",
			rules: []rules.Rule{rule("R", rules.Readmission, rules.Inpatient, rules.Params{WithinDays: i32(15)})},
			data: func(d *dataset) {
				d.visit("A1", "P1", "H1", "21", at("01", "08:00:00"), at("05", "10:00:00"), "1", "60")
				d.visit("A2", "P1", "H1", "21", at("20", "08:00:00"), at("25", "10:00:00"), "1", "60") // gap 15: flagged
				d.visit("B1", "P2", "H1", "21", at("01", "08:00:00"), at("05", "10:00:00"), "1", "60")
				d.visit("B2", "P2", "H1", "21", at("21", "08:00:00"), at("25", "10:00:00"), "1", "60") // gap 16
				d.visit("C1", "P3", "H1", "21", at("01", "08:00:00"), at("05", "10:00:00"), "1", "60")
				d.visit("C2", "P3", "H1", "21", at("06", "08:00:00"), at("09", "10:00:00"), "1", "60") // other category
				d.diag("A1", "J18.000", "1").diag("A2", "J18.900", "1").diag("A2", "A00", "0")
				d.diag("B1", "J18.000", "1").diag("B2", "J18.000", "1")
				d.diag("C1", "J18.000", "1").diag("C2", "J20.000", "1").diag("C2", "J18.000", "0")
				d.line("L1", "A2", "BED", "5", "50", at("20", "12:00:00"))
			},
			want: []string{"R/visit:A2=250.00"},
			near: []string{"visit:A1", "visit:B2", "visit:C2"},
		},
		{
			name:  "BedOnlyDays",
			rules: []rules.Rule{rule("Y", rules.BedOnlyDays, rules.Inpatient, rules.Params{Items: []string{"BED", "NUR"}, MinDays: i32(2)})},
			data: func(d *dataset) {
				d.in("V1", "P1").in("V2", "P2")
				d.line("A1", "V1", "BED", "1", "50", at("01", "12:00:00"))
				d.line("A2", "V1", "DRUG", "1", "8", at("01", "13:00:00"))
				d.line("A3", "V1", "BED", "1", "50", at("02", "12:00:00")) // bed-only
				d.line("A4", "V1", "BED", "1", "50", at("03", "12:00:00")) // bed-only
				d.line("A5", "V1", "NUR", "1", "20", at("03", "12:00:00"))
				d.line("A6", "V1", "DRUG", "-1", "8", at("03", "13:00:00")) // refund lines do not count
				d.line("B1", "V2", "BED", "1", "50", at("01", "12:00:00"))  // one bed-only day only
				d.line("B2", "V2", "BED", "1", "50", at("02", "12:00:00"))
				d.line("B3", "V2", "LAB", "1", "50", at("02", "13:00:00"))
				// Other lines on every bed day, listed out of day order.
				d.in("V3", "P3")
				d.line("C1", "V3", "BED", "1", "50", at("01", "12:00:00"))
				d.line("C2", "V3", "BED", "1", "50", at("02", "12:00:00"))
				d.line("C3", "V3", "BED", "1", "50", at("03", "12:00:00"))
				d.line("C4", "V3", "LAB", "1", "50", at("03", "13:00:00"))
				d.line("C5", "V3", "LAB", "1", "50", at("01", "13:00:00"))
				d.line("C6", "V3", "LAB", "1", "50", at("02", "13:00:00"))
			},
			want: []string{"Y/visit:V1=120.00"},
			near: []string{"visit:V2", "visit:V3"},
		},
	}
}

// TestTemplates runs every template case, written as CSV and read back
// through the readers; the finding set (with amounts) must match exactly,
// in clustered and in spill mode, and no near miss may be flagged.
// TestEveryTemplateHasAllParts checks that every template has a case.
func TestTemplates(t *testing.T) {
	for _, tc := range templateCases() {
		t.Run(tc.name, func(t *testing.T) {
			d := newDataset()
			tc.data(d)
			for _, id := range tc.near {
				if !d.has(id) {
					t.Errorf("near miss %s is not in the data", id)
				}
			}
			dir := t.TempDir()
			d.write(t, dir, "csv")
			fs, _ := screen(t, dir, tc.rules, nil)
			if got := keys(fs); !sameKeys(got, tc.want) {
				t.Errorf("findings\n got %v\nwant %v", got, tc.want)
			}
			for _, k := range keys(fs) {
				for _, id := range tc.near {
					if findingID(k) == id {
						t.Errorf("near miss %s flagged: %s", id, k)
					}
				}
			}
			// The same data in spill mode (as if not clustered) must agree.
			fs2, res := screen(t, dir, tc.rules, func(o *Options) { o.Spill = true })
			if got := keys(fs2); !sameKeys(got, tc.want) {
				t.Errorf("spill mode findings\n got %v\nwant %v", got, tc.want)
			}
			if res.Stats.Mode != "spill" {
				t.Errorf("mode %q", res.Stats.Mode)
			}
			// Diagnoses listed out of visit order (the loader sorts them
			// by visit only then) must agree too.
			if len(d.diags) > 1 {
				slices.Reverse(d.diags)
				dir := t.TempDir()
				d.write(t, dir, "csv")
				fs3, _ := screen(t, dir, tc.rules, nil)
				if got := keys(fs3); !sameKeys(got, tc.want) {
					t.Errorf("findings with the diagnoses reversed\n got %v\nwant %v", got, tc.want)
				}
				// In order but for the first row, moved to the end: the
				// loader turns the CSR it has built so far into pairs.
				slices.Reverse(d.diags)
				d.diags = append(d.diags[1:], d.diags[0])
				dir = t.TempDir()
				d.write(t, dir, "csv")
				fs4, _ := screen(t, dir, tc.rules, nil)
				if got := keys(fs4); !sameKeys(got, tc.want) {
					t.Errorf("findings with the first diagnosis last\n got %v\nwant %v", got, tc.want)
				}
			}
		})
	}
}

// findingID is the id part of a key of keys(): "R/L2=9.00" → "L2".
func findingID(key string) string {
	id := key[strings.IndexByte(key, '/')+1:]
	return id[:strings.LastIndexByte(id, '=')]
}

// TestDuplicateLineAcrossParts: an institution with more lines than
// dupPartLines has its DuplicateLine lines split by hash into parts; its
// findings must still be the rule's, worked out here by brute force, for
// groups whose lines are far apart in the stream (copies of a line in a
// later visit of the same person) and for chance groups.
func TestDuplicateLineAcrossParts(t *testing.T) {
	const visits, perVisit = 60, 200 // 12 000 lines: 4 parts
	if visits*perVisit <= 2*dupPartLines {
		t.Fatalf("%d lines make fewer than 4 parts of %d", visits*perVisit, dupPartLines)
	}
	d := newDataset()
	rng := rand.New(rand.NewPCG(7, 11))
	type key struct{ psn, item, time, cnt string }
	type line struct {
		sn, setl, amt string
		k             key
	}
	var lines []line
	for v := 0; v < visits; v++ {
		id, psn := fmt.Sprintf("V%03d", v), fmt.Sprintf("P%02d", v%20)
		d.in(id, psn)
		for j := 0; j < perVisit; j++ {
			l := line{sn: fmt.Sprintf("L%03d-%03d", v, j), setl: fmt.Sprintf("S%03d-%d", v, rng.IntN(3)),
				k: key{psn, fmt.Sprintf("I%02d", rng.IntN(30)),
					at(fmt.Sprintf("%02d", 1+rng.IntN(4)), fmt.Sprintf("%02d:%02d:00", 8+rng.IntN(10), rng.IntN(60))),
					strconv.Itoa(1 + rng.IntN(3))}}
			if prev := len(lines) - 20*perVisit; v >= 20 && j%50 == 7 && prev >= 0 {
				l.k = lines[prev].k // the same line as in this person's visit before
			}
			c, _ := rules.ParseDecimal(l.k.cnt)
			l.amt = formatFen(mulUnitsToFen(c, 10*scale))
			d.lineS(l.sn, id, l.setl, l.k.item, l.k.cnt, "10", l.k.time)
			lines = append(lines, l)
		}
	}
	least := map[key]string{}
	for _, l := range lines {
		if s, ok := least[l.k]; !ok || l.setl < s {
			least[l.k] = l.setl
		}
	}
	var want []string
	far := 0
	for _, l := range lines {
		if l.setl > least[l.k] {
			want = append(want, "U/"+l.sn+"="+l.amt)
			if l.sn[:4] != "L000" && l.setl[:4] != least[l.k][:4] {
				far++ // its group's least settlement is another visit's
			}
		}
	}
	sort.Strings(want)
	if len(want) < 50 || far < 20 {
		t.Fatalf("the data make %d findings, %d against another visit's settlement; want at least 50 and 20", len(want), far)
	}
	dir := t.TempDir()
	d.write(t, dir, "parquet")
	fs, _ := screen(t, dir, []rules.Rule{rule("U", rules.DuplicateLine, "", rules.Params{})}, nil)
	if got := keys(fs); !sameKeys(got, want) {
		t.Errorf("%d findings, want %d; first differences: %v", len(got), len(want), firstDiff(got, want))
	}
}

// firstDiff lists up to five keys in one sorted list and not the other.
func firstDiff(got, want []string) []string {
	in := map[string]int{}
	for _, k := range got {
		in[k] |= 1
	}
	for _, k := range want {
		in[k] |= 2
	}
	var out []string
	for _, k := range append(append([]string(nil), got...), want...) {
		if in[k] == 1 && len(out) < 5 {
			out = append(out, "extra "+k)
			in[k] = 0
		} else if in[k] == 2 && len(out) < 5 {
			out = append(out, "missing "+k)
			in[k] = 0
		}
	}
	return out
}

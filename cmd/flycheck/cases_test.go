package main

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"
	"golang.org/x/text/encoding/simplifiedchinese"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	flycheckv1 "github.com/medfund/flycheck-operator/api/v1alpha1"
	"github.com/medfund/flycheck-operator/controllers"
	"github.com/medfund/flycheck-operator/controllers/testenv"
	"github.com/medfund/flycheck-operator/internal/casebook"
	"github.com/medfund/flycheck-operator/internal/screening"
)

// writeFindings writes a screening output directory the way `flycheck
// screen --shards 2` does: two shard directories, each with findings.csv
// and summary.json.
func writeFindings(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	shards := map[string][]screening.FindingRow{
		"shard-0-of-2": {
			{RuleID: "dup-exact-line", Category: "DuplicateCharge", Template: "exact-duplicate", FixmedinsCode: "H11010200001", MdtrtID: "MD1", PsnNo: "P1", HilistCode: "001102000010000", FeedetlSn: "FL1", Amount: "120.00", Evidence: "同一明细重复"},
			{RuleID: "dup-exact-line", Category: "DuplicateCharge", Template: "exact-duplicate", FixmedinsCode: "H11010200001", MdtrtID: "MD1", PsnNo: "P1", HilistCode: "001102000010000", FeedetlSn: "FL2", Amount: "0.10", Evidence: "同一明细重复"},
			{RuleID: "readmit-15d", Category: "InpatientBehaviour", Template: "readmission", FixmedinsCode: "H11010200001", MdtrtID: "MD7", PsnNo: "P3", Amount: "3456.78", Evidence: "15日内再入院"},
		},
		"shard-1-of-2": {
			{RuleID: "cap-price", Category: "ExcessQuantity", Template: "price-cap", FixmedinsCode: "H11010200002", MdtrtID: "MD9", PsnNo: "P4", HilistCode: "XA01", FeedetlSn: "FL9", Amount: "0.20", Evidence: "单价超限"},
		},
	}
	names := map[string]string{"H11010200001": "西城某医院", "H11010200002": "西城某药店"}
	for shard, rows := range shards {
		d := filepath.Join(dir, shard)
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		f, err := os.Create(filepath.Join(d, "findings.csv"))
		if err != nil {
			t.Fatal(err)
		}
		w := csv.NewWriter(f)
		_ = w.Write(screening.FindingsHeader)
		var sum screening.Summary
		seen := map[string]bool{}
		for _, r := range rows {
			_ = w.Write([]string{r.RuleID, r.Category, r.Template, r.FixmedinsCode, r.MdtrtID, r.PsnNo, r.HilistCode, r.FeedetlSn, r.Amount, r.Evidence})
			if !seen[r.FixmedinsCode] {
				seen[r.FixmedinsCode] = true
				sum.Institutions = append(sum.Institutions, screening.InstitutionSummary{Code: r.FixmedinsCode, Name: names[r.FixmedinsCode], CityCode: "110102"})
			}
		}
		w.Flush()
		f.Close()
		b, _ := json.Marshal(sum)
		if err := os.WriteFile(filepath.Join(d, "summary.json"), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// openCases creates the campaign's cases for the codes, as the operator
// opens them.
func openCases(t *testing.T, ns, campaign string, codes ...string) {
	t.Helper()
	for _, code := range codes {
		ic := &flycheckv1.InspectionCase{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: controllers.CaseName(campaign, code)},
			Spec: flycheckv1.InspectionCaseSpec{Institution: flycheckv1.CaseInstitution{Code: code, CityCode: "110102"},
				CampaignRef: &flycheckv1.CampaignReference{Name: campaign}},
		}
		if err := testClient.Create(context.Background(), ic); err != nil {
			t.Fatal(err)
		}
	}
}

func getTestCase(t *testing.T, ns, campaign, code string) *flycheckv1.InspectionCase {
	t.Helper()
	var ic flycheckv1.InspectionCase
	if err := testClient.Get(context.Background(), types.NamespacedName{Namespace: ns, Name: controllers.CaseName(campaign, code)}, &ic); err != nil {
		t.Fatal(err)
	}
	return &ic
}

// fill answers a leads workbook as the institution would: answers[row] is
// {response, amount, evidence}.
func fill(t *testing.T, path string, reportedAt, pledge string, answers map[int][3]string) {
	t.Helper()
	f, err := excelize.OpenFile(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for row, a := range answers {
		for i, col := range []string{"L", "M", "N"} {
			if err := f.SetCellValue(casebook.LeadsSheet, fmt.Sprintf("%s%d", col, row), a[i]); err != nil {
				t.Fatal(err)
			}
		}
	}
	_ = f.SetCellValue(casebook.CoverSheet, "B7", reportedAt)
	_ = f.SetCellValue(casebook.CoverSheet, "B8", pledge)
	if err := f.Save(); err != nil {
		t.Fatal(err)
	}
}

// TestLeadsExportImportRoundTrip: leads out as workbooks, filled in by the
// institutions, back in as spec.selfInspection owned by flycheck-import;
// then the city's register out.
func TestLeadsExportImportRoundTrip(t *testing.T) {
	ns := testenv.NewNamespace(t, testClient, "cases-roundtrip")
	const campaign = "xicheng-2023"
	openCases(t, ns, campaign, "H11010200001", "H11010200002")
	out := t.TempDir()
	stdout, stderr, err := run(t, "", "leads", "export", "--findings", writeFindings(t), "--output", out, "--campaign", campaign, "--due", "2023-06-30")
	if err != nil {
		t.Fatalf("leads export: %v\n%s", err, stderr)
	}
	if !strings.Contains(stdout, "wrote 2 leads workbooks (4 leads)") {
		t.Errorf("export said %q", stdout)
	}
	hospital, pharmacy := filepath.Join(out, "H11010200001.xlsx"), filepath.Join(out, "H11010200002.xlsx")
	f, err := excelize.OpenFile(hospital)
	if err != nil {
		t.Fatal(err)
	}
	rows, _ := f.GetRows(casebook.LeadsSheet)
	name, _ := f.GetCellValue(casebook.CoverSheet, "B3")
	f.Close()
	if len(rows) != 4 || rows[1][0] != "dup-exact-line:FL1" || rows[3][0] != "readmit-15d:MD7" || rows[3][4] != "分解住院/挂床住院" || name != "西城某医院" {
		t.Fatalf("hospital workbook: name %q, rows %v", name, rows)
	}

	fill(t, hospital, "2023-06-28", casebook.Yes, map[int][3]string{
		2: {casebook.Confirmed, "120", ""},
		3: {casebook.Confirmed, "0.10", ""},
		4: {casebook.Disputed, "", "两次入院间隔16日，见出入院记录"},
	})
	fill(t, pharmacy, "2023-06-29", casebook.No, map[int][3]string{2: {casebook.Confirmed, "0.2", ""}})
	stdout, stderr, err = run(t, "", "cases", "import", hospital, pharmacy, "--namespace", ns, "--kubeconfig", testKubeconfig)
	if err != nil {
		t.Fatalf("cases import: %v\n%s%s", err, stdout, stderr)
	}
	t.Log(strings.TrimSpace(stdout))
	si := getTestCase(t, ns, campaign, "H11010200001").Spec.SelfInspection
	want := flycheckv1.SelfInspection{ReportedAt: "2023-06-28", LeadsConfirmed: 2, LeadsDisputed: 1, ConfirmedAmount: "120.10", PledgeSigned: true}
	if si == nil || *si != want {
		t.Errorf("hospital selfInspection %+v, want %+v", si, want)
	}
	ic := getTestCase(t, ns, campaign, "H11010200002")
	if si := ic.Spec.SelfInspection; si == nil || si.ConfirmedAmount != "0.20" || si.LeadsConfirmed != 1 || si.PledgeSigned || si.ReportedAt != "2023-06-29" {
		t.Errorf("pharmacy selfInspection %+v", si)
	}
	owned := false
	for _, mf := range ic.ManagedFields {
		if mf.Manager == flycheckv1.ImportFieldManager && mf.Operation == metav1.ManagedFieldsOperationApply &&
			strings.Contains(mf.FieldsV1.GetRawString(), `"f:selfInspection"`) && !strings.Contains(mf.FieldsV1.GetRawString(), `"f:institution"`) {
			owned = true
		}
	}
	if !owned {
		t.Errorf("spec.selfInspection is not applied by %s alone: %+v", flycheckv1.ImportFieldManager, ic.ManagedFields)
	}
	// Importing the same returns again changes nothing.
	rv := ic.ResourceVersion
	if _, _, err := run(t, "", "cases", "import", pharmacy, "--namespace", ns, "--kubeconfig", testKubeconfig); err != nil {
		t.Fatal(err)
	}
	if got := getTestCase(t, ns, campaign, "H11010200002").ResourceVersion; got != rv {
		t.Errorf("a repeated import rewrote the case (resourceVersion %s → %s)", rv, got)
	}

	// The register.
	reg := filepath.Join(t.TempDir(), "register.xlsx")
	if _, stderr, err := run(t, "", "cases", "export", "--namespace", ns, "--campaign", campaign, "--output", reg, "--kubeconfig", testKubeconfig); err != nil {
		t.Fatalf("cases export: %v\n%s", err, stderr)
	}
	rf, err := excelize.OpenFile(reg)
	if err != nil {
		t.Fatal(err)
	}
	defer rf.Close()
	regRows, _ := rf.GetRows(casebook.CasesSheet)
	if len(regRows) != 3 || regRows[1][1] != "H11010200001" || regRows[2][1] != "H11010200002" {
		t.Errorf("register rows %v", regRows)
	}
}

// TestCasesImportRejects: a workbook with an unknown institution, a bad
// amount and a duplicate row is rejected with all three reasons and
// changes nothing; with --partial the institution whose rows are all good
// is applied.
func TestCasesImportRejects(t *testing.T) {
	ns := testenv.NewNamespace(t, testClient, "cases-reject")
	const campaign = "xicheng-2023"
	openCases(t, ns, campaign, "H11010200001", "H11010200002")
	out := t.TempDir()
	if _, stderr, err := run(t, "", "leads", "export", "--findings", writeFindings(t), "--output", out, "--campaign", campaign); err != nil {
		t.Fatalf("leads export: %v\n%s", err, stderr)
	}
	path := filepath.Join(out, "H11010200001.xlsx")
	fill(t, path, "2023-06-28", casebook.Yes, map[int][3]string{
		2: {casebook.Confirmed, "120", ""},
		3: {casebook.Confirmed, "0.105", ""}, // bad amount
		4: {casebook.Disputed, "", "见出入院记录"},
	})
	// A bureau clerk merged the pharmacy's answer in, added a row for an
	// institution that has no case, and pasted one row twice.
	f, err := excelize.OpenFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range [][]string{
		{"cap-price:FL9", "H11010200002", "西城某药店", "cap-price", "超量收费", "MD9", "P4", "XA01", "FL9", "0.20", "单价超限", casebook.Confirmed, "0.20", ""},
		{"x:FL77", "H11010299999", "不在名单", "x", "", "", "", "", "", "1.00", "", casebook.Confirmed, "1.00", ""},
		{"dup-exact-line:FL1", "H11010200001", "西城某医院", "dup-exact-line", "", "", "", "", "", "120.00", "", casebook.Confirmed, "120", ""},
	} {
		n, _ := f.GetRows(casebook.LeadsSheet)
		if err := f.SetSheetRow(casebook.LeadsSheet, fmt.Sprintf("A%d", len(n)+1), &r); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.Save(); err != nil {
		t.Fatal(err)
	}
	f.Close()

	stdout, stderr, err := run(t, "", "cases", "import", path, "--namespace", ns, "--kubeconfig", testKubeconfig)
	if !errors.Is(err, errRejected) {
		t.Fatalf("import of a bad file: %v\n%s", err, stdout)
	}
	t.Log(strings.TrimSpace(stderr))
	for _, want := range []string{
		path + ": 疑点线索 row 3: bad amount \"0.105\"",
		path + ": 疑点线索 row 6: unknown institution H11010299999: no InspectionCase xicheng-2023-h11010299999 in namespace " + ns,
		path + ": 疑点线索 row 7: duplicate of row 2",
	} {
		if !strings.Contains(stderr, "rejected: "+want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr)
		}
	}
	if !strings.Contains(stdout, "nothing applied") {
		t.Errorf("stdout %q", stdout)
	}
	for _, code := range []string{"H11010200001", "H11010200002"} {
		if si := getTestCase(t, ns, campaign, code).Spec.SelfInspection; si != nil {
			t.Errorf("%s changed by a rejected file: %+v", code, si)
		}
	}

	stdout, _, err = run(t, "", "cases", "import", path, "--partial", "--namespace", ns, "--kubeconfig", testKubeconfig, "--reported-at", "2023-07-02")
	if !errors.Is(err, errRejected) {
		t.Errorf("--partial with rejected rows still exits 1: %v", err)
	}
	if si := getTestCase(t, ns, campaign, "H11010200001").Spec.SelfInspection; si != nil {
		t.Errorf("the institution with rejected rows was applied: %+v", si)
	}
	if si := getTestCase(t, ns, campaign, "H11010200002").Spec.SelfInspection; si == nil || si.ConfirmedAmount != "0.20" || si.ReportedAt != "2023-07-02" {
		t.Errorf("--partial: the pharmacy %+v", si)
	}
	if !strings.Contains(stdout, "applied the self-inspection of 1 cases") {
		t.Errorf("stdout %q", stdout)
	}
}

// TestCasesImportGB18030CSV: returns as a platform exports them, in
// GB18030, with the report date from the command line.
func TestCasesImportGB18030CSV(t *testing.T) {
	ns := testenv.NewNamespace(t, testClient, "cases-csv")
	const campaign = "jiangsu-2020"
	openCases(t, ns, campaign, "H32010000001", "H32010000002")
	text := "机构编码,线索编号,违规类型,核实结果,确认金额（元）,佐证材料/说明\r\n" +
		"H32010000001,r1:FL1,重复收费,属实,100.5,\r\n" +
		"H32010000001,r1:FL2,重复收费,不属实,,见处方笺\r\n" +
		"H32010000002,r2:V9,超量收费,属实,0.05,\r\n"
	gb, err := simplifiedchinese.GB18030.NewEncoder().String(text)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "returns.csv")
	if err := os.WriteFile(path, []byte(gb), 0o644); err != nil {
		t.Fatal(err)
	}
	stdout, stderr, err := run(t, "", "cases", "import", path, "--namespace", ns, "--campaign", campaign,
		"--reported-at", "2020-07-10", "--pledge-signed", "--kubeconfig", testKubeconfig)
	if err != nil {
		t.Fatalf("%v\n%s%s", err, stdout, stderr)
	}
	si := getTestCase(t, ns, campaign, "H32010000001").Spec.SelfInspection
	if want := (flycheckv1.SelfInspection{ReportedAt: "2020-07-10", LeadsConfirmed: 1, LeadsDisputed: 1, ConfirmedAmount: "100.50", PledgeSigned: true}); si == nil || *si != want {
		t.Errorf("selfInspection %+v, want %+v", si, want)
	}
	if si := getTestCase(t, ns, campaign, "H32010000002").Spec.SelfInspection; si == nil || si.ConfirmedAmount != "0.05" {
		t.Errorf("second institution %+v", si)
	}
}

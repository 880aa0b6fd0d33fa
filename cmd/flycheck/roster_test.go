package main

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	flycheckv1 "github.com/medfund/flycheck-operator/api/v1alpha1"
	"github.com/medfund/flycheck-operator/controllers"
	"github.com/medfund/flycheck-operator/controllers/testenv"
	"github.com/medfund/flycheck-operator/internal/sampling"
)

// rosterXLSX writes a bureau-style list: a title row, Chinese headers.
func rosterXLSX(t *testing.T, rows [][]any) string {
	t.Helper()
	f := excelize.NewFile()
	defer f.Close()
	all := append([][]any{{"2024年南京市定点医药机构名单"}, {"定点医药机构编号", "定点医药机构名称", "医保区划", "医院等级", "所有制形式", "机构类型"}}, rows...)
	for r, row := range all {
		cell, _ := excelize.CoordinatesToCellName(1, r+1)
		if err := f.SetSheetRow("Sheet1", cell, &row); err != nil {
			t.Fatal(err)
		}
	}
	p := filepath.Join(t.TempDir(), "名单.xlsx")
	if err := f.SaveAs(p); err != nil {
		t.Fatal(err)
	}
	return p
}

func getRoster(t *testing.T, ns, name string) *corev1.ConfigMap {
	t.Helper()
	var cm corev1.ConfigMap
	if err := testClient.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: name}, &cm); err != nil {
		t.Fatal(err)
	}
	return &cm
}

// TestRosterImport: a spreadsheet becomes the roster ConfigMap, which an
// InspectionSample then draws from; a large roster is stored compressed;
// a bad row applies nothing.
func TestRosterImport(t *testing.T) {
	ns := testenv.NewNamespace(t, testClient, "roster")
	opNS := testenv.NewNamespace(t, testClient, "roster-op")
	ctx := context.Background()
	xlsx := rosterXLSX(t, [][]any{
		{"H32010001 ", "南京市第一医院", 320100, "三级甲等", "public", "hospital"},
		{"H32010002", "南京市鼓楼医院", "320100", "三级甲等", "public", "hospital"},
		{"H32010003", "江宁区人民医院", "320100", "二级甲等", "public", "hospital"},
		{"Ｈ32010004", "鼓楼区康宁诊所", "320100", "一级", "private", "clinic"},
		{"H32010005", "南京仁和大药房", "320100", "未定级", "private", "pharmacy"},
	})
	stdout, stderr, err := run(t, "", "roster", "import", xlsx, "--namespace", ns, "--column-profile", "zh", "--kubeconfig", testKubeconfig)
	if err != nil {
		t.Fatalf("import: %v\n%s", err, stderr)
	}
	if !strings.Contains(stderr, "header on row 2, 5 institutions (2 tertiary)") || !strings.Contains(stdout, "configmap/roster applied in namespace "+ns) {
		t.Errorf("output %q / %q", stdout, stderr)
	}
	cm := getRoster(t, ns, "roster")
	frame, err := controllers.FrameFromConfigMap(cm)
	if err != nil {
		t.Fatal(err)
	}
	want := []sampling.Institution{
		{Code: "H32010001", CityCode: "320100", Name: "南京市第一医院", Level: 3, Ownership: "public", Type: "hospital"},
		{Code: "H32010002", CityCode: "320100", Name: "南京市鼓楼医院", Level: 3, Ownership: "public", Type: "hospital"},
		{Code: "H32010003", CityCode: "320100", Name: "江宁区人民医院", Level: 2, Ownership: "public", Type: "hospital"},
		{Code: "H32010004", CityCode: "320100", Name: "鼓楼区康宁诊所", Level: 1, Ownership: "private", Type: "clinic"},
		{Code: "H32010005", CityCode: "320100", Name: "南京仁和大药房", Level: 0, Ownership: "private", Type: "pharmacy"},
	}
	if !reflect.DeepEqual(frame, want) {
		t.Errorf("frame\n got %+v\nwant %+v", frame, want)
	}
	digest, _ := sampling.Digest(want)
	if cm.Annotations[annotFrameDigest] != digest || cm.Annotations[annotRosterSource] != "名单.xlsx" || cm.Labels[flycheckv1.LabelRole] != "roster" {
		t.Errorf("metadata %v %v", cm.Labels, cm.Annotations)
	}

	// The sampling uses it: a Recheck draw from the roster.
	sample := &flycheckv1.InspectionSample{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "recheck"},
		Spec: flycheckv1.InspectionSampleSpec{
			Purpose: flycheckv1.PurposeRecheck, Scope: "nanjing", Seed: "roster-test",
			Policy: flycheckv1.SamplingPolicy{MinPercent: 10, MinTertiaryPerCity: 2, MinTotal: 3},
			Frames: []flycheckv1.FrameSource{{ConfigMap: "roster"}},
		},
	}
	if err := testClient.Create(ctx, sample); err != nil {
		t.Fatal(err)
	}
	stop := runSampleController(t, opNS)
	testenv.Eventually(t, 20*time.Second, func() error {
		if err := testClient.Get(ctx, client.ObjectKeyFromObject(sample), sample); err != nil {
			return err
		}
		if sample.Status.DrawnAt == nil {
			return errors.New("not drawn yet")
		}
		return nil
	})
	stop()
	if sample.Status.Frame.Digest != digest || sample.Status.Frame.Size != 5 || len(sample.Status.Selected) != 3 || sample.Status.Counts.Tertiary != 2 {
		t.Errorf("draw from the roster: frame %+v, counts %+v, selected %+v", sample.Status.Frame, sample.Status.Counts, sample.Status.Selected)
	}
	res, err := sampling.Draw(want, sampling.Policy{MinPercent: 10, MinTertiaryPerCity: 2, MinTotal: 3}, "roster-test")
	if err != nil {
		t.Fatal(err)
	}
	for i, s := range sample.Status.Selected {
		if s.Code != res.Selected[i].Code {
			t.Errorf("selected[%d] = %s, the draw from the spreadsheet's frame says %s", i, s.Code, res.Selected[i].Code)
		}
	}

	// A roster too large for a plain ConfigMap value: gzip in binaryData,
	// and the data key of the earlier import is gone (server-side apply).
	var b strings.Builder
	b.WriteString("code,name,city_code,level,ownership,type\n")
	for i := 0; i < 15000; i++ {
		fmt.Fprintf(&b, "H3201%05d,南京市第%d号定点医药机构,320100,%d,public,hospital\n", i, i, i%4)
	}
	big := writeFile(t, "big.csv", b.String())
	if _, stderr, err := run(t, "", "roster", "import", big, "-n", ns, "--column-profile", "short", "--kubeconfig", testKubeconfig); err != nil {
		t.Fatalf("import big: %v\n%s", err, stderr)
	}
	cm = getRoster(t, ns, "roster")
	if _, inData := cm.Data[flycheckv1.FrameKey]; inData || len(cm.BinaryData[flycheckv1.FrameKey]) == 0 {
		t.Errorf("big roster: data keys %d, binaryData %d bytes", len(cm.Data), len(cm.BinaryData[flycheckv1.FrameKey]))
	}
	if frame, err := controllers.FrameFromConfigMap(cm); err != nil || len(frame) != 15000 {
		t.Errorf("big roster read back: %d institutions, %v", len(frame), err)
	}

	// A row that cannot be read: nothing is applied.
	before := getRoster(t, ns, "roster").ResourceVersion
	bad := rosterXLSX(t, [][]any{{"H1", "甲医院", "320100", "三级"}, {"H2", "乙医院", "320100", "特级"}})
	_, _, err = run(t, "", "roster", "import", bad, "-n", ns, "--column-profile", "zh", "--kubeconfig", testKubeconfig)
	if err == nil || !strings.Contains(err.Error(), `row 4: hosp_lv "特级"`) {
		t.Errorf("bad row: %v", err)
	}
	if after := getRoster(t, ns, "roster").ResourceVersion; after != before {
		t.Errorf("the ConfigMap changed (%s → %s) although a row could not be read", before, after)
	}
}

// TestRosterImportYAML prints the ConfigMap without a cluster.
func TestRosterImportYAML(t *testing.T) {
	p := writeFile(t, "r.csv", "fixmedins_code,fixmedins_name,admdvs,hosp_lv\nA1,甲医院,320100,3\n")
	stdout, _, err := run(t, "", "roster", "import", p, "-n", "nanjing", "--name", "roster-2024", "-o", "yaml", "--kubeconfig", "/nonexistent")
	if err != nil {
		t.Fatal(err)
	}
	var cm corev1.ConfigMap
	if err := yaml.Unmarshal([]byte(stdout), &cm); err != nil {
		t.Fatal(err)
	}
	frame, err := controllers.FrameFromConfigMap(&cm)
	if err != nil || cm.Kind != "ConfigMap" || cm.Name != "roster-2024" || cm.Namespace != "nanjing" || len(frame) != 1 || frame[0].Code != "A1" {
		t.Errorf("printed %s: %v", stdout, err)
	}
	if _, _, err := run(t, "", "roster", "import", p); err == nil || !strings.Contains(err.Error(), "--namespace") {
		t.Errorf("no namespace: %v", err)
	}
}

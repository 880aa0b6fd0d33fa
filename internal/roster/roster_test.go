package roster

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"
	"golang.org/x/text/encoding/simplifiedchinese"

	"github.com/medfund/flycheck-operator/internal/sampling"
	"github.com/medfund/flycheck-operator/internal/screening"
)

// writeXLSX writes rows to sheet 名单 of a new workbook.
func writeXLSX(t *testing.T, rows [][]any) string {
	t.Helper()
	f := excelize.NewFile()
	defer f.Close()
	if err := f.SetSheetName("Sheet1", "名单"); err != nil {
		t.Fatal(err)
	}
	for r, row := range rows {
		cell, _ := excelize.CoordinatesToCellName(1, r+1)
		if err := f.SetSheetRow("名单", cell, &row); err != nil {
			t.Fatal(err)
		}
	}
	p := filepath.Join(t.TempDir(), "roster.xlsx")
	if err := f.SaveAs(p); err != nil {
		t.Fatal(err)
	}
	return p
}

var zh = &screening.ColumnMap{Profile: "zh"}

func TestReadSpreadsheet(t *testing.T) {
	p := writeXLSX(t, [][]any{
		{"2024年南京市定点医药机构名单"}, // a title above the header
		{},
		{"序号", "定点医药机构编号", "定点医药机构名称", "医保区划", "医院等级", "所有制形式", "机构类型"},
		{1, "H32010001 ", "南京市第一医院", 320100, "三级甲等", "public", "hospital"},
		{2, "Ｈ32010002", "鼓楼区康宁诊所", "320100", "未定级", "private", "clinic"},
		{3, "H32010003", "南京仁和大药房", "320100", 0, "private", "pharmacy"},
		{},
		{4, "H32010004", "江宁区人民医院", "320100", "２", " public", "hospital"},
	})
	res, err := ReadFile(p, Options{Columns: zh})
	if err != nil {
		t.Fatal(err)
	}
	want := []sampling.Institution{
		{Code: "H32010001", CityCode: "320100", Name: "南京市第一医院", Level: 3, Ownership: "public", Type: "hospital"},
		{Code: "H32010002", CityCode: "320100", Name: "鼓楼区康宁诊所", Level: 0, Ownership: "private", Type: "clinic"},
		{Code: "H32010003", CityCode: "320100", Name: "南京仁和大药房", Level: 0, Ownership: "private", Type: "pharmacy"},
		{Code: "H32010004", CityCode: "320100", Name: "江宁区人民医院", Level: 2, Ownership: "public", Type: "hospital"},
	}
	if !reflect.DeepEqual(res.Frame, want) {
		t.Errorf("frame\n got %+v\nwant %+v", res.Frame, want)
	}
	if res.HeaderRow != 3 || res.Columns["fixmedins_code"] != "定点医药机构编号" || !strings.Contains(res.Source, "sheet 名单") {
		t.Errorf("header row %d, columns %v, source %q", res.HeaderRow, res.Columns, res.Source)
	}
	if err := sampling.ValidateFrame(res.Frame); err != nil {
		t.Error(err)
	}
}

func TestReadCSVWithProfileAndEncoding(t *testing.T) {
	csv := "code,name,city_code,level\r\n\"H1\",\"医院,一\",320100,3\r\nH2,医院二,320100,1\r\n"
	dir := t.TempDir()
	for _, enc := range []string{"UTF-8", "GB18030"} {
		data := []byte(csv)
		if enc == "GB18030" {
			data, _ = simplifiedchinese.GB18030.NewEncoder().Bytes(data)
		}
		p := filepath.Join(dir, enc+".csv")
		os.WriteFile(p, data, 0o644)
		res, err := ReadFile(p, Options{Columns: &screening.ColumnMap{Profile: "short"}})
		if err != nil {
			t.Fatalf("%s: %v", enc, err)
		}
		if len(res.Frame) != 2 || res.Frame[0].Name != "医院,一" || res.Frame[1].Level != 1 || !strings.Contains(res.Source, "("+enc+")") {
			t.Errorf("%s: %+v from %s", enc, res.Frame, res.Source)
		}
	}
}

func TestRowsThatCannotBeRead(t *testing.T) {
	p := writeXLSX(t, [][]any{
		{"fixmedins_code", "fixmedins_name", "admdvs", "hosp_lv"},
		{"H1", "甲医院", "320100", "3"},
		{"H2", "乙医院", "320100", "四级"},
		{"", "丙医院", "320100", "1"},
		{"H1", "甲医院(重复)", "320100", "3"},
		{"H5", "戊医院", "", "2"},
	})
	_, err := ReadFile(p, Options{})
	var rows *RowErrors
	if !errors.As(err, &rows) {
		t.Fatalf("err %v, want RowErrors", err)
	}
	msg := err.Error()
	for _, want := range []string{"roster.xlsx, sheet 名单: 4 row(s) cannot be read",
		`row 3: hosp_lv "四级": want 0, 1, 2 or 3`, "row 4: code is empty", `row 5: code "H1" already on row 2`, `row 6: institution "H5": cityCode is empty`} {
		if !strings.Contains(msg, want) {
			t.Errorf("error %q lacks %q", msg, want)
		}
	}
	// A header the mapping cannot read: the closest names and a hint.
	p = writeXLSX(t, [][]any{{"机构编码", "机构名称", "统筹区编码", "医院等级"}, {"H1", "甲", "320100", "3"}})
	_, err = ReadFile(p, Options{})
	if err == nil || !strings.Contains(err.Error(), `missing column "fixmedins_code"`) || !strings.Contains(err.Error(), "--column-profile zh") {
		t.Errorf("unmapped header: %v", err)
	}
	if _, err := ReadFile(p, Options{Columns: zh}); err != nil {
		t.Errorf("with the zh profile: %v", err)
	}
	if _, err := ReadFile(p, Options{Sheet: "nope"}); err == nil || !strings.Contains(err.Error(), "sheets: 名单") {
		t.Errorf("unknown sheet: %v", err)
	}
	if _, err := ReadFile(filepath.Join(t.TempDir(), "roster.ods"), Options{}); err == nil {
		t.Error("an .ods file was accepted")
	}
}

func TestLevel(t *testing.T) {
	for in, want := range map[string]int{"3": 3, " 2 ": 2, "１": 1, "0": 0, "三级甲等": 3, "二级乙等": 2, "一级": 1, "未定级": 0, "无": 0} {
		if got, err := Level(in); err != nil || got != want {
			t.Errorf("Level(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "4", "33", "特级", "三", "level 3"} {
		if _, err := Level(in); err == nil {
			t.Errorf("Level(%q) accepted", in)
		}
	}
}

// Package roster reads a bureau's list of designated institutions (定点医药
// 机构名单), as a spreadsheet (.xlsx) or CSV, into a sampling frame
// (docs/data-format.md, "Sampling frame"; internal/sampling): the roster an
// InspectionSample draws from when no screening ran. Columns are those of
// the claims extract's institutions table and are matched with the same
// column mapping as the screener (screening.ColumnMap); codes are
// normalised as the screener normalises them. A row that cannot be read is
// an error naming the sheet (or file) and row; every such row is reported,
// and no frame is returned then. It imports nothing from Kubernetes.
package roster

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"unicode/utf8"

	"github.com/xuri/excelize/v2"
	"golang.org/x/text/encoding/simplifiedchinese"

	"github.com/medfund/flycheck-operator/internal/sampling"
	"github.com/medfund/flycheck-operator/internal/screening"
)

// Options of Read.
type Options struct {
	// Columns maps the list's headers to the institutions table's columns
	// (nil: documented names, case and surrounding spaces ignored).
	Columns *screening.ColumnMap
	// Sheet of a spreadsheet (default: the first).
	Sheet string
	// Encoding of a CSV file: auto (default), UTF-8 or GB18030.
	Encoding screening.Encoding
}

// The institutions columns a roster needs, and those it may have.
var (
	required = []string{"fixmedins_code", "fixmedins_name", "admdvs", "hosp_lv"}
	optional = []string{"ownership", "fixmedins_type"}
)

// headerSearchRows: a spreadsheet often has a title above the header row.
const headerSearchRows = 10

// Result is a read roster.
type Result struct {
	Frame []sampling.Institution
	// Source names what was read: "file.xlsx, sheet 名单" or "file.csv (GB18030)".
	Source string
	// HeaderRow is the 1-based row of the header.
	HeaderRow int
	// Columns read under another name: documented → header.
	Columns map[string]string
}

// RowError is one row that could not be read.
type RowError struct {
	Row int // 1-based, as the spreadsheet shows it
	Err error
}

func (e RowError) Error() string { return fmt.Sprintf("row %d: %v", e.Row, e.Err) }

// RowErrors are all the rows that could not be read.
type RowErrors struct {
	Source string
	Rows   []RowError
}

func (e *RowErrors) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %d row(s) cannot be read", e.Source, len(e.Rows))
	for i, r := range e.Rows {
		if i == 20 {
			fmt.Fprintf(&b, "\n  … and %d more", len(e.Rows)-i)
			break
		}
		fmt.Fprintf(&b, "\n  %v", r)
	}
	return b.String()
}

// ReadFile reads an .xlsx or .csv roster.
func ReadFile(path string, o Options) (*Result, error) {
	switch strings.ToLower(filepath.Ext(path)) {
	case ".xlsx", ".xlsm":
		f, err := excelize.OpenFile(path)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		defer f.Close()
		sheet := o.Sheet
		if sheet == "" {
			sheet = f.GetSheetList()[0]
		}
		rows, err := f.GetRows(sheet)
		if err != nil {
			return nil, fmt.Errorf("%s: sheet %q: %w (sheets: %s)", path, sheet, err, strings.Join(f.GetSheetList(), ", "))
		}
		return read(fmt.Sprintf("%s, sheet %s", filepath.Base(path), sheet), rows, o)
	case ".csv", ".txt":
		data, err := os.ReadFile(path)
		if err != nil {
			return nil, err
		}
		text, enc, err := decode(data, o.Encoding)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		cr := csv.NewReader(bytes.NewReader(text))
		cr.FieldsPerRecord = -1
		var rows [][]string
		for {
			rec, err := cr.Read()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				return nil, fmt.Errorf("%s: %w", path, err)
			}
			rows = append(rows, rec)
		}
		return read(fmt.Sprintf("%s (%s)", filepath.Base(path), enc), rows, o)
	}
	return nil, fmt.Errorf("%s: want a .xlsx or .csv file", path)
}

// decode returns CSV bytes as UTF-8: a BOM decides, else UTF-8 when valid
// (auto), else GB18030.
func decode(data []byte, enc screening.Encoding) ([]byte, string, error) {
	switch {
	case bytes.HasPrefix(data, []byte("\xEF\xBB\xBF")):
		data = data[3:]
		if enc == "" || enc == screening.EncodingAuto {
			enc = screening.EncodingUTF8
		}
	case bytes.HasPrefix(data, []byte("\x84\x31\x95\x33")):
		data = data[4:]
		if enc == "" || enc == screening.EncodingAuto {
			enc = screening.EncodingGB18030
		}
	}
	switch enc {
	case "", screening.EncodingAuto:
		if utf8.Valid(data) {
			return data, string(screening.EncodingUTF8), nil
		}
		enc = screening.EncodingGB18030
	case screening.EncodingUTF8:
		return data, string(enc), nil
	case screening.EncodingGB18030:
	default:
		return nil, "", fmt.Errorf("unknown encoding %q (auto, UTF-8 or GB18030)", enc)
	}
	out, err := simplifiedchinese.GB18030.NewDecoder().Bytes(data)
	return out, string(enc), err
}

// read finds the header among the first rows and reads the rest.
func read(source string, rows [][]string, o Options) (*Result, error) {
	if err := o.Columns.Validate(); err != nil {
		return nil, err
	}
	head, idx, renamed := -1, []int(nil), map[string]string(nil)
	var firstErr error
	for r := 0; r < len(rows) && r < headerSearchRows; r++ {
		if blank(rows[r]) {
			continue
		}
		i, ren, err := screening.MatchColumns(source, "institutions", rows[r], o.Columns, required)
		if err != nil {
			var miss *screening.MissingColumnError
			if !errors.As(err, &miss) {
				return nil, err // e.g. two columns claim one
			}
			if firstErr == nil {
				firstErr = err
			}
			continue
		}
		head, idx, renamed = r, i, ren
		break
	}
	if head < 0 {
		if firstErr == nil {
			return nil, fmt.Errorf("%s: no rows", source)
		}
		return nil, fmt.Errorf("%w (no header among the first %d rows)", firstErr, headerSearchRows)
	}
	header := rows[head]
	opt := map[string]int{}
	for _, c := range optional {
		i, ren, err := screening.MatchColumns(source, "institutions", header, o.Columns, []string{c})
		var miss *screening.MissingColumnError
		switch {
		case errors.As(err, &miss):
			continue
		case err != nil:
			return nil, err
		}
		opt[c] = i[0]
		for k, v := range ren {
			if renamed == nil {
				renamed = map[string]string{}
			}
			renamed[k] = v
		}
	}
	res := &Result{Source: source, HeaderRow: head + 1, Columns: renamed}
	bad := &RowErrors{Source: source}
	first := map[string]int{}
	for r := head + 1; r < len(rows); r++ {
		row := rows[r]
		if blank(row) {
			continue
		}
		cell := func(i int) string {
			if i < len(row) {
				return row[i]
			}
			return ""
		}
		in := sampling.Institution{
			Code:     screening.NormalizeCode(cell(idx[0])),
			Name:     strings.TrimSpace(cell(idx[1])),
			CityCode: screening.NormalizeCode(cell(idx[2])),
		}
		if i, ok := opt["ownership"]; ok {
			in.Ownership = screening.NormalizeCode(cell(i))
		}
		if i, ok := opt["fixmedins_type"]; ok {
			in.Type = screening.NormalizeCode(cell(i))
		}
		lv, err := Level(cell(idx[3]))
		if err == nil {
			in.Level = lv
			err = sampling.ValidateInstitution(in)
		}
		if err == nil {
			if prev, dup := first[in.Code]; dup {
				err = fmt.Errorf("code %q already on row %d", in.Code, prev)
			}
		}
		if err != nil {
			bad.Rows = append(bad.Rows, RowError{Row: r + 1, Err: err})
			continue
		}
		first[in.Code] = r + 1
		res.Frame = append(res.Frame, in)
	}
	if len(bad.Rows) > 0 {
		return nil, bad
	}
	if len(res.Frame) == 0 {
		return nil, fmt.Errorf("%s: no institutions below the header (row %d)", source, res.HeaderRow)
	}
	return res, nil
}

// Level reads a hospital level (医院等级): 0–3 as in the claims extract
// (full-width digits and surrounding spaces allowed), or the grade as
// bureaus write it — 三级… (三级甲等, 三级乙等, …) 3, 二级… 2, 一级… 1,
// 未定级 / 未评级 / 无 0.
func Level(s string) (int, error) {
	v := screening.NormalizeCode(s)
	switch {
	case len(v) == 1 && v[0] >= '0' && v[0] <= '3':
		return int(v[0] - '0'), nil
	case strings.HasPrefix(v, "三级"):
		return 3, nil
	case strings.HasPrefix(v, "二级"):
		return 2, nil
	case strings.HasPrefix(v, "一级"):
		return 1, nil
	case v == "未定级" || v == "未评级" || v == "无":
		return 0, nil
	}
	return 0, fmt.Errorf("hosp_lv %q: want 0, 1, 2 or 3, or 三级…, 二级…, 一级…, 未定级", s)
}

func blank(row []string) bool {
	for _, c := range row {
		if strings.TrimSpace(c) != "" {
			return false
		}
	}
	return true
}

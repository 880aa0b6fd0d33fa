package casebook

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/xuri/excelize/v2"
	"golang.org/x/text/encoding/simplifiedchinese"

	"github.com/medfund/flycheck-operator/internal/cases"
)

// requiredColumns must be in every return; the others are context.
var requiredColumns = []string{ColInstitution, ColLeadID, ColResponse, ColAmount, ColEvidence}

// RowError is a row (or cover cell) that cannot be used, with why.
type RowError struct {
	File string
	// Sheet is empty for CSV.
	Sheet string
	// Row is the spreadsheet row, the header being row 1.
	Row    int
	Reason string
	// Institution of the row, when it names one.
	Institution string
}

func (e RowError) Error() string {
	if e.Sheet != "" {
		return fmt.Sprintf("%s: %s row %d: %s", e.File, e.Sheet, e.Row, e.Reason)
	}
	return fmt.Sprintf("%s: row %d: %s", e.File, e.Row, e.Reason)
}

// Answer is one lead answered.
type Answer struct {
	Row         int
	Institution string
	LeadID      string
	Confirmed   bool
	Amount      cases.Fen
	Evidence    string
}

// Cover is what the institution filled in on the cover sheet.
type Cover struct {
	Institution, Campaign string
	// ReportedAt as YYYY-MM-DD; "" when left blank.
	ReportedAt string
	Pledge     bool
}

// Returns is one returned file: the usable answers and every row rejected.
type Returns struct {
	File    string
	Cover   *Cover // nil for CSV
	Answers []Answer
	Errors  []RowError
}

// ReadOptions tune reading.
type ReadOptions struct {
	// Known says whether an institution can be placed (the CLI checks that
	// it has a case); nil accepts every code.
	Known func(code string) error
	// Encoding of a CSV: "" (detect: UTF-8 when the bytes are valid UTF-8,
	// else GB18030), "UTF-8" or "GB18030".
	Encoding string
}

// ErrUnreadable wraps a file that is not a return at all (not a workbook,
// no leads sheet, a required column missing): nothing of it can be used.
var ErrUnreadable = errors.New("not a readable return")

// ReadWorkbook reads a returned leads workbook.
func ReadWorkbook(name string, r io.Reader, opts ReadOptions) (*Returns, error) {
	f, err := excelize.OpenReader(r)
	if err != nil {
		return nil, fmt.Errorf("%s: %w: %v", name, ErrUnreadable, err)
	}
	defer f.Close()
	if !slices.Contains(f.GetSheetList(), LeadsSheet) {
		return nil, fmt.Errorf("%s: %w: no sheet %q", name, ErrUnreadable, LeadsSheet)
	}
	rows, err := f.GetRows(LeadsSheet, excelize.Options{RawCellValue: true})
	if err != nil {
		return nil, fmt.Errorf("%s: %w: %v", name, ErrUnreadable, err)
	}
	out := &Returns{File: name}
	if slices.Contains(f.GetSheetList(), CoverSheet) {
		out.Cover = readCover(f, out)
	}
	if err := out.readRows(LeadsSheet, rows, opts); err != nil {
		return nil, err
	}
	return out, nil
}

func readCover(f *excelize.File, out *Returns) *Cover {
	rows, err := f.GetRows(CoverSheet, excelize.Options{RawCellValue: true})
	if err != nil {
		out.Errors = append(out.Errors, RowError{File: out.File, Sheet: CoverSheet, Row: 1, Reason: err.Error()})
		return nil
	}
	c := &Cover{}
	for i, row := range rows {
		if len(row) < 2 {
			continue
		}
		v := strings.TrimSpace(row[1])
		switch strings.TrimSpace(row[0]) {
		case CoverInstitution:
			c.Institution = v
		case CoverCampaign:
			c.Campaign = v
		case CoverReportedAt:
			if v == "" {
				continue
			}
			d, err := parseDate(v)
			if err != nil {
				out.Errors = append(out.Errors, RowError{File: out.File, Sheet: CoverSheet, Row: i + 1, Reason: CoverReportedAt + ": " + err.Error(), Institution: c.Institution})
				continue
			}
			c.ReportedAt = d
		case CoverPledge:
			switch v {
			case Yes:
				c.Pledge = true
			case No, "":
			default:
				out.Errors = append(out.Errors, RowError{File: out.File, Sheet: CoverSheet, Row: i + 1,
					Reason: fmt.Sprintf("%s: %q, want %s or %s", CoverPledge, v, Yes, No), Institution: c.Institution})
			}
		}
	}
	return c
}

// parseDate accepts 2023-06-28, 2023/6/28, 2023年6月28日 and an Excel date
// serial (a date cell typed as a date).
func parseDate(s string) (string, error) {
	for _, layout := range []string{"2006-01-02", "2006/1/2", "2006-1-2", "2006年1月2日"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.Format(time.DateOnly), nil
		}
	}
	if n, err := strconv.ParseFloat(s, 64); err == nil && n > 1 && n < 2958466 {
		t, err := excelize.ExcelDateToTime(n, false)
		if err == nil {
			return t.Format(time.DateOnly), nil
		}
	}
	return "", fmt.Errorf("%q is not a date (write it as 2023-06-28)", s)
}

// ReadCSV reads returned rows as CSV, with the leads sheet's header.
func ReadCSV(name string, r io.Reader, opts ReadOptions) (*Returns, error) {
	raw, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	raw = bytes.TrimPrefix(raw, []byte("\ufeff"))
	enc := opts.Encoding
	if enc == "" {
		enc = "UTF-8"
		if !utf8.Valid(raw) {
			enc = "GB18030"
		}
	}
	switch enc {
	case "UTF-8":
		if !utf8.Valid(raw) {
			return nil, fmt.Errorf("%s: %w: declared UTF-8 but is not (GB18030? use --encoding GB18030)", name, ErrUnreadable)
		}
	case "GB18030":
		if raw, err = simplifiedchinese.GB18030.NewDecoder().Bytes(raw); err != nil {
			return nil, fmt.Errorf("%s: %w: not GB18030: %v", name, ErrUnreadable, err)
		}
	default:
		return nil, fmt.Errorf("encoding %q: want UTF-8 or GB18030", enc)
	}
	cr := csv.NewReader(bytes.NewReader(raw))
	cr.FieldsPerRecord = -1
	rows, err := cr.ReadAll()
	if err != nil {
		return nil, fmt.Errorf("%s: %w: %v", name, ErrUnreadable, err)
	}
	out := &Returns{File: name}
	if err := out.readRows("", rows, opts); err != nil {
		return nil, err
	}
	return out, nil
}

func (rs *Returns) reject(sheet string, row int, institution, reason string) {
	rs.Errors = append(rs.Errors, RowError{File: rs.File, Sheet: sheet, Row: row, Reason: reason, Institution: institution})
}

// readRows checks every row; rows are numbered as the spreadsheet shows
// them (header = 1).
func (rs *Returns) readRows(sheet string, rows [][]string, opts ReadOptions) error {
	if len(rows) == 0 {
		return fmt.Errorf("%s: %w: no header row", rs.File, ErrUnreadable)
	}
	col := map[string]int{}
	for i, h := range rows[0] {
		col[strings.TrimSpace(h)] = i
	}
	for _, c := range requiredColumns {
		if _, ok := col[c]; !ok {
			return fmt.Errorf("%s: %w: no column %q (the header is %q)", rs.File, ErrUnreadable, c, strings.Join(rows[0], ","))
		}
	}
	get := func(row []string, name string) string {
		if i, ok := col[name]; ok && i < len(row) {
			return strings.TrimSpace(row[i])
		}
		return ""
	}
	seen := map[string]int{}
	for i, row := range rows[1:] {
		n := i + 2
		if strings.TrimSpace(strings.Join(row, "")) == "" {
			continue // a blank line
		}
		a := Answer{Row: n, Institution: get(row, ColInstitution), LeadID: get(row, ColLeadID), Evidence: get(row, ColEvidence)}
		var reasons []string
		switch {
		case a.Institution == "":
			reasons = append(reasons, "no institution code ("+ColInstitution+")")
		case opts.Known != nil:
			if err := opts.Known(a.Institution); err != nil {
				reasons = append(reasons, "unknown institution "+a.Institution+": "+err.Error())
			}
		}
		if a.LeadID == "" {
			reasons = append(reasons, "no lead id ("+ColLeadID+")")
		} else if first, dup := seen[a.Institution+"\x00"+a.LeadID]; dup {
			reasons = append(reasons, fmt.Sprintf("duplicate of row %d (lead %s of %s)", first, a.LeadID, a.Institution))
		} else {
			seen[a.Institution+"\x00"+a.LeadID] = n
		}
		amount := get(row, ColAmount)
		switch resp := get(row, ColResponse); resp {
		case Confirmed:
			a.Confirmed = true
			f, err := cases.ParseYuan(amount)
			if err != nil {
				reasons = append(reasons, fmt.Sprintf("bad amount %q in %s: yuan with at most 2 decimals, e.g. 1234.50", amount, ColAmount))
			}
			a.Amount = f
		case Disputed:
			if f, err := cases.ParseOptional(amount); err != nil || f != 0 {
				reasons = append(reasons, fmt.Sprintf("a disputed lead has no confirmed amount (%s is %q)", ColAmount, amount))
			}
			if a.Evidence == "" {
				reasons = append(reasons, "a disputed lead needs its evidence in "+ColEvidence+" (佐证依据)")
			}
		case "":
			reasons = append(reasons, "not answered: "+ColResponse+" is empty")
		default:
			reasons = append(reasons, fmt.Sprintf("%s is %q, want %s or %s", ColResponse, resp, Confirmed, Disputed))
		}
		if len(reasons) > 0 {
			rs.reject(sheet, n, a.Institution, strings.Join(reasons, "; "))
			continue
		}
		rs.Answers = append(rs.Answers, a)
	}
	return nil
}

// Report is one institution's self-inspection return, summed.
type Report struct {
	Institution                   string
	LeadsConfirmed, LeadsDisputed int
	Confirmed                     cases.Fen
	ReportedAt                    string
	Pledge                        bool
	// Rejected: some of the institution's rows were rejected.
	Rejected bool
}

// Reports sums the answers per institution, in code order. The cover's
// report date and pledge apply to the cover's institution; the others (and
// CSV) get reportedAt and pledge.
func (rs *Returns) Reports(reportedAt string, pledge bool) ([]Report, error) {
	byCode := map[string]*Report{}
	var order []string
	for _, a := range rs.Answers {
		r := byCode[a.Institution]
		if r == nil {
			r = &Report{Institution: a.Institution, ReportedAt: reportedAt, Pledge: pledge}
			if c := rs.Cover; c != nil && c.Institution == a.Institution {
				if c.ReportedAt != "" {
					r.ReportedAt = c.ReportedAt
				}
				r.Pledge = c.Pledge || pledge
			}
			byCode[a.Institution] = r
			order = append(order, a.Institution)
		}
		if a.Confirmed {
			r.LeadsConfirmed++
			var err error
			if r.Confirmed, err = r.Confirmed.Add(a.Amount); err != nil {
				return nil, fmt.Errorf("%s: institution %s: %w", rs.File, a.Institution, err)
			}
		} else {
			r.LeadsDisputed++
		}
	}
	rejected := map[string]bool{}
	for _, e := range rs.Errors {
		rejected[e.Institution] = true
	}
	for _, code := range order {
		byCode[code].Rejected = rejected[code]
	}
	slices.Sort(order)
	out := make([]Report, len(order))
	for i, code := range order {
		out[i] = *byCode[code]
	}
	return out, nil
}

package synth

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/parquet-go/parquet-go"
	"golang.org/x/text/encoding/simplifiedchinese"
	"golang.org/x/text/transform"
)

// Table headers, in the order of docs/data-format.md. diag_name is an extra
// column (readers ignore extra columns) that makes the files readable.
var (
	institutionsHeader = []string{"fixmedins_code", "fixmedins_name", "admdvs", "hosp_lv", "ownership", "fixmedins_type"}
	visitsHeader       = []string{"mdtrt_id", "psn_no", "fixmedins_code", "med_type", "begntime", "endtime", "gend", "age"}
	feeLinesHeader     = []string{"feedetl_sn", "mdtrt_id", "setl_id", "psn_no", "fixmedins_code", "hilist_code", "hilist_name", "cnt", "pric", "det_item_fee_sumamt", "fee_ocur_time"}
	diagnosesHeader    = []string{"mdtrt_id", "diag_code", "maindiag_flag", "diag_name"}
	personsHeader      = []string{"psn_no", "death_date"}
)

// Format of the output tables.
type Format string

const (
	CSV     Format = "csv"
	Parquet Format = "parquet"
)

// sink receives finished rows. One sink writes one directory.
type sink interface {
	institution(in *Institution) error
	visit(id string, v *visitBuf) error
	person(p *person) error
	close() error
}

// calendar formats day indices relative to the window start.
type calendar struct {
	from time.Time
	days []string
}

func newCalendar(from time.Time, n int) *calendar {
	c := &calendar{from: from, days: make([]string, n)}
	for i := range c.days {
		c.days[i] = from.AddDate(0, 0, i).Format("2006-01-02")
	}
	return c
}

func (c *calendar) day(d int) string {
	if d >= 0 && d < len(c.days) {
		return c.days[d]
	}
	return c.from.AddDate(0, 0, d).Format("2006-01-02")
}

func (c *calendar) appendTime(b []byte, d int, sec int32) []byte {
	b = append(b, c.day(d)...)
	h, m, s := sec/3600, sec/60%60, sec%60
	return append(b, ' ', byte('0'+h/10), byte('0'+h%10), ':', byte('0'+m/10), byte('0'+m%10), ':', byte('0'+s/10), byte('0'+s%10))
}

// appendFixed appends v/10^scale with exactly `scale` decimals (scale 2 for
// money) or, with trim, without trailing zeros (quantities: "2", "0.5").
func appendFixed(b []byte, v int64, trim bool) []byte {
	if v < 0 {
		b = append(b, '-')
		v = -v
	}
	b = strconv.AppendInt(b, v/100, 10)
	f := v % 100
	if trim && f == 0 {
		return b
	}
	b = append(b, '.', byte('0'+f/10))
	if trim && f%10 == 0 {
		return b
	}
	return append(b, byte('0'+f%10))
}

func appendSeq(b []byte, n int, width int) []byte {
	var tmp [20]byte
	s := strconv.AppendInt(tmp[:0], int64(n), 10)
	for i := len(s); i < width; i++ {
		b = append(b, '0')
	}
	return append(b, s...)
}

// lineIDs appends feedetl_sn and setl_id of line i (0-based) of visit id.
func appendSN(b []byte, id string, i int) []byte     { return appendSeq(append(b, id...), i+1, 4) }
func appendSetl(b []byte, id string, s uint8) []byte { return append(append(b, id...), 'S', '0'+s) }

// ---- CSV ----

type csvTable struct {
	f   *os.File
	enc io.WriteCloser
	w   *bufio.Writer
	row []byte
}

func openCSV(path string, gb18030 bool, header []string) (*csvTable, error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	t := &csvTable{f: f}
	var w io.Writer = f
	if gb18030 {
		t.enc = transform.NewWriter(f, simplifiedchinese.GB18030.NewEncoder())
		w = t.enc
	}
	t.w = bufio.NewWriterSize(w, 1<<20)
	_, err = t.w.WriteString(strings.Join(header, ",") + "\n")
	return t, err
}

func (t *csvTable) flushRow() error {
	t.row = append(t.row, '\n')
	_, err := t.w.Write(t.row)
	t.row = t.row[:0]
	return err
}

func (t *csvTable) close() error {
	err := t.w.Flush()
	if t.enc != nil {
		if e := t.enc.Close(); err == nil {
			err = e
		}
	}
	if e := t.f.Close(); err == nil {
		err = e
	}
	return err
}

// csvField appends a field, quoting it when it needs quotes (names are the
// only free text; the generator never produces quotes or commas in codes).
func csvField(b []byte, s string) []byte {
	if strings.ContainsAny(s, ",\"\n\r") {
		return append(append(b, '"'), strings.ReplaceAll(s, `"`, `""`)+`"`...)
	}
	return append(b, s...)
}

type csvSink struct {
	cal                                  *calendar
	insts, visits, lines, diags, persons *csvTable
}

func newCSVSink(dir string, gb18030 bool, cal *calendar) (*csvSink, error) {
	s := &csvSink{cal: cal}
	var err error
	open := func(name string, h []string) *csvTable {
		if err != nil {
			return nil
		}
		var t *csvTable
		t, err = openCSV(filepath.Join(dir, name+".csv"), gb18030, h)
		return t
	}
	s.insts = open("institutions", institutionsHeader)
	s.visits = open("visits", visitsHeader)
	s.lines = open("fee_lines", feeLinesHeader)
	s.diags = open("diagnoses", diagnosesHeader)
	s.persons = open("persons", personsHeader)
	return s, err
}

func (s *csvSink) institution(in *Institution) error {
	b := s.insts.row
	b = append(b, in.Code...)
	b = csvField(append(b, ','), in.Name)
	b = append(append(b, ','), in.CityCode...)
	b = strconv.AppendInt(append(b, ','), int64(in.Level), 10)
	b = append(append(b, ','), in.Ownership...)
	b = append(append(b, ','), in.Type...)
	s.insts.row = b
	return s.insts.flushRow()
}

func (s *csvSink) visit(id string, v *visitBuf) error {
	t := s.visits
	b := append(t.row, id...)
	b = append(append(b, ','), v.ps.psnNo...)
	b = append(append(b, ','), v.inst.Code...)
	b = append(append(b, ','), v.medType...)
	b = s.cal.appendTime(append(b, ','), v.beginDay, v.beginSec)
	b = s.cal.appendTime(append(b, ','), v.endDay, v.endSec)
	b = append(b, ',', '0'+v.gend, ',')
	b = strconv.AppendInt(b, int64(v.age), 10)
	t.row = b
	if err := t.flushRow(); err != nil {
		return err
	}
	for i, d := range v.diags {
		t := s.diags
		b := append(t.row, id...)
		b = append(append(b, ','), d...)
		flag := byte('0')
		if i == 0 {
			flag = '1'
		}
		b = append(b, ',', flag, ',')
		b = csvField(b, diagName(d))
		t.row = b
		if err := t.flushRow(); err != nil {
			return err
		}
	}
	for i := range v.lines {
		l := &v.lines[i]
		t := s.lines
		b := appendSN(t.row, id, i)
		b = append(b, ',')
		b = append(b, id...)
		b = appendSetl(append(b, ','), id, l.setl)
		b = append(append(b, ','), v.ps.psnNo...)
		b = append(append(b, ','), v.inst.Code...)
		b = append(append(b, ','), l.item.Code...)
		b = csvField(append(b, ','), l.item.Name)
		b = appendFixed(append(b, ','), l.cnt, true)
		b = appendFixed(append(b, ','), l.price, false)
		b = appendFixed(append(b, ','), l.amount(), false)
		b = s.cal.appendTime(append(b, ','), l.day, l.sec)
		t.row = b
		if err := t.flushRow(); err != nil {
			return err
		}
	}
	return nil
}

func (s *csvSink) person(p *person) error {
	b := append(s.persons.row, p.psnNo...)
	b = append(b, ',')
	if p.deathDay != noDeath {
		b = append(b, s.cal.day(p.deathDay)...)
	}
	s.persons.row = b
	return s.persons.flushRow()
}

func (s *csvSink) close() error {
	var first error
	for _, t := range []*csvTable{s.insts, s.visits, s.lines, s.diags, s.persons} {
		if t == nil {
			continue
		}
		if err := t.close(); err != nil && first == nil {
			first = err
		}
	}
	return first
}

// ---- Parquet ----
// Strings everywhere except the integer columns hosp_lv and age (INT32), as
// docs/data-format.md allows; low-cardinality columns are dictionary-encoded.

type pqInstitution struct {
	FixmedinsCode string `parquet:"fixmedins_code"`
	FixmedinsName string `parquet:"fixmedins_name"`
	Admdvs        string `parquet:"admdvs,dict"`
	HospLv        int32  `parquet:"hosp_lv"`
	Ownership     string `parquet:"ownership,dict"`
	FixmedinsType string `parquet:"fixmedins_type,dict"`
}

type pqVisit struct {
	MdtrtID       string `parquet:"mdtrt_id"`
	PsnNo         string `parquet:"psn_no"`
	FixmedinsCode string `parquet:"fixmedins_code,dict"`
	MedType       string `parquet:"med_type,dict"`
	Begntime      string `parquet:"begntime"`
	Endtime       string `parquet:"endtime"`
	Gend          string `parquet:"gend,dict"`
	Age           int32  `parquet:"age"`
}

type pqFeeLine struct {
	FeedetlSn        string `parquet:"feedetl_sn"`
	MdtrtID          string `parquet:"mdtrt_id"`
	SetlID           string `parquet:"setl_id"`
	PsnNo            string `parquet:"psn_no"`
	FixmedinsCode    string `parquet:"fixmedins_code,dict"`
	HilistCode       string `parquet:"hilist_code,dict"`
	HilistName       string `parquet:"hilist_name,dict"`
	Cnt              string `parquet:"cnt,dict"`
	Pric             string `parquet:"pric,dict"`
	DetItemFeeSumamt string `parquet:"det_item_fee_sumamt"`
	FeeOcurTime      string `parquet:"fee_ocur_time"`
}

type pqDiagnosis struct {
	MdtrtID      string `parquet:"mdtrt_id"`
	DiagCode     string `parquet:"diag_code,dict"`
	MaindiagFlag string `parquet:"maindiag_flag,dict"`
	DiagName     string `parquet:"diag_name,dict"`
}

type pqPerson struct {
	PsnNo     string `parquet:"psn_no"`
	DeathDate string `parquet:"death_date"`
}

// addDiagnoses writes a visit's diagnoses, the first as the main one
// (maindiag_flag 1); both Parquet sinks write them alike.
func addDiagnoses(t *pqTable[pqDiagnosis], visit string, codes []string) error {
	for i, d := range codes {
		flag := "0"
		if i == 0 {
			flag = "1"
		}
		if err := t.add(pqDiagnosis{visit, d, flag, diagName(d)}); err != nil {
			return err
		}
	}
	return nil
}

type pqTable[T any] struct {
	f   *os.File
	w   *parquet.GenericWriter[T]
	buf []T
}

func openParquet[T any](path string) (*pqTable[T], error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	w := parquet.NewGenericWriter[T](f,
		parquet.Compression(&parquet.Snappy),
		parquet.MaxRowsPerRowGroup(1<<20),
		parquet.CreatedBy("flycheck-synth", "v1", ""))
	return &pqTable[T]{f: f, w: w, buf: make([]T, 0, 4096)}, nil
}

func (t *pqTable[T]) add(row T) error {
	t.buf = append(t.buf, row)
	if len(t.buf) == cap(t.buf) {
		return t.flush()
	}
	return nil
}

func (t *pqTable[T]) flush() error {
	if len(t.buf) == 0 {
		return nil
	}
	_, err := t.w.Write(t.buf)
	clear(t.buf)
	t.buf = t.buf[:0]
	return err
}

func (t *pqTable[T]) close() error {
	err := t.flush()
	if e := t.w.Close(); err == nil {
		err = e
	}
	if e := t.f.Close(); err == nil {
		err = e
	}
	return err
}

// parquetTables are the five tables of a Parquet extract; V, L and P are
// the row types of visits, fee lines and persons, which differ between
// the string and the typed files. Both sinks embed it.
type parquetTables[V, L, P any] struct {
	insts   *pqTable[pqInstitution]
	visits  *pqTable[V]
	lines   *pqTable[L]
	diags   *pqTable[pqDiagnosis]
	persons *pqTable[P]
	scratch []byte
}

func (t *parquetTables[V, L, P]) open(dir string) error {
	p := func(name string) string { return filepath.Join(dir, name+".parquet") }
	var err error
	if t.insts, err = openParquet[pqInstitution](p("institutions")); err != nil {
		return err
	}
	if t.visits, err = openParquet[V](p("visits")); err != nil {
		return err
	}
	if t.lines, err = openParquet[L](p("fee_lines")); err != nil {
		return err
	}
	if t.diags, err = openParquet[pqDiagnosis](p("diagnoses")); err != nil {
		return err
	}
	t.persons, err = openParquet[P](p("persons"))
	return err
}

func (t *parquetTables[V, L, P]) institution(in *Institution) error {
	return t.insts.add(pqInstitution{in.Code, in.Name, in.CityCode, int32(in.Level), in.Ownership, in.Type})
}

// str is the text f appends, built in a reused buffer.
func (t *parquetTables[V, L, P]) str(f func(b []byte) []byte) string {
	t.scratch = f(t.scratch[:0])
	return string(t.scratch)
}

// addVisit writes a visit's row, its diagnoses and its fee lines (line
// makes the row of line i).
func (t *parquetTables[V, L, P]) addVisit(id string, v *visitBuf, row V, line func(i int, l *line) L) error {
	if err := t.visits.add(row); err != nil {
		return err
	}
	if err := addDiagnoses(t.diags, id, v.diags); err != nil {
		return err
	}
	for i := range v.lines {
		if err := t.lines.add(line(i, &v.lines[i])); err != nil {
			return err
		}
	}
	return nil
}

func (t *parquetTables[V, L, P]) close() error {
	var first error
	for _, c := range []interface{ close() error }{t.insts, t.visits, t.lines, t.diags, t.persons} {
		if err := c.close(); err != nil && first == nil {
			first = err
		}
	}
	return first
}

type parquetSink struct {
	parquetTables[pqVisit, pqFeeLine, pqPerson]
	cal *calendar
}

func newParquetSink(dir string, cal *calendar) (*parquetSink, error) {
	s := &parquetSink{cal: cal}
	return s, s.open(dir)
}

func (s *parquetSink) visit(id string, v *visitBuf) error {
	row := pqVisit{MdtrtID: id, PsnNo: v.ps.psnNo, FixmedinsCode: v.inst.Code, MedType: v.medType,
		Begntime: s.str(func(b []byte) []byte { return s.cal.appendTime(b, v.beginDay, v.beginSec) }),
		Endtime:  s.str(func(b []byte) []byte { return s.cal.appendTime(b, v.endDay, v.endSec) }),
		Gend:     string(rune('0' + v.gend)), Age: int32(v.age)}
	return s.addVisit(id, v, row, func(i int, l *line) pqFeeLine {
		return pqFeeLine{
			FeedetlSn:        s.str(func(b []byte) []byte { return appendSN(b, id, i) }),
			MdtrtID:          id,
			SetlID:           s.str(func(b []byte) []byte { return appendSetl(b, id, l.setl) }),
			PsnNo:            v.ps.psnNo,
			FixmedinsCode:    v.inst.Code,
			HilistCode:       l.item.Code,
			HilistName:       l.item.Name,
			Cnt:              s.str(func(b []byte) []byte { return appendFixed(b, l.cnt, true) }),
			Pric:             s.str(func(b []byte) []byte { return appendFixed(b, l.price, false) }),
			DetItemFeeSumamt: s.str(func(b []byte) []byte { return appendFixed(b, l.amount(), false) }),
			FeeOcurTime:      s.str(func(b []byte) []byte { return s.cal.appendTime(b, l.day, l.sec) }),
		}
	})
}

func (s *parquetSink) person(p *person) error {
	dd := ""
	if p.deathDay != noDeath {
		dd = s.cal.day(p.deathDay)
	}
	return s.persons.add(pqPerson{p.psnNo, dd})
}

var diagNames = func() map[string]string {
	m := map[string]string{}
	for _, d := range Diagnoses {
		m[d.Code] = d.Name
	}
	return m
}()

func diagName(code string) string { return diagNames[code] }

func newSink(dir string, format Format, encoding string, typed bool, cal *calendar) (sink, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	switch format {
	case CSV, "":
		switch strings.ToUpper(encoding) {
		case "", "UTF-8", "UTF8":
			return newCSVSink(dir, false, cal)
		case "GB18030":
			return newCSVSink(dir, true, cal)
		}
		return nil, fmt.Errorf("unknown encoding %q (UTF-8 or GB18030)", encoding)
	case Parquet:
		if typed {
			return newTypedParquetSink(dir, cal)
		}
		return newParquetSink(dir, cal)
	}
	return nil, fmt.Errorf("unknown format %q (csv or parquet)", format)
}

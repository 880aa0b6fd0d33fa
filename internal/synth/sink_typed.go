package synth

import (
	"path/filepath"
	"time"
)

// Typed Parquet (Options.ParquetTypes = "typed"): the same rows as the
// string Parquet of sink.go, typed the way real extracts converted to
// Parquet are — DECIMAL amounts (cnt and pric DECIMAL(18,4), the
// documented four places; det_item_fee_sumamt DECIMAL(18,2), money),
// TIMESTAMP times (microseconds, not adjusted to UTC: the province's wall
// clock, docs/data-format.md), DATE dates (death_date, nullable) and INT32
// for the numeric columns (hosp_lv, age). Codes stay strings: med_type,
// gend and maindiag_flag are codes that happen to be digits.

const (
	// ParquetStrings writes every value as text (the default).
	ParquetStrings = "strings"
	// ParquetTyped writes DECIMAL, TIMESTAMP, DATE and INT32 columns.
	ParquetTyped = "typed"
)

type pqtVisit struct {
	MdtrtID       string `parquet:"mdtrt_id"`
	PsnNo         string `parquet:"psn_no"`
	FixmedinsCode string `parquet:"fixmedins_code,dict"`
	MedType       string `parquet:"med_type,dict"`
	Begntime      int64  `parquet:"begntime,timestamp(microsecond:local)"`
	Endtime       int64  `parquet:"endtime,timestamp(microsecond:local)"`
	Gend          string `parquet:"gend,dict"`
	Age           int32  `parquet:"age"`
}

type pqtFeeLine struct {
	FeedetlSn        string `parquet:"feedetl_sn"`
	MdtrtID          string `parquet:"mdtrt_id"`
	SetlID           string `parquet:"setl_id"`
	PsnNo            string `parquet:"psn_no"`
	FixmedinsCode    string `parquet:"fixmedins_code,dict"`
	HilistCode       string `parquet:"hilist_code,dict"`
	HilistName       string `parquet:"hilist_name,dict"`
	Cnt              int64  `parquet:"cnt,decimal(4:18)"`
	Pric             int64  `parquet:"pric,decimal(4:18)"`
	DetItemFeeSumamt int64  `parquet:"det_item_fee_sumamt,decimal(2:18)"`
	FeeOcurTime      int64  `parquet:"fee_ocur_time,timestamp(microsecond:local)"`
}

type pqtPerson struct {
	PsnNo     string `parquet:"psn_no"`
	DeathDate *int32 `parquet:"death_date,optional,date"`
}

type typedParquetSink struct {
	cal     *calendar
	epoch   int64 // seconds of the window's first day, wall clock as UTC
	insts   *pqTable[pqInstitution]
	visits  *pqTable[pqtVisit]
	lines   *pqTable[pqtFeeLine]
	diags   *pqTable[pqDiagnosis]
	persons *pqTable[pqtPerson]
	scratch []byte
}

func newTypedParquetSink(dir string, cal *calendar) (*typedParquetSink, error) {
	// A timestamp not adjusted to UTC holds the wall clock as if it were
	// UTC: the window's first midnight, taken in UTC.
	f := cal.from
	s := &typedParquetSink{cal: cal, epoch: time.Date(f.Year(), f.Month(), f.Day(), 0, 0, 0, 0, time.UTC).Unix()}
	var err error
	p := func(name string) string { return filepath.Join(dir, name+".parquet") }
	if s.insts, err = openParquet[pqInstitution](p("institutions")); err != nil {
		return nil, err
	}
	if s.visits, err = openParquet[pqtVisit](p("visits")); err != nil {
		return nil, err
	}
	if s.lines, err = openParquet[pqtFeeLine](p("fee_lines")); err != nil {
		return nil, err
	}
	if s.diags, err = openParquet[pqDiagnosis](p("diagnoses")); err != nil {
		return nil, err
	}
	if s.persons, err = openParquet[pqtPerson](p("persons")); err != nil {
		return nil, err
	}
	return s, nil
}

// micros is the timestamp of second sec of day d.
func (s *typedParquetSink) micros(d int, sec int32) int64 {
	return (s.epoch + int64(d)*86400 + int64(sec)) * 1000000
}

func (s *typedParquetSink) institution(in *Institution) error {
	return s.insts.add(pqInstitution{in.Code, in.Name, in.CityCode, int32(in.Level), in.Ownership, in.Type})
}

func (s *typedParquetSink) str(f func(b []byte) []byte) string {
	s.scratch = f(s.scratch[:0])
	return string(s.scratch)
}

func (s *typedParquetSink) visit(id string, v *visitBuf) error {
	err := s.visits.add(pqtVisit{MdtrtID: id, PsnNo: v.ps.psnNo, FixmedinsCode: v.inst.Code, MedType: v.medType,
		Begntime: s.micros(v.beginDay, v.beginSec), Endtime: s.micros(v.endDay, v.endSec),
		Gend: string(rune('0' + v.gend)), Age: int32(v.age)})
	if err != nil {
		return err
	}
	if err := addDiagnoses(s.diags, id, v.diags); err != nil {
		return err
	}
	for i := range v.lines {
		l := &v.lines[i]
		// cnt and price are in hundredths; DECIMAL(18,4) holds 1/10000.
		row := pqtFeeLine{
			FeedetlSn:        s.str(func(b []byte) []byte { return appendSN(b, id, i) }),
			MdtrtID:          id,
			SetlID:           s.str(func(b []byte) []byte { return appendSetl(b, id, l.setl) }),
			PsnNo:            v.ps.psnNo,
			FixmedinsCode:    v.inst.Code,
			HilistCode:       l.item.Code,
			HilistName:       l.item.Name,
			Cnt:              l.cnt * 100,
			Pric:             l.price * 100,
			DetItemFeeSumamt: l.amount(),
			FeeOcurTime:      s.micros(l.day, l.sec),
		}
		if err := s.lines.add(row); err != nil {
			return err
		}
	}
	return nil
}

func (s *typedParquetSink) person(p *person) error {
	row := pqtPerson{PsnNo: p.psnNo}
	if p.deathDay != noDeath {
		d := int32(s.epoch/86400) + int32(p.deathDay)
		row.DeathDate = &d
	}
	return s.persons.add(row)
}

func (s *typedParquetSink) close() error {
	var first error
	for _, c := range []interface{ close() error }{s.insts, s.visits, s.lines, s.diags, s.persons} {
		if err := c.close(); err != nil && first == nil {
			first = err
		}
	}
	return first
}

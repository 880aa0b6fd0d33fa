package synth

import "time"

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
	parquetTables[pqtVisit, pqtFeeLine, pqtPerson]
	cal   *calendar
	epoch int64 // seconds of the window's first day, wall clock as UTC
}

func newTypedParquetSink(dir string, cal *calendar) (*typedParquetSink, error) {
	// A timestamp not adjusted to UTC holds the wall clock as if it were
	// UTC: the window's first midnight, taken in UTC.
	f := cal.from
	s := &typedParquetSink{cal: cal, epoch: time.Date(f.Year(), f.Month(), f.Day(), 0, 0, 0, 0, time.UTC).Unix()}
	return s, s.open(dir)
}

// micros is the timestamp of second sec of day d.
func (s *typedParquetSink) micros(d int, sec int32) int64 {
	return (s.epoch + int64(d)*86400 + int64(sec)) * 1000000
}

func (s *typedParquetSink) visit(id string, v *visitBuf) error {
	row := pqtVisit{MdtrtID: id, PsnNo: v.ps.psnNo, FixmedinsCode: v.inst.Code, MedType: v.medType,
		Begntime: s.micros(v.beginDay, v.beginSec), Endtime: s.micros(v.endDay, v.endSec),
		Gend: string(rune('0' + v.gend)), Age: int32(v.age)}
	return s.addVisit(id, v, row, func(i int, l *line) pqtFeeLine {
		// cnt and price are in hundredths; DECIMAL(18,4) holds 1/10000.
		return pqtFeeLine{
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
	})
}

func (s *typedParquetSink) person(p *person) error {
	row := pqtPerson{PsnNo: p.psnNo}
	if p.deathDay != noDeath {
		d := int32(s.epoch/86400) + int32(p.deathDay)
		row.DeathDate = &d
	}
	return s.persons.add(row)
}

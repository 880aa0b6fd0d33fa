package screening

import (
	"bufio"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"sync"

	"github.com/parquet-go/parquet-go"
)

// FindingRow is one row of findings.csv / findings.parquet
// (docs/data-format.md).
type FindingRow struct {
	RuleID        string `parquet:"rule_id,dict" json:"ruleId"`
	Category      string `parquet:"category,dict" json:"category"`
	Template      string `parquet:"template,dict" json:"template"`
	FixmedinsCode string `parquet:"fixmedins_code,dict" json:"fixmedinsCode"`
	MdtrtID       string `parquet:"mdtrt_id" json:"mdtrtId"`
	PsnNo         string `parquet:"psn_no" json:"psnNo"`
	HilistCode    string `parquet:"hilist_code,dict" json:"hilistCode"`
	FeedetlSn     string `parquet:"feedetl_sn" json:"feedetlSn"`
	Amount        string `parquet:"amount" json:"amount"`
	Evidence      string `parquet:"evidence" json:"evidence"`
}

// FindingsHeader is the CSV header of findings.csv.
var FindingsHeader = []string{"rule_id", "category", "template", "fixmedins_code", "mdtrt_id", "psn_no", "hilist_code", "feedetl_sn", "amount", "evidence"}

// Key is the finding identity of docs/rules.md §2: rule id and feedetl_sn
// for line-level findings, rule id and mdtrt_id for visit-level ones.
func (f FindingRow) Key() string {
	if f.FeedetlSn != "" {
		return f.RuleID + "\x00L\x00" + f.FeedetlSn
	}
	return f.RuleID + "\x00V\x00" + f.MdtrtID
}

func (f FindingRow) record() []string {
	return []string{f.RuleID, f.Category, f.Template, f.FixmedinsCode, f.MdtrtID, f.PsnNo, f.HilistCode, f.FeedetlSn, f.Amount, f.Evidence}
}

// ReadFindingsCSV reads a findings.csv written by the engine.
func ReadFindingsCSV(path string) ([]FindingRow, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	r := csv.NewReader(bufio.NewReader(f))
	r.FieldsPerRecord = len(FindingsHeader)
	recs, err := r.ReadAll()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if len(recs) == 0 {
		return nil, fmt.Errorf("%s: no header", path)
	}
	out := make([]FindingRow, 0, len(recs)-1)
	for _, x := range recs[1:] {
		out = append(out, FindingRow{x[0], x[1], x[2], x[3], x[4], x[5], x[6], x[7], x[8], x[9]})
	}
	return out, nil
}

// ReadFindingsParquet reads a findings.parquet written by the engine.
func ReadFindingsParquet(path string) ([]FindingRow, error) {
	rows, err := parquet.ReadFile[FindingRow](path)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return rows, nil
}

// findingsWriter writes findings in the order it receives them and keeps
// the per-institution and per-rule counts.
type findingsWriter struct {
	e      *engine
	dir    string
	csvF   *os.File
	csvW   *bufio.Writer
	pqF    *os.File
	pqW    *parquet.GenericWriter[FindingRow]
	buf    []FindingRow
	rec    []byte
	byRule []int64
	// per institution
	instFindings []int64
	instByCat    [][7]int64
	instAtRisk   []int64
	total        int64
	atRisk       int64
}

func newFindingsWriter(e *engine, dir string) (*findingsWriter, error) {
	w := &findingsWriter{e: e, dir: dir,
		byRule:       make([]int64, len(e.c.rules)),
		instFindings: make([]int64, len(e.m.insts)),
		instByCat:    make([][7]int64, len(e.m.insts)),
		instAtRisk:   make([]int64, len(e.m.insts))}
	if dir == "" {
		return w, nil
	}
	var err error
	if w.csvF, err = os.Create(filepath.Join(dir, "findings.csv")); err != nil {
		return nil, err
	}
	w.csvW = bufio.NewWriterSize(w.csvF, 1<<20)
	cw := csv.NewWriter(w.csvW)
	cw.Write(FindingsHeader)
	cw.Flush()
	if w.pqF, err = os.Create(filepath.Join(dir, "findings.parquet")); err != nil {
		return nil, err
	}
	w.pqW = parquet.NewGenericWriter[FindingRow](w.pqF, parquet.Compression(&parquet.Snappy))
	return w, nil
}

func (w *findingsWriter) write(fs []finding) error {
	e := w.e
	m := e.m
	for i := range fs {
		f := &fs[i]
		r := e.c.rules[f.rule]
		v := &m.visits[f.visit]
		w.byRule[f.rule]++
		w.instFindings[v.inst]++
		w.instByCat[v.inst][r.catIdx]++
		var ok1, ok2 bool
		if w.instAtRisk[v.inst], ok1 = addExact(w.instAtRisk[v.inst], f.amount); !ok1 {
			return atRiskOverflow(m.insts[v.inst].code)
		}
		w.total++
		if w.atRisk, ok2 = addExact(w.atRisk, f.amount); !ok2 {
			return atRiskOverflow("")
		}
		if w.csvW == nil {
			continue
		}
		row := FindingRow{RuleID: r.id, Category: string(r.cat), Template: string(r.tpl),
			FixmedinsCode: m.insts[v.inst].code, MdtrtID: m.mdtrt.str(f.visit), PsnNo: string(m.psnOf(f.visit)),
			FeedetlSn: f.sn, Amount: formatFen(f.amount), Evidence: f.evidence}
		if f.item >= 0 {
			row.HilistCode = e.c.items.str(f.item)
		}
		w.rec = w.rec[:0]
		for k, field := range row.record() {
			if k > 0 {
				w.rec = append(w.rec, ',')
			}
			w.rec = appendCSVField(w.rec, []byte(field))
		}
		w.rec = append(w.rec, '\n')
		if _, err := w.csvW.Write(w.rec); err != nil {
			return err
		}
		w.buf = append(w.buf, row)
		if len(w.buf) >= 8192 {
			if err := w.flushParquet(); err != nil {
				return err
			}
		}
	}
	return nil
}

func (w *findingsWriter) flushParquet() error {
	if len(w.buf) == 0 {
		return nil
	}
	_, err := w.pqW.Write(w.buf)
	w.buf = w.buf[:0]
	return err
}

func (w *findingsWriter) close() error {
	if w.csvW == nil {
		return nil
	}
	err := w.flushParquet()
	if e := w.pqW.Close(); err == nil {
		err = e
	}
	if e := w.pqF.Close(); err == nil {
		err = e
	}
	if e := w.csvW.Flush(); err == nil {
		err = e
	}
	if e := w.csvF.Close(); err == nil {
		err = e
	}
	return err
}

// abort closes the files without caring about errors (restart in spill
// mode rewrites them).
func (w *findingsWriter) abort() {
	if w.csvW != nil {
		w.pqW.Close()
		w.pqF.Close()
		w.csvF.Close()
	}
}

// quarantine writes rejected rows to quarantine.csv (file, line, reason,
// raw) as they are found; counts are kept per table.
type quarantine struct {
	mu    sync.Mutex
	f     *os.File
	w     *bufio.Writer
	count map[string]int64
	rec   []byte
}

func newQuarantine(dir string) (*quarantine, error) {
	q := &quarantine{count: map[string]int64{}}
	if dir == "" {
		return q, nil
	}
	f, err := os.Create(filepath.Join(dir, "quarantine.csv"))
	if err != nil {
		return nil, err
	}
	q.f, q.w = f, bufio.NewWriterSize(f, 256<<10)
	q.w.WriteString("file,line,reason,raw\n")
	return q, nil
}

func (q *quarantine) add(table string, r reject) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.count[table]++
	if q.w == nil {
		return
	}
	q.rec = appendCSVField(q.rec[:0], []byte(filepath.Base(r.file)))
	q.rec = append(q.rec, ',')
	q.rec = strconv.AppendInt(q.rec, r.line, 10)
	q.rec = append(q.rec, ',')
	q.rec = appendCSVField(q.rec, []byte(r.reason))
	q.rec = append(q.rec, ',')
	q.rec = appendCSVField(q.rec, []byte(r.raw))
	q.rec = append(q.rec, '\n')
	q.w.Write(q.rec)
}

// mark returns a position to which truncate can roll back.
func (q *quarantine) mark() (int64, map[string]int64) {
	q.mu.Lock()
	defer q.mu.Unlock()
	counts := map[string]int64{}
	for k, v := range q.count {
		counts[k] = v
	}
	if q.w == nil {
		return 0, counts
	}
	q.w.Flush()
	off, _ := q.f.Seek(0, io.SeekCurrent)
	return off, counts
}

func (q *quarantine) truncate(off int64, counts map[string]int64) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.count = counts
	if q.w == nil {
		return nil
	}
	q.w.Flush()
	if err := q.f.Truncate(off); err != nil {
		return err
	}
	_, err := q.f.Seek(off, io.SeekStart)
	return err
}

// close flushes and closes the file; closing again is a no-op.
func (q *quarantine) close() error {
	if q.w == nil {
		return nil
	}
	w := q.w
	q.w = nil
	if err := w.Flush(); err != nil {
		q.f.Close()
		return err
	}
	return q.f.Close()
}

func writeJSON(path string, v any) error {
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(data, '\n'), 0o644)
}

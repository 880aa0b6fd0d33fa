package synth

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/medfund/flycheck-operator/api/v1alpha1/rules"
)

// Options is a Config plus the rule catalogue and the output layout.
type Options struct {
	Config
	// Rules is the catalogue the background respects and the violations
	// break (empty: a background without rules and no violations).
	Rules []rules.Rule
	// Format csv (default) or parquet; Encoding UTF-8 (default) or GB18030
	// for CSV.
	Format   Format
	Encoding string
	// Quirks writes CSV the way platforms export it (quirks.go): values in
	// the other forms the screener accepts, CRLF, BOMs, header case. The
	// findings, and so the ground truth, are those of the clean extract.
	Quirks bool
	// ParquetTypes is how Parquet columns are typed: "strings" (default,
	// every value as text but hosp_lv and age) or "typed" (DECIMAL
	// amounts, TIMESTAMP times, DATE dates, INT32 numbers: sink_typed.go).
	ParquetTypes string
	// PerCity writes one directory per city (DIR/<admdvs>/) instead of one
	// province directory.
	PerCity bool
	// Partitions > 0 writes visits, fee_lines and diagnoses as directories
	// of that many files, by institution (partition.go).
	Partitions int
	// Progress, when set, receives a line per city.
	Progress io.Writer
}

// Counts are row counts of the generated tables.
type Counts struct {
	Institutions int   `json:"institutions"`
	Persons      int   `json:"persons"`
	Visits       int64 `json:"visits"`
	FeeLines     int64 `json:"feeLines"`
	Diagnoses    int64 `json:"diagnoses"`
}

func (c *Counts) add(o Counts) {
	c.Institutions += o.Institutions
	c.Persons += o.Persons
	c.Visits += o.Visits
	c.FeeLines += o.FeeLines
	c.Diagnoses += o.Diagnoses
}

// Manifest describes a generated data set (manifest.json). It holds no
// time stamps, so that the same options give the same bytes.
type Manifest struct {
	Generator           string            `json:"generator"`
	Seed                uint64            `json:"seed"`
	Format              Format            `json:"format"`
	Encoding            string            `json:"encoding,omitempty"`
	Quirks              bool              `json:"quirks,omitempty"`
	ParquetTypes        string            `json:"parquetTypes,omitempty"`
	Layout              string            `json:"layout"` // province | per-city
	Partitions          int               `json:"partitions,omitempty"`
	From                string            `json:"from"`
	To                  string            `json:"to"`
	Cities              []string          `json:"cities"`
	InstitutionsPerCity int               `json:"institutionsPerCity"`
	FeeLinesTarget      int64             `json:"feeLinesTarget"`
	ViolationRate       float64           `json:"violationRate"`
	Rules               int               `json:"rules"`
	Counts              Counts            `json:"counts"`
	ByCity              map[string]Counts `json:"byCity"`
	Violations          ViolationCounts   `json:"violations"`
}

// ViolationCounts summarises the ground truth.
type ViolationCounts struct {
	// Scenarios injected (one violation each, one or two visits).
	Scenarios int `json:"scenarios"`
	// Findings expected (rows of ground_truth.csv).
	Findings int `json:"findings"`
	// ByRule: expected findings per rule id.
	ByRule map[string]int `json:"byRule"`
	// NotInjected: rules that could not be injected, with the reason.
	NotInjected map[string]string `json:"notInjected,omitempty"`
}

// Truth is one expected finding (a row of ground_truth.csv). Line-level
// findings have HilistCode and FeedetlSn; visit-level ones leave them empty.
// Amount is in fen.
type Truth struct {
	RuleID, Category, Template string
	FixmedinsCode, MdtrtID     string
	PsnNo, HilistCode          string
	FeedetlSn                  string
	Amount                     int64
	Scenario                   int
}

// TruthHeader is the header of ground_truth.csv.
var TruthHeader = []string{"rule_id", "category", "template", "fixmedins_code", "mdtrt_id", "psn_no", "hilist_code", "feedetl_sn", "amount", "scenario"}

// Generate writes a synthetic province under dir: the claims tables
// (docs/data-format.md), ground_truth.csv and manifest.json. Memory does not
// grow with the number of fee lines: visits are built and written one at a
// time; only the injected scenarios (rate × visits) are held in memory.
func Generate(dir string, opt Options) (*Manifest, error) {
	if opt.Format == "" {
		opt.Format = CSV
	}
	switch opt.ParquetTypes {
	case "", ParquetStrings:
		opt.ParquetTypes = ""
	case ParquetTyped:
		if opt.Format != Parquet {
			return nil, fmt.Errorf("parquet types %q need the parquet format; the format is %s", opt.ParquetTypes, opt.Format)
		}
	default:
		return nil, fmt.Errorf("unknown parquet types %q (%s or %s)", opt.ParquetTypes, ParquetTyped, ParquetStrings)
	}
	if opt.Partitions < 0 || (opt.Partitions > 0 && (opt.PerCity || opt.Quirks)) {
		return nil, fmt.Errorf("partitions must be ≥ 0, and do not combine with per-city or quirks")
	}
	if opt.ViolationRate < 0 || opt.ViolationRate > 1 {
		return nil, fmt.Errorf("violation rate must be in [0, 1]")
	}
	prov, err := planProvince(opt.Config, calibrate())
	if err != nil {
		return nil, err
	}
	pol, err := compilePolicy(opt.Rules, prov.nBlocks)
	if err != nil {
		return nil, err
	}
	cal := newCalendar(opt.From, opt.Days+400)
	only := map[string]bool{}
	for _, c := range opt.OnlyCities {
		only[c] = true
	}
	for c := range only {
		found := false
		for _, cp := range prov.cities {
			found = found || cp.Code == c
		}
		if !found {
			return nil, fmt.Errorf("city %s is not among the %d planned cities", c, len(prov.cities))
		}
	}
	m := &Manifest{Generator: "flycheck-synth/v1", Seed: opt.Seed, Format: opt.Format, ParquetTypes: opt.ParquetTypes, Layout: "province",
		From: cal.day(0), To: cal.day(opt.Days - 1), InstitutionsPerCity: opt.InstitutionsPerCity,
		FeeLinesTarget: opt.FeeLines, ViolationRate: opt.ViolationRate, Rules: len(opt.Rules), ByCity: map[string]Counts{},
		Violations: ViolationCounts{ByRule: map[string]int{}}}
	if opt.Format == CSV {
		m.Encoding = strings.ToUpper(opt.Encoding)
		if m.Encoding == "" {
			m.Encoding = "UTF-8"
		}
	}
	if opt.PerCity {
		m.Layout = "per-city"
	}
	m.Partitions = opt.Partitions

	// Plan the injected violations.
	inj := &injector{prov: prov, pol: pol, seed: opt.Seed}
	byInst := map[*Institution][]*visitBuf{}
	if opt.ViolationRate > 0 && len(pol.rules) > 0 {
		var est float64
		for _, cp := range prov.cities {
			for _, in := range cp.insts {
				est += float64(in.slots * prov.nBlocks)
			}
		}
		n := max(len(pol.rules), int(opt.ViolationRate*est+0.5))
		for k := 0; k < n; k++ {
			cr := pol.rules[k%len(pol.rules)]
			cp := prov.cities[(k/len(pol.rules)+int(cr.hash%13))%len(prov.cities)]
			sc, err := inj.build(k, cr, cp)
			if err != nil {
				if _, ok := err.(errSkip); !ok {
					return nil, err
				}
				if m.Violations.NotInjected == nil {
					m.Violations.NotInjected = map[string]string{}
				}
				m.Violations.NotInjected[cr.ID] = err.Error()
				continue
			}
			if len(only) > 0 && !only[sc.city.Code] {
				continue
			}
			m.Violations.Scenarios++
			for _, v := range sc.visits {
				byInst[v.inst] = append(byInst[v.inst], v)
			}
		}
	}
	for _, vs := range byInst {
		sort.SliceStable(vs, func(i, j int) bool { return vs[i].beginDay < vs[j].beginDay })
	}

	var truths []Truth
	var provSink sink
	closeSink := func(s sink) error {
		if s == nil {
			return nil
		}
		return s.close()
	}
	for _, cp := range prov.cities {
		if len(only) > 0 && !only[cp.Code] {
			continue
		}
		m.Cities = append(m.Cities, cp.Code)
		var s sink
		if opt.PerCity {
			if s, err = newSink(filepath.Join(dir, cp.Code), opt.Format, opt.Encoding, opt.ParquetTypes == ParquetTyped, cal); err != nil {
				return nil, err
			}
		} else {
			if provSink == nil {
				if opt.Partitions > 0 {
					provSink, err = newPartSink(dir, opt.Partitions, opt.Format, opt.Encoding, opt.ParquetTypes == ParquetTyped, cal)
				} else {
					provSink, err = newSink(dir, opt.Format, opt.Encoding, opt.ParquetTypes == ParquetTyped, cal)
				}
				if err != nil {
					return nil, err
				}
			}
			s = provSink
		}
		g := &cityGen{prov: prov, pol: pol, cp: cp, s: s}
		for _, in := range cp.insts {
			if err := s.institution(in); err != nil {
				return nil, err
			}
		}
		g.counts.Institutions = len(cp.insts)
		for _, in := range cp.insts {
			if err := g.institution(in, byInst[in], &truths); err != nil {
				return nil, err
			}
		}
		for i := 0; i < cp.persons; i++ {
			ps := prov.backgroundPerson(cp, i)
			if err := s.person(&ps); err != nil {
				return nil, err
			}
		}
		for _, ps := range cp.scenarioPersons {
			if err := s.person(ps); err != nil {
				return nil, err
			}
		}
		g.counts.Persons = cp.persons + len(cp.scenarioPersons)
		if opt.PerCity {
			if err := s.close(); err != nil {
				return nil, err
			}
		}
		m.ByCity[cp.Code] = g.counts
		m.Counts.add(g.counts)
		if opt.Progress != nil {
			fmt.Fprintf(opt.Progress, "generate: %s %s: %d institutions, %d visits, %d fee lines\n",
				cp.Code, cp.Name, g.counts.Institutions, g.counts.Visits, g.counts.FeeLines)
		}
	}
	if err := closeSink(provSink); err != nil {
		return nil, err
	}
	if opt.Quirks {
		if opt.Format != CSV {
			return nil, fmt.Errorf("quirks are a CSV layout; the format is %s", opt.Format)
		}
		m.Quirks = true
		dirs := []string{dir}
		if opt.PerCity {
			dirs = dirs[:0]
			for _, c := range m.Cities {
				dirs = append(dirs, filepath.Join(dir, c))
			}
		}
		for _, d := range dirs {
			if err := applyQuirks(d, opt.Seed, m.Encoding == "GB18030"); err != nil {
				return nil, err
			}
		}
	}
	sort.Slice(truths, func(i, j int) bool {
		a, b := &truths[i], &truths[j]
		if a.RuleID != b.RuleID {
			return a.RuleID < b.RuleID
		}
		if a.MdtrtID != b.MdtrtID {
			return a.MdtrtID < b.MdtrtID
		}
		return a.FeedetlSn < b.FeedetlSn
	})
	for _, t := range truths {
		m.Violations.ByRule[t.RuleID]++
	}
	m.Violations.Findings = len(truths)
	if err := WriteTruth(filepath.Join(dir, "ground_truth.csv"), truths); err != nil {
		return nil, err
	}
	if opt.PerCity {
		for _, c := range m.Cities {
			var sub []Truth
			for _, t := range truths {
				if strings.HasPrefix(t.FixmedinsCode[1:], c) {
					sub = append(sub, t)
				}
			}
			if err := WriteTruth(filepath.Join(dir, c, "ground_truth.csv"), sub); err != nil {
				return nil, err
			}
		}
	}
	data, _ := json.MarshalIndent(m, "", "  ")
	if err := os.WriteFile(filepath.Join(dir, "manifest.json"), append(data, '\n'), 0o644); err != nil {
		return nil, err
	}
	return m, nil
}

// cityGen generates one city's visits.
type cityGen struct {
	prov   *province
	pol    *policy
	cp     *cityPlan
	s      sink
	counts Counts
	seq    int
	id     []byte
}

// institution writes the background episodes of one institution, block by
// block, with the scenario visits placed there after their block.
func (g *cityGen) institution(in *Institution, scn []*visitBuf, truths *[]Truth) error {
	p := g.prov
	r := newRand(p.cfg.Seed, hashString(in.Code))
	g.seq = 0
	next := 0
	for b := 0; b < p.nBlocks; b++ {
		for s := 0; s < in.slots; s++ {
			ps := p.backgroundPerson(g.cp, g.cp.perm[b].apply(in.slotStart+s))
			if ps.deathDay < (b+1)*blockDays {
				continue // died before the end of this block: no care from here on
			}
			v := backgroundEpisode(r, in, &ps, b)
			if v == nil {
				continue
			}
			g.pol.sanitize(v, nil, r)
			if len(v.lines) == 0 {
				continue
			}
			if err := g.emit(v, truths); err != nil {
				return err
			}
		}
		for ; next < len(scn) && (scn[next].beginDay/blockDays <= b || b == p.nBlocks-1); next++ {
			if err := g.emit(scn[next], truths); err != nil {
				return err
			}
		}
	}
	return nil
}

// backgroundEpisode draws one background episode of a person at an
// institution in block b.
func backgroundEpisode(r randSource, in *Institution, ps *person, b int) *visitBuf {
	age := ps.ageAt(b * blockDays)
	inpatient := in.Type == "hospital" && r.Float64() < inpatientShare(in.Level)
	prof := chooseProfile(r, in, ps, age, inpatient)
	if prof == nil && inpatient {
		prof = chooseProfile(r, in, ps, age, false)
	}
	if prof == nil {
		return nil
	}
	los := 0
	span := blockDays - marginDays
	if prof.setting == settingInpatient {
		los = between(r, prof.los[0], prof.los[1])
		span -= los
	}
	start := b*blockDays + r.IntN(span)
	return buildEpisode(r, in, ps, prof, start, b, los)
}

func (g *cityGen) emit(v *visitBuf, truths *[]Truth) error {
	g.seq++
	g.id = append(g.id[:0], v.inst.Code...)
	g.id = appendSeq(g.id, g.seq, 8)
	id := string(g.id)
	v.sortLines()
	if err := g.s.visit(id, v); err != nil {
		return err
	}
	g.counts.Visits++
	g.counts.FeeLines += int64(len(v.lines))
	g.counts.Diagnoses += int64(len(v.diags))
	for ti := range v.truths {
		tm := &v.truths[ti]
		base := Truth{RuleID: tm.rule.ID, Category: string(tm.rule.Category), Template: string(tm.rule.Template),
			FixmedinsCode: v.inst.Code, MdtrtID: id, PsnNo: v.ps.psnNo, Scenario: tm.scenario}
		if tm.visit {
			var sum int64
			for i := range v.lines {
				if tm.bedOnly == nil || tm.bedOnly[v.lines[i].day] {
					sum += v.lines[i].amount()
				}
			}
			base.Amount = sum
			*truths = append(*truths, base)
			continue
		}
		for i := range v.lines {
			l := &v.lines[i]
			if l.truth != int32(ti+1) {
				continue
			}
			t := base
			t.HilistCode = l.item.Code
			t.FeedetlSn = string(appendSN(nil, id, i))
			t.Amount = l.amount()
			if l.override {
				t.Amount = (l.amount6 + 5000) / 10000
			}
			*truths = append(*truths, t)
		}
	}
	return nil
}

// WriteTruth writes ground_truth.csv.
func WriteTruth(path string, ts []Truth) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := csv.NewWriter(f)
	w.Write(TruthHeader)
	for _, t := range ts {
		w.Write([]string{t.RuleID, t.Category, t.Template, t.FixmedinsCode, t.MdtrtID, t.PsnNo, t.HilistCode, t.FeedetlSn,
			string(appendFixed(nil, t.Amount, false)), strconv.Itoa(t.Scenario)})
	}
	w.Flush()
	if err := w.Error(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// ReadTruth reads a ground_truth.csv written by WriteTruth.
func ReadTruth(path string) ([]Truth, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		return nil, err
	}
	if len(recs) == 0 || !slices.Equal(recs[0], TruthHeader) {
		return nil, fmt.Errorf("%s: not a ground truth file", path)
	}
	var out []Truth
	for _, r := range recs[1:] {
		amt, err := rules.ParseDecimal(r[8])
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		sc, _ := strconv.Atoi(r[9])
		out = append(out, Truth{r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], amt / 100, sc})
	}
	return out, nil
}

// calibrate estimates the mean number of fee lines of an episode per
// institution kind, by billing a fixed sample of episodes (seed-independent,
// so that sizes do not depend on the seed).
func calibrate() map[string]float64 {
	out := map[string]float64{}
	for _, in := range []*Institution{
		{Type: "hospital", Level: 3}, {Type: "hospital", Level: 2}, {Type: "hospital", Level: 1},
		{Type: "clinic"}, {Type: "pharmacy"}} {
		r := newRand(42, hashString(kindKey(in)))
		lines, n := 0, 0
		p := &province{cfg: Config{Seed: 42, Days: 366}}
		cp := &cityPlan{City: Jiangsu[0]}
		for i := 0; i < 2000; i++ {
			ps := p.backgroundPerson(cp, i)
			if v := backgroundEpisode(r, in, &ps, 0); v != nil {
				lines += len(v.lines)
			}
			n++
		}
		out[kindKey(in)] = float64(lines) / float64(n)
	}
	return out
}

package screening

import (
	"fmt"
	"os"
	"slices"
	"sort"
	"strings"
	"unicode"

	"sigs.k8s.io/yaml"
)

// ColumnMap says which column of each file holds which documented column
// (docs/data-format.md), for extracts whose headers differ from the
// documented names: a built-in Profile of common spellings and explicit
// entries per table. As a file (--columns FILE, YAML or JSON):
//
//	profile: zh
//	tables:
//	  institutions:
//	    city_code: admdvs        # name in the file: documented name
//	    type: fixmedins_type
//
// Header names are matched ignoring case and surrounding white space, and
// with full-width forms folded. For each documented column the first of
// these that is present wins: an explicit entry, the documented name
// itself, a profile spelling. Two different columns of a file claiming the
// same documented column at the same rank are an error, and so is a
// required column that nothing claims (the message names the closest
// headers present).
type ColumnMap struct {
	// Profile is the name of a built-in profile (Profiles), or empty.
	Profile string `json:"profile,omitempty"`
	// Tables: table name → column name in the file → documented name.
	Tables map[string]map[string]string `json:"tables,omitempty"`
}

// LoadColumnMap reads a column map file (YAML or JSON) and validates it.
func LoadColumnMap(path string) (*ColumnMap, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var m ColumnMap
	if err := yaml.UnmarshalStrict(data, &m); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if err := m.Validate(); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &m, nil
}

// Tables are the input tables in docs/data-format.md order.
var Tables = []string{tInstitutions.name, tVisits.name, tFeeLines.name, tDiagnoses.name, tPersons.name}

// DocumentedColumns returns the documented columns of a table (nil for an
// unknown table).
func DocumentedColumns(table string) []string {
	for _, d := range allTables {
		if d.name == table {
			return d.documented()
		}
	}
	return nil
}

var allTables = []tableDef{tInstitutions, tVisits, tFeeLines, tDiagnoses, tPersons}

// documented lists the columns the contract names for the table: the ones
// the engine reads plus those checked for presence only.
func (d tableDef) documented() []string {
	out := append([]string(nil), d.required...)
	if d.name == tFeeLines.name {
		out = append(out, feeLinesPresenceOnly...)
	}
	return out
}

// Validate checks table names, documented names and the profile.
func (m *ColumnMap) Validate() error {
	if m == nil {
		return nil
	}
	if m.Profile != "" {
		if _, ok := profiles[m.Profile]; !ok {
			return fmt.Errorf("unknown column profile %q (built in: %s)", m.Profile, strings.Join(Profiles(), ", "))
		}
	}
	for _, t := range sortedKeys(m.Tables) {
		doc := DocumentedColumns(t)
		if doc == nil {
			return fmt.Errorf("columns: unknown table %q (tables: %s)", t, strings.Join(Tables, ", "))
		}
		for _, from := range sortedKeys(m.Tables[t]) {
			to := m.Tables[t][from]
			if !slices.Contains(doc, to) {
				return fmt.Errorf("columns: %s: %q maps to %q, which is not a column of %s (%s)", t, from, to, t, strings.Join(doc, ", "))
			}
			if foldName(from) == "" {
				return fmt.Errorf("columns: %s: an empty column name maps to %q", t, to)
			}
		}
	}
	return nil
}

// Profiles lists the built-in profile names.
func Profiles() []string { return sortedKeys(profiles) }

// Profile returns a built-in profile: table → spelling in the file →
// documented name.
func Profile(name string) (map[string]map[string]string, bool) {
	p, ok := profiles[name]
	return p, ok
}

// profiles are the spellings of the common exports (docs/data-format.md
// lists them; a test keeps the two in step).
var profiles = map[string]map[string]map[string]string{
	// national: field codes of the national medical-insurance information
	// platform (国家医疗保障信息平台) interfaces that differ from the
	// documented names; upper case (MDTRT_ID) needs no profile.
	"national": {
		"institutions": {"fix_blng_admdvs": "admdvs", "medinslv": "hosp_lv"},
		"fee_lines":    {"med_list_codg": "hilist_code"},
	},
	// zh: the Chinese headers of the platform's spreadsheet exports (中文表头).
	"zh": {
		"institutions": {
			"定点医药机构编号": "fixmedins_code", "定点医药机构编码": "fixmedins_code", "医药机构编码": "fixmedins_code", "机构编码": "fixmedins_code",
			"定点医药机构名称": "fixmedins_name", "医药机构名称": "fixmedins_name", "机构名称": "fixmedins_name",
			"医保区划": "admdvs", "统筹区编码": "admdvs",
			"医院等级": "hosp_lv", "医疗机构等级": "hosp_lv",
			"所有制形式": "ownership", "经济类型": "ownership",
			"定点医药机构类型": "fixmedins_type", "机构类型": "fixmedins_type",
		},
		"visits": {
			"就诊ID": "mdtrt_id", "就诊流水号": "mdtrt_id",
			"人员编号":     "psn_no",
			"定点医药机构编号": "fixmedins_code", "定点医药机构编码": "fixmedins_code", "医药机构编码": "fixmedins_code",
			"医疗类别": "med_type",
			"开始时间": "begntime", "入院时间": "begntime",
			"结束时间": "endtime", "出院时间": "endtime",
			"性别": "gend", "年龄": "age",
		},
		"fee_lines": {
			"费用明细流水号": "feedetl_sn", "明细流水号": "feedetl_sn",
			"就诊ID": "mdtrt_id", "就诊流水号": "mdtrt_id",
			"结算ID":     "setl_id",
			"人员编号":     "psn_no",
			"定点医药机构编号": "fixmedins_code", "定点医药机构编码": "fixmedins_code", "医药机构编码": "fixmedins_code",
			"医保目录编码": "hilist_code", "医疗目录编码": "hilist_code",
			"医保目录名称": "hilist_name", "医疗目录名称": "hilist_name",
			"数量": "cnt", "单价": "pric",
			"明细项目费用总额": "det_item_fee_sumamt", "金额": "det_item_fee_sumamt",
			"费用发生时间": "fee_ocur_time",
		},
		"diagnoses": {"就诊ID": "mdtrt_id", "就诊流水号": "mdtrt_id", "诊断代码": "diag_code", "诊断编码": "diag_code", "主诊断标志": "maindiag_flag"},
		"persons":   {"人员编号": "psn_no", "死亡日期": "death_date"},
	},
	// short: the short English names of provincial and hospital systems.
	"short": {
		"institutions": {
			"code": "fixmedins_code", "inst_code": "fixmedins_code",
			"name": "fixmedins_name", "inst_name": "fixmedins_name",
			"city_code": "admdvs", "citycode": "admdvs",
			"level": "hosp_lv", "hosp_level": "hosp_lv",
			"type": "fixmedins_type", "inst_type": "fixmedins_type",
		},
		"visits": {
			"visit_id": "mdtrt_id", "person_id": "psn_no", "inst_code": "fixmedins_code",
			"begin_time": "begntime", "end_time": "endtime", "gender": "gend", "sex": "gend",
		},
		"fee_lines": {
			"line_id": "feedetl_sn", "visit_id": "mdtrt_id", "settle_id": "setl_id", "person_id": "psn_no",
			"inst_code": "fixmedins_code", "item_code": "hilist_code", "item_name": "hilist_name",
			"quantity": "cnt", "qty": "cnt", "price": "pric", "amount": "det_item_fee_sumamt", "fee_time": "fee_ocur_time",
		},
		"diagnoses": {"visit_id": "mdtrt_id", "icd_code": "diag_code", "main_flag": "maindiag_flag"},
		"persons":   {"person_id": "psn_no", "die_date": "death_date"},
	},
}

// foldName is the form in which header names are compared: full-width
// forms folded, surrounding white space (and a stray BOM) trimmed, lower
// case.
func foldName(s string) string {
	b := []byte(s)
	if f, ok := foldWidth(nil, b); ok {
		b = f
	}
	return strings.ToLower(strings.TrimFunc(string(b), func(r rune) bool { return unicode.IsSpace(r) || r == '\uFEFF' }))
}

// resolvedColumns is the outcome of matching a file's header.
type resolvedColumns struct {
	idx []int // wanted column → field index
	// renamed: documented name → header as written, where they differ
	renamed map[string]string
}

// resolveColumns finds the wanted documented columns of table in a header
// (see ColumnMap). file is for messages.
func resolveColumns(file, table string, header []string, m *ColumnMap, wanted []string) (resolvedColumns, error) {
	var explicit, profile map[string]string
	if m != nil {
		explicit = foldKeys(m.Tables[table])
		if p, ok := profiles[m.Profile]; ok {
			profile = foldKeys(p[table])
		}
	}
	documented := map[string]string{}
	for _, d := range append(DocumentedColumns(table), wanted...) {
		documented[foldName(d)] = d
	}
	type claim struct{ field, rank int }
	claims := map[string][]claim{}
	seen := map[string]bool{}
	for i, h := range header {
		f := foldName(h)
		if seen[f] {
			continue // the first of identical names wins, as it always has
		}
		seen[f] = true
		switch {
		case explicit[f] != "":
			claims[explicit[f]] = append(claims[explicit[f]], claim{i, 0})
		case documented[f] != "":
			claims[documented[f]] = append(claims[documented[f]], claim{i, 1})
		case profile[f] != "":
			claims[profile[f]] = append(claims[profile[f]], claim{i, 2})
		}
	}
	out := resolvedColumns{idx: make([]int, len(wanted))}
	for w, name := range wanted {
		cs := claims[name]
		if len(cs) == 0 {
			return out, missingColumn(file, table, name, header, m != nil && (m.Profile != "" || len(m.Tables[table]) > 0))
		}
		best := cs[0]
		for _, c := range cs[1:] {
			if c.rank < best.rank {
				best = c
			}
		}
		for _, c := range cs {
			if c.rank == best.rank && c.field != best.field {
				return out, fmt.Errorf("%s: columns %q and %q both map to %s; say which with --columns", file, header[best.field], header[c.field], name)
			}
		}
		out.idx[w] = best.field
		if header[best.field] != name {
			if out.renamed == nil {
				out.renamed = map[string]string{}
			}
			out.renamed[name] = header[best.field]
		}
	}
	return out, nil
}

// MissingColumnError is a required column that no header names.
type MissingColumnError struct {
	File, Column string
	msg          string
}

func (e *MissingColumnError) Error() string { return e.msg }

// MatchColumns finds the wanted documented columns of table in a header, as
// the screener does (see ColumnMap): the field index of each, and the
// columns read under another name (documented → header). file is for
// messages. A missing column is a *MissingColumnError.
func MatchColumns(file, table string, header []string, m *ColumnMap, wanted []string) ([]int, map[string]string, error) {
	r, err := resolveColumns(file, table, header, m, wanted)
	return r.idx, r.renamed, err
}

// NormalizeCode is a code as the screener reads it without --strict: white
// space at the ends trimmed, full-width forms folded (docs/data-format.md,
// "Values").
func NormalizeCode(s string) string {
	var z normalizer
	b, _ := z.code([]byte(s))
	return string(b)
}

func missingColumn(file, table, name string, header []string, mapped bool) error {
	how := "map a column to it with --columns (docs/data-format.md)"
	if mapped {
		how = "the column mapping names no column of this file for it"
	}
	// A built-in profile that would have read it is the best hint.
	for _, p := range Profiles() {
		spell := foldKeys(profiles[p][table])
		for _, h := range header {
			if spell[foldName(h)] == name {
				how = fmt.Sprintf("column profile %s reads it from %q (--column-profile %s)", p, h, p)
			}
		}
	}
	return &MissingColumnError{File: file, Column: name, msg: fmt.Sprintf("%s: missing column %q (header: %v); closest names present: %s; %s",
		file, name, header, strings.Join(closestNames(name, header, 3), ", "), how)}
}

// closestNames returns up to n header names closest to name by edit
// distance (of the folded forms), closest first.
func closestNames(name string, header []string, n int) []string {
	type cand struct {
		h string
		d int
	}
	var cs []cand
	seen := map[string]bool{}
	want := []rune(foldName(name))
	for _, h := range header {
		if seen[h] || foldName(h) == "" {
			continue
		}
		seen[h] = true
		cs = append(cs, cand{h, editDistance(want, []rune(foldName(h)))})
	}
	sort.SliceStable(cs, func(i, j int) bool { return cs[i].d < cs[j].d })
	var out []string
	for i := 0; i < len(cs) && i < n; i++ {
		out = append(out, fmt.Sprintf("%q", cs[i].h))
	}
	if len(out) == 0 {
		return []string{"none"}
	}
	return out
}

// editDistance is the Levenshtein distance.
func editDistance(a, b []rune) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			c := prev[j-1]
			if a[i-1] != b[j-1] {
				c++
			}
			cur[j] = min(c, prev[j]+1, cur[j-1]+1)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

func foldKeys(m map[string]string) map[string]string {
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[foldName(k)] = v
	}
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// AddEntry adds "TABLE.NAME=DOCUMENTED" (the --column flag) to m.
func (m *ColumnMap) AddEntry(entry string) error {
	lhs, to, ok := strings.Cut(entry, "=")
	table, from, ok2 := strings.Cut(lhs, ".")
	if !ok || !ok2 || table == "" || from == "" || to == "" {
		return fmt.Errorf("column mapping %q: want TABLE.NAME_IN_FILE=DOCUMENTED_NAME, e.g. institutions.city_code=admdvs", entry)
	}
	if m.Tables == nil {
		m.Tables = map[string]map[string]string{}
	}
	if m.Tables[table] == nil {
		m.Tables[table] = map[string]string{}
	}
	m.Tables[table][from] = to
	return m.Validate()
}

// Entries lists m's explicit entries as "TABLE.NAME=DOCUMENTED", sorted
// (the form AddEntry reads, e.g. for a Job's arguments).
func (m *ColumnMap) Entries() []string {
	if m == nil {
		return nil
	}
	var out []string
	for _, t := range sortedKeys(m.Tables) {
		for _, from := range sortedKeys(m.Tables[t]) {
			out = append(out, t+"."+from+"="+m.Tables[t][from])
		}
	}
	return out
}

package screening

import (
	"encoding/json"
	"fmt"
	"os"
	"sort"

	"github.com/medfund/flycheck-operator/api/v1alpha1/rules"
)

// Summary is summary.json: every institution in scope, the sampling frame's
// source (docs/data-format.md).
type Summary struct {
	Institutions []InstitutionSummary `json:"institutions"`
}

// InstitutionSummary is one institution's screening result.
type InstitutionSummary struct {
	Code      string `json:"code"`
	Name      string `json:"name"`
	CityCode  string `json:"cityCode"`
	Level     int    `json:"level"`
	Ownership string `json:"ownership"`
	Type      string `json:"type"`
	// Lines is the number of in-scope fee lines (refund lines included).
	Lines int64 `json:"lines"`
	// ScreenedAmount is Σ det_item_fee_sumamt of the screened lines (cnt >
	// 0), yuan: the denominator of the risk score.
	ScreenedAmount     string           `json:"screenedAmount"`
	Findings           int64            `json:"findings"`
	FindingsByCategory map[string]int64 `json:"findingsByCategory"`
	// AmountAtRisk is Σ amount of the findings (an upper bound: a line
	// flagged by two rules counts twice).
	AmountAtRisk string `json:"amountAtRisk"`
	// RiskScore in [0, 1] with 6 decimals; see RiskScore.
	RiskScore string `json:"riskScore"`
}

// RiskScore is the documented, deterministic risk of an institution, in
// millionths, computed in integers so that every platform agrees:
//
//	share   = min(1, amountAtRisk / screenedAmount)     (0 if screenedAmount ≤ 0)
//	breadth = (number of categories with findings) / 7
//	risk    = 0.6 × share + 0.4 × breadth
//
// each term truncated to millionths: share_µ = min(10^6, floor(10^6 ×
// atRiskFen / screenedFen)), breadth_µ = floor(10^6 × k / 7), risk_µ =
// floor((6 × share_µ + 4 × breadth_µ) / 10). Share rewards money at risk
// relative to the institution's size (a small clinic with one big fraud
// outranks a large hospital with the same absolute amount); breadth rewards
// institutions hit by many kinds of rules, which inspectors treat as
// systemic. An institution without findings scores 0.
func RiskScore(atRiskFen, screenedFen int64, categoriesHit int) int64 {
	var share int64
	if screenedFen > 0 && atRiskFen > 0 {
		if atRiskFen >= screenedFen {
			share = 1000000
		} else {
			share = mulDiv(atRiskFen, 1000000, screenedFen)
		}
	}
	breadth := int64(categoriesHit) * 1000000 / int64(len(rules.Categories))
	return (6*share + 4*breadth) / 10
}

// mulDiv returns floor(a*b/c) for non-negative values without overflow for
// amounts below 10^12 yuan.
func mulDiv(a, b, c int64) int64 {
	hi, lo := mul64(uint64(a), uint64(b))
	q, _ := div128(hi, lo, uint64(c))
	return int64(q)
}

func formatMicro(v int64) string {
	return fmt.Sprintf("%d.%06d", v/1000000, v%1000000)
}

// Stats is stats.json.
type Stats struct {
	Shard  int `json:"shard"`
	Shards int `json:"shards"`
	// Mode is "clustered" (fee lines streamed institution by institution)
	// or "spill" (input not clustered; grouped rules went through
	// temporary partition files).
	Mode           string           `json:"mode"`
	Rules          int              `json:"rules"`
	SkippedRules   []string         `json:"skippedRules"`
	RowsRead       map[string]int64 `json:"rowsRead"`
	RowsRejected   map[string]int64 `json:"rowsRejected"`
	LinesRead      int64            `json:"linesRead"`
	LinesInScope   int64            `json:"linesInScope"`
	LinesRejected  int64            `json:"linesRejected"`
	VisitsInScope  int64            `json:"visitsInScope"`
	Institutions   int64            `json:"institutions"`
	FlaggedInsts   int64            `json:"flaggedInstitutions"`
	Findings       int64            `json:"findings"`
	FindingsByRule map[string]int64 `json:"findingsByRule"`
	FindingsByCat  map[string]int64 `json:"findingsByCategory"`
	AmountAtRisk   string           `json:"amountAtRisk"`
	Seconds        float64          `json:"seconds"`
	// PhaseSeconds: institutions+visits load, diagnoses and persons load,
	// rule compilation, the fee-line pass (with grouped rules and writing).
	PhaseSeconds   map[string]float64 `json:"phaseSeconds,omitempty"`
	LinesPerSecond float64            `json:"linesPerSecond"`
	PeakHeapBytes  uint64             `json:"peakHeapBytes,omitempty"`
	// MemoryLimitBytes is the soft memory limit the run was given
	// (--memory-limit), LiveHeapBytes the largest heap the GC found live
	// in the process during the run (as of each GC).
	// MemoryLimitRaisedTo, when set, is the limit the run raised it to
	// because the live heap outgrew it: the shard is too large for its
	// memory budget and should be split (docs/screening.md, Memory).
	MemoryLimitBytes    int64  `json:"memoryLimitBytes,omitempty"`
	LiveHeapBytes       int64  `json:"liveHeapBytes,omitempty"`
	MemoryLimitRaisedTo int64  `json:"memoryLimitRaisedTo,omitempty"`
	InputFormat         string `json:"inputFormat"`
	DiagnosesPresent    bool   `json:"diagnosesPresent"`
	PersonsPresent      bool   `json:"personsPresent"`
	// Inputs: per table, the file read, its encoding and BOM (CSV) and the
	// columns read under another name.
	Inputs map[string]TableInput `json:"inputs,omitempty"`
	// Strict: value normalisation was off (--strict).
	Strict bool `json:"strict"`
	// Normalized counts the values accepted only after normalisation
	// (docs/data-format.md, "Values"): table → column → kind → values.
	Normalized map[string]map[string]map[string]int64 `json:"normalized"`
}

// ReadSummary reads a summary.json.
func ReadSummary(path string) (*Summary, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var s Summary
	if err := json.Unmarshal(data, &s); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &s, nil
}

// MergeSummaries joins shard summaries. Shards partition institutions, so
// an institution appearing twice is an error (shards of different runs were
// mixed). The result is sorted by code.
func MergeSummaries(parts ...*Summary) (*Summary, error) {
	out := &Summary{}
	seen := map[string]bool{}
	for _, p := range parts {
		for _, in := range p.Institutions {
			if seen[in.Code] {
				return nil, fmt.Errorf("institution %s appears in more than one shard summary", in.Code)
			}
			seen[in.Code] = true
			out.Institutions = append(out.Institutions, in)
		}
	}
	sort.Slice(out.Institutions, func(i, j int) bool { return out.Institutions[i].Code < out.Institutions[j].Code })
	return out, nil
}

// ReadStats reads a stats.json.
func ReadStats(path string) (*Stats, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var s Stats
	if err := json.Unmarshal(data, &s); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &s, nil
}

// MergeStats adds up shard statistics (counts summed; rowsRead, which every
// shard reads in full, is taken from the first shard; seconds is the
// slowest shard).
func MergeStats(parts ...*Stats) (*Stats, error) {
	if len(parts) == 0 {
		return nil, fmt.Errorf("no stats to merge")
	}
	out := &Stats{Shard: -1, Shards: parts[0].Shards, Mode: parts[0].Mode, Rules: parts[0].Rules,
		SkippedRules: parts[0].SkippedRules, RowsRead: parts[0].RowsRead, RowsRejected: map[string]int64{},
		LinesRead: parts[0].LinesRead, FindingsByRule: map[string]int64{}, FindingsByCat: map[string]int64{},
		InputFormat: parts[0].InputFormat, DiagnosesPresent: parts[0].DiagnosesPresent, PersonsPresent: parts[0].PersonsPresent,
		Inputs: parts[0].Inputs, Strict: parts[0].Strict, Normalized: normReport{}}
	var atRisk int64
	for _, p := range parts {
		if p.Mode != out.Mode {
			out.Mode = "mixed"
		}
		for k, v := range p.RowsRejected {
			out.RowsRejected[k] += v
		}
		out.LinesInScope += p.LinesInScope
		out.LinesRejected += p.LinesRejected
		out.VisitsInScope += p.VisitsInScope
		out.Institutions += p.Institutions
		out.FlaggedInsts += p.FlaggedInsts
		out.Findings += p.Findings
		for k, v := range p.FindingsByRule {
			out.FindingsByRule[k] += v
		}
		for k, v := range p.FindingsByCat {
			out.FindingsByCat[k] += v
		}
		for t, cols := range p.Normalized {
			for c, kinds := range cols {
				for k, n := range kinds {
					if out.Normalized[t] == nil {
						out.Normalized[t] = map[string]map[string]int64{}
					}
					if out.Normalized[t][c] == nil {
						out.Normalized[t][c] = map[string]int64{}
					}
					out.Normalized[t][c][k] += n
				}
			}
		}
		f, err := parseFen(p.AmountAtRisk)
		if err != nil {
			return nil, err
		}
		var ok bool
		if atRisk, ok = addExact(atRisk, f); !ok {
			return nil, atRiskOverflow("")
		}
		out.Seconds = max(out.Seconds, p.Seconds)
		out.PeakHeapBytes = max(out.PeakHeapBytes, p.PeakHeapBytes)
		out.MemoryLimitBytes = max(out.MemoryLimitBytes, p.MemoryLimitBytes)
		out.LiveHeapBytes = max(out.LiveHeapBytes, p.LiveHeapBytes)
		out.MemoryLimitRaisedTo = max(out.MemoryLimitRaisedTo, p.MemoryLimitRaisedTo)
	}
	out.AmountAtRisk = formatFen(atRisk)
	if out.Seconds > 0 {
		out.LinesPerSecond = float64(out.LinesInScope) / out.Seconds
	}
	return out, nil
}

// parseFen parses a yuan decimal with at most 2 places (our own output).
func parseFen(s string) (int64, error) {
	u, ok := parseDecimal([]byte(s))
	if !ok || u%100 != 0 {
		return 0, fmt.Errorf("amount %q is not a decimal with 2 places", s)
	}
	return u / 100, nil
}

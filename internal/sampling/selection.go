package sampling

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
)

// Recorded is a selection read from a file, with whatever provenance the
// file carried alongside it.
type Recorded struct {
	Selected []Pick
	// Seed, Digest and Algorithm are set when the file is a whole draw or
	// InspectionSample (status.seed, status.frame.digest, status.algorithm);
	// empty for a bare list.
	Seed      string
	Digest    string
	Algorithm string
	// Policy is the policy the file records (a draw's "policy", an
	// InspectionSample's spec.policy); nil when it records none.
	Policy *Policy
}

// SelectionHeader is the header of the CSV form of a selection.
var SelectionHeader = []string{"code", "name", "cityCode", "level", "ownership", "reason", "riskScore"}

// ParseSelection reads a recorded selection in any of these forms, told
// apart by their first non-blank character:
//
//   - a JSON array of picks, as `kubectl get isample X -o json | jq .status.selected`
//     prints: [{"code", "name", "cityCode", "level", "ownership", "reason", "riskScore"}];
//   - a JSON object with "selected" — a [Result] as `flycheck sample draw`
//     prints it, or an InspectionSample status;
//   - a JSON object with "status" — a whole InspectionSample as
//     `kubectl get isample X -o json` prints it (its spec.policy is read too);
//   - CSV with the header [SelectionHeader].
//
// riskScore may be a decimal string or a JSON number.
func ParseSelection(data []byte) (Recorded, error) {
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	trimmed := bytes.TrimSpace(data)
	if len(trimmed) == 0 {
		return Recorded{}, errors.New("selection is empty")
	}
	switch trimmed[0] {
	case '[':
		var picks []Pick
		if err := json.Unmarshal(trimmed, &picks); err != nil {
			return Recorded{}, fmt.Errorf("selection JSON list: %w", err)
		}
		return Recorded{Selected: picks}, nil
	case '{':
		return parseSelectionObject(trimmed)
	default:
		return parseSelectionCSV(data)
	}
}

// statusJSON is the part of a draw / InspectionSample status that matters.
type statusJSON struct {
	Algorithm string  `json:"algorithm"`
	Seed      string  `json:"seed"`
	Selected  *[]Pick `json:"selected"`
	Frame     struct {
		Digest string `json:"digest"`
	} `json:"frame"`
	Policy *Policy `json:"policy"` // a Result records its policy beside the selection
}

func parseSelectionObject(data []byte) (Recorded, error) {
	var obj struct {
		statusJSON
		Kind   string      `json:"kind"`
		Status *statusJSON `json:"status"`
		Spec   struct {
			Policy *Policy `json:"policy"`
		} `json:"spec"`
	}
	if err := json.Unmarshal(data, &obj); err != nil {
		return Recorded{}, fmt.Errorf("selection JSON object: %w", err)
	}
	st := obj.statusJSON
	if obj.Status != nil {
		st = *obj.Status
		st.Policy = obj.Spec.Policy
	}
	if st.Selected == nil {
		if obj.Status != nil {
			return Recorded{}, errors.New("the object has no status.selected: not drawn yet?")
		}
		if obj.Kind == "List" {
			return Recorded{}, errors.New("selection JSON is a List of objects; give one InspectionSample (kubectl get isample NAME -o json)")
		}
		return Recorded{}, errors.New(`selection JSON object has no "selected" (nor "status.selected") field`)
	}
	return Recorded{Selected: *st.Selected, Seed: st.Seed, Digest: st.Frame.Digest,
		Algorithm: st.Algorithm, Policy: st.Policy}, nil
}

func parseSelectionCSV(data []byte) (Recorded, error) {
	cr := csv.NewReader(bytes.NewReader(data))
	cr.FieldsPerRecord = len(SelectionHeader)
	header, err := cr.Read()
	if err != nil {
		return Recorded{}, fmt.Errorf("selection CSV header: %w", err)
	}
	if !slices.Equal(header, SelectionHeader) {
		return Recorded{}, fmt.Errorf("selection CSV line 1: header is %q, want %q (or give JSON)",
			strings.Join(header, ","), strings.Join(SelectionHeader, ","))
	}
	picks := []Pick{}
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return Recorded{}, fmt.Errorf("selection CSV: %w", err)
		}
		line, _ := cr.FieldPos(0)
		level, err := strconv.Atoi(rec[3])
		if err != nil {
			return Recorded{}, fmt.Errorf("selection CSV line %d: level %q is not an integer", line, rec[3])
		}
		risk, err := ParseRisk(rec[6])
		if err != nil {
			return Recorded{}, fmt.Errorf("selection CSV line %d: %w", line, err)
		}
		picks = append(picks, Pick{Code: rec[0], Name: rec[1], CityCode: rec[2], Level: level,
			Ownership: rec[4], Reason: Reason(rec[5]), RiskScore: risk})
	}
	return Recorded{Selected: picks}, nil
}

// WriteSelectionCSV writes picks in the CSV form [ParseSelection] reads.
func WriteSelectionCSV(w io.Writer, picks []Pick) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(SelectionHeader); err != nil {
		return err
	}
	for _, p := range picks {
		if err := cw.Write([]string{p.Code, p.Name, p.CityCode, strconv.Itoa(p.Level),
			p.Ownership, string(p.Reason), p.RiskScore.String()}); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

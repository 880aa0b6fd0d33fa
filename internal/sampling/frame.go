package sampling

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
)

// Institution is one row of the sampling frame: a designated institution
// (定点医药机构) with what the draw needs to know about it.
type Institution struct {
	Code     string // fixmedins_code, unique in a frame
	CityCode string // admdvs of the prefecture-level city (设区市), e.g. "320100"
	Name     string // display only: not part of the digest
	// Level is the hospital level: 3 tertiary (三级), 2 secondary, 1 primary,
	// 0 not a graded hospital (pharmacy, clinic, insurance agency).
	Level     int
	Ownership string // "public" | "private" (not checked: recorded verbatim)
	Type      string // "hospital" | "clinic" | "pharmacy" (not checked)
	Risk      Risk   // screening risk score, 0 when unknown
}

// Tertiary reports whether the institution is a tertiary hospital (三级医院),
// the ones the per-city quota asks for.
func (in Institution) Tertiary() bool { return in.Level == 3 }

// FrameHeader is the exact header line a frame CSV must start with.
var FrameHeader = []string{"code", "cityCode", "name", "level", "ownership", "type", "risk"}

// FrameError is a problem with one line of a frame file.
type FrameError struct {
	Line int // 1-based line number in the file
	Err  error
}

func (e *FrameError) Error() string { return fmt.Sprintf("line %d: %v", e.Line, e.Err) }
func (e *FrameError) Unwrap() error { return e.Err }

// ReadFrame reads a frame CSV (docs/data-format.md, "Sampling frame"). The
// header must be exactly [FrameHeader]; a UTF-8 byte-order mark is skipped.
// Every row is checked with the rules of [ValidateInstitution] and codes must
// be unique. Errors name the line. Rows are returned in file order; the draw
// itself does not depend on that order.
func ReadFrame(r io.Reader) ([]Institution, error) {
	br := bufio.NewReader(r)
	if bom, err := br.Peek(3); err == nil && bytes.Equal(bom, []byte("\xef\xbb\xbf")) {
		_, _ = br.Discard(3)
	}
	cr := csv.NewReader(br)
	cr.FieldsPerRecord = len(FrameHeader)
	cr.ReuseRecord = true

	header, err := cr.Read()
	if errors.Is(err, io.EOF) {
		return nil, errors.New("frame is empty: want the header " + strings.Join(FrameHeader, ","))
	}
	if err != nil {
		return nil, fmt.Errorf("frame header: %w", err)
	}
	if !slices.Equal(header, FrameHeader) {
		return nil, &FrameError{Line: 1, Err: fmt.Errorf("header is %q, want %q",
			strings.Join(header, ","), strings.Join(FrameHeader, ","))}
	}

	var frame []Institution
	firstLine := map[string]int{} // code → line, for duplicate reports
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			// csv.ParseError already carries the line number.
			return nil, fmt.Errorf("frame: %w", err)
		}
		line, _ := cr.FieldPos(0)
		in, err := parseRow(rec)
		if err != nil {
			return nil, &FrameError{Line: line, Err: err}
		}
		if prev, dup := firstLine[in.Code]; dup {
			return nil, &FrameError{Line: line, Err: fmt.Errorf("duplicate code %q (first on line %d)", in.Code, prev)}
		}
		firstLine[in.Code] = line
		frame = append(frame, in)
	}
	return frame, nil
}

func parseRow(rec []string) (Institution, error) {
	in := Institution{
		Code: rec[0], CityCode: rec[1], Name: rec[2],
		Ownership: rec[4], Type: rec[5],
	}
	lv := rec[3]
	if len(lv) != 1 || lv[0] < '0' || lv[0] > '3' {
		return in, fmt.Errorf("level %q: want 0, 1, 2 or 3", lv)
	}
	in.Level, _ = strconv.Atoi(lv)
	r, err := ParseRisk(rec[6])
	if err != nil {
		return in, err
	}
	in.Risk = r
	return in, ValidateInstitution(in)
}

// ValidateInstitution checks one row against the rules that keep the digest
// and the draw well-defined: code and cityCode non-empty; no TAB, CR or LF in
// any digested field (they are the digest's separators); no leading or
// trailing spaces in them either (a reader that trims would otherwise compute
// a different digest); level 0..3; risk >= 0.
func ValidateInstitution(in Institution) error {
	if in.Code == "" {
		return errors.New("code is empty")
	}
	if in.CityCode == "" {
		return fmt.Errorf("institution %q: cityCode is empty", in.Code)
	}
	for _, f := range []struct{ name, v string }{
		{"code", in.Code}, {"cityCode", in.CityCode}, {"ownership", in.Ownership}, {"type", in.Type},
	} {
		if strings.ContainsAny(f.v, "\t\r\n") {
			return fmt.Errorf("institution %q: %s contains a TAB or line break", in.Code, f.name)
		}
		if strings.TrimSpace(f.v) != f.v {
			return fmt.Errorf("institution %q: %s %q has leading or trailing spaces", in.Code, f.name, f.v)
		}
	}
	if in.Level < 0 || in.Level > 3 {
		return fmt.Errorf("institution %q: level %d: want 0..3", in.Code, in.Level)
	}
	if in.Risk < 0 {
		return fmt.Errorf("institution %q: risk %s is negative", in.Code, in.Risk)
	}
	return nil
}

// ValidateFrame checks every row with [ValidateInstitution] and that codes
// are unique (DESIGN §4.1: duplicate codes are an error).
func ValidateFrame(frame []Institution) error {
	seen := make(map[string]struct{}, len(frame))
	for i, in := range frame {
		if err := ValidateInstitution(in); err != nil {
			return fmt.Errorf("frame row %d: %w", i+1, err)
		}
		if _, dup := seen[in.Code]; dup {
			return fmt.Errorf("frame row %d: duplicate code %q", i+1, in.Code)
		}
		seen[in.Code] = struct{}{}
	}
	return nil
}

// MergeFrames concatenates frames, e.g. every city's frame for a province-wide
// fly-check (飞行检查). An institution listed in two frames is an error, not
// silently de-duplicated: the frames disagree about the province.
func MergeFrames(frames ...[]Institution) ([]Institution, error) {
	var all []Institution
	for _, f := range frames {
		all = append(all, f...)
	}
	if err := ValidateFrame(all); err != nil {
		return nil, err
	}
	return all, nil
}

// WriteFrame writes a frame CSV that [ReadFrame] reads back unchanged, with
// risk in the canonical six-decimal form.
func WriteFrame(w io.Writer, frame []Institution) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(FrameHeader); err != nil {
		return err
	}
	for _, in := range frame {
		if err := cw.Write([]string{in.Code, in.CityCode, in.Name, strconv.Itoa(in.Level),
			in.Ownership, in.Type, in.Risk.String()}); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

package screening

import (
	"bytes"
	"fmt"
	"math"
)

// Input the CSV reader cannot read correctly is never screened as if it
// could (docs/rules.md §2, "Input that is refused"): a record is rejected
// with one of these reasons, or the run stops with an error naming the
// file and the line.

// reasonNotUTF8 rejects a record of a file read as UTF-8 because it was
// declared so, when the record is not valid UTF-8 (typically a GB18030 row
// appended to a UTF-8 file): read as UTF-8 it would be garbled text.
const reasonNotUTF8 = "not valid UTF-8 (the file is read as UTF-8: --encoding UTF-8 or a UTF-8 byte-order mark)"

// reasonTruncated rejects the last record when the file ends inside a
// quoted field on that record's own line.
const reasonTruncated = "the file ends inside a quoted field (truncated file?)"

// unclosedQuote is the error for a last record (rec, up to the end of the
// file, starting on line) whose open quoted field runs over whole lines:
// they were swallowed by a stray quote or by a file cut short, and cannot
// be told apart from the field's text. A field cut on its own line (no line
// break after the opening quote, but for a final one) is nil: that record
// alone is rejected (reasonTruncated).
func unclosedQuote(path string, rec []byte, line int64) error {
	open, inside := -1, false
	for i, c := range rec {
		if c == '"' {
			inside = !inside
			if inside {
				open = i
			}
		}
	}
	if !inside || open < 0 {
		return nil
	}
	rest := bytes.TrimSuffix(bytes.TrimSuffix(rec[open:], []byte("\n")), []byte("\r"))
	k := bytes.Count(rest, []byte{'\n'})
	if k == 0 {
		return nil
	}
	return fmt.Errorf("%s: the quoted field opened on line %d is never closed: the file ends inside it, %d line(s) later "+
		"(a truncated file, or a stray quote)", path, line+int64(bytes.Count(rec[:open], []byte{'\n'})), k)
}

// bomConflict is the error for a byte-order mark that contradicts
// --encoding: one of the two is wrong, and reading on would screen garbled
// text.
func bomConflict(path string, bom, given Encoding) error {
	return fmt.Errorf("%s: starts with a %s byte-order mark, but --encoding %s was given: leave --encoding at auto or convert the file",
		path, bom, given)
}

// Sums are exact int64 fixed point: amounts of lines in units (10^-4
// yuan), amounts at risk in fen. A sum that would leave that range stops
// the run with the institution's code instead of wrapping around.
const (
	unitsRange = "±922 337 203 685 477.5807 yuan (int64 in units of 0.0001 yuan)"
	fenRange   = "±92 233 720 368 547 758.07 yuan (int64 in fen)"
)

// addExact returns a + b and whether it did not overflow.
func addExact(a, b int64) (int64, bool) {
	s := a + b
	return s, (s > a) == (b > 0)
}

// addSaturating adds b ≥ 0 to a ≥ 0, stopping at the int64 maximum: a
// running quantity compared against a limit far below that (cumulative
// cnt) gives the same answers as the exact sum.
func addSaturating(a, b int64) int64 {
	if a > math.MaxInt64-b {
		return math.MaxInt64
	}
	return a + b
}

// screenedOverflow is the error for an institution whose screened lines'
// amounts, in absolute value, add up beyond the range of units: its visit
// and institution sums would no longer be exact.
func screenedOverflow(file, inst string) error {
	return fmt.Errorf("%s: institution %s: the amounts (det_item_fee_sumamt) of its screened fee lines add up, in absolute value, "+
		"beyond %s: its sums cannot be computed exactly; check the file's amounts", file, inst, unitsRange)
}

// atRiskOverflow is the error for an amount at risk that would leave the
// range of fen (inst "": the total).
func atRiskOverflow(inst string) error {
	if inst == "" {
		return fmt.Errorf("the total amount at risk adds up beyond %s", fenRange)
	}
	return fmt.Errorf("institution %s: the amount at risk of its findings adds up beyond %s", inst, fenRange)
}

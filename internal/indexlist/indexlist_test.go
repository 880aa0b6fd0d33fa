package indexlist

import (
	"slices"
	"testing"
)

func TestJobIndexLists(t *testing.T) {
	for _, tc := range []struct {
		text string
		idx  []int
	}{{"", nil}, {"3", []int{3}}, {"0-2", []int{0, 1, 2}}, {"0,2-4,7", []int{0, 2, 3, 4, 7}}} {
		if got := Parse(tc.text); !slices.Equal(got, tc.idx) {
			t.Errorf("Parse(%q) = %v, want %v", tc.text, got, tc.idx)
		}
		if got := Format(tc.idx); got != tc.text {
			t.Errorf("Format(%v) = %q, want %q", tc.idx, got, tc.text)
		}
	}
}

func TestParseSkipsMalformedParts(t *testing.T) {
	if got := Parse("1,x,3-y,5-6"); !slices.Equal(got, []int{1, 5, 6}) {
		t.Errorf("Parse = %v, want [1 5 6]", got)
	}
}

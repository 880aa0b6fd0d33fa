package node

import (
	"testing"
)

func TestFormatIndexSet(t *testing.T) {
	set := func(idx ...int) map[int]bool {
		m := map[int]bool{}
		for _, i := range idx {
			m[i] = true
		}
		return m
	}
	for want, in := range map[string]map[int]bool{
		"":            set(),
		"0":           set(0),
		"0-1":         set(1, 0),
		"0-3":         set(3, 1, 2, 0),
		"0,2-4,7":     set(7, 4, 3, 2, 0),
		"1,3,5-6,255": set(255, 6, 5, 3, 1),
	} {
		if got := formatIndexSet(in); got != want {
			t.Errorf("format(%v) = %q, want %q", in, got, want)
		}
	}
}

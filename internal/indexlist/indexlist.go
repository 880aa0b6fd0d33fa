// Package indexlist reads and writes the compressed index lists of Indexed
// Jobs ("0,2-4"), as batch/v1 JobStatus.completedIndexes and failedIndexes
// spell them. The controllers and the demo's node player share it.
package indexlist

import (
	"fmt"
	"strconv"
	"strings"
)

// Parse reads an index list, e.g. "1,3-5" → [1 3 4 5]. Malformed parts are
// skipped: the list comes from the API server, and one bad part must not
// hide the others.
func Parse(s string) []int {
	var out []int
	for _, part := range strings.Split(s, ",") {
		if part == "" {
			continue
		}
		lo, hi, isRange := strings.Cut(part, "-")
		a, err := strconv.Atoi(lo)
		if err != nil {
			continue
		}
		b := a
		if isRange {
			if b, err = strconv.Atoi(hi); err != nil {
				continue
			}
		}
		for i := a; i <= b; i++ {
			out = append(out, i)
		}
	}
	return out
}

// Format writes sorted indexes the way Jobs do: [0 2 3 4] → "0,2-4".
func Format(idx []int) string {
	var parts []string
	for i := 0; i < len(idx); {
		j := i
		for j+1 < len(idx) && idx[j+1] == idx[j]+1 {
			j++
		}
		if j == i {
			parts = append(parts, strconv.Itoa(idx[i]))
		} else {
			parts = append(parts, fmt.Sprintf("%d-%d", idx[i], idx[j]))
		}
		i = j + 1
	}
	return strings.Join(parts, ",")
}

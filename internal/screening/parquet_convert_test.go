package screening

import (
	"testing"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/encoding"
	"github.com/parquet-go/parquet-go/format"
)

// Typed Parquet values are converted into the page's reused buffers: the
// text is right, and the cost does not include an allocation per value.
func TestTypedToTextNoAllocPerValue(t *testing.T) {
	const n = 1000
	dec := make([]int64, n)
	ts := make([]int64, n)
	for i := range dec {
		dec[i] = int64(i*12345 - 7)                    // DECIMAL(18,4)
		ts[i] = (1709283600+int64(i)*61)*1000000 + 999 // 2024-03-01 09:00:00 + i×61 s, µs
	}
	cols := []struct {
		c      parquetCol
		v      encoding.Values
		first  string
		second string
	}{
		{parquetCol{kind: parquet.Int64, logic: &format.LogicalType{Value: &format.DecimalType{Scale: 4, Precision: 18}}},
			encoding.Int64Values(dec), "-0.0007", "1.2338"},
		{parquetCol{kind: parquet.Int64, logic: &format.LogicalType{Value: &format.TimestampType{Unit: format.TimeUnit{Value: &format.MicroSeconds{}}}}},
			encoding.Int64Values(ts), "2024-03-01 09:00:00", "2024-03-01 09:01:01"},
		{parquetCol{kind: parquet.Int32, logic: &format.LogicalType{Value: &format.DateType{}}},
			encoding.Int32Values([]int32{19783, 19784}), "2024-03-01", "2024-03-02"},
	}
	for _, c := range cols {
		text, starts, ends := c.c.toText(&c.v, 2, nil, nil, nil)
		if got := string(text[starts[0]:ends[0]]); got != c.first {
			t.Errorf("%v: first value %q, want %q", c.c.logic, got, c.first)
		}
		if got := string(text[starts[1]:ends[1]]); got != c.second {
			t.Errorf("%v: second value %q, want %q", c.c.logic, got, c.second)
		}
	}
	for _, c := range cols[:2] {
		text, starts, ends := c.c.toText(&c.v, n, nil, nil, nil) // grown once
		allocs := testing.AllocsPerRun(20, func() {
			text, starts, ends = c.c.toText(&c.v, n, text[:0], starts[:0], ends[:0])
		})
		if allocs > 4 {
			t.Errorf("%v: %.0f allocations to convert %d values into reused buffers", c.c.logic, allocs, n)
		}
	}
}

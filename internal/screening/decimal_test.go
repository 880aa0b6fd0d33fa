package screening

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// TestParseDecimalMatchesScalar compares parseDecimal, which reads short
// values as one word, with the byte-by-byte parser on every short string
// over an alphabet of digits, separators and bytes next to them, each
// also followed in its buffer by bytes that are not part of it, and on
// random longer ones.
func TestParseDecimalMatchesScalar(t *testing.T) {
	check := func(b []byte) {
		t.Helper()
		want, wok := scalarDecimal(b)
		if got, ok := parseDecimal(b); ok != wok || got != want {
			t.Fatalf("parseDecimal(%q) = %d, %v; want %d, %v", b, got, ok, want, wok)
		}
	}
	const alphabet = "0159.-/:\x00\xff\xba e"
	rng := rand.New(rand.NewPCG(3, 5))
	var word func(prefix []byte, n int)
	word = func(prefix []byte, n int) {
		if len(prefix) == n {
			check(prefix) // cap may be below 8: the scalar path
			buf := make([]byte, len(prefix), 16)
			copy(buf, prefix)
			for k := len(prefix); k < 16; k++ {
				buf = append(buf, alphabet[rng.IntN(len(alphabet))])
			}
			check(buf[:len(prefix)]) // the word path, with other bytes after the value
			return
		}
		for i := range len(alphabet) {
			word(append(prefix, alphabet[i]), n)
		}
	}
	for n := range 6 {
		word(nil, n)
	}
	accepted := 0
	for range 300000 {
		n := 1 + rng.IntN(10)
		buf := make([]byte, 16)
		for k := range buf {
			buf[k] = "0123456789"[rng.IntN(10)]
			if rng.IntN(8) == 0 {
				buf[k] = alphabet[rng.IntN(len(alphabet))]
			}
		}
		if rng.IntN(2) == 0 && n > 2 {
			buf[1+rng.IntN(n-1)] = '.'
		}
		if _, ok := scalarDecimal(buf[:n]); ok {
			accepted++
		}
		check(buf[:n])
	}
	if accepted < 50000 {
		t.Fatalf("only %d random values are decimals: the comparison hardly covers accepted values", accepted)
	}
	for _, c := range []struct {
		in   string
		want int64
	}{{"12.5", 125000}, {"99999999", 999999990000}, {"0.0001", 1}, {"1234.567", 12345670}, {"7", 70000}} {
		if got, ok := parseDecimal([]byte(c.in + "        ")[:len(c.in)]); !ok || got != c.want {
			t.Errorf("parseDecimal(%q) = %d, %v; want %d", c.in, got, ok, c.want)
		}
	}
}

// BenchmarkParseDecimal parses amounts shaped as the benchmark's
// det_item_fee_sumamt (4–7 bytes, two decimals), in an order the branch
// predictor cannot learn.
func BenchmarkParseDecimal(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 2))
	const n = 1 << 11 // the values and their slices fit in L2
	bufs := make([][]byte, n)
	var text []byte
	for i := range bufs {
		v := fmt.Sprintf("%d.%02d", rng.IntN([]int{10, 100, 1000, 10000}[rng.IntN(4)]), rng.IntN(100))
		text = append(text, v...)
		bufs[i] = text[len(text)-len(v):]
	}
	text = append(text, "        "...)
	for i := range bufs { // into the final array, with 8 bytes after the last
		off := cap(text) - cap(bufs[i])
		bufs[i] = text[off : off+len(bufs[i])]
	}
	b.Run("word", func(b *testing.B) {
		for i := 0; b.Loop(); i++ {
			parseDecimal(bufs[i&(n-1)])
		}
	})
	b.Run("scalar", func(b *testing.B) {
		for i := 0; b.Loop(); i++ {
			scalarDecimal(bufs[i&(n-1)])
		}
	})
}

package screening

import (
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"reflect"
	"runtime"
	"strings"
	"testing"
	"testing/iotest"
)

func TestShardResultRoundTrip(t *testing.T) {
	in := ShardResult{
		Summary: &Summary{Institutions: []InstitutionSummary{{Code: "H32010000001", Name: "南京市第一医院", CityCode: "320100",
			Level: 3, Ownership: "public", Type: "hospital", Lines: 12, Findings: 2,
			FindingsByCategory: map[string]int64{"DuplicateCharge": 2}, AmountAtRisk: "30.00", RiskScore: "0.123456", ScreenedAmount: "100.00"}}},
		Stats: &Stats{Shard: 1, Shards: 4, LinesRead: 12, FindingsByCat: map[string]int64{"DuplicateCharge": 2}},
	}
	data, err := EncodeShardResult(in)
	if err != nil {
		t.Fatal(err)
	}
	out, err := DecodeShardResult(data)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(in.Summary, out.Summary) || out.Stats.Shard != 1 || out.Stats.LinesRead != 12 {
		t.Errorf("round trip changed the result: %+v", out)
	}
	if _, err := DecodeShardResult([]byte("not gzip")); err == nil {
		t.Error("garbage decoded without error")
	}
}

func TestShardResultSignatureBindsJobIndexAndBytes(t *testing.T) {
	key := []byte("0123456789abcdef0123456789abcdef")
	data := []byte("result bytes")
	sig := SignShardResult(key, "uid-1", 2, data)
	if !VerifyShardResult(key, "uid-1", 2, data, sig) {
		t.Fatal("a genuine signature does not verify")
	}
	for name, ok := range map[string]bool{
		"other index": VerifyShardResult(key, "uid-1", 3, data, sig),
		"other job":   VerifyShardResult(key, "uid-2", 2, data, sig),
		"other bytes": VerifyShardResult(key, "uid-1", 2, []byte("result bytez"), sig),
		"other key":   VerifyShardResult([]byte("another key of thirty-two bytes!"), "uid-1", 2, data, sig),
		"no key":      VerifyShardResult(nil, "uid-1", 2, data, SignShardResult(nil, "uid-1", 2, data)),
		"no sig":      VerifyShardResult(key, "uid-1", 2, data, nil),
	} {
		if ok {
			t.Errorf("%s: verified", name)
		}
	}
}

// A small gzip stream that inflates far beyond the limit is cut off at the
// limit, not inflated whole.
func TestDecodeShardResultStopsAtTheLimit(t *testing.T) {
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	chunk := make([]byte, 1<<20)
	for range 64 { // 64 MiB of zeros
		if _, err := zw.Write(chunk); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	if buf.Len() > 200<<10 {
		t.Fatalf("bomb is %d bytes compressed", buf.Len())
	}
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	_, err := DecodeShardResult(buf.Bytes())
	runtime.ReadMemStats(&after)
	if !errors.Is(err, ErrShardResultTooLarge) {
		t.Fatalf("bomb: %v, want ErrShardResultTooLarge", err)
	}
	// The doubling buffer up to the limit (under 2× the limit in all) and
	// the gzip reader's state.
	const most = 2*MaxShardResultJSON + 256<<10
	if grew := after.TotalAlloc - before.TotalAlloc; grew > most {
		t.Errorf("decoding the bomb allocated %d bytes, want at most %d", grew, most)
	}
}

func TestEncodeShardResultRefusesTooLarge(t *testing.T) {
	insts := make([]InstitutionSummary, 0, 60000)
	for i := range 60000 {
		insts = append(insts, InstitutionSummary{Code: fmt.Sprintf("H%011d", i), Name: "某某市某某区某某社区卫生服务中心", CityCode: "320100"})
	}
	_, err := EncodeShardResult(ShardResult{Summary: &Summary{Institutions: insts}, Stats: &Stats{}})
	if !errors.Is(err, ErrShardResultTooLarge) || !strings.Contains(err.Error(), "use more shards") {
		t.Errorf("oversized result: %v", err)
	}
}

// FuzzDecodeShardResult: whatever the bytes, decoding returns a result or
// an error, never panics, and never inflates past the limit.
func FuzzDecodeShardResult(f *testing.F) {
	good, err := EncodeShardResult(ShardResult{Summary: &Summary{Institutions: []InstitutionSummary{{Code: "H1"}}}, Stats: &Stats{}})
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	f.Add([]byte("not gzip"))
	f.Add(good[:len(good)/2])
	f.Add([]byte{0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 255})
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := DecodeShardResult(data)
		if err == nil && (r.Summary == nil || r.Stats == nil) {
			t.Fatal("decoded without summary or stats")
		}
	})
}

func TestReadAtMostKeepsUpToTheLimit(t *testing.T) {
	for _, limit := range []int{1, 100, 64 << 10, 200 << 10} {
		for _, n := range []int{0, limit - 1, limit, limit + 1, 3 * limit} {
			if n < 0 {
				continue
			}
			data := bytes.Repeat([]byte("abcdefg"), n/7+1)[:n]
			got, err := readAtMost(iotest.OneByteReader(bytes.NewReader(data)), limit)
			if n > limit {
				if !errors.Is(err, ErrShardResultTooLarge) {
					t.Errorf("limit %d, %d bytes: %v, want ErrShardResultTooLarge", limit, n, err)
				}
				continue
			}
			if err != nil || !bytes.Equal(got, data) {
				t.Errorf("limit %d, %d bytes: %d bytes, %v", limit, n, len(got), err)
			}
		}
	}
}

package screening

import (
	"bytes"
	"fmt"
	"math/bits"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strconv"
	"testing"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/compress"
	"github.com/parquet-go/parquet-go/encoding/bitpacked"
	"github.com/parquet-go/parquet-go/encoding/delta"
	"github.com/parquet-go/parquet-go/format"
)

// pagesTestFile writes a file with a column of each encoding and shape
// mappedPages reads (and one it does not), 2 500 rows in row groups of
// 1 000, small pages, and returns its bytes.
func pagesTestFile(t *testing.T, version int, codec compress.Codec, stats bool) []byte {
	t.Helper()
	str := parquet.String()
	group := parquet.Group{
		"a_str":    parquet.Encoded(str, &parquet.DeltaLengthByteArray),
		"b_stro":   parquet.Optional(parquet.Encoded(str, &parquet.DeltaLengthByteArray)),
		"c_dict":   parquet.Encoded(str, &parquet.RLEDictionary),
		"d_dicto":  parquet.Optional(parquet.Encoded(str, &parquet.RLEDictionary)),
		"e_plain":  parquet.Encoded(str, &parquet.Plain),
		"f_i32":    parquet.Encoded(parquet.Int(32), &parquet.Plain),
		"g_i64d":   parquet.Encoded(parquet.Int(64), &parquet.DeltaBinaryPacked),
		"h_i64o":   parquet.Optional(parquet.Encoded(parquet.Int(64), &parquet.Plain)),
		"i_f64":    parquet.Optional(parquet.Leaf(parquet.DoubleType)),
		"j_i32dic": parquet.Optional(parquet.Encoded(parquet.Int(32), &parquet.RLEDictionary)),
		"k_dba":    parquet.Encoded(str, &parquet.DeltaByteArray), // not mappedPages'
		"l_i32d":   parquet.Optional(parquet.Encoded(parquet.Int(32), &parquet.DeltaBinaryPacked)),
	}
	schema := parquet.NewSchema("t", group)
	var buf bytes.Buffer
	w := parquet.NewWriter(&buf, schema, parquet.DataPageVersion(version), parquet.Compression(codec),
		parquet.PageBufferSize(700), parquet.DataPageStatistics(stats))
	rng := rand.New(rand.NewPCG(uint64(version), 7))
	leaves := schema.Fields()
	for r := 0; r < 2500; r++ {
		row := make(parquet.Row, len(leaves))
		for i, f := range leaves {
			var v parquet.Value
			null := f.Optional() && rng.IntN(5) == 0
			switch name := f.Name(); {
			case null:
			case name == "c_dict" || name == "d_dicto":
				v = parquet.ValueOf("code-" + strconv.Itoa(rng.IntN(40)))
			case name == "j_i32dic":
				v = parquet.ValueOf(int32(rng.IntN(9) - 4))
			case f.Type().Kind() == parquet.ByteArray:
				v = parquet.ValueOf(fmt.Sprintf("%s-%d-%s", name, r, string(make([]byte, rng.IntN(12)))))
			case f.Type().Kind() == parquet.Int32:
				v = parquet.ValueOf(int32(rng.Uint32()))
			case f.Type().Kind() == parquet.Int64:
				v = parquet.ValueOf(int64(r)*1_000_003 - int64(rng.IntN(1<<20)))
			default:
				v = parquet.ValueOf(rng.NormFloat64())
			}
			def := 0
			if f.Optional() && !null {
				def = 1
			}
			row[i] = v.Level(0, def, i)
		}
		if _, err := w.WriteRows([]parquet.Row{row}); err != nil {
			t.Fatal(err)
		}
		if (r+1)%1000 == 0 {
			if err := w.Flush(); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// mapTestFile writes data to a file and returns it open and mapped, as
// openParquet reads a file; both are closed when the test ends.
func mapTestFile(t *testing.T, data []byte) (*os.File, *mappedFile) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "f.parquet")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	m, ok := mapFile(f, int64(len(data)))
	if !ok {
		if runtime.GOOS == "linux" {
			t.Fatal("the file was not mapped")
		}
		t.Skip("files are mapped on Linux only")
	}
	t.Cleanup(func() { m.unmap() })
	return f, m
}

// rowsOf reads want rows from src and returns each as text ("∅" = null).
func rowsOf(src pageSource, c *parquetCol, want int) ([]string, error) {
	var out []string
	for len(out) < want {
		p, err := src.next()
		if err != nil {
			return out, err
		}
		vals, n := p.values, p.nonNull
		if p.dict != nil {
			vals, n = p.dict.values, p.dict.n
		}
		text, starts, ends := c.toText(&vals, n, nil, nil, nil)
		j := 0
		for r := 0; r < p.rows; r++ {
			if p.defs != nil && int(p.defs[r]) != c.maxDef {
				if r >= p.skip {
					out = append(out, "∅")
				}
				continue
			}
			k := j
			if p.dict != nil {
				k = int(p.values.Int32()[j])
			}
			j++
			if r >= p.skip {
				out = append(out, string(text[starts[k]:ends[k]]))
			}
		}
	}
	return out[:min(len(out), want)], nil
}

// TestMappedPagesReadAsParquetGo reads every column of files written with
// data pages v1 and v2, three codecs and page statistics on and off, from
// several first rows, through mappedPages (with and without the offset
// index) and through parquet-go, and compares the rows.
func TestMappedPagesReadAsParquetGo(t *testing.T) {
	for _, version := range []int{1, 2} {
		for _, codec := range []compress.Codec{&parquet.Snappy, &parquet.Uncompressed, &parquet.Zstd} {
			stats := version == 1
			t.Run(fmt.Sprintf("v%d-%s", version, codec), func(t *testing.T) {
				_, mf := mapTestFile(t, pagesTestFile(t, version, codec, stats))
				data := mf.data
				pf, err := parquet.OpenFile(bytes.NewReader(data), int64(len(data)))
				if err != nil {
					t.Fatal(err)
				}
				mapped := 0
				for gi, rg := range pf.RowGroups() {
					chunks := rg.ColumnChunks()
					n := rg.NumRows()
					for _, leaf := range pf.Schema().Fields() {
						l, _ := pf.Schema().Lookup(leaf.Name())
						typ := l.Node.Type()
						c := &parquetCol{name: leaf.Name(), index: l.ColumnIndex, maxDef: l.MaxDefinitionLevel, kind: typ.Kind(), logic: typ.LogicalType()}
						cc := &pf.Metadata().RowGroups[gi].Columns[c.index]
						if got, want := mappable(cc, int64(len(data))), leaf.Name() != "k_dba"; got != want {
							t.Fatalf("%s: mappable %v, want %v (encodings %v)", c.name, got, want, cc.MetaData.Encoding)
						}
						if leaf.Name() == "k_dba" {
							continue
						}
						mapped++
						oi, err := chunks[c.index].OffsetIndex()
						if err != nil || oi.NumPages() < 3 {
							t.Fatalf("%s: offset index of %v pages (%v); the test wants several pages", c.name, oi, err)
						}
						for _, start := range []int64{0, 1, 333, n - 1} {
							pages := chunks[c.index].Pages()
							if err := pages.SeekToRow(start); err != nil {
								t.Fatal(err)
							}
							g := &goPages{pages: pages, maxDef: c.maxDef}
							want, err := rowsOf(g, c, int(n-start))
							g.close()
							if err != nil {
								t.Fatalf("%s from row %d: parquet-go: %v", c.name, start, err)
							}
							for _, idx := range []parquet.OffsetIndex{oi, nil} {
								m, err := newMappedPages(data, true, cc, c, idx, start)
								if err != nil {
									t.Fatalf("%s from row %d: %v", c.name, start, err)
								}
								got, err := rowsOf(m, c, int(n-start))
								if err != nil {
									t.Fatalf("%s from row %d (offset index %v): %v", c.name, start, idx != nil, err)
								}
								if fmt.Sprint(got) != fmt.Sprint(want) {
									t.Fatalf("%s from row %d (offset index %v): rows differ from parquet-go's\n got %.300v\nwant %.300v", c.name, start, idx != nil, got, want)
								}
								if _, err := m.next(); err == nil {
									t.Errorf("%s: a page after the row group's last row", c.name)
								}
								m.close()
							}
						}
					}
				}
				if mapped != 33 {
					t.Fatalf("%d column chunks read by mappedPages, want 33", mapped)
				}
			})
		}
	}
}

// TestMappedPagesRejectCorruptChunks damages a column chunk's bytes, one
// byte or the chunk's end at a time, and reads it: an error or rows, never
// a panic or a read outside the chunk.
func TestMappedPagesRejectCorruptChunks(t *testing.T) {
	for _, version := range []int{1, 2, 3} { // 3: v1 uncompressed, whose values a damaged byte changes
		var data []byte
		if version < 3 {
			data = pagesTestFile(t, version, &parquet.Snappy, true)
		} else {
			data = pagesTestFile(t, 1, &parquet.Uncompressed, false)
		}
		pf, err := parquet.OpenFile(bytes.NewReader(data), int64(len(data)))
		if err != nil {
			t.Fatal(err)
		}
		rng := rand.New(rand.NewPCG(9, uint64(version)))
		errs := 0
		for _, name := range []string{"a_str", "b_stro", "c_dict", "d_dicto", "f_i32", "g_i64d", "h_i64o", "j_i32dic", "l_i32d"} {
			l, _ := pf.Schema().Lookup(name)
			typ := l.Node.Type()
			c := &parquetCol{name: name, index: l.ColumnIndex, maxDef: l.MaxDefinitionLevel, kind: typ.Kind(), logic: typ.LogicalType()}
			cc := pf.Metadata().RowGroups[0].Columns[c.index]
			lo, hi := chunkRange(&cc.MetaData)
			for k := 0; k < 300; k++ {
				bad := bytes.Clone(data[:hi]) // nothing after the chunk to read by mistake
				ccBad := cc
				if k%5 == 0 {
					ccBad.MetaData.TotalCompressedSize = rng.Int64N(hi - lo)
				} else {
					bad[lo+rng.Int64N(hi-lo)] ^= byte(1 + rng.IntN(255))
				}
				func() {
					defer func() {
						if r := recover(); r != nil {
							t.Fatalf("v%d %s damage %d: panic %v\n%s", version, name, k, r, debug.Stack())
						}
					}()
					m, err := newMappedPages(bad, false, &ccBad, c, nil, 0)
					if err == nil {
						_, err = rowsOf(m, c, 1000)
					}
					if err != nil {
						errs++
					}
				}()
			}
		}
		if errs == 0 {
			t.Errorf("v%d: no damaged chunk gave an error", version)
		}
	}
}

// TestThriftSkipsEveryType parses a page header whose unknown fields hold
// every Thrift type, nested, before the known ones.
func TestThriftSkipsEveryType(t *testing.T) {
	var b []byte
	field := func(delta, typ byte) { b = append(b, delta<<4|typ) }
	varint := func(x int64) { b = appendUvarint(b, uint64(x<<1^x>>63)) }
	field(1, tI32)
	varint(int64(format.DataPageV2))
	field(1, tI32)
	varint(100)
	field(1, tI32)
	varint(60)
	// field 9 (unknown): a struct of every type, then field 10: a map.
	field(6, tStruct)
	field(1, tBoolTrue)
	field(1, tByte)
	b = append(b, 0xff)
	field(1, tI16)
	varint(-3)
	field(1, tI64)
	varint(1 << 40)
	field(1, tDouble)
	b = append(b, 1, 2, 3, 4, 5, 6, 7, 8)
	field(1, tBinary)
	b = append(b, 3, 'a', 'b', 'c')
	field(1, tList)
	b = append(b, 2<<4|tBoolTrue, 1, 0)
	field(1, tSet)
	b = append(b, 0xf0|tI32)
	b = appendUvarint(b, 16)
	for i := 0; i < 16; i++ {
		varint(int64(i))
	}
	b = append(b, 0) // end of the struct
	field(1, tMap)
	b = append(b, 2, tBinary<<4|tStruct, 1, 'k', 0, 1, 'l', 0)
	// field 8 by its absolute id (delta 0): the v2 header.
	b = append(b, tStruct)
	varint(8)
	field(1, tI32)
	varint(10)
	field(1, tI32)
	varint(2)
	field(1, tI32)
	varint(10)
	field(1, tI32)
	varint(int64(format.DeltaLengthByteArray))
	field(1, tI32)
	varint(4)
	field(1, tI32)
	varint(0)
	field(1, tBoolFalse)
	b = append(b, 0, 0) // ends of the v2 header and of the page header
	b = append(b, 0xAA) // the page's first byte
	var h pageHeader
	n, err := h.parse(b)
	if err != nil {
		t.Fatal(err)
	}
	if n != len(b)-1 || h.typ != format.DataPageV2 || h.uncompressed != 100 || h.compressed != 60 ||
		h.v2.numValues != 10 || h.v2.numNulls != 2 || h.v2.numRows != 10 || h.v2.encoding != format.DeltaLengthByteArray ||
		h.v2.defLen != 4 || h.v2.compressed {
		t.Fatalf("parsed %d of %d bytes: %+v", n, len(b)-1, h)
	}
	for cut := 0; cut < len(b)-1; cut++ {
		if _, err := h.parse(b[:cut]); err == nil {
			t.Fatalf("a header cut at byte %d parsed", cut)
		}
	}
}

func appendUvarint(b []byte, x uint64) []byte {
	for x >= 0x80 {
		b = append(b, byte(x)|0x80)
		x >>= 7
	}
	return append(b, byte(x))
}

// TestMappedPagesReadBitPackedLevels: files from older parquet-mr
// (Spark, Hive) list BIT_PACKED among a chunk's encodings and may encode
// a data page v1's definition levels so; mappedPages takes such chunks
// and decodes the levels as parquet-go does.
func TestMappedPagesReadBitPackedLevels(t *testing.T) {
	cc := format.ColumnChunk{MetaData: format.ColumnMetaData{
		Encoding:       []format.Encoding{format.BitPacked, format.RLE, plainDictionary, format.Plain},
		DataPageOffset: 4, TotalCompressedSize: 100,
	}}
	if !mappable(&cc, 200) {
		t.Error("a chunk listing BIT_PACKED, RLE, PLAIN_DICTIONARY and PLAIN is not mappable")
	}
	for _, maxDef := range []int{1, 3} {
		levels := make([]byte, 77)
		for i := range levels {
			levels[i] = byte(i*7%11) % byte(maxDef+1)
		}
		enc, err := (&bitpacked.Encoding{BitWidth: bits.Len(uint(maxDef))}).EncodeLevels(nil, levels)
		if err != nil {
			t.Fatal(err)
		}
		p := &mappedPages{col: &parquetCol{maxDef: maxDef}}
		if err := p.decodeDefs(enc, len(levels), format.BitPacked); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(p.defs, levels) {
			t.Errorf("max level %d: decoded %v, want %v", maxDef, p.defs, levels)
		}
	}
}

// TestDeltaLengthValuesChecksLengths: a negative length, or lengths past
// the page's bytes, are errors; valid lengths give the strings.
func TestDeltaLengthValuesChecksLengths(t *testing.T) {
	for _, c := range []struct {
		lens []int32
		strs string
		ok   bool
	}{
		{[]int32{3, 0, 4}, "abcdefg", true},
		{[]int32{3, -2, 4}, "abcdefg", false},
		{[]int32{3, 2, 4}, "abcdefg", false},
		{[]int32{-1 << 31, 1}, "a", false},
	} {
		enc, err := (&delta.BinaryPackedEncoding{}).EncodeInt32(nil, c.lens)
		if err != nil {
			t.Fatal(err)
		}
		p := &mappedPages{col: &parquetCol{kind: parquet.ByteArray}}
		v, err := p.deltaLengthValues(append(enc, c.strs...), len(c.lens))
		if (err == nil) != c.ok {
			t.Errorf("lengths %v over %q: error %v", c.lens, c.strs, err)
			continue
		}
		if c.ok {
			data, offs := v.ByteArray()
			var got []string
			for i := range c.lens {
				got = append(got, string(data[offs[i]:offs[i+1]]))
			}
			if fmt.Sprint(got) != "[abc  defg]" {
				t.Errorf("strings %q", got)
			}
		}
	}
}

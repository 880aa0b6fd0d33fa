package screening

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"math/bits"
	"sync"
	"unsafe"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/encoding"
	"github.com/parquet-go/parquet-go/encoding/bitpacked"
	"github.com/parquet-go/parquet-go/encoding/delta"
	"github.com/parquet-go/parquet-go/encoding/rle"
	"github.com/parquet-go/parquet-go/format"
)

// A column chunk's pages reach colReader as pageViews, from one of two
// sources. goPages is parquet-go's page reader, which reads any file it
// can. mappedPages reads the pages of a memory-mapped file itself, for the
// encodings extracts use (PLAIN, dictionary, DELTA_LENGTH_BYTE_ARRAY,
// DELTA_BINARY_PACKED; data pages v1 and v2; any codec parquet-go has):
// it parses page headers with its own Thrift reader, decompresses straight
// from the mapping into one buffer per column, and leaves the values where
// they are — a DELTA_LENGTH_BYTE_ARRAY page's strings, a PLAIN page's
// integers. parquet-go copies each page out of the file through a read
// buffer (reading ahead past a task's last page), decodes its header with
// a reflective Thrift decoder and copies the values again: with no rule,
// that machinery and the reads were a sixth of the CPU, besides Snappy
// (docs/benchmarks.md, "Stop of 2026-12-07, night"). Its decoders (RLE, delta,
// codecs) are still parquet-go's.

// pageView is one page of a flat column: rows rows, nonNull of them with
// a value, the values (dictionary indexes when dict is set), the
// definition levels when the column is optional, and the rows before the
// task's first row to pass over (the first page after a seek).
type pageView struct {
	rows, nonNull, skip int
	values              encoding.Values
	defs                []byte
	dict                *pageDict
}

// pageDict is a column chunk's dictionary; id tells dictionaries apart for
// the caches keyed by dictionary (intern per entry).
type pageDict struct {
	values encoding.Values
	n      int
	id     uint64
}

type pageSource interface {
	// next returns the next page with rows; its views are valid until the
	// following call.
	next() (*pageView, error)
	close()
}

// goPages is parquet-go's reader of a column chunk's pages.
type goPages struct {
	pages  parquet.Pages
	maxDef int
	page   parquet.Page
	dict   parquet.Dictionary
	view   pageView
	pdict  pageDict
}

func (g *goPages) next() (*pageView, error) {
	if g.page != nil {
		parquet.Release(g.page)
		g.page = nil
	}
	for {
		p, err := g.pages.ReadPage()
		if err != nil {
			return nil, err
		}
		if p.NumRows() == 0 {
			parquet.Release(p)
			continue
		}
		g.page = p
		break
	}
	p := g.page
	g.view = pageView{rows: int(p.NumRows()), nonNull: int(p.NumValues() - p.NumNulls()), values: p.Data()}
	if g.maxDef > 0 {
		g.view.defs = p.DefinitionLevels()
	}
	if d := p.Dictionary(); d != nil {
		if d != g.dict {
			g.dict = d
			g.pdict = pageDict{values: d.Page().Data(), n: d.Len(), id: dictCounter.Add(1)}
		}
		g.view.dict = &g.pdict
	}
	return &g.view, nil
}

func (g *goPages) close() {
	if g.page != nil {
		parquet.Release(g.page)
		g.page = nil
	}
	g.pages.Close()
}

// plainDictionary is PLAIN_DICTIONARY, deprecated by the format (and so
// by parquet-go's constant) but what older writers such as parquet-mr 1.x
// put on dictionary-encoded pages.
const plainDictionary format.Encoding = 2

// mappedEncodings are the encodings mappedPages decodes; a column chunk
// that lists another is read by parquet-go.
var mappedEncodings = map[format.Encoding]bool{
	format.Plain: true, plainDictionary: true, format.RLE: true, format.RLEDictionary: true,
	format.DeltaLengthByteArray: true, format.DeltaBinaryPacked: true,
	// Levels: older parquet-mr (Spark, Hive) lists BIT_PACKED for the
	// repetition levels that a flat column does not have.
	format.BitPacked: true,
}

// mappable reports whether mappedPages reads column chunk cc.
func mappable(cc *format.ColumnChunk, fileSize int64) bool {
	md := &cc.MetaData
	if cc.FilePath != "" || len(cc.EncryptedColumnMetadata) > 0 || cc.CryptoMetadata.Value != nil {
		return false
	}
	for _, e := range md.Encoding {
		if !mappedEncodings[e] {
			return false
		}
	}
	start, end := chunkRange(md)
	return start >= 0 && start < end && end <= fileSize
}

// chunkRange is the column chunk's bytes in the file, its dictionary page
// (if any) first.
func chunkRange(md *format.ColumnMetaData) (start, end int64) {
	start = md.DataPageOffset
	if d := md.DictionaryPageOffset; d > 0 && d < start {
		start = d
	}
	return start, start + md.TotalCompressedSize
}

// mappedPages reads one column chunk's pages from the mapped file.
type mappedPages struct {
	col    *parquetCol
	chunk  []byte // the column chunk's bytes
	pos    int    // next page header in chunk
	kept   int    // chunk[kept:pos] is mapped still (release)
	mapped bool   // chunk is a file's mapping, whose pages release drops
	base   int64  // file offset of chunk[0]
	codec  format.CompressionCodec
	dict   *pageDict
	skip   int // rows of the next page before the task's first row
	buf    []byte
	defs   []byte
	ints   []byte // a PLAIN page's integers, copied when misaligned
	idx    []int32
	offs   []uint32
	plain  []byte // a PLAIN BYTE_ARRAY page's strings, back to back
	lens   []int32
	view   pageView
	header pageHeader
}

// newMappedPages reads the chunk's dictionary page, if any, and positions
// the reader on the page that holds row start of the row group (oi: the
// chunk's offset index, or nil). data is the whole file: a mapping
// (mapFile) when mapped, whose pages are released as they are read.
func newMappedPages(data []byte, mapped bool, cc *format.ColumnChunk, col *parquetCol, oi parquet.OffsetIndex, start int64) (*mappedPages, error) {
	lo, hi := chunkRange(&cc.MetaData)
	p, _ := mappedPagesPool.Get().(*mappedPages)
	if p == nil {
		p = new(mappedPages)
	}
	p.col, p.chunk, p.base, p.codec = col, data[lo:hi], lo, cc.MetaData.Codec
	p.pos, p.kept, p.skip, p.dict, p.mapped = 0, 0, 0, nil, mapped
	if err := p.readHeader(); err != nil {
		return nil, eofIsShort(err)
	}
	if p.header.typ == format.DictionaryPage {
		if err := p.readDictionary(); err != nil {
			return nil, err
		}
	} else {
		p.pos = 0 // a data page: next reads its header again
	}
	if start == 0 {
		return p, nil
	}
	if oi != nil && oi.NumPages() > 0 {
		k := 0
		for k+1 < oi.NumPages() && oi.FirstRowIndex(k+1) <= start {
			k++
		}
		off := oi.Offset(k) - lo
		if off < int64(p.pos) || off >= int64(len(p.chunk)) {
			return nil, fmt.Errorf("offset index: page %d at %d is outside the column chunk", k, oi.Offset(k))
		}
		p.pos, p.skip = int(off), int(start-oi.FirstRowIndex(k))
		p.kept = p.pos
		return p, nil
	}
	// No offset index: walk the headers, passing over whole pages.
	var first int64
	for {
		at := p.pos
		if err := p.readHeader(); err != nil {
			return nil, eofIsShort(err)
		}
		rows := p.header.rows()
		if p.header.typ != format.DictionaryPage && first+rows > start {
			p.pos, p.skip = at, int(start-first)
			p.kept = p.pos
			return p, nil
		}
		if p.header.typ != format.DictionaryPage {
			first += rows
		}
		p.pos += int(p.header.compressed)
	}
}

// mappedPagesPool keeps the readers' buffers (a page or two of each
// column) from task to task instead of leaving them to the collector.
var mappedPagesPool sync.Pool

func (p *mappedPages) close() {
	p.release(true)
	p.chunk, p.dict, p.col, p.view = nil, nil, nil, pageView{}
	mappedPagesPool.Put(p)
}

// release drops the mapping of the pages read so far (chunk[kept:pos]),
// by the MiB, or all when last: they would otherwise stay in the resident
// set (mappedFile), and another task that reads them maps them again.
// Where this task started is kept: the task before reads up to there.
func (p *mappedPages) release(last bool) {
	if p.mapped && (p.pos-p.kept >= 1<<20 || last && p.pos > p.kept) {
		releaseMapped(p.chunk[p.kept:p.pos])
		p.kept = p.pos
	}
}

// eofIsShort turns the end of a chunk met while seeking into an error.
func eofIsShort(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

func (p *mappedPages) fail(err error) error {
	return fmt.Errorf("page at byte %d: %w", p.base+int64(p.pos), err)
}

var errPageBounds = errors.New("page extends past its column chunk")

// readHeader reads the page header at p.pos and leaves p.pos after it.
func (p *mappedPages) readHeader() error {
	if p.pos >= len(p.chunk) {
		return io.EOF
	}
	n, err := p.header.parse(p.chunk[p.pos:])
	if err != nil {
		return p.fail(err)
	}
	p.pos += n
	if p.header.compressed < 0 || p.header.uncompressed < 0 || int(p.header.compressed) > len(p.chunk)-p.pos {
		return p.fail(errPageBounds)
	}
	return nil
}

// body returns the current page's bytes (p.pos, after its header) and
// moves past them, checking the CRC when the page has one.
func (p *mappedPages) body() ([]byte, error) {
	b := p.chunk[p.pos : p.pos+int(p.header.compressed)]
	if p.header.hasCRC && crc32.ChecksumIEEE(b) != p.header.crc {
		return nil, fmt.Errorf("crc32 checksum mismatch: %w", parquet.ErrCorrupted)
	}
	p.pos += len(b)
	return b, nil
}

// decompress returns src decompressed (size bytes expected) in p.buf, or
// src when the chunk is not compressed.
func (p *mappedPages) decompress(src []byte, size int32) ([]byte, error) {
	if p.codec == format.Uncompressed {
		return src, nil
	}
	if size < 0 || size > 1<<30 {
		return nil, fmt.Errorf("uncompressed page size %d", size)
	}
	if cap(p.buf) < int(size) {
		p.buf = make([]byte, size)
	}
	out, err := parquet.LookupCompressionCodec(p.codec).Decode(p.buf[:size], src)
	if err != nil {
		return nil, fmt.Errorf("decompressing: %w", err)
	}
	if cap(out) > cap(p.buf) {
		p.buf = out
	}
	return out, nil
}

func (p *mappedPages) readDictionary() error {
	h := p.header.dict
	b, err := p.body()
	if err != nil {
		return p.fail(err)
	}
	data, err := p.decompress(b, p.header.uncompressed)
	if err != nil {
		return p.fail(err)
	}
	if h.encoding != format.Plain && h.encoding != plainDictionary {
		return p.fail(fmt.Errorf("dictionary page encoding %s", h.encoding))
	}
	// The dictionary outlives p.buf: its own copies.
	p.plain, p.offs, p.ints = nil, nil, nil
	v, err := p.plainValues(data, int(h.numValues))
	if err != nil {
		return p.fail(fmt.Errorf("dictionary page: %w", err))
	}
	if p.col.kind != parquet.ByteArray && p.ints == nil {
		v = clonePlain(p.col.kind, v)
	}
	p.plain, p.offs, p.ints = nil, nil, nil
	p.dict = &pageDict{values: v, n: int(h.numValues), id: dictCounter.Add(1)}
	return nil
}

func (p *mappedPages) next() (*pageView, error) {
	p.release(false) // the previous page's views are done with
	for {
		if err := p.readHeader(); err != nil {
			return nil, err
		}
		h := &p.header
		switch h.typ {
		case format.DataPage, format.DataPageV2:
		case format.DictionaryPage:
			if p.dict != nil {
				return nil, p.fail(errors.New("a second dictionary page"))
			}
			if err := p.readDictionary(); err != nil {
				return nil, err
			}
			continue
		default: // index pages and future types: not data
			p.pos += int(h.compressed)
			continue
		}
		if h.rows() == 0 {
			p.pos += int(h.compressed)
			continue
		}
		at := p.pos
		v, err := p.readData()
		if err != nil {
			p.pos = at
			return nil, p.fail(err)
		}
		return v, nil
	}
}

// readData decodes the data page whose header was just read.
func (p *mappedPages) readData() (*pageView, error) {
	h := &p.header
	b, err := p.body()
	if err != nil {
		return nil, err
	}
	maxDef := p.col.maxDef
	v := &p.view
	*v = pageView{rows: int(h.rows()), skip: p.skip}
	p.skip = 0
	var enc format.Encoding
	var data []byte
	if h.typ == format.DataPageV2 {
		d := &h.v2
		enc = d.encoding
		if d.repLen < 0 || d.defLen < 0 || int64(d.repLen)+int64(d.defLen) > int64(len(b)) {
			return nil, errPageBounds
		}
		levels := b[d.repLen : d.repLen+d.defLen]
		data = b[d.repLen+d.defLen:]
		if maxDef > 0 {
			if err := p.decodeDefs(levels, v.rows, format.RLE); err != nil {
				return nil, err
			}
		}
		v.nonNull = int(d.numValues - d.numNulls)
		if d.compressed {
			if data, err = p.decompress(data, h.uncompressed-d.repLen-d.defLen); err != nil {
				return nil, err
			}
		}
	} else {
		d := &h.v1
		enc = d.encoding
		if data, err = p.decompress(b, h.uncompressed); err != nil {
			return nil, err
		}
		v.nonNull = v.rows
		if maxDef > 0 {
			if d.defEncoding != format.RLE && d.defEncoding != format.BitPacked {
				return nil, fmt.Errorf("definition levels encoded %s", d.defEncoding)
			}
			if len(data) < 4 {
				return nil, errPageBounds
			}
			n := binary.LittleEndian.Uint32(data)
			if uint64(n) > uint64(len(data)-4) {
				return nil, errPageBounds
			}
			if err := p.decodeDefs(data[4:4+n], v.rows, d.defEncoding); err != nil {
				return nil, err
			}
			data = data[4+n:]
			v.nonNull = countLevel(p.defs, maxDef)
		}
	}
	if maxDef > 0 {
		v.defs = p.defs
		if h.typ == format.DataPageV2 && v.nonNull != countLevel(p.defs, maxDef) {
			return nil, fmt.Errorf("%d values in the header, %d in the definition levels", v.nonNull, countLevel(p.defs, maxDef))
		}
	} else if v.nonNull != v.rows {
		return nil, fmt.Errorf("%d values in a page of %d rows of a required column", v.nonNull, v.rows)
	}
	switch enc {
	case format.RLEDictionary, plainDictionary:
		if p.dict == nil {
			return nil, errors.New("dictionary-encoded page without a dictionary page")
		}
		if p.idx, err = (&rle.DictionaryEncoding{}).DecodeInt32(p.idx[:0], data); err != nil {
			return nil, err
		}
		if len(p.idx) < v.nonNull {
			return nil, fmt.Errorf("%d dictionary indexes for %d values", len(p.idx), v.nonNull)
		}
		for _, j := range p.idx[:v.nonNull] {
			if uint32(j) >= uint32(p.dict.n) {
				return nil, fmt.Errorf("dictionary index %d of %d entries", j, p.dict.n)
			}
		}
		v.values, v.dict = encoding.Int32Values(p.idx[:v.nonNull]), p.dict
	case format.Plain:
		if v.values, err = p.plainValues(data, v.nonNull); err != nil {
			return nil, err
		}
	case format.DeltaLengthByteArray:
		if p.col.kind != parquet.ByteArray {
			return nil, fmt.Errorf("%s in a %s column", enc, p.col.kind)
		}
		if v.values, err = p.deltaLengthValues(data, v.nonNull); err != nil {
			return nil, err
		}
	case format.DeltaBinaryPacked:
		if v.values, err = p.deltaInts(data, v.nonNull); err != nil {
			return nil, err
		}
	default:
		return nil, fmt.Errorf("values encoded %s", enc)
	}
	return v, nil
}

// decodeDefs decodes the definition levels of rows rows into p.defs. A
// data page v1's levels have a length before them whatever their
// encoding, as parquet-go reads them (decodeLevelsV1), BIT_PACKED too.
func (p *mappedPages) decodeDefs(src []byte, rows int, enc format.Encoding) error {
	w := bits.Len(uint(p.col.maxDef))
	var defs []byte
	var err error
	if enc == format.BitPacked {
		defs, err = (&bitpacked.Encoding{BitWidth: w}).DecodeLevels(p.defs[:0], src)
	} else {
		defs, err = (&rle.Encoding{BitWidth: w}).DecodeLevels(p.defs[:0], src)
	}
	if err != nil {
		return err
	}
	if len(defs) < rows {
		return fmt.Errorf("%d definition levels for %d rows", len(defs), rows)
	}
	p.defs = defs[:rows]
	for _, l := range p.defs {
		if int(l) > p.col.maxDef {
			return fmt.Errorf("definition level %d above %d", l, p.col.maxDef)
		}
	}
	return nil
}

func countLevel(defs []byte, level int) int {
	n := 0
	for _, l := range defs {
		if int(l) == level {
			n++
		}
	}
	return n
}

// plainValues decodes n PLAIN values. Strings are copied back to back into
// p.plain (PLAIN puts a length before each); numbers stay in data when
// aligned, else are copied to p.ints.
func (p *mappedPages) plainValues(data []byte, n int) (encoding.Values, error) {
	if p.col.kind == parquet.ByteArray {
		offs := append(p.offs[:0], 0)
		out := p.plain[:0]
		for i := 0; i < n; i++ {
			if len(data) < 4 {
				return encoding.Values{}, errPageBounds
			}
			l := binary.LittleEndian.Uint32(data)
			if uint64(l) > uint64(len(data)-4) {
				return encoding.Values{}, errPageBounds
			}
			out = append(out, data[4:4+l]...)
			offs = append(offs, uint32(len(out)))
			data = data[4+l:]
		}
		p.plain, p.offs = out, offs
		return encoding.ByteArrayValues(out, offs), nil
	}
	size := 4
	if p.col.kind == parquet.Int64 || p.col.kind == parquet.Double {
		size = 8
	}
	if len(data) < n*size {
		return encoding.Values{}, errPageBounds
	}
	data = data[:n*size]
	if n > 0 && uintptr(unsafe.Pointer(&data[0]))%uintptr(size) != 0 {
		p.ints = append(p.ints[:0], data...) // append's arrays are 8-aligned
		data = p.ints
	}
	return typedValues(p.col.kind, data, n), nil
}

// typedValues views data (aligned) as n values of kind.
func typedValues(kind parquet.Kind, data []byte, n int) encoding.Values {
	if n == 0 {
		data = make([]byte, 8)
	}
	ptr := unsafe.Pointer(&data[0])
	switch kind {
	case parquet.Int32:
		return encoding.Int32Values(unsafe.Slice((*int32)(ptr), n))
	case parquet.Int64:
		return encoding.Int64Values(unsafe.Slice((*int64)(ptr), n))
	case parquet.Float:
		return encoding.FloatValues(unsafe.Slice((*float32)(ptr), n))
	default:
		return encoding.DoubleValues(unsafe.Slice((*float64)(ptr), n))
	}
}

// clonePlain copies numeric values out of a buffer that is reused.
func clonePlain(kind parquet.Kind, v encoding.Values) encoding.Values {
	switch kind {
	case parquet.Int32:
		return encoding.Int32Values(append([]int32(nil), v.Int32()...))
	case parquet.Int64:
		return encoding.Int64Values(append([]int64(nil), v.Int64()...))
	case parquet.Float:
		return encoding.FloatValues(append([]float32(nil), v.Float()...))
	default:
		return encoding.DoubleValues(append([]float64(nil), v.Double()...))
	}
}

// deltaLengthValues decodes n DELTA_LENGTH_BYTE_ARRAY strings: the
// lengths, then the strings back to back, which stay in data.
func (p *mappedPages) deltaLengthValues(data []byte, n int) (encoding.Values, error) {
	end, err := deltaPackedSize(data)
	if err != nil {
		return encoding.Values{}, err
	}
	lens, err := (&delta.BinaryPackedEncoding{}).DecodeInt32(p.lens[:0], data[:end])
	if err != nil {
		return encoding.Values{}, err
	}
	p.lens = lens
	if len(lens) < n {
		return encoding.Values{}, fmt.Errorf("%d lengths for %d values", len(lens), n)
	}
	offs := resize(p.offs, n+1)
	p.offs = offs
	// One pass without a branch per value: a negative length sets neg's
	// sign, checked after (a sum of 2³¹ int32s fits an int64).
	var at int64
	var neg int32
	offs[0] = 0
	o := offs[1 : n+1]
	for i, l := range lens[:n] {
		neg |= l
		at += int64(l)
		o[i] = uint32(at)
	}
	if neg < 0 {
		return encoding.Values{}, errors.New("negative string length")
	}
	strs := data[end:]
	if at > int64(len(strs)) {
		return encoding.Values{}, errPageBounds
	}
	return encoding.ByteArrayValues(strs[:at], offs), nil
}

// deltaInts decodes n DELTA_BINARY_PACKED integers into p.ints.
func (p *mappedPages) deltaInts(data []byte, n int) (encoding.Values, error) {
	e := &delta.BinaryPackedEncoding{}
	switch p.col.kind {
	case parquet.Int32:
		return deltaInto(p, data, n, e.DecodeInt32, encoding.Int32Values)
	case parquet.Int64:
		return deltaInto(p, data, n, e.DecodeInt64, encoding.Int64Values)
	}
	return encoding.Values{}, fmt.Errorf("%s in a %s column", format.DeltaBinaryPacked, p.col.kind)
}

// deltaInto decodes n integers with decode into p.ints's array, kept for
// the next page.
func deltaInto[T int32 | int64](p *mappedPages, data []byte, n int, decode func([]T, []byte) ([]T, error), values func([]T) encoding.Values) (encoding.Values, error) {
	size := int(unsafe.Sizeof(T(0)))
	x, err := decode(unsafe.Slice((*T)(unsafe.Pointer(unsafe.SliceData(p.ints))), cap(p.ints)/size)[:0], data)
	if err != nil {
		return encoding.Values{}, err
	}
	if len(x) < n {
		return encoding.Values{}, fmt.Errorf("%d values for %d", len(x), n)
	}
	p.ints = unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(x))), size*cap(x))
	return values(x[:n]), nil
}

// deltaPackedSize returns the bytes of the DELTA_BINARY_PACKED run at the
// start of src, walking its blocks' headers: a DELTA_LENGTH_BYTE_ARRAY
// page's strings start after it.
func deltaPackedSize(src []byte) (int, error) {
	var pos int
	uv := func() (uint64, error) {
		x, n := binary.Uvarint(src[pos:])
		if n <= 0 {
			return 0, errors.New("DELTA_BINARY_PACKED header: bad varint")
		}
		pos += n
		return x, nil
	}
	blockSize, err := uv()
	if err != nil {
		return 0, err
	}
	miniBlocks, err := uv()
	if err != nil {
		return 0, err
	}
	total, err := uv()
	if err != nil {
		return 0, err
	}
	if _, err := uv(); err != nil { // first value
		return 0, err
	}
	if miniBlocks == 0 || blockSize == 0 || blockSize%128 != 0 || blockSize/miniBlocks%32 != 0 || total > 1<<31 {
		return 0, fmt.Errorf("DELTA_BINARY_PACKED header: block %d, %d miniblocks, %d values", blockSize, miniBlocks, total)
	}
	perMini := blockSize / miniBlocks
	for left := total - min(total, 1); left > 0; {
		if _, err := uv(); err != nil { // the block's min delta
			return 0, err
		}
		if uint64(len(src)-pos) < miniBlocks {
			return 0, errPageBounds
		}
		widths := src[pos : pos+int(miniBlocks)]
		pos += int(miniBlocks)
		for _, w := range widths {
			if left == 0 {
				break // miniblocks after the last value may be absent
			}
			if w > 64 {
				return 0, fmt.Errorf("DELTA_BINARY_PACKED bit width %d", w)
			}
			size := perMini * uint64(w) / 8
			if uint64(len(src)-pos) < size {
				return 0, errPageBounds
			}
			pos += int(size)
			left -= min(left, perMini)
		}
	}
	return pos, nil
}

// pageHeader is the part of Parquet's PageHeader the reader uses.
type pageHeader struct {
	typ                      format.PageType
	uncompressed, compressed int32
	crc                      uint32
	hasCRC                   bool
	v1                       struct {
		numValues   int32
		encoding    format.Encoding
		defEncoding format.Encoding
	}
	v2 struct {
		numValues, numNulls, numRows int32
		encoding                     format.Encoding
		defLen, repLen               int32
		compressed                   bool
	}
	dict struct {
		numValues int32
		encoding  format.Encoding
	}
}

func (h *pageHeader) rows() int64 {
	switch h.typ {
	case format.DataPage:
		return int64(h.v1.numValues) // a flat column: a value or a null per row
	case format.DataPageV2:
		return int64(h.v2.numRows)
	}
	return 0
}

// parse reads a Thrift compact-protocol PageHeader from b and returns its
// length. Hand-written: parquet-go's Thrift decoder works by reflection.
func (h *pageHeader) parse(b []byte) (int, error) {
	*h = pageHeader{}
	h.v2.compressed = true // the field's default
	r := thriftReader{b: b}
	var seen [9]bool
	r.fields(func(id int16, typ byte) {
		if id > 0 && int(id) < len(seen) {
			seen[id] = true
		}
		switch id {
		case 1:
			h.typ = format.PageType(r.i32(typ))
		case 2:
			h.uncompressed = r.i32(typ)
		case 3:
			h.compressed = r.i32(typ)
		case 4:
			h.crc, h.hasCRC = uint32(r.i32(typ)), true
		case 5:
			v1 := &h.v1
			r.ints(nil, &v1.numValues, (*int32)(&v1.encoding), (*int32)(&v1.defEncoding))
		case 7:
			r.ints(nil, &h.dict.numValues, (*int32)(&h.dict.encoding))
		case 8:
			d := &h.v2
			r.ints(func(id int16, typ byte) bool {
				if id == 7 {
					d.compressed = r.boolean(typ)
				}
				return id == 7
			}, &d.numValues, &d.numNulls, &d.numRows, (*int32)(&d.encoding), &d.defLen, &d.repLen)
		default:
			r.skip(typ)
		}
	})
	if r.err != nil {
		return 0, fmt.Errorf("page header: %w", r.err)
	}
	if !seen[1] || !seen[2] || !seen[3] {
		return 0, errors.New("page header without its type or sizes")
	}
	switch {
	case h.typ == format.DataPage && !seen[5], h.typ == format.DataPageV2 && !seen[8], h.typ == format.DictionaryPage && !seen[7]:
		return 0, fmt.Errorf("page header of type %s without its %s header", h.typ, h.typ)
	case h.typ == format.DataPage && h.v1.numValues < 0,
		h.typ == format.DataPageV2 && (h.v2.numValues < 0 || h.v2.numNulls < 0 || h.v2.numRows < 0 || h.v2.numNulls > h.v2.numValues),
		h.typ == format.DictionaryPage && h.dict.numValues < 0:
		return 0, errors.New("page header with a negative count")
	}
	return r.pos, nil
}

// thriftReader reads the Thrift compact protocol; the first error stops it.
type thriftReader struct {
	b     []byte
	pos   int
	err   error
	depth int
}

const (
	tBoolTrue = 1 + iota
	tBoolFalse
	tByte
	tI16
	tI32
	tI64
	tDouble
	tBinary
	tList
	tSet
	tMap
	tStruct
)

var errThrift = errors.New("malformed Thrift")

func (r *thriftReader) byte() byte {
	if r.err != nil || r.pos >= len(r.b) {
		r.setErr(io.ErrUnexpectedEOF)
		return 0
	}
	c := r.b[r.pos]
	r.pos++
	return c
}

// setErr records e unless an error came first.
func (r *thriftReader) setErr(e error) {
	if r.err == nil {
		r.err = e
	}
}

func (r *thriftReader) uvarint() uint64 {
	if r.err != nil {
		return 0
	}
	x, n := binary.Uvarint(r.b[r.pos:])
	if n <= 0 {
		r.err = errThrift
		return 0
	}
	r.pos += n
	return x
}

func (r *thriftReader) varint() int64 {
	u := r.uvarint()
	return int64(u>>1) ^ -int64(u&1)
}

// i32 reads an integer field (of any integer type) as int32.
func (r *thriftReader) i32(typ byte) int32 {
	switch typ {
	case tByte:
		return int32(int8(r.byte()))
	case tI16, tI32, tI64:
		x := r.varint()
		if int64(int32(x)) != x {
			r.setErr(errThrift)
		}
		return int32(x)
	}
	r.setErr(errThrift)
	return 0
}

func (r *thriftReader) boolean(typ byte) bool {
	if typ != tBoolTrue && typ != tBoolFalse {
		r.setErr(errThrift)
	}
	return typ == tBoolTrue
}

// fields reads a struct's fields up to its stop, calling f with each
// field's id and type; f reads or skips the value.
func (r *thriftReader) fields(f func(id int16, typ byte)) {
	if r.depth++; r.depth > 32 {
		r.setErr(errThrift)
	}
	defer func() { r.depth-- }()
	var last int16
	for r.err == nil {
		c := r.byte()
		if c == 0 || r.err != nil {
			return
		}
		id := last + int16(c>>4)
		if c>>4 == 0 {
			id = int16(r.varint())
		}
		last = id
		f(id, c&0x0f)
	}
}

// ints reads a struct whose fields 1, 2, … are the integers to[0], to[1],
// …; other reads a field it knows of (reporting true), and the rest are
// skipped.
func (r *thriftReader) ints(other func(id int16, typ byte) bool, to ...*int32) {
	r.fields(func(id int16, typ byte) {
		switch {
		case id >= 1 && int(id) <= len(to):
			*to[id-1] = r.i32(typ)
		case other == nil || !other(id, typ):
			r.skip(typ)
		}
	})
}

// skip passes over a value of type typ.
func (r *thriftReader) skip(typ byte) {
	switch typ {
	case tBoolTrue, tBoolFalse:
	case tByte:
		r.byte()
	case tI16, tI32, tI64:
		r.uvarint()
	case tDouble:
		r.bytes(8)
	case tBinary:
		r.bytes(r.uvarint())
	case tList, tSet:
		c := r.byte()
		n, et := uint64(c>>4), c&0x0f
		if n == 15 {
			n = r.uvarint()
		}
		for i := uint64(0); i < n && r.err == nil; i++ {
			r.skipElem(et)
		}
	case tMap:
		n := r.uvarint()
		if n > 0 {
			c := r.byte()
			for i := uint64(0); i < n && r.err == nil; i++ {
				r.skipElem(c >> 4)
				r.skipElem(c & 0x0f)
			}
		}
	case tStruct:
		r.fields(func(_ int16, t byte) { r.skip(t) })
	default:
		r.setErr(errThrift)
	}
}

// skipElem passes over an element of a list, set or map, where a boolean
// takes a byte.
func (r *thriftReader) skipElem(typ byte) {
	if typ == tBoolTrue || typ == tBoolFalse {
		r.byte()
		return
	}
	r.skip(typ)
}

func (r *thriftReader) bytes(n uint64) {
	if r.err == nil && n > uint64(len(r.b)-r.pos) {
		r.err = io.ErrUnexpectedEOF
		return
	}
	r.pos += int(n)
}

package screening

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync/atomic"
	"unicode/utf8"

	"golang.org/x/text/encoding/simplifiedchinese"
)

// CSV input (RFC 4180): comma separated, fields optionally quoted with '"'
// and "" as an escaped quote, records ended by LF or CRLF, a header row.
//
// Records are delimited by the quote-parity rule: a record ends at the
// first LF outside quotes, where every '"' toggles "inside quotes". The
// splitter that cuts the file into chunks for parallel parsing and the
// record parser use the same rule, so a chunk boundary is always a record
// boundary. In GB18030 neither '"', ',' nor LF can be part of a multi-byte
// character, so the rule works on the undecoded bytes and each chunk is
// decoded on its own.
//
// A record that is not valid CSV (a quote inside an unquoted field, text
// after a closing quote, the wrong number of fields) is rejected with its
// line number; the run goes on. So is a last record cut inside a quoted
// field, and, in a file declared UTF-8, a record that is not valid UTF-8
// (csv_checks.go). A quote never closed that swallows whole lines stops the
// run: those lines cannot be read as records at all.

// csvChunkSize is the read size of one CSV task (a variable for tests).
var csvChunkSize = 4 << 20

// Byte-order marks skipped at the start of a file, in any encoding mode.
var (
	bomUTF8    = []byte("\xEF\xBB\xBF")
	bomGB18030 = []byte("\x84\x31\x95\x33")
)

type csvSource struct {
	path   string
	f      *os.File
	gb     bool // decode as GB18030
	header []string
	colIdx []int // required column → field index
	nField int
	// data offset and line number of the first record after the header
	start     int64
	startLine int64

	// Encoding auto, decided neither by a BOM nor by the first 64 KiB:
	// every chunk is classified. ASCII reads the same either way; a chunk
	// that is valid UTF-8 is read as UTF-8, one that is not as GB18030,
	// and a file with both is an error (it is not valid UTF-8, yet part of
	// it has already been read as UTF-8 text).
	auto            bool
	sawUTF8, sawGB  atomic.Bool
	bom             string
	renamed         map[string]string
	encodingRequest Encoding
	// declaredUTF8: read as UTF-8 because --encoding UTF-8 or a UTF-8 BOM
	// says so; a record that is not valid UTF-8 is then rejected rather
	// than screened as garbled text.
	declaredUTF8 bool
}

func openCSV(path, table string, required, presence []string, enc Encoding, cols *ColumnMap) (source, error) {
	switch enc {
	case "", EncodingAuto, EncodingUTF8, EncodingGB18030:
	default:
		return nil, fmt.Errorf("%s: unknown encoding %q (auto, UTF-8 or GB18030)", path, enc)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	s := &csvSource{path: path, f: f, gb: enc == EncodingGB18030, encodingRequest: enc}
	if err := s.readHeader(table, required, presence, cols); err != nil {
		f.Close()
		return nil, err
	}
	return s, nil
}

func (s *csvSource) file() string { return s.path }

// rows guesses from the file size (about 100 bytes per visit row).
func (s *csvSource) rows() int64 {
	st, err := s.f.Stat()
	if err != nil {
		return 0
	}
	return st.Size() / 100
}
func (s *csvSource) close() error { return s.f.Close() }

func (s *csvSource) info() TableInput {
	enc := EncodingUTF8
	if s.gb || s.sawGB.Load() {
		enc = EncodingGB18030
	}
	return TableInput{File: filepath.Base(s.path), Encoding: string(enc), BOM: s.bom, Columns: s.renamed}
}

func (s *csvSource) readHeader(table string, required, presence []string, cols *ColumnMap) error {
	buf := make([]byte, 64<<10)
	n, err := io.ReadFull(s.f, buf)
	if err != nil && err != io.ErrUnexpectedEOF && err != io.EOF {
		return fmt.Errorf("%s: %w", s.path, err)
	}
	whole := n < len(buf)
	buf = buf[:n]
	off := 0
	auto := s.encodingRequest == "" || s.encodingRequest == EncodingAuto
	switch {
	case bytes.HasPrefix(buf, bomUTF8):
		if s.encodingRequest == EncodingGB18030 {
			return bomConflict(s.path, EncodingUTF8, EncodingGB18030)
		}
		off, s.bom = len(bomUTF8), string(EncodingUTF8)
		if auto {
			s.gb, auto = false, false
		}
	case bytes.HasPrefix(buf, bomGB18030):
		if s.encodingRequest == EncodingUTF8 {
			return bomConflict(s.path, EncodingGB18030, EncodingUTF8)
		}
		off, s.bom = len(bomGB18030), string(EncodingGB18030)
		if auto {
			s.gb, auto = true, false
		}
	}
	if auto {
		// The first 64 KiB (whole records) decide when they are not UTF-8;
		// otherwise the chunks are classified as they are read.
		sample := buf[off:]
		if !whole {
			sample = sample[:lastBoundary(sample)]
		}
		switch classifyUTF8(sample) {
		case chunkInvalid:
			s.gb = true
		default:
			s.auto = true
		}
	}
	s.declaredUTF8 = !s.gb && !auto
	end, _, ok := recordEnd(buf[off:])
	if !ok {
		return fmt.Errorf("%s: no header row (or header longer than 64 KiB)", s.path)
	}
	rec := buf[off : off+end]
	next := off + end + 1
	rec = bytes.TrimSuffix(rec, []byte("\r"))
	if s.gb {
		dec, err := simplifiedchinese.GB18030.NewDecoder().Bytes(rec)
		if err != nil {
			return fmt.Errorf("%s: header is not GB18030: %w", s.path, err)
		}
		rec = dec
	} else if s.auto && classifyUTF8(rec) == chunkUTF8 {
		s.sawUTF8.Store(true)
	}
	var scratch []byte
	fields, _, perr := splitRecord(rec, nil, nil, &scratch)
	if perr != "" {
		return fmt.Errorf("%s: header: %s", s.path, perr)
	}
	s.header = make([]string, len(fields))
	for i, fr := range fields {
		name := string(rec[fr[0]:fr[1]])
		if fr[2] != 0 {
			name = string(scratch[fr[0]:fr[1]])
		}
		s.header[i] = name
	}
	s.nField = len(fields)
	res, err := resolveColumns(s.path, table, s.header, cols, append(append([]string(nil), presence...), required...))
	if err != nil {
		return err
	}
	s.colIdx, s.renamed = res.idx[len(presence):], res.renamed
	s.start = int64(next)
	s.startLine = 2
	return nil
}

// chunkClass is what classifyUTF8 found.
type chunkClass int

const (
	chunkASCII chunkClass = iota
	chunkUTF8             // valid UTF-8 with non-ASCII text
	chunkInvalid
)

// classifyUTF8 tells ASCII, valid UTF-8 and anything else apart.
func classifyUTF8(b []byte) chunkClass {
	i := 0
	for i+8 <= len(b) && binary.LittleEndian.Uint64(b[i:])&0x8080808080808080 == 0 {
		i += 8
	}
	for i < len(b) && b[i] < 0x80 {
		i++
	}
	if i == len(b) {
		return chunkASCII
	}
	if utf8.Valid(b[i:]) {
		return chunkUTF8
	}
	return chunkInvalid
}

// recordEnd returns the index of the LF that ends the first record of b by
// the quote-parity rule, the number of quotes before it, and whether an LF
// was found.
func recordEnd(b []byte) (int, int, bool) {
	quotes := 0
	pos := 0
	for {
		nl := bytes.IndexByte(b[pos:], '\n')
		if nl < 0 {
			return 0, 0, false
		}
		quotes += bytes.Count(b[pos:pos+nl], []byte{'"'})
		if quotes%2 == 0 {
			return pos + nl, quotes, true
		}
		pos += nl + 1
	}
}

// lastBoundary returns the length of the longest prefix of b made of whole
// records (ending just after an LF outside quotes); 0 if there is none.
func lastBoundary(b []byte) int {
	end := bytes.LastIndexByte(b, '\n')
	if end < 0 {
		return 0
	}
	q := bytes.Count(b[:end], []byte{'"'})
	for q%2 != 0 {
		prev := bytes.LastIndexByte(b[:end], '\n')
		if prev < 0 {
			return 0
		}
		q -= bytes.Count(b[prev:end], []byte{'"'})
		end = prev
	}
	return end + 1
}

// tasks cuts the file into chunks of whole records.
func (s *csvSource) tasks(ctx context.Context, ch chan<- task) error {
	defer close(ch)
	if _, err := s.f.Seek(s.start, io.SeekStart); err != nil {
		return fmt.Errorf("%s: %w", s.path, err)
	}
	line := s.startLine
	var carry []byte
	size := csvChunkSize
	for {
		buf := make([]byte, len(carry), len(carry)+size)
		copy(buf, carry)
		n, err := io.ReadFull(s.f, buf[len(carry):len(carry)+size])
		buf = buf[:len(carry)+n]
		eof := err == io.EOF || err == io.ErrUnexpectedEOF
		if err != nil && !eof {
			return fmt.Errorf("%s: %w", s.path, err)
		}
		cut := len(buf)
		if !eof {
			cut = lastBoundary(buf)
			if cut == 0 { // one record longer than a chunk: read on, doubling
				carry = buf
				size = max(size, len(buf))
				continue
			}
			size = csvChunkSize
		}
		if cut > 0 {
			t := &csvTask{src: s, data: buf[:cut:cut], line: line}
			line += int64(bytes.Count(buf[:cut], []byte{'\n'}))
			select {
			case ch <- t:
			case <-ctx.Done():
				return nil
			}
		}
		if eof {
			return nil
		}
		carry = append([]byte(nil), buf[cut:]...)
	}
}

type csvTask struct {
	src  *csvSource
	data []byte // whole records, undecoded
	line int64  // line number of the first record
}

func (t *csvTask) run(ctx context.Context, emit func(*batch) error) error {
	s := t.src
	data := t.data
	gb := s.gb
	if s.auto {
		switch classifyUTF8(data) {
		case chunkUTF8:
			s.sawUTF8.Store(true)
			if s.sawGB.Load() {
				return s.mixedEncodings(data, t.line)
			}
		case chunkInvalid:
			gb = true
			s.sawGB.Store(true)
			if s.sawUTF8.Load() {
				return s.mixedEncodings(data, t.line)
			}
		}
	}
	if gb {
		// Decoding per record keeps line numbers right and isolates a bad
		// byte sequence to its record.
		var err error
		data, err = decodeGB18030Lines(data)
		if err != nil {
			return fmt.Errorf("%s: %w", s.path, err)
		}
	}
	// Declared UTF-8: one pass tells whether the chunk is valid (the usual
	// case); only a chunk that is not checks its records one by one.
	checkUTF8 := s.declaredUTF8 && classifyUTF8(data) == chunkInvalid
	b, err := parseCSVChunk(s.path, data, t.line, s.nField, s.colIdx, checkUTF8)
	if err != nil {
		return err
	}
	return emit(b)
}

// mixedEncodings is the error for a file with both valid UTF-8 text and
// bytes that are not UTF-8 (under --encoding auto).
func (s *csvSource) mixedEncodings(data []byte, line int64) error {
	bad := 0
	for bad < len(data) {
		r, size := utf8.DecodeRune(data[bad:])
		if r == utf8.RuneError && size <= 1 {
			break
		}
		bad += size
	}
	if bad < len(data) {
		line += int64(bytes.Count(data[:bad], []byte{'\n'}))
	}
	return fmt.Errorf("%s: part of the file is UTF-8 text and part is not (near line %d): "+
		"with --encoding auto that cannot be read consistently; convert the file, or say --encoding UTF-8 or GB18030", s.path, line)
}

// decodeGB18030Lines decodes a chunk of whole records; a record that is not
// valid GB18030 is replaced by itself with invalid bytes mapped to U+FFFD,
// so that it is still delimited correctly (the value checks then reject it
// if a required field is affected).
func decodeGB18030Lines(b []byte) ([]byte, error) {
	out, err := simplifiedchinese.GB18030.NewDecoder().Bytes(b)
	if err == nil {
		return out, nil
	}
	// x/text's GB18030 decoder replaces invalid sequences instead of failing,
	// so this is not expected; report rather than guess.
	return nil, fmt.Errorf("GB18030 decoding: %w", err)
}

// parseCSVChunk splits decoded whole records into a batch. Fields of the
// required columns become column views into data (unquoted) or into a
// scratch area appended after data (quoted with escapes). checkUTF8 rejects
// records that are not valid UTF-8. The error is a quote never closed over
// several lines (see unclosedQuote).
func parseCSVChunk(path string, data []byte, firstLine int64, nField int, colIdx []int, checkUTF8 bool) (*batch, error) {
	est := bytes.Count(data, []byte{'\n'}) + 1
	b := &batch{cols: make([]column, len(colIdx)), lines: make([]int64, 0, est),
		rawStart: make([]uint32, 0, est), rawEnd: make([]uint32, 0, est)}
	for c := range b.cols {
		b.cols[c].starts = make([]uint32, 0, est)
		b.cols[c].ends = make([]uint32, 0, est)
	}
	// Unescaped quoted fields go to scratch, which is appended to data at
	// the end; their offsets are marked and fixed up then.
	var scratch []byte
	type fix struct{ col, row int }
	var fixes []fix
	fields := make([][3]uint32, 0, nField)
	line := firstLine
	pos := 0
	for pos < len(data) {
		end, _, ok := recordEnd(data[pos:])
		recEnd := pos + end
		next := recEnd + 1
		if !ok {
			recEnd, next = len(data), len(data)
		}
		rec := data[pos:recEnd]
		recLines := int64(bytes.Count(rec, []byte{'\n'})) + 1
		rec = bytes.TrimSuffix(rec, []byte("\r"))
		if len(rec) == 0 { // blank line
			pos = next
			line += recLines
			continue
		}
		var perr string
		if !ok && bytes.Count(rec, []byte{'"'})%2 != 0 {
			if err := unclosedQuote(path, rec, line); err != nil {
				return nil, err
			}
			rec = bytes.TrimSuffix(bytes.TrimSuffix(rec, []byte("\n")), []byte("\r"))
			perr = reasonTruncated
		} else if checkUTF8 && !utf8.Valid(rec) {
			perr = reasonNotUTF8
		} else {
			fields, _, perr = splitRecord(rec, fields[:0], nil, &scratch)
			if perr == "" && len(fields) != nField {
				perr = fmt.Sprintf("expected %d fields, got %d", nField, len(fields))
			}
		}
		if perr != "" {
			b.rejects = append(b.rejects, reject{file: path, line: line, reason: perr, raw: string(rec)})
			pos = next
			line += recLines
			continue
		}
		row := len(b.lines)
		b.lines = append(b.lines, line)
		b.rawStart = append(b.rawStart, uint32(pos))
		b.rawEnd = append(b.rawEnd, uint32(pos+len(rec)))
		for c, fi := range colIdx {
			f := fields[fi]
			if f[2] != 0 {
				fixes = append(fixes, fix{c, row})
				b.cols[c].starts = append(b.cols[c].starts, f[0])
				b.cols[c].ends = append(b.cols[c].ends, f[1])
			} else {
				b.cols[c].starts = append(b.cols[c].starts, uint32(pos)+f[0])
				b.cols[c].ends = append(b.cols[c].ends, uint32(pos)+f[1])
			}
		}
		pos = next
		line += recLines
	}
	if len(fixes) > 0 {
		base := uint32(len(data))
		data = append(data[:len(data):len(data)], scratch...)
		for _, fx := range fixes {
			b.cols[fx.col].starts[fx.row] += base
			b.cols[fx.col].ends[fx.row] += base
		}
	}
	for c := range b.cols {
		b.cols[c].data = data
	}
	b.rawCSV = data
	b.n = len(b.lines)
	return b, nil
}

// splitRecord splits one record (without its LF) into fields: each is
// {start, end, inScratch}; start/end index rec, or scratch when the field
// was quoted and contained an escaped quote. perr describes a syntax error.
func splitRecord(rec []byte, fields [][3]uint32, _ []byte, scratch *[]byte) ([][3]uint32, int, string) {
	i := 0
	for {
		if i < len(rec) && rec[i] == '"' {
			// quoted field
			i++
			start := i
			escaped := false
			for {
				q := bytes.IndexByte(rec[i:], '"')
				if q < 0 {
					return fields, 0, "unterminated quoted field"
				}
				i += q
				if i+1 < len(rec) && rec[i+1] == '"' {
					escaped = true
					i += 2
					continue
				}
				break
			}
			end := i
			i++ // closing quote
			if escaped {
				s0 := uint32(len(*scratch))
				*scratch = append(*scratch, bytes.ReplaceAll(rec[start:end], []byte(`""`), []byte(`"`))...)
				fields = append(fields, [3]uint32{s0, uint32(len(*scratch)), 1})
			} else {
				fields = append(fields, [3]uint32{uint32(start), uint32(end), 0})
			}
			if i == len(rec) {
				return fields, 0, ""
			}
			if rec[i] != ',' {
				return fields, 0, fmt.Sprintf("text after closing quote in field %d", len(fields))
			}
			i++
			continue
		}
		// unquoted field
		start := i
		c := bytes.IndexByte(rec[i:], ',')
		end := len(rec)
		if c >= 0 {
			end = i + c
		}
		if bytes.IndexByte(rec[start:end], '"') >= 0 {
			return fields, 0, fmt.Sprintf("quote inside unquoted field %d", len(fields)+1)
		}
		fields = append(fields, [3]uint32{uint32(start), uint32(end), 0})
		if c < 0 {
			return fields, 0, ""
		}
		i = end + 1
	}
}

// appendCSVField appends a CSV-quoted field when needed.
func appendCSVField(dst, f []byte) []byte {
	if !bytes.ContainsAny(f, ",\"\r\n") {
		return append(dst, f...)
	}
	dst = append(dst, '"')
	for _, c := range f {
		if c == '"' {
			dst = append(dst, '"')
		}
		dst = append(dst, c)
	}
	return append(dst, '"')
}

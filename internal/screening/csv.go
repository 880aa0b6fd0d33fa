package screening

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"

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
// after a closing quote, an unterminated quote, the wrong number of fields)
// is rejected with its line number; the run goes on.

// csvChunkSize is the read size of one CSV task (a variable for tests).
var csvChunkSize = 4 << 20

type csvSource struct {
	path   string
	f      *os.File
	gb     bool
	header []string
	colIdx []int // required column → field index
	nField int
	// data offset and line number of the first record after the header
	start     int64
	startLine int64
}

func openCSV(path string, required, presence []string, enc Encoding) (source, error) {
	switch enc {
	case "", EncodingUTF8, EncodingGB18030:
	default:
		return nil, fmt.Errorf("%s: unknown encoding %q (UTF-8 or GB18030)", path, enc)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	s := &csvSource{path: path, f: f, gb: enc == EncodingGB18030}
	if err := s.readHeader(required, presence); err != nil {
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

func (s *csvSource) readHeader(required, presence []string) error {
	buf := make([]byte, 64<<10)
	n, err := io.ReadFull(s.f, buf)
	if err != nil && err != io.ErrUnexpectedEOF && err != io.EOF {
		return fmt.Errorf("%s: %w", s.path, err)
	}
	buf = buf[:n]
	off := 0
	if bytes.HasPrefix(buf, []byte("\xEF\xBB\xBF")) {
		off = 3 // UTF-8 BOM, also tolerated in GB18030 mode (a BOM is never GB18030 text)
	}
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
	}
	var scratch []byte
	fields, _, perr := splitRecord(rec, nil, nil, &scratch)
	if perr != "" {
		return fmt.Errorf("%s: header: %s", s.path, perr)
	}
	s.header = make([]string, len(fields))
	pos := map[string]int{}
	for i, fr := range fields {
		name := string(rec[fr[0]:fr[1]])
		if fr[2] != 0 {
			name = string(scratch[fr[0]:fr[1]])
		}
		s.header[i] = name
		if _, dup := pos[name]; !dup {
			pos[name] = i
		}
	}
	s.nField = len(fields)
	for _, name := range presence {
		if _, ok := pos[name]; !ok {
			return fmt.Errorf("%s: missing column %q (header: %v)", s.path, name, s.header)
		}
	}
	for _, name := range required {
		i, ok := pos[name]
		if !ok {
			return fmt.Errorf("%s: missing column %q (header: %v)", s.path, name, s.header)
		}
		s.colIdx = append(s.colIdx, i)
	}
	s.start = int64(next)
	s.startLine = 2
	return nil
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
	if s.gb {
		// Decoding per record keeps line numbers right and isolates a bad
		// byte sequence to its record.
		var err error
		data, err = decodeGB18030Lines(data)
		if err != nil {
			return fmt.Errorf("%s: %w", s.path, err)
		}
	}
	b := parseCSVChunk(s.path, data, t.line, s.nField, s.colIdx)
	return emit(b)
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
// scratch area appended after data (quoted with escapes).
func parseCSVChunk(path string, data []byte, firstLine int64, nField int, colIdx []int) *batch {
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
			perr = "unterminated quoted field"
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
	return b
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

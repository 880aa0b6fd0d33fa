package screening

import "encoding/binary"

// Values as platforms write them (docs/data-format.md, "Values"). Every
// reader first tries the strict form (the one the synthetic generator and a
// clean export write); only a value that fails it, or a code that has
// surrounding white space or a non-ASCII byte, takes the slow path here:
// full-width forms folded to ASCII, surrounding white space trimmed, other
// date and date-time layouts, thousands separators. What the slow path
// changed is counted per table, column and kind (stats.json "normalized").
// Options.Strict turns all of it off.

// normKind is a set of normalisations applied to one value.
type normKind uint8

const (
	normTrimmed normKind = 1 << iota
	normFullWidth
	normThousands
	normDateTimeLayout
	normDateLayout
	normFractionalSeconds
	nNormKinds = iota
)

// normKindNames are the keys of stats.json "normalized".
var normKindNames = [nNormKinds]string{"trimmed", "fullWidth", "thousandsSeparator", "dateTimeLayout", "dateLayout", "fractionalSeconds"}

// normMask packs the normKinds of a row's columns, 6 bits per column (at
// most 10 columns).
type normMask uint64

func (m *normMask) set(col int, k normKind) { *m |= normMask(k) << (6 * col) }

// normCounts counts normalisations of one table: [column][kind].
type normCounts [][nNormKinds]int64

func (c normCounts) add(m normMask) {
	for col := 0; m != 0; col++ {
		if k := uint8(m & 63); k != 0 {
			for b := 0; b < nNormKinds; b++ {
				if k&(1<<b) != 0 {
					c[col][b]++
				}
			}
		}
		m >>= 6
	}
}

// report renders counts as column → kind → n for the columns of def.
func (c normCounts) report(def tableDef, into map[string]map[string]map[string]int64) {
	for col, ks := range c {
		for b, n := range ks {
			if n == 0 {
				continue
			}
			t := into[def.name]
			if t == nil {
				t = map[string]map[string]int64{}
				into[def.name] = t
			}
			name := def.required[col]
			if t[name] == nil {
				t[name] = map[string]int64{}
			}
			t[name][normKindNames[b]] += n
		}
	}
}

// dirtyCode reports whether a code may need normalisation: white space at
// either end or a non-ASCII byte anywhere (a full-width form). It is small
// enough to be inlined: a clean code of n bytes costs two byte compares and
// ⌈n/8⌉ word loads.
func dirtyCode(b []byte) bool {
	n := len(b)
	if n < 8 {
		return n > 0 && dirtyShort(b)
	}
	x := binary.LittleEndian.Uint64(b[n-8:])
	for i := 0; i < n-8; i += 8 {
		x |= binary.LittleEndian.Uint64(b[i:])
	}
	return x&0x8080808080808080 != 0 || b[0] <= ' ' || b[n-1] <= ' '
}

func dirtyShort(b []byte) bool {
	for _, c := range b {
		if c >= 0x80 {
			return true
		}
	}
	return b[0] <= ' ' || b[len(b)-1] <= ' '
}

// foldWidth appends b to dst with the full-width forms of ASCII (U+FF01–
// U+FF5E, UTF-8 EF BC 81 … EF BD 9E) replaced by ASCII and the ideographic
// space U+3000 (E3 80 80) by a space; ok says whether any was found (if
// not, the result is to be ignored and dst used as it was).
func foldWidth(dst, b []byte) ([]byte, bool) {
	i := 0
	for i+2 < len(b) && !(b[i] == 0xEF && (b[i+1] == 0xBC || b[i+1] == 0xBD)) && !(b[i] == 0xE3 && b[i+1] == 0x80 && b[i+2] == 0x80) {
		i++
	}
	if i+2 >= len(b) {
		return dst, false
	}
	found := false
	dst = append(dst, b[:i]...)
	for i < len(b) {
		c := b[i]
		if c == 0xE3 && i+2 < len(b) && b[i+1] == 0x80 && b[i+2] == 0x80 {
			dst = append(dst, ' ')
			i += 3
			found = true
			continue
		}
		if c == 0xEF && i+2 < len(b) {
			r := rune(b[i+1]&0x3F)<<6 | rune(b[i+2]&0x3F) | 0xF000
			if b[i+1]&0xC0 == 0x80 && b[i+2]&0xC0 == 0x80 && r >= 0xFF01 && r <= 0xFF5E {
				dst = append(dst, byte(r-0xFEE0))
				i += 3
				found = true
				continue
			}
		}
		dst = append(dst, c)
		i++
	}
	return dst, found
}

// trimSpaces removes space, TAB, U+00A0 (C2 A0) and U+3000 (E3 80 80) at
// both ends.
func trimSpaces(b []byte) []byte {
	for len(b) > 0 {
		switch {
		case b[0] == ' ' || b[0] == '\t':
			b = b[1:]
		case len(b) >= 2 && b[0] == 0xC2 && b[1] == 0xA0:
			b = b[2:]
		case len(b) >= 3 && b[0] == 0xE3 && b[1] == 0x80 && b[2] == 0x80:
			b = b[3:]
		default:
			goto end
		}
	}
end:
	for n := len(b); n > 0; n = len(b) {
		switch {
		case b[n-1] == ' ' || b[n-1] == '\t':
			b = b[:n-1]
		case n >= 2 && b[n-2] == 0xC2 && b[n-1] == 0xA0:
			b = b[:n-2]
		case n >= 3 && b[n-3] == 0xE3 && b[n-2] == 0x80 && b[n-1] == 0x80:
			b = b[:n-3]
		default:
			return b
		}
	}
	return b
}

// normalizer holds a worker's scratch buffer for the slow path. Results
// are appended to buf and stay valid until reset (an older result is never
// overwritten: a reallocation leaves it in the old array).
type normalizer struct {
	buf []byte
}

func (z *normalizer) reset() { z.buf = z.buf[:0] }

// code normalises a code on the slow path (callers test dirtyCode first, or
// come here because the value as read did not resolve): white space at the
// ends trimmed, then full-width forms folded (an inner U+3000 becomes a
// space).
func (z *normalizer) code(b []byte) ([]byte, normKind) {
	var k normKind
	out := trimSpaces(b)
	if len(out) != len(b) {
		k = normTrimmed
	}
	start := len(z.buf)
	if f, ok := foldWidth(z.buf, out); ok {
		z.buf = f
		out, k = f[start:], k|normFullWidth
	}
	return out[:len(out):len(out)], k
}

// decimal parses a decimal that failed parseDecimal: full-width folded,
// trimmed, and thousands separators (1,234,567.89: groups of exactly three
// digits, commas only before the point) removed.
func (z *normalizer) decimal(b []byte) (int64, normKind, bool) {
	s, k := z.code(b)
	if v, ok := parseDecimal(s); ok && k != 0 {
		return v, k, true
	}
	start := len(z.buf)
	t, ok := stripThousands(z.buf, s)
	if !ok {
		return 0, 0, false
	}
	z.buf = t
	v, ok := parseDecimal(t[start:])
	if !ok {
		return 0, 0, false
	}
	return v, k | normThousands, true
}

// stripThousands appends s without its thousands separators to dst when s
// is -?D{1,3}(,DDD)+ followed by anything but a digit or comma (the
// fraction is checked by parseDecimal afterwards).
func stripThousands(dst, s []byte) ([]byte, bool) {
	i := 0
	if i < len(s) && s[i] == '-' {
		i++
	}
	lead := 0
	for i+lead < len(s) && isDigit(s[i+lead]) {
		lead++
	}
	if lead < 1 || lead > 3 || i+lead == len(s) || s[i+lead] != ',' {
		return dst, false
	}
	dst = append(dst, s[:i+lead]...)
	i += lead
	for i < len(s) && s[i] == ',' {
		if i+4 > len(s) || !isDigit(s[i+1]) || !isDigit(s[i+2]) || !isDigit(s[i+3]) || (i+4 < len(s) && isDigit(s[i+4])) {
			return dst, false
		}
		dst = append(dst, s[i+1:i+4]...)
		i += 4
	}
	return append(dst, s[i:]...), true
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// dateTime parses a date-time that failed parseDateTime: full-width folded,
// trimmed, then one of the layouts of dateTimeLayouts.
func (z *normalizer) dateTime(b []byte) (int64, normKind, bool) {
	s, k := z.code(b)
	if t, ok := parseDateTime(s); ok && k != 0 {
		return t, k, true
	}
	t, k2, ok := parseDateTimeLayouts(s)
	if !ok {
		return 0, 0, false
	}
	return t, k | k2, true
}

// date parses a date that failed parseDate: full-width folded, trimmed,
// then YYYY/M/D or YYYYMMDD.
func (z *normalizer) date(b []byte) (int32, normKind, bool) {
	s, k := z.code(b)
	if d, ok := parseDate(s); ok && k != 0 {
		return d, k, true
	}
	d, rest, ok := parseDatePrefix(s)
	if !ok || len(rest) != 0 {
		return 0, 0, false
	}
	return d, k | normDateLayout, true
}

// parseDatePrefix reads YYYY-MM-DD, YYYY/M/D (1 or 2 digits) or YYYYMMDD
// at the start of s and returns the day and the rest. For YYYYMMDD the
// rest starts right after the eighth digit.
func parseDatePrefix(s []byte) (int32, []byte, bool) {
	if len(s) < 8 {
		return 0, nil, false
	}
	y, ok := digits(s[:4])
	if !ok {
		return 0, nil, false
	}
	var mo, d int
	var rest []byte
	switch s[4] {
	case '-':
		if len(s) < 10 || s[7] != '-' {
			return 0, nil, false
		}
		var ok1, ok2 bool
		mo, ok1 = digits(s[5:7])
		d, ok2 = digits(s[8:10])
		if !ok1 || !ok2 {
			return 0, nil, false
		}
		rest = s[10:]
	case '/':
		var ok1, ok2 bool
		mo, rest, ok1 = upTo2(s[5:])
		if !ok1 || len(rest) == 0 || rest[0] != '/' {
			return 0, nil, false
		}
		d, rest, ok2 = upTo2(rest[1:])
		if !ok2 {
			return 0, nil, false
		}
	default:
		var ok1, ok2 bool
		mo, ok1 = digits(s[4:6])
		d, ok2 = digits(s[6:8])
		if !ok1 || !ok2 {
			return 0, nil, false
		}
		rest = s[8:]
	}
	if mo < 1 || mo > 12 || d < 1 || d > daysIn(y, mo) {
		return 0, nil, false
	}
	return daysFromCivil(y, mo, d), rest, true
}

// parseDateTimeLayouts reads the date-time layouts other than the strict
// one: YYYY-MM-DD hh:mm:ss, YYYY-MM-DDThh:mm:ss, YYYY/M/D hh:mm:ss (hour of
// one or two digits) and YYYYMMDDhhmmss, each optionally followed by a
// fraction of a second (.1 to .123456789, dropped).
func parseDateTimeLayouts(s []byte) (int64, normKind, bool) {
	day, rest, ok := parseDatePrefix(s)
	if !ok {
		return 0, 0, false
	}
	k := normDateTimeLayout
	var h, m, sec int
	if s[4] != '-' && s[4] != '/' { // YYYYMMDDhhmmss
		if len(rest) < 6 {
			return 0, 0, false
		}
		var ok1, ok2, ok3 bool
		h, ok1 = digits(rest[0:2])
		m, ok2 = digits(rest[2:4])
		sec, ok3 = digits(rest[4:6])
		if !ok1 || !ok2 || !ok3 {
			return 0, 0, false
		}
		rest = rest[6:]
	} else {
		if len(rest) == 0 || !(rest[0] == ' ' || (rest[0] == 'T' && s[4] == '-')) {
			return 0, 0, false
		}
		var ok1 bool
		h, rest, ok1 = upTo2(rest[1:])
		if !ok1 || len(rest) < 6 || rest[0] != ':' || rest[3] != ':' {
			return 0, 0, false
		}
		var ok2, ok3 bool
		m, ok2 = digits(rest[1:3])
		sec, ok3 = digits(rest[4:6])
		if !ok2 || !ok3 {
			return 0, 0, false
		}
		rest = rest[6:]
	}
	if len(rest) > 0 {
		if rest[0] != '.' || len(rest) < 2 || len(rest) > 10 {
			return 0, 0, false
		}
		if _, ok := digits(rest[1:]); !ok {
			return 0, 0, false
		}
		k |= normFractionalSeconds
		if s[4] == '-' && len(s)-len(rest) == 19 && s[10] == ' ' {
			k &^= normDateTimeLayout // the strict layout plus a fraction
		}
	}
	if h > 23 || m > 59 || sec > 59 {
		return 0, 0, false
	}
	return int64(day)*secondsPerDay + int64(h*3600+m*60+sec), k, true
}

// digits parses a run of ASCII digits (at most 9).
func digits(b []byte) (int, bool) {
	if len(b) == 0 || len(b) > 9 {
		return 0, false
	}
	v := 0
	for _, c := range b {
		if !isDigit(c) {
			return 0, false
		}
		v = v*10 + int(c-'0')
	}
	return v, true
}

// upTo2 parses one or two digits at the start of b.
func upTo2(b []byte) (int, []byte, bool) {
	n := 0
	for n < len(b) && n < 3 && isDigit(b[n]) {
		n++
	}
	if n == 0 || n > 2 {
		return 0, nil, false
	}
	v, _ := digits(b[:n])
	return v, b[n:], true
}

// normReport is stats.json "normalized": table → column → kind → count.
type normReport = map[string]map[string]map[string]int64

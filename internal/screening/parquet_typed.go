package screening

import (
	"math"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/encoding"
	"github.com/parquet-go/parquet-go/format"
)

// Typed Parquet columns (INT32/INT64: plain integers, DECIMAL, DATE,
// TIMESTAMP) are read without text. A batch's column then points at the
// page's integers (typedCol), and the accessors below (fastDecimal,
// fastDateTime, fastDay, fastSmallInt) turn a value straight into the
// engine's representation — but only where the text path (toText, then
// the strict parser) would have produced exactly that value. For anything
// else (a text column, a null, a value beyond the documented range, a type
// that is not the one the column calls for) they say no (ok false) and the
// caller parses the text, made on demand with toText (column.at), so
// findings, rejects and their reasons are those of the text path.
// Formatting and parsing every value was most of the CPU of a typed file
// (issue 14); this is hand-written for that reason.

// numKind says how a typed column's integers read as values.
type numKind uint8

const (
	numNone      numKind = iota // FLOAT/DOUBLE and BYTE_ARRAY: text only
	numPlain                    // an integer (also DECIMAL with scale 0)
	numDecimal                  // DECIMAL with scale 1..4
	numDate                     // DATE: days since 1970-01-01
	numTimestamp                // TIMESTAMP: ticks of unit since 1970-01-01 00:00:00 (wall clock)
)

// numConv is how a typed column's integers map to values.
type numConv struct {
	kind numKind
	// decimals: value in units = raw × mul, exact while |raw| < lim (at
	// most maxIntDigits integer digits, as parseDecimal requires).
	mul, lim int64
	unit     int64 // timestamps: ticks per second
}

// The date-times and dates that toText writes as four-digit years, which
// the strict parsers read back exactly (years 0000..9999).
var (
	minTextDay = int64(daysFromCivil(0, 1, 1))
	maxTextDay = int64(daysFromCivil(10000, 1, 1)) // exclusive
)

func newNumConv(kind parquet.Kind, logic *format.LogicalType) numConv {
	if kind != parquet.Int32 && kind != parquet.Int64 {
		return numConv{}
	}
	c := numConv{kind: numPlain, mul: scale, lim: int64(math.Pow10(maxIntDigits))}
	if logic == nil {
		return c
	}
	switch l := logic.Value.(type) {
	case *format.DecimalType:
		if l.Scale > 0 { // scale ≤ 4 (openParquet refuses more)
			c.kind = numDecimal
			c.mul = int64(math.Pow10(maxFracDigits - int(l.Scale)))
			c.lim = int64(math.Pow10(maxIntDigits + int(l.Scale)))
		}
	case *format.DateType:
		c.kind = numDate
	case *format.TimestampType:
		c.kind, c.unit = numTimestamp, 1
		switch l.Unit.Value.(type) {
		case *format.MilliSeconds:
			c.unit = 1000
		case *format.MicroSeconds:
			c.unit = 1000000
		case *format.NanoSeconds:
			c.unit = 1000000000
		}
	}
	return c
}

// typedCol is the current page of a typed column: its integers (or the
// dictionary's, with the page's indexes), and its text once asked for.
type typedCol struct {
	conv *numConv
	i32  []int32
	i64  []int64
	idx  []int32 // dictionary page: entry per row, -1 = null
	null []bool  // page with nulls (not a dictionary page): row is null
	// buffers of a page with nulls, its values spread over its rows
	nullBuf []bool
	i64Buf  []int64
	// The page's text, made by materialize on the first at().
	ready bool
	text  column
	make  func() column
}

// raw returns the integer of row j and whether it is there (not null).
func (t *typedCol) raw(j int) (int64, bool) {
	if t.idx != nil {
		if j = int(t.idx[j]); j < 0 {
			return 0, false
		}
	} else if t.null != nil && t.null[j] {
		return 0, false
	}
	if t.i64 != nil {
		return t.i64[j], true
	}
	return int64(t.i32[j]), true
}

// textAt is row j as toText writes it.
func (t *typedCol) textAt(j int) []byte {
	if !t.ready {
		t.text, t.ready = t.make(), true
	}
	return t.text.at(j)
}

// setInts points t at values (count n) of the column's physical type.
func (t *typedCol) setInts(kind parquet.Kind, v *encoding.Values, n int) {
	t.i32, t.i64 = nil, nil
	if kind == parquet.Int64 {
		t.i64 = v.Int64()[:n]
	} else {
		t.i32 = v.Int32()[:n]
	}
}

// spreadNulls points t at the n non-null values of v spread over the rows
// of defs (a page with nulls).
func (t *typedCol) spreadNulls(kind parquet.Kind, v *encoding.Values, n int, defs []byte, maxDef int) {
	t.setInts(kind, v, n)
	t.null, t.i64 = t.nullBuf[:0], t.i64Buf[:0]
	j := 0
	for _, d := range defs {
		var x int64
		isNull := int(d) != maxDef
		if !isNull {
			if t.i32 != nil {
				x = int64(t.i32[j])
			} else {
				x = v.Int64()[j]
			}
			j++
		}
		t.null, t.i64 = append(t.null, isNull), append(t.i64, x)
	}
	t.i32, t.nullBuf, t.i64Buf = nil, t.null, t.i64
}

// fastDecimal is value i of c in units, as parseDecimal reads its text.
func fastDecimal(c *column, i int) (int64, bool) {
	if c.tc == nil {
		return 0, false
	}
	return c.tc.decimal(c.off + i)
}

// fastDateTime is value i of c in seconds, as parseDateTime reads its
// text.
func fastDateTime(c *column, i int) (int64, bool) {
	if c.tc == nil {
		return 0, false
	}
	return c.tc.dateTime(c.off + i)
}

// fastDay is value i of c in days, as parseDate reads its text.
func fastDay(c *column, i int) (int32, bool) {
	if c.tc == nil {
		return 0, false
	}
	return c.tc.day(c.off + i)
}

// fastSmallInt is value i of c as parseSmallInt reads its text.
func fastSmallInt(c *column, i int) (int, bool) {
	if c.tc == nil {
		return 0, false
	}
	return c.tc.smallInt(c.off + i)
}

func (t *typedCol) decimal(j int) (int64, bool) {
	if t.conv.isDecimal() {
		if x, ok := t.raw(j); ok {
			if v, ok := t.conv.decimal(x); ok {
				return v, true
			}
		}
	}
	return 0, false
}

func (t *typedCol) dateTime(j int) (int64, bool) {
	if t.conv.kind == numTimestamp {
		if x, ok := t.raw(j); ok {
			if sec, ok := t.conv.seconds(x); ok {
				return sec, true
			}
		}
	}
	return 0, false
}

// isDecimal: the column's integers read as decimals (numConv.decimal).
func (c *numConv) isDecimal() bool { return c.kind == numPlain || c.kind == numDecimal }

// decimal is integer x of a decimal column in units, and whether
// parseDecimal reads toText's text of it as that (x within lim); the
// value is meaningless when not.
func (c *numConv) decimal(x int64) (int64, bool) { return x * c.mul, x > -c.lim && x < c.lim }

// seconds is integer x of a timestamp column in seconds, and whether
// parseDateTime reads toText's text of it as that (a four-digit year).
func (c *numConv) seconds(x int64) (int64, bool) {
	sec := ticksToSeconds(x, c.unit)
	return sec, textSeconds(sec)
}

// textSeconds reports whether sec is a date-time toText writes with a
// four-digit year.
func textSeconds(sec int64) bool {
	return sec >= minTextDay*secondsPerDay && sec < maxTextDay*secondsPerDay
}

// ticksToSeconds is x ticks of unit (per second) in whole seconds, rounded
// down.
func ticksToSeconds(x, unit int64) int64 {
	switch unit { // constant divisors: multiplications
	case 1000000:
		return divDown(x, 1000000)
	case 1000:
		return divDown(x, 1000)
	case 1000000000:
		return divDown(x, 1000000000)
	}
	return x
}

// divDown is x / d rounded down (with d a constant where it is inlined,
// a multiplication).
func divDown(x, d int64) int64 {
	q := x / d
	if x%d < 0 {
		q--
	}
	return q
}

func (t *typedCol) day(j int) (int32, bool) {
	if t.conv.kind == numDate {
		if x, ok := t.raw(j); ok {
			if d := int64(int32(x)); d >= minTextDay && d < maxTextDay {
				return int32(d), true
			}
		}
	}
	return 0, false
}

func (t *typedCol) smallInt(j int) (int, bool) {
	if t.conv.kind == numPlain {
		if x, ok := t.raw(j); ok && x >= 0 && x <= 9999 {
			return int(x), true
		}
	}
	return 0, false
}

// fastCol is a batch's column of values made at once by fastDecimals or
// fastDateTimes: one loop per column and batch instead of a chain of
// calls per value (convertLines, typed fee lines). on is false when the
// column is not of the kind (every value goes through the per-value
// path then); ok[i] false sends value i there.
type fastCol struct {
	on bool
	v  []int64
	ok []bool
}

// at is value i and whether it was made here.
func (f *fastCol) at(i int) (int64, bool) {
	if f.on && f.ok[i] {
		return f.v[i], true
	}
	return 0, false
}

// fastDecimals is fastDecimal for rows [0, n) of c.
func (f *fastCol) fastDecimals(c *column, n int) {
	t := c.tc
	if f.on = t != nil && t.conv.isDecimal(); !f.on {
		return
	}
	if vals := f.plain(t, c.off, n); vals != nil {
		conv := *t.conv // a local copy: its fields stay in registers
		for i, x := range vals {
			f.v[i], f.ok[i] = conv.decimal(x)
		}
		return
	}
	f.raw(t, c.off, n)
	for i, x := range f.v {
		v, ok := t.conv.decimal(x)
		f.v[i], f.ok[i] = v, f.ok[i] && ok
	}
}

// fastDateTimes is fastDateTime for rows [0, n) of c.
func (f *fastCol) fastDateTimes(c *column, n int) {
	t := c.tc
	if f.on = t != nil && t.conv.kind == numTimestamp; !f.on {
		return
	}
	if vals := f.plain(t, c.off, n); vals != nil {
		switch t.conv.unit { // constant divisors, the switch out of the loop
		case 1000:
			secondsInto(vals, 1000, f.v, f.ok)
		case 1000000:
			secondsInto(vals, 1000000, f.v, f.ok)
		case 1000000000:
			secondsInto(vals, 1000000000, f.v, f.ok)
		default:
			secondsInto(vals, 1, f.v, f.ok)
		}
		return
	}
	f.raw(t, c.off, n)
	for i, x := range f.v {
		sec, ok := t.conv.seconds(x)
		f.v[i], f.ok[i] = sec, f.ok[i] && ok
	}
}

// plain returns rows [off, off+n) of t when its page has the usual layout
// (INT64, no nulls, no dictionary), sizing f for them, so that the caller
// converts them in one pass; nil otherwise (raw then).
func (f *fastCol) plain(t *typedCol, off, n int) []int64 {
	if t.i64 == nil || t.idx != nil || t.null != nil {
		return nil
	}
	f.v, f.ok = resize(f.v, n), resize(f.ok, n)
	return t.i64[off : off+n]
}

// secondsInto is numConv.seconds of vals with unit ticks per second (a
// constant where it is inlined).
func secondsInto(vals []int64, unit int64, v []int64, ok []bool) {
	for i, x := range vals {
		sec := divDown(x, unit)
		v[i], ok[i] = sec, textSeconds(sec)
	}
}

// raw sets v[i], ok[i] to t.raw(off+i) for i in [0, n), the page's
// layout (dictionary, nulls, plain) decided once.
func (f *fastCol) raw(t *typedCol, off, n int) {
	f.v, f.ok = resize(f.v, n), resize(f.ok, n)
	if t.i64 != nil {
		rawInto(t, t.i64, off, f.v, f.ok)
	} else {
		rawInto(t, t.i32, off, f.v, f.ok)
	}
}

func rawInto[T int32 | int64](t *typedCol, vals []T, off int, x []int64, there []bool) {
	n := len(x)
	switch {
	case t.idx != nil:
		for i, k := range t.idx[off : off+n] {
			if k >= 0 {
				x[i], there[i] = int64(vals[k]), true
			} else {
				x[i], there[i] = 0, false
			}
		}
	case t.null != nil:
		for i, null := range t.null[off : off+n] {
			x[i], there[i] = int64(vals[off+i]), !null
		}
	default:
		for i, v := range vals[off : off+n] {
			x[i], there[i] = int64(v), true
		}
	}
}

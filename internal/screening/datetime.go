package screening

import "encoding/binary"

// Date-times in the claims data are local wall-clock times without a zone
// ("2006-01-02 15:04:05"). They are kept as seconds since 1970-01-01 00:00:00
// of the same wall clock, so day(t) = t / 86400 is the calendar day as
// written and no time-zone arithmetic ever happens (docs/rules.md §2).

const secondsPerDay = 86400

// parseDateTime parses exactly "YYYY-MM-DD HH:MM:SS": dateTimes.parse
// with no previous value.
//
// It reads the text as three overlapping 8-byte words and checks and
// converts each word's digits at once (swarDigits): the claims hold one
// or two date-times per fee line and two per visit, and the byte-by-byte
// parser they replace was 8 % of a no-rule run's CPU on string files
// (docs/benchmarks.md). The byte-by-byte parser stays in the tests as the
// reference (TestParseDateTimeMatchesScalar).
func parseDateTime(b []byte) (int64, bool) {
	var c dateTimes
	return c.parse(b)
}

// The words of "YYYY-MM-DD HH:MM:SS", loaded little-endian (byte 0 lowest):
// the digit bytes of each (0xff) and the separators it must hold.
const (
	dateDigits = 0x00ffff00ffffffff // "YYYY-MM-": b[0:8]
	dateSeps   = 0x2d00002d00000000 // '-' at bytes 4 and 7
	dayDigits  = 0x000000000000ffff // "DD " (dayWord): b[8:11]
	daySeps    = 0x0000000000200000 // ' ' at byte 2
	timeDigits = 0xffff00ffff00ffff // "HH:MM:SS": b[11:19]
	timeSeps   = 0x00003a00003a0000 // ':' at bytes 2 and 5
)

// swarDigits checks that the bytes of v under digits are ASCII digits and
// the others are seps, and returns v with each digit byte replaced by its
// value (0–9) and the others 0. A digit byte fails when adding 0x46 sets
// its high bit (above '9', or 0x80–0xaf) or subtracting '0' does (below
// '0', or 0xb0 and above). A byte below '0' borrows from the next one and
// a byte of 0xba or more carries into it, but such a byte fails the check
// itself, so the word is refused whatever its neighbour became.
func swarDigits(v, digits, seps uint64) (uint64, bool) {
	const high, zeros, over9 = 0x8080808080808080, 0x3030303030303030, 0x4646464646464646
	d := v - zeros&digits
	bad := ((v + over9&digits) | d) & digits & high
	return d & digits, bad == 0 && v&^digits == seps
}

// pairs turns the digit values of swarDigits into two-digit numbers: byte k
// of the result is 10·byte k + byte k+1 (at most 99, so no carries).
func pairs(d uint64) uint64 { return d*10 + d>>8 }

// dayWord is "DD " of a date-time b (19 bytes) as the low three bytes of a
// word.
func dayWord(b []byte) uint64 { return binary.LittleEndian.Uint64(b[8:]) & 0xffffff }

// dateOfWords is the day of "YYYY-MM-" (x) and "DD " (y).
func dateOfWords(x, y uint64) (int32, bool) {
	dx, ok1 := swarDigits(x, dateDigits, dateSeps)
	dy, ok2 := swarDigits(y, dayDigits, daySeps)
	if !ok1 || !ok2 {
		return 0, false
	}
	px := pairs(dx)
	return dayNumber(int(px&0xff)*100+int(px>>16&0xff), int(px>>40&0xff), int(pairs(dy)&0xff))
}

// timeOfDay is "HH:MM:SS" at the end of b (19 bytes) in seconds.
func timeOfDay(b []byte) (int64, bool) {
	d, ok := swarDigits(binary.LittleEndian.Uint64(b[11:]), timeDigits, timeSeps)
	if !ok {
		return 0, false
	}
	p := pairs(d)
	h, m, s := p&0xff, p>>24&0xff, p>>48&0xff
	if h > 23 || m > 59 || s > 59 {
		return 0, false
	}
	return int64(h*3600 + m*60 + s), true
}

// dateTimes is parseDateTime for a run of values that share a few dates
// (the lines of a visit, the visits of a day): the day of the previous
// value's date part is reused.
type dateTimes struct {
	// the previous date part "YYYY-MM-DD " as its two words
	date8, date3 uint64
	lastDay      int64
	have         bool
}

func (c *dateTimes) parse(b []byte) (int64, bool) {
	if len(b) != 19 {
		return 0, false
	}
	t, ok := timeOfDay(b)
	if !ok {
		return 0, false
	}
	x, y := binary.LittleEndian.Uint64(b), dayWord(b)
	if c.have && x == c.date8 && y == c.date3 {
		return c.lastDay + t, true
	}
	d, ok := dateOfWords(x, y)
	if !ok {
		return 0, false
	}
	c.date8, c.date3, c.have = x, y, true
	c.lastDay = int64(d) * secondsPerDay
	return c.lastDay + t, true
}

// at is value i of c in seconds: a typed TIMESTAMP read as it is, else
// the text parsed.
func (c *dateTimes) at(col *column, i int) (int64, bool) {
	if t, ok := fastDateTime(col, i); ok {
		return t, true
	}
	return c.parse(col.at(i))
}

// parseDate parses exactly "YYYY-MM-DD" into days since 1970-01-01, as
// the date part of a date-time is (dateOfWords; the day's word gets the
// space that follows it there).
func parseDate(b []byte) (int32, bool) {
	if len(b) != 10 {
		return 0, false
	}
	return dateOfWords(binary.LittleEndian.Uint64(b), uint64(b[8])|uint64(b[9])<<8|' '<<16)
}

// dayNumber is the day of y-mo-d, false if there is no such day.
func dayNumber(y, mo, d int) (int32, bool) {
	if k := uint(y-tableFirstYear)<<4 | uint(mo); y >= tableFirstYear && uint(mo) < 16 && k < uint(len(monthFirst)) {
		if uint(d-1) >= uint(monthLen[k]) {
			return 0, false
		}
		return monthFirst[k] + int32(d-1), true
	}
	if mo < 1 || mo > 12 || d < 1 || d > daysIn(y, mo) {
		return 0, false
	}
	return daysFromCivil(y, mo, d), true
}

// Day numbers of the years claims carry, looked up instead of computed:
// the division of daysFromCivil was a sixth of parseDate's time. One entry
// per month, at (year-1900)·16 + month: its first day and its length (0
// for the months 0 and 13–15, which do not exist), two loads instead of a
// chain of four.
const tableFirstYear, tableYears = 1900, 256

var (
	monthFirst [tableYears * 16]int32 // the month's first day
	monthLen   [tableYears * 16]uint8 // its days; 0: no such month
	monthDays  = [2][13]uint8{{0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31}, {0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31}}
)

func init() {
	for k := range tableYears {
		for m := 1; m <= 12; m++ {
			monthFirst[k<<4|m] = daysFromCivil(tableFirstYear+k, m, 1)
			monthLen[k<<4|m] = uint8(daysIn(tableFirstYear+k, m))
		}
	}
}

func isLeap(y int) bool { return y%4 == 0 && (y%100 != 0 || y%400 == 0) }

func daysIn(y, m int) int {
	leap := 0
	if isLeap(y) {
		leap = 1
	}
	return int(monthDays[leap][m])
}

// daysFromCivil is the proleptic Gregorian day number (1970-01-01 = 0).
func daysFromCivil(y, m, d int) int32 {
	if m <= 2 {
		y--
	}
	era := y / 400
	if y < 0 && y%400 != 0 {
		era--
	}
	yoe := y - era*400
	mp := (m + 9) % 12
	doy := (153*mp+2)/5 + d - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return int32(era*146097 + doe - 719468)
}

// civilFromDays is the inverse of daysFromCivil.
func civilFromDays(z int32) (y, m, d int) {
	zz := int(z) + 719468
	era := zz / 146097
	if zz < 0 && zz%146097 != 0 {
		era--
	}
	doe := zz - era*146097
	yoe := (doe - doe/1460 + doe/36524 - doe/146096) / 365
	y = yoe + era*400
	doy := doe - (365*yoe + yoe/4 - yoe/100)
	mp := (5*doy + 2) / 153
	d = doy - (153*mp+2)/5 + 1
	if mp < 10 {
		m = mp + 3
	} else {
		m = mp - 9
	}
	if m <= 2 {
		y++
	}
	return
}

// dayOf returns the calendar day of a date-time (floor division).
func dayOf(t int64) int32 {
	if t < 0 {
		return int32((t - secondsPerDay + 1) / secondsPerDay)
	}
	return int32(t / secondsPerDay)
}

func formatDate(day int32) string { return string(appendDate(nil, day)) }

func formatDateTime(t int64) string { return string(appendDateTime(nil, t)) }

// appendDate appends day as 2006-01-02 (no allocation when b has room:
// typed Parquet columns are converted into one buffer per page).
func appendDate(b []byte, day int32) []byte {
	y, m, d := civilFromDays(day)
	return append(b, byte('0'+y/1000%10), byte('0'+y/100%10), byte('0'+y/10%10), byte('0'+y%10), '-',
		byte('0'+m/10), byte('0'+m%10), '-', byte('0'+d/10), byte('0'+d%10))
}

// appendDateTime appends t (seconds, wall clock) as 2006-01-02 15:04:05.
func appendDateTime(b []byte, t int64) []byte {
	day := dayOf(t)
	s := int(t - int64(day)*secondsPerDay)
	h, m, sec := s/3600, s/60%60, s%60
	b = appendDate(b, day)
	return append(b, ' ', byte('0'+h/10), byte('0'+h%10), ':', byte('0'+m/10), byte('0'+m%10), ':', byte('0'+sec/10), byte('0'+sec%10))
}
